internal import CHDF5

/// The value of an HDF5 attribute, converted to Swift.
public enum AttributeValue: Sendable, Equatable {
  /// One or more strings (scalar strings are a one-element list), fixed- or variable-length,
  /// decoded as UTF-8 (ASCII is a subset).
  case strings([String])
  case integers([Int64])
  case floats([Double])
  /// A type keras-inspect does not read as a value, named by its element type.
  case unsupported(ElementType)

  /// The single string of a scalar or one-element string attribute.
  public var string: String? {
    if case .strings(let values) = self, values.count == 1 { return values[0] }
    return nil
  }

  /// The strings of a string attribute.
  public var stringList: [String]? {
    if case .strings(let values) = self { return values }
    return nil
  }
}

/// Reads one attribute whose type and dataspace are already open.
struct AttributeReader {
  /// Attributes are metadata; anything larger than this is refused as damaged or hostile.
  static let maxBytes = 256 << 20

  let attribute: Handle
  let type: Handle
  let count: Int
  let path: String

  func read() throws(HDF5Error) -> AttributeValue {
    let elementType = ElementType(type: type.id)
    switch elementType {
    case .string:
      return .strings(H5Tis_variable_str(type.id) > 0 ? try readVariableStrings() : try readFixedStrings())
    case .integer:
      var values = [Int64](repeating: 0, count: try checkedCount(elementSize: 8))
      try H5.check(H5Aread(attribute.id, chdf5_native_int64(), &values), "read attribute", path)
      return .integers(values)
    case .float:
      var values = [Double](repeating: 0, count: try checkedCount(elementSize: 8))
      try H5.check(H5Aread(attribute.id, chdf5_native_double(), &values), "read attribute", path)
      return .floats(values)
    case .opaque, .other:
      return .unsupported(elementType)
    }
  }

  private func checkedCount(elementSize: Int) throws(HDF5Error) -> Int {
    let (bytes, overflow) = count.multipliedReportingOverflow(by: elementSize)
    if overflow || bytes > Self.maxBytes {
      throw HDF5Error(operation: "read attribute", path: path, message: "declares \(count) elements of \(elementSize) bytes, over the \(Self.maxBytes >> 20) MiB limit for an attribute")
    }
    return count
  }

  private func readVariableStrings() throws(HDF5Error) -> [String] {
    let memType = Handle(try H5.check(H5Tcopy(chdf5_c_s1()), "read attribute", path), .datatype)
    try H5.check(H5Tset_size(memType.id, chdf5_variable()), "read attribute", path)
    try H5.check(H5Tset_cset(memType.id, H5Tget_cset(type.id)), "read attribute", path)
    var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: try checkedCount(elementSize: 8))
    try H5.check(H5Aread(attribute.id, memType.id, &pointers), "read attribute", path)
    defer { for p in pointers where p != nil { _ = H5free_memory(p) } }
    return pointers.map { $0.map { String(cString: $0) } ?? "" }
  }

  private func readFixedStrings() throws(HDF5Error) -> [String] {
    let size = H5Tget_size(type.id)
    guard size > 0 else { throw HDF5Error(operation: "read attribute", path: path, message: "string type of size 0") }
    let total = try checkedCount(elementSize: size)
    var bytes = [UInt8](repeating: 0, count: total * size)
    try H5.check(H5Aread(attribute.id, type.id, &bytes), "read attribute", path)
    let spacePadded = H5Tget_strpad(type.id) == H5T_STR_SPACEPAD
    return (0..<total).map { i in
      var element = bytes[(i * size)..<((i + 1) * size)]
      if let nul = element.firstIndex(of: 0) { element = element[..<nul] }
      if spacePadded { while element.last == 0x20 { element = element.dropLast() } }
      return String(decoding: element, as: UTF8.self)
    }
  }
}
