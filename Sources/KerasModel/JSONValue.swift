import Foundation

/// A parsed JSON value: Keras configs are free-form, so they are kept as data and read
/// through typed accessors that say what they expected when the file disagrees.
public enum JSONValue: Sendable, Equatable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  /// Parses JSON text. Strict JSON first: Foundation's JSON5 mode rejects `\u0000`, which Keras 2
  /// writes in marshalled Lambda code. Then JSON5, for the `NaN` and `Infinity` Python's `json` writes.
  /// Foundation's decoder bounds nesting depth, so hostile nesting is an error, not a crash.
  public static func parse(_ text: String) throws -> JSONValue {
    let data = Data(text.utf8)
    do {
      return try JSONDecoder().decode(JSONValue.self, from: data)
    } catch {
      let decoder = JSONDecoder()
      decoder.allowsJSON5 = true
      guard let value = try? decoder.decode(JSONValue.self, from: data) else { throw error }
      return value
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

extension JSONValue: Decodable {
  public init(from decoder: Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() { self = .null }
    else if let b = try? container.decode(Bool.self) { self = .bool(b) }
    else if let n = try? container.decode(Double.self) { self = .number(n) }
    else if let s = try? container.decode(String.self) { self = .string(s) }
    else if let a = try? container.decode([JSONValue].self) { self = .array(a) }
    else { self = .object(try container.decode([String: JSONValue].self)) }
  }
}
