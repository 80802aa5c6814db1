/// A value of CPython's `marshal` format: what a code object's constants, names and fields are.
/// Decoding never runs anything; it only reads bytes.
public indirect enum PyObject: Sendable, Equatable {
  case none
  case ellipsis
  case stopIteration
  case bool(Bool)
  /// An int that fits in 64 bits.
  case int(Int)
  /// An int too large for 64 bits, as its decimal digits' count (only ever shown, never used).
  case bigInt(digits: Int, negative: Bool)
  case float(Double)
  case complex(Double, Double)
  /// Python 3 `bytes`, Python 2 `str`.
  case bytes([UInt8])
  /// Python 3 `str`, Python 2 `unicode` (and interned names).
  case string(String)
  case tuple([PyObject])
  case list([PyObject])
  case dict([PyObject], [PyObject])
  case set([PyObject], frozen: Bool)
  /// Python 3.14's slice constants.
  case slice(PyObject, PyObject, PyObject)
  case code(CodeObject)

  /// The text of a `str` (or of a Python 2 `str` that is ASCII).
  public var text: String? {
    switch self {
    case .string(let s): s
    case .bytes(let b) where b.allSatisfy({ $0 < 0x80 }): String(decoding: b, as: UTF8.self)
    default: nil
    }
  }

  /// The type's name as Python prints it.
  public var typeName: String {
    switch self {
    case .none: "NoneType"
    case .ellipsis: "ellipsis"
    case .stopIteration: "StopIteration"
    case .bool: "bool"
    case .int, .bigInt: "int"
    case .float: "float"
    case .complex: "complex"
    case .bytes: "bytes"
    case .string: "str"
    case .tuple: "tuple"
    case .list: "list"
    case .dict: "dict"
    case .set(_, let frozen): frozen ? "frozenset" : "set"
    case .slice: "slice"
    case .code: "code"
    }
  }
}

/// Why a marshalled blob could not be read: the byte offset and the problem.
public struct MarshalError: Error, CustomStringConvertible, Sendable, Equatable {
  public let offset: Int
  public let message: String

  public init(_ offset: Int, _ message: String) {
    self.offset = offset
    self.message = message
  }

  public var description: String { "marshalled code, byte \(offset): \(message)" }
}

/// Reads CPython's `marshal.dumps` output: format version 2 (Python 2.7: interned-string
/// references) and versions 3 to 5 (Python 3.4 and later: any object may be referenced again by
/// index). Every count is checked against the bytes left, nesting is bounded, and a reference
/// may only name an object already read, so no input allocates more than its own size or
/// recurses without end.
struct MarshalReader {
  static let maxDepth = 64

  let bytes: [UInt8]
  var offset = 0
  /// Python 2's format: interned strings are referred to by `R`, nothing else is.
  let python2: Bool
  /// How code objects are laid out (decided by the caller, tried in turn).
  let layout: CodeLayout
  var references: [PyObject?] = []
  var interned: [String] = []
  var depth = 0

  init(_ bytes: [UInt8], python2: Bool, layout: CodeLayout) {
    self.bytes = bytes
    self.python2 = python2
    self.layout = layout
  }

  var remaining: Int { bytes.count - offset }

  func error(_ message: String) -> MarshalError { MarshalError(offset, message) }

  mutating func byte() throws(MarshalError) -> UInt8 {
    guard offset < bytes.count else { throw error("the data ends early") }
    defer { offset += 1 }
    return bytes[offset]
  }

  mutating func take(_ n: Int) throws(MarshalError) -> ArraySlice<UInt8> {
    guard n >= 0, n <= remaining else { throw error("a length of \(n) bytes runs past the end (\(remaining) left)") }
    defer { offset += n }
    return bytes[offset..<(offset + n)]
  }

  mutating func int32() throws(MarshalError) -> Int32 {
    let b = try take(4)
    var value: UInt32 = 0
    for (i, x) in b.enumerated() { value |= UInt32(x) << (8 * UInt32(i)) }
    return Int32(bitPattern: value)
  }

  /// A count of items that each take at least `minimumSize` bytes.
  mutating func count(minimumSize: Int = 1, short: Bool = false) throws(MarshalError) -> Int {
    let n = short ? Int(try byte()) : Int(try int32())
    guard n >= 0 else { throw error("a negative count (\(n))") }
    guard n <= remaining / max(minimumSize, 1) else { throw error("a count of \(n) items exceeds the \(remaining) bytes left") }
    return n
  }

  mutating func object() throws(MarshalError) -> PyObject {
    guard depth < Self.maxDepth else { throw error("objects nested more than \(Self.maxDepth) deep") }
    depth += 1
    defer { depth -= 1 }
    let start = offset
    let code = try byte()
    let flagged = !python2 && code & 0x80 != 0
    let type = python2 ? code : code & 0x7F
    // A flagged object's index is reserved before its contents are read, as CPython numbers them.
    var slot: Int?
    if flagged, !Self.singletons.contains(type), type != UInt8(ascii: "r") {
      slot = references.count
      references.append(nil)
    }
    let value: PyObject
    switch type {
    case UInt8(ascii: "0"): throw MarshalError(start, "a NULL object where a value belongs")
    case UInt8(ascii: "N"): value = .none
    case UInt8(ascii: "."): value = .ellipsis
    case UInt8(ascii: "S"): value = .stopIteration
    case UInt8(ascii: "F"): value = .bool(false)
    case UInt8(ascii: "T"): value = .bool(true)
    case UInt8(ascii: "i"): value = .int(Int(try int32()))
    case UInt8(ascii: "I"):
      let low = UInt64(UInt32(bitPattern: try int32())), high = UInt64(UInt32(bitPattern: try int32()))
      value = .int(Int(truncatingIfNeeded: high << 32 | low))
    case UInt8(ascii: "l"): value = try long()
    case UInt8(ascii: "f"):
      let n = Int(try byte())
      value = .float(try decimal(take(n)))
    case UInt8(ascii: "g"): value = .float(try binaryDouble())
    case UInt8(ascii: "x"):
      let re = try decimal(take(Int(try byte())))
      value = .complex(re, try decimal(take(Int(try byte()))))
    case UInt8(ascii: "y"): value = .complex(try binaryDouble(), try binaryDouble())
    case UInt8(ascii: "s"): value = .bytes(Array(try take(try count())))
    case UInt8(ascii: "t"):
      let raw = try take(try count())
      if python2 {
        // Python 2's interned str: bytes, remembered for `R`.
        let text = String(decoding: raw, as: UTF8.self)
        interned.append(text)
        value = .bytes(Array(raw))
      } else {
        value = .string(try utf8(raw))
      }
    case UInt8(ascii: "R") where python2:
      let index = Int(try int32())
      guard index >= 0, index < interned.count else { throw MarshalError(start, "a string reference to entry \(index) of \(interned.count)") }
      value = .bytes(Array(interned[index].utf8))
    case UInt8(ascii: "u"): value = .string(try utf8(take(try count())))
    case UInt8(ascii: "a"), UInt8(ascii: "A"): value = .string(try ascii(take(try count())))
    case UInt8(ascii: "z"), UInt8(ascii: "Z"): value = .string(try ascii(take(Int(try byte()))))
    case UInt8(ascii: "("): value = .tuple(try items(try count()))
    case UInt8(ascii: ")"): value = .tuple(try items(try count(short: true)))
    case UInt8(ascii: "["): value = .list(try items(try count()))
    case UInt8(ascii: "<"), UInt8(ascii: ">"): value = .set(try items(try count()), frozen: type == UInt8(ascii: ">"))
    case UInt8(ascii: "{"):
      var keys: [PyObject] = [], values: [PyObject] = []
      while true {
        guard remaining > 0 else { throw error("a dict runs past the end") }
        if bytes[offset] == UInt8(ascii: "0") { offset += 1; break }
        keys.append(try object())
        values.append(try object())
      }
      value = .dict(keys, values)
    case UInt8(ascii: ":"): value = .slice(try object(), try object(), try object())
    case UInt8(ascii: "c"): value = .code(try CodeObject(reading: &self))
    case UInt8(ascii: "r") where !python2:
      let index = Int(try int32())
      guard index >= 0, index < references.count else { throw MarshalError(start, "a reference to object \(index) of \(references.count)") }
      guard let referenced = references[index] else { throw MarshalError(start, "a reference to object \(index), which contains it") }
      value = referenced
    default:
      throw MarshalError(start, "unknown type code 0x\(String(type, radix: 16))" + (type >= 0x20 && type < 0x7F ? " ('\(Character(Unicode.Scalar(type)))')" : ""))
    }
    if let slot { references[slot] = value }
    return value
  }

  static let singletons: Set<UInt8> = Set("0N.SFT".utf8)

  mutating func items(_ n: Int) throws(MarshalError) -> [PyObject] {
    var result: [PyObject] = []
    result.reserveCapacity(n)
    for _ in 0..<n { result.append(try object()) }
    return result
  }

  /// An arbitrary-precision int: a signed count of 15-bit digits, least significant first.
  mutating func long() throws(MarshalError) -> PyObject {
    let signed = Int(try int32())
    let n = signed.magnitude
    guard n <= remaining / 2 else { throw error("an int of \(n) digits exceeds the \(remaining) bytes left") }
    var digits: [UInt16] = []
    for _ in 0..<n {
      let d = try take(2)
      let digit = UInt16(d[d.startIndex]) | UInt16(d[d.startIndex + 1]) << 8
      guard digit < 1 << 15 else { throw error("an int digit out of range (\(digit))") }
      digits.append(digit)
    }
    if let last = digits.last, last == 0 { throw error("an int with a leading zero digit") }
    var value: UInt64 = 0
    var fits = digits.count <= 5
    for (i, d) in digits.enumerated().reversed() where fits {
      let (shifted, overflow) = value.multipliedReportingOverflow(by: 1 << 15)
      if overflow { fits = false; break }
      value = shifted | UInt64(d)
      _ = i
    }
    if fits, value <= UInt64(Int.max) { return .int(signed < 0 ? -Int(value) : Int(value)) }
    return .bigInt(digits: Int(Double(digits.count) * 15 * 0.30103) + 1, negative: signed < 0)
  }

  mutating func binaryDouble() throws(MarshalError) -> Double {
    let b = try take(8)
    var bits: UInt64 = 0
    for (i, x) in b.enumerated() { bits |= UInt64(x) << (8 * UInt64(i)) }
    return Double(bitPattern: bits)
  }

  func decimal(_ raw: ArraySlice<UInt8>) throws(MarshalError) -> Double {
    let text = String(decoding: raw, as: UTF8.self)
    switch text {
    case "inf": return .infinity
    case "-inf": return -.infinity
    case "nan", "-nan": return .nan
    default:
      guard let value = Double(text) else { throw error("a float written as \"\(text.prefix(24))\"") }
      return value
    }
  }

  func utf8(_ raw: ArraySlice<UInt8>) throws(MarshalError) -> String {
    guard let text = String(validating: raw, as: UTF8.self) else { throw error("a str that is not UTF-8") }
    return text
  }

  func ascii(_ raw: ArraySlice<UInt8>) throws(MarshalError) -> String {
    guard raw.allSatisfy({ $0 < 0x80 }) else { throw error("an ASCII str with a byte over 127") }
    return String(decoding: raw, as: UTF8.self)
  }
}
