import Foundation
import CKernels
@testable import HDF5
import Testing

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent().appendingPathComponent("Fixtures")

@Suite("HDF5 over libhdf5")
struct HDF5Tests {
  let path = fixtures.appendingPathComponent("keras2/lstm_worked_example.h5").path

  @Test("reads variable-length string attributes, scalar and array")
  func stringAttributes() throws {
    let root = try File(path: path).root()
    #expect(try root.attribute("keras_version") == .strings(["2.21.0"]))
    #expect(try root.attribute("model_config").string?.hasPrefix("{\"class_name\": \"Sequential\"") == true)
    let weights = try root.group("model_weights")
    #expect(try weights.attribute("layer_names").stringList == ["lstm"])
    #expect(try root.attributeNames().sorted() == ["backend", "keras_version", "model_config"])
    #expect(try root.attributeIfPresent("absent") == nil)
  }

  @Test("lists members and tells groups from datasets")
  func members() throws {
    let root = try File(path: path).root()
    #expect(try root.memberNames() == ["model_weights"])
    #expect(try root.kind(of: "model_weights/lstm/lstm/lstm_cell") == .group)
    #expect(try root.kind(of: "model_weights/lstm/lstm/lstm_cell/kernel:0") == .dataset)
    #expect(try root.kind(of: "model_weights/nothing/here") == nil)
  }

  @Test("reads a float32 dataset with its shape")
  func dataset() throws {
    let cell = try File(path: path).root().group("model_weights/lstm/lstm/lstm_cell")
    let kernel = try cell.dataset("kernel:0")
    #expect(kernel.shape == [5, 40])
    #expect(kernel.elementType == .float(bits: 32))
    #expect(try kernel.filters() == [])
    let values = try kernel.readFloats(maxBytes: 1 << 20)
    #expect(values.count == 200)
    #expect(values.allSatisfy { abs($0) < 1 })
    let bias = try cell.dataset("bias:0").readFloats(maxBytes: 1 << 20)
    #expect(bias.count == 40)
    // The fixture script draws weights uniformly from [-0.6, 0.6].
    #expect(bias.allSatisfy { abs($0) <= 0.6 } && Set(bias).count > 30)
  }

  @Test("refuses a tensor larger than the byte limit before reading it")
  func byteLimit() throws {
    let kernel = try File(path: path).root().dataset("model_weights/lstm/lstm/lstm_cell/kernel:0")
    #expect(throws: HDF5Error.self) { try kernel.readFloats(maxBytes: 100) }
  }

  @Test("errors carry the operation, the object path and HDF5's message")
  func errors() throws {
    let root = try File(path: path).root()
    do {
      _ = try root.group("model_weights/missing")
      Issue.record("opening a missing group succeeded")
    } catch {
      #expect(error.path == "/model_weights/missing")
      #expect(error.operation == "open group")
      #expect(!error.message.isEmpty)
    }
    #expect(throws: HDF5Error.self) { try File(path: fixtures.appendingPathComponent("broken/text_file.h5").path) }
    #expect(throws: HDF5Error.self) { try File(path: "/nonexistent/file.h5") }
  }
}

@Suite("HDF5 variety (written by h5py)")
struct HDF5VarietyTests {
  let root: Group
  /// Exactly representable in float16, bfloat16 and float32: -1.5 ... 1.25 in steps of 0.25.
  let expected = (-6..<6).map { Float($0) / 4 }

  init() throws {
    root = try File(path: fixtures.appendingPathComponent("hdf5/variety.h5").path).root()
  }

  @Test("float16, float32, float64 and integer datasets read as Float", arguments: ["float16", "float32", "float64"])
  func floats(_ name: String) throws {
    let dataset = try root.dataset(name)
    #expect(dataset.shape == [3, 4])
    #expect(dataset.elementType.description == name)
    #expect(try dataset.readFloats(maxBytes: 1 << 20) == expected)
  }

  @Test("integer datasets")
  func integers() throws {
    #expect(try root.dataset("int32").elementType == .integer(bits: 32, signed: true))
    #expect(try root.dataset("int32").readFloats(maxBytes: 1 << 20) == (0..<12).map(Float.init))
    #expect(try root.dataset("uint8").elementType.description == "uint8")
  }

  @Test("bfloat16 stored as uint16 with a dtype attribute")
  func bfloat16() throws {
    let dataset = try root.dataset("bfloat16")
    #expect(dataset.elementType == .integer(bits: 16, signed: false))
    #expect(try dataset.attribute("dtype").string == "bfloat16")
    let words = try dataset.readUInt16(maxBytes: 1 << 20)
    #expect(words.map { Float(bitPattern: UInt32($0) << 16) } == expected)
  }

  @Test("chunked, gzip and shuffle compressed data is decoded by libhdf5")
  func compressed() throws {
    let dataset = try root.dataset("gzip_shuffle")
    #expect(try dataset.filters() == ["shuffle", "gzip"])
    let values = try dataset.readFloats(maxBytes: 1 << 20)
    #expect(values.count == 600)
    #expect(Array(values.prefix(12)) == expected)
    #expect(Array(values.suffix(12)) == expected)
  }

  @Test("string attributes: fixed and variable length, scalar and array, ASCII and UTF-8; numbers")
  func attributes() throws {
    #expect(try root.attribute("fixed_ascii") == .strings(["dense_1", "lstm_12"]))
    #expect(try root.attribute("fixed_scalar").string == "keras")
    #expect(try root.attribute("vlen_utf8").string == "modèle ✓")
    #expect(try root.attribute("vlen_list").stringList == ["a", "bb", "ccc"])
    #expect(try root.attribute("int_scalar") == .integers([42]))
    #expect(try root.attribute("float_list") == .floats([0.5, 1.5]))
  }
}

@Suite("HDF5 storage layouts (written by h5py, after a 512-byte user block)")
struct HDF5StorageTests {
  let path = fixtures.appendingPathComponent("hdf5/storage.h5").path
  let expected = (-6..<6).map { Float($0) / 4 }

  /// The values read, and whether they were read from the file's bytes without libhdf5.
  func read(_ name: String, from file: File) throws -> (values: [Float], stored: Bool) {
    let dataset = try file.root().dataset(name)
    return (try dataset.readFloats(maxBytes: 1 << 24), dataset.storedFloat32Offset() != nil)
  }

  @Test("each layout reads the same values; only contiguous little-endian float32 bypasses libhdf5")
  func layouts() throws {
    let file = try File(path: path)
    for (name, stored) in [("contiguous", true), ("big_endian", false), ("compact", false), ("chunked", false)] {
      let got = try read(name, from: file)
      #expect(got.values == expected, "\(name)")
      #expect(got.stored == stored, "\(name)")
    }
    // Never written: libhdf5 gives the fill value. (Its H5Dget_offset here is HADDR_UNDEF plus
    // the user block, 511, not HADDR_UNDEF: the storage size is what tells.)
    let unwritten = try read("unwritten", from: file)
    #expect(unwritten.values == [Float](repeating: 1.5, count: 12) && !unwritten.stored)
  }

  @Test("a larger dataset reads from the file's bytes, on disk and from an image")
  func large() throws {
    let want = (0..<65_536).map { Float($0) / 1024 }
    let onDisk = try read("large", from: File(path: path))
    #expect(onDisk.stored && onDisk.values == want)
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    let inMemory = try read("large", from: File(bytes: bytes, name: "storage.h5"))
    #expect(inMemory.stored && inMemory.values == want)
    // The first element's offset is the user block plus libhdf5's address, as h5py reports it.
    let offset = try File(path: path).root().dataset("large").storedFloat32Offset()
    #expect(offset == 8216)
  }

  @Test("reads and copies of several MiB go in 1 MiB parts over the cores; a file that ends first is EIO")
  func parts() throws {
    // 5 MiB and a bit, from an odd offset: whole parts, a short last one, none aligned.
    let count = 5 << 20 | 123, offset = 77
    // Bytes that do not repeat at any power-of-two distance: a part read into another part's place shows.
    let pattern = (0..<(count + offset)).map { UInt8(truncatingIfNeeded: (UInt64($0) &* 0x9E37_79B9_7F4A_7C15) >> 56) }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("keras-inspect-parts-\(getpid()).bin")
    try Data(pattern).write(to: url)
    defer { try? FileManager.default.removeItem(at: url) }
    let fd = open(url.path, O_RDONLY)
    try #require(fd >= 0)
    defer { close(fd) }
    var read = [UInt8](repeating: 0, count: count)
    #expect(ckernels_parallel_pread(fd, &read, count, Int64(offset)) == 0)
    #expect(read[...] == pattern[offset...])
    var past = [UInt8](repeating: 0, count: count)
    #expect(ckernels_parallel_pread(fd, &past, count, Int64(offset + 1)) == EIO)
    var copied = [UInt8](repeating: 0, count: count)
    pattern.withUnsafeBytes { ckernels_parallel_copy(&copied, $0.baseAddress! + offset, count) }
    #expect(copied == read)
  }
}

@Suite("Reading from the file's bytes against libhdf5, on every file at hand")
struct StoredBytesTests {
  /// Every HDF5 file among the fixtures, and the shared real-world files when they are there.
  static let files: [String] = {
    var roots = [fixtures.path]
    let shared = fixtures.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
    for folder in ["wild-models", "peer-dl4j"] { roots.append(shared.appendingPathComponent(folder).path) }
    var paths: [String] = []
    for root in roots {
      guard let walk = FileManager.default.enumerator(atPath: root) else { continue }
      for case let relative as String in walk where relative.hasSuffix(".h5") || relative.hasSuffix(".hdf5") {
        paths.append(root + "/" + relative)
      }
    }
    return paths.sorted()
  }()

  /// Every dataset under `group`, depth first; links that cannot be followed are left out.
  func datasets(in group: Group, depth: Int = 0) -> [Dataset] {
    guard depth < 32, let names = try? group.memberNames() else { return [] }
    var found: [Dataset] = []
    for name in names {
      switch try? group.kind(of: name) {
      case .dataset: if let d = try? group.dataset(name) { found.append(d) }
      case .group: if let g = try? group.group(name) { found += datasets(in: g, depth: depth + 1) }
      default: break
      }
    }
    return found
  }

  @Test("every dataset read from the file's bytes has the bits libhdf5 reads, or both refuse it")
  func sameBits() throws {
    var stored = 0
    for path in Self.files {
      guard let file = try? File(path: path), let root = try? file.root() else { continue }
      for dataset in datasets(in: root) where dataset.storedFloat32Offset() != nil {
        stored += 1
        let direct = try? dataset.readFloats(maxBytes: 1 << 30, fromStoredBytes: true)
        let library = try? dataset.readFloats(maxBytes: 1 << 30, fromStoredBytes: false)
        #expect(direct?.map(\.bitPattern) == library?.map(\.bitPattern), "\(path): \(dataset.path)")
      }
    }
    // The fixtures alone hold hundreds of plain float32 weights: a walk that found none is broken.
    #expect(stored > 200, "only \(stored) datasets were read from the file's bytes")
  }
}
