internal import CHDF5

/// The element type of a dataset or attribute, as stored in the file.
public enum ElementType: Sendable, Equatable, CustomStringConvertible {
  /// IEEE floating point of 16, 32 or 64 bits.
  case float(bits: Int)
  case integer(bits: Int, signed: Bool)
  case string
  /// Raw bytes of a fixed size (NumPy's `|V2`, as Keras 3 stores bfloat16).
  case opaque(bytes: Int)
  /// Anything else (compound, enum, ...), described by its HDF5 class.
  case other(String)

  /// NumPy-style name: `float32`, `int64`, `uint16`, `string`.
  public var description: String {
    switch self {
    case .float(let bits): "float\(bits)"
    case .integer(let bits, let signed): "\(signed ? "" : "u")int\(bits)"
    case .string: "string"
    case .opaque(let bytes): "opaque\(bytes * 8)"
    case .other(let name): name
    }
  }

  /// Size of one element in bytes, when it has a fixed numeric size.
  public var byteSize: Int? {
    switch self {
    case .float(let bits), .integer(let bits, _): bits / 8
    case .opaque(let bytes): bytes
    case .string, .other: nil
    }
  }

  /// Classifies an HDF5 datatype.
  init(type: hid_t) {
    let size = H5Tget_size(type) * 8
    switch H5Tget_class(type) {
    case H5T_FLOAT: self = .float(bits: size)
    case H5T_INTEGER: self = .integer(bits: size, signed: H5Tget_sign(type) == H5T_SGN_2)
    case H5T_STRING: self = .string
    case H5T_ENUM: self = .other("enum")
    case H5T_COMPOUND: self = .other("compound")
    case H5T_ARRAY: self = .other("array")
    case H5T_VLEN: self = .other("vlen")
    case H5T_OPAQUE: self = .opaque(bytes: H5Tget_size(type))
    case H5T_BITFIELD: self = .other("bitfield")
    case H5T_REFERENCE: self = .other("reference")
    case H5T_TIME: self = .other("time")
    default: self = .other("unknown")
    }
  }
}
