import Foundation
import NumPy
import Testing

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent().appendingPathComponent("Fixtures")

func npy(descr: String, fortran: Bool = false, shape: String, data: [UInt8]) -> Data {
  var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
  header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
  var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
  bytes += Array(header.utf8) + data
  return Data(bytes)
}

@Suite("NumPy arrays")
struct NumPyTests {
  @Test("float32 round trip through .npy")
  func roundTrip() throws {
    let array = NDArray(shape: [2, 3], values: [1, -2.5, 3, .pi, 0, 1e-8])
    #expect(try NPY.decode(NPY.encode(array)) == array)
    let scalarish = NDArray(shape: [4], values: [1, 2, 3, 4])
    #expect(try NPY.decode(NPY.encode(scalarish)) == scalarish)
  }

  @Test("reads the dtypes NumPy writes", arguments: [
    ("<f8", [UInt8](Data(bytes: [1.5, -2.0] as [Double], count: 16))),
    ("<i4", [UInt8](Data(bytes: [Int32(3), Int32(-7)], count: 8))),
    ("<i8", [UInt8](Data(bytes: [Int64(3), Int64(-7)], count: 16))),
  ])
  func dtypes(_ descr: String, _ data: [UInt8]) throws {
    let array = try NPY.decode(npy(descr: descr, shape: "(2,)", data: data))
    #expect(array.shape == [2])
    #expect(array.values == (descr == "<f8" ? [1.5, -2] : [3, -7]))
  }

  @Test("refuses what it cannot read, saying why", arguments: [
    (npy(descr: ">f4", shape: "(1,)", data: [0, 0, 0, 0]), "dtype >f4 is not supported"),
    (npy(descr: "<f4", fortran: true, shape: "(1,)", data: [0, 0, 0, 0]), "Fortran-order"),
    (npy(descr: "<f4", shape: "(3,)", data: [0, 0, 0, 0]), "data ends early"),
    (npy(descr: "<c8", shape: "(1,)", data: [0, 0, 0, 0, 0, 0, 0, 0]), "dtype <c8"),
    (Data("not numpy".utf8), "bad magic"),
    (npy(descr: "<f4", shape: "(100000000000, 100000000000)", data: []), "too large"),
  ])
  func refuses(_ data: Data, _ reason: String) {
    #expect {
      _ = try NPY.decode(data)
    } throws: { error in
      (error as? NumPyError)?.message.contains(reason) ?? false
    }
  }

  @Test("reads an .npz bundle written by NumPy, and one array of it by name")
  func npz() throws {
    let path = fixtures.appendingPathComponent("keras2/multi_io.npz").path
    let arrays = try NPZ.read(path: path)
    #expect(Set(arrays.keys) == ["input_0", "input_1", "output_0", "output_1"])
    #expect(arrays["input_0"]?.shape == [3, 9, 4])
    #expect(try NPZ.readArgument(path + ":output_1").shape == [3, 3])
    #expect(throws: NumPyError.self) { try NPZ.readArgument(path + ":nope") }
  }
}
