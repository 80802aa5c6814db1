/// A parsed JSON value: Keras configs are free-form, so they are kept as data and read
/// through typed accessors that say what they expected when the file disagrees.
public enum JSONValue: Sendable, Equatable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  /// Parses JSON text as Python's `json` module writes it: strict JSON plus the bare `NaN`,
  /// `Infinity` and `-Infinity` it emits for non-finite floats. `\u0000` escapes are accepted
  /// (Keras 2 writes them in marshalled Lambda code). Nesting deeper than ``JSONParser/maxDepth``
  /// is an error, so a hostile config cannot exhaust the stack.
  public static func parse(_ text: String) throws -> JSONValue {
    var text = text
    return try text.withUTF8 { bytes in
      var parser = JSONParser(bytes)
      return try parser.document()
    }
  }

  public subscript(key: String) -> JSONValue? {
    if case .object(let dict) = self { return dict[key] }
    return nil
  }

  public var string: String? { if case .string(let s) = self { return s }; return nil }
  public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
  public var array: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
  public var object: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }
  public var isNull: Bool { self == .null }

  public var double: Double? { if case .number(let n) = self { return n }; return nil }

  /// An integral number that fits an Int; nil for 2.5, NaN or 1e300.
  public var int: Int? {
    guard case .number(let n) = self, n.isFinite, n.rounded() == n, abs(n) < 9.0e15 else { return nil }
    return Int(n)
  }

  /// A list of ints, or a single int (Keras accepts `3` where it means `(3,)`).
  public var intList: [Int]? {
    if let n = int { return [n] }
    guard let items = array else { return nil }
    var result: [Int] = []
    for item in items {
      guard let n = item.int else { return nil }
      result.append(n)
    }
    return result
  }

  /// A shape: a list of ints or nulls.
  public var shape: [Int?]? {
    guard let items = array else { return nil }
    var result: [Int?] = []
    for item in items {
      if item.isNull { result.append(nil) } else if let n = item.int { result.append(n) } else { return nil }
    }
    return result
  }
}

/// Why JSON text did not parse: what was expected, at which byte offset.
public struct JSONError: Error, CustomStringConvertible, Sendable {
  public let message: String
  public let offset: Int
  public var description: String { "\(message) at byte \(offset)" }
}

/// A recursive-descent JSON parser over UTF-8 bytes, without Foundation: Keras configs are read
/// on every run, and this is several times faster than decoding through `Decodable`.
struct JSONParser {
  /// Deeper nesting than any Keras config needs (a nested model adds about 6 levels).
  static let maxDepth = 512

  private let bytes: UnsafeBufferPointer<UInt8>
  private var index = 0
  private var depth = 0

  init(_ bytes: UnsafeBufferPointer<UInt8>) {
    self.bytes = bytes
  }

  mutating func document() throws(JSONError) -> JSONValue {
    let value = try self.value()
    skipSpace()
    guard index == bytes.count else { throw fail("unexpected text after the JSON value") }
    return value
  }

  private func fail(_ message: String) -> JSONError { JSONError(message: message, offset: index) }

  private mutating func skipSpace() {
    while index < bytes.count {
      switch bytes[index] {
      case 0x20, 0x0A, 0x0D, 0x09: index += 1
      default: return
      }
    }
  }

  private mutating func consume(_ literal: StaticString) -> Bool {
    let count = literal.utf8CodeUnitCount
    guard index + count <= bytes.count else { return false }
    for i in 0..<count where bytes[index + i] != literal.utf8Start[i] { return false }
    index += count
    return true
  }

  private mutating func value() throws(JSONError) -> JSONValue {
    skipSpace()
    guard index < bytes.count else { throw fail("unexpected end of JSON") }
    switch bytes[index] {
    case UInt8(ascii: "{"): return try nested { p throws(JSONError) in try p.object() }
    case UInt8(ascii: "["): return try nested { p throws(JSONError) in try p.array() }
    case UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "t"): if consume("true") { return .bool(true) }
    case UInt8(ascii: "f"): if consume("false") { return .bool(false) }
    case UInt8(ascii: "n"): if consume("null") { return .null }
    case UInt8(ascii: "N"): if consume("NaN") { return .number(.nan) }
    case UInt8(ascii: "I"): if consume("Infinity") { return .number(.infinity) }
    case UInt8(ascii: "-") where consume("-Infinity"): return .number(-.infinity)
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
    default: break
    }
    throw fail("unexpected character")
  }

  private mutating func nested(_ body: (inout JSONParser) throws(JSONError) -> JSONValue) throws(JSONError) -> JSONValue {
    depth += 1
    defer { depth -= 1 }
    guard depth <= Self.maxDepth else { throw fail("JSON nested deeper than \(Self.maxDepth) levels") }
    index += 1  // the opening bracket
    return try body(&self)
  }

  /// Members of the objects being parsed, innermost last: an object's are gathered here and its
  /// dictionary is made once at its size, not grown (and rehashed) key by key.
  private var pending: [(key: String, value: JSONValue)] = []

  private mutating func object() throws(JSONError) -> JSONValue {
    skipSpace()
    if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
      index += 1
      return .object([:])
    }
    let first = pending.count
    defer { pending.removeSubrange(first...) }
    while true {
      skipSpace()
      guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a quoted key") }
      let key = try string()
      skipSpace()
      guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
      index += 1
      let member = try value()
      pending.append((key, member))
      skipSpace()
      guard index < bytes.count else { throw fail("unterminated object") }
      if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
      if bytes[index] == UInt8(ascii: "}") { break }
      throw fail("expected ',' or '}' in an object")
    }
    index += 1
    // A repeated key keeps its last value, as Python's json does.
    var members = [String: JSONValue](minimumCapacity: pending.count - first)
    for (key, member) in pending[first...] { members[key] = member }
    return .object(members)
  }

  private mutating func array() throws(JSONError) -> JSONValue {
    var items: [JSONValue] = []
    skipSpace()
    if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
      index += 1
      return .array(items)
    }
    while true {
      items.append(try value())
      skipSpace()
      guard index < bytes.count else { throw fail("unterminated array") }
      if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
      if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
      throw fail("expected ',' or ']' in an array")
    }
  }

  private mutating func string() throws(JSONError) -> String {
    index += 1  // the opening quote
    let start = index
    // Fast path: no escapes.
    while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\"), bytes[index] >= 0x20 {
      index += 1
    }
    guard index < bytes.count else { throw fail("unterminated string") }
    if bytes[index] == UInt8(ascii: "\"") {
      defer { index += 1 }
      return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }
    var out = Array(bytes[start..<index])
    while true {
      guard index < bytes.count else { throw fail("unterminated string") }
      let byte = bytes[index]
      index += 1
      switch byte {
      case UInt8(ascii: "\""):
        return String(decoding: out, as: UTF8.self)
      case UInt8(ascii: "\\"):
        guard index < bytes.count else { throw fail("unterminated escape") }
        let escape = bytes[index]
        index += 1
        switch escape {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
          var scalar = try hex4()
          if (0xD800..<0xDC00).contains(scalar), consume("\\u") {
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw fail("invalid surrogate pair") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          }
          // A lone surrogate becomes U+FFFD, as Python's decoder would not fail on it either.
          out.append(contentsOf: String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8)
        default:
          throw fail("invalid escape")
        }
      case 0..<0x20:
        throw fail("control character in a string")
      default:
        out.append(byte)
      }
    }
  }

  private mutating func hex4() throws(JSONError) -> UInt32 {
    guard index + 4 <= bytes.count else { throw fail("short \\u escape") }
    var value: UInt32 = 0
    for _ in 0..<4 {
      let c = bytes[index]
      let digit: UInt32
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
      default: throw fail("invalid \\u escape")
      }
      value = value << 4 | digit
      index += 1
    }
    return value
  }

  /// A JSON number (`-`? int frac? exp?), converted by the C library's correctly rounded strtod.
  private mutating func number() throws(JSONError) -> Double {
    let start = index
    func digits(_ p: inout JSONParser) -> Int {
      let s = p.index
      while p.index < p.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(p.bytes[p.index]) { p.index += 1 }
      return p.index - s
    }
    if bytes[index] == UInt8(ascii: "-") { index += 1 }
    guard digits(&self) > 0 else { throw fail("invalid number") }
    if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
      index += 1
      guard digits(&self) > 0 else { throw fail("invalid number") }
    }
    if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
      index += 1
      if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
      guard digits(&self) > 0 else { throw fail("invalid number") }
    }
    // Most numbers in a config are small integers (shapes, units, strides): exact as Doubles
    // up to 2^53, read here without the C library.
    let negative = bytes[start] == UInt8(ascii: "-")
    let first = negative ? start + 1 : start
    if index - first <= 15, !bytes[first..<index].contains(where: { $0 < UInt8(ascii: "0") || $0 > UInt8(ascii: "9") }) {
      var value = 0
      for digit in bytes[first..<index] { value = value * 10 + Int(digit - UInt8(ascii: "0")) }
      return negative ? -Double(value) : Double(value)
    }
    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    guard let value = Double(text) else { throw fail("invalid number") }
    return value
  }
}
