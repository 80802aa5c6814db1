import Foundation

/// NumPy's `.npy` format, versions 1-3: magic, header length, a Python dict literal, raw data.
/// Reads little-endian float32/float64/int32/int64 in C order; anything else is refused.
public enum NPY {
  static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
  /// Largest array this reader accepts, in bytes of stored data.
  public static let maxBytes = 4 << 30

  /// Decodes a whole `.npy` file.
  public static func decode(_ data: Data) throws(NumPyError) -> NDArray {
    let bytes = [UInt8](data)
    guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw NumPyError("not a .npy file (bad magic)") }
    let major = bytes[6]
    let headerLength: Int
    let headerStart: Int
    switch major {
    case 1:
      headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
      headerStart = 10
    case 2, 3:
      guard bytes.count >= 12 else { throw NumPyError("truncated .npy header") }
      headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
      headerStart = 12
    default:
      throw NumPyError("unsupported .npy version \(major)")
    }
    guard headerLength <= 1 << 20, headerStart + headerLength <= bytes.count else { throw NumPyError("truncated .npy header") }
    let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
    let (dtype, fortran, shape) = try parseHeader(header)
    if fortran { throw NumPyError("Fortran-order arrays are not supported; save with np.ascontiguousarray") }
    var count = 1
    for d in shape {
      let (p, overflow) = count.multipliedReportingOverflow(by: d)
      guard !overflow, p <= maxBytes else { throw NumPyError("shape \(shape) is too large") }
      count = p
    }
    let dataStart = headerStart + headerLength
    guard bytes.count - dataStart >= count * dtype.size else {
      throw NumPyError("data ends early: shape \(shape) of \(dtype.name) needs \(count * dtype.size) bytes, the file has \(bytes.count - dataStart)")
    }
    var values = [Float](repeating: 0, count: count)
    bytes.withUnsafeBytes { raw in
      let base = raw.baseAddress! + dataStart
      for i in 0..<count {
        switch dtype {
        case .float32: values[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        case .float64: values[i] = Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
        case .int32: values[i] = Float(Int32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
        case .int64: values[i] = Float(Int64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
        case .bool: values[i] = base.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0
        }
      }
    }
    return NDArray(shape: shape, dtype: dtype, values: values)
  }

  /// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 13, 5), }`.
  static func parseHeader(_ header: String) throws(NumPyError) -> (NDArray.DType, Bool, [Int]) {
    func value(of key: String) -> Substring? {
      guard let range = header.range(of: "'\(key)':") else { return nil }
      return header[range.upperBound...].drop(while: { $0 == " " })
    }
    guard let descrText = value(of: "descr"), descrText.first == "'",
      let end = descrText.dropFirst().firstIndex(of: "'")
    else { throw NumPyError("header has no descr") }
    let descr = String(descrText[descrText.index(after: descrText.startIndex)..<end])
    guard let dtype = NDArray.DType(rawValue: descr) else {
      throw NumPyError("dtype \(descr) is not supported (use little-endian float32, float64, int32 or int64, or bool)")
    }
    guard let fortranText = value(of: "fortran_order") else { throw NumPyError("header has no fortran_order") }
    let fortran = fortranText.hasPrefix("True")
    guard let shapeText = value(of: "shape"), shapeText.first == "(", let close = shapeText.firstIndex(of: ")") else {
      throw NumPyError("header has no shape")
    }
    var shape: [Int] = []
    for part in shapeText[shapeText.index(after: shapeText.startIndex)..<close].split(separator: ",") {
      let trimmed = part.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "L", with: "")
      if trimmed.isEmpty { continue }
      guard let d = Int(trimmed), d >= 0 else { throw NumPyError("shape has a bad dimension '\(trimmed)'") }
      shape.append(d)
    }
    return (dtype, fortran, shape)
  }

  /// Encodes float32 data as a version 1.0 `.npy` file.
  public static func encode(_ array: NDArray) -> Data {
    let dims = array.shape.map(String.init)
    let shape = dims.count == 1 ? "(\(dims[0]),)" : "(\(dims.joined(separator: ", ")))"
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
    // Pad so that the data starts on a 64-byte boundary, header ending in a newline.
    let unpadded = 10 + header.utf8.count + 1
    header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
    var data = Data(magic + [1, 0])
    let length = header.utf8.count
    data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
    data.append(contentsOf: Array(header.utf8))
    var words = array.values.map { $0.bitPattern.littleEndian }
    data.append(Data(bytes: &words, count: words.count * 4))
    return data
  }

  public static func read(path: String) throws(NumPyError) -> NDArray {
    guard let data = FileManager.default.contents(atPath: path) else { throw NumPyError("\(path): cannot read file") }
    do {
      return try decode(data)
    } catch {
      throw NumPyError("\(path): \(error.message)")
    }
  }

  public static func write(_ array: NDArray, path: String) throws(NumPyError) {
    do {
      try encode(array).write(to: URL(fileURLWithPath: path))
    } catch {
      throw NumPyError("\(path): cannot write: \(error.localizedDescription)")
    }
  }
}
