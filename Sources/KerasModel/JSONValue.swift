/// A parsed JSON value: Keras configs are free-form, so they are kept as data and read
/// through typed accessors that say what they expected when the file disagrees.
public enum JSONValue: Sendable, Equatable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object(JSONObject)

  /// Parses JSON text as Python's `json` module writes it: strict JSON plus the bare `NaN`,
  /// `Infinity` and `-Infinity` it emits for non-finite floats. `\u0000` escapes are accepted
  /// (Keras 2 writes them in marshalled Lambda code). Nesting deeper than ``JSONParser/maxDepth``
  /// is an error, so a hostile config cannot exhaust the stack.
  public static func parse(_ text: String) throws -> JSONValue {
    var text = text
    return try text.withUTF8 { bytes in
      var parser = JSONParser(bytes)
      defer { parser.release() }
      return try parser.document()
    }
  }

  public subscript(key: String) -> JSONValue? {
    if case .object(let members) = self { return members[key] }
    return nil
  }

  public var string: String? { if case .string(let s) = self { return s }; return nil }
  public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
  public var array: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
  public var object: JSONObject? { if case .object(let o) = self { return o }; return nil }
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

/// A JSON object: its members in the order of the text, each key once. A key repeated in the
/// text keeps its last value at its first place, as in the dict Python's `json` makes.
///
/// Kept as a list, not a hash table: Keras configs are thousands of small objects (DenseNet121's
/// 364 KB config: 4,996 objects of at most 20 members), looked up a few keys each, and a list is
/// one allocation with no key hashed. An object of more than ``indexedCount`` members also keeps
/// an index from key to place, so that no lookup over a hostile file's huge object is linear.
public struct JSONObject: Sendable, Equatable, RandomAccessCollection, ExpressibleByDictionaryLiteral {
  public typealias Member = (key: String, value: JSONValue)

  /// The member count from which lookups go through an index.
  static let indexedCount = 32

  private var members: [Member]
  private var index: [String: Int]?

  /// The members, in order; a repeated key keeps its last value at its first place.
  public init<S: Sequence>(_ members: S) where S.Element == Member {
    self.members = []
    self.members.reserveCapacity(members.underestimatedCount)
    for member in members { self[member.key] = member.value }
  }

  /// Members whose keys are known to differ (the parser's check).
  init(unique members: [Member]) {
    self.members = members
    reindex()
  }

  public init(dictionaryLiteral elements: (String, JSONValue)...) {
    self.init(elements.lazy.map { (key: $0.0, value: $0.1) })
  }

  public init() { members = [] }

  public var startIndex: Int { 0 }
  public var endIndex: Int { members.count }
  public subscript(position: Int) -> Member { members[position] }

  /// The keys, in order.
  public var keys: [String] { members.map(\.key) }
  /// The values, in the order of their keys.
  public var values: [JSONValue] { members.map(\.value) }

  private func position(of key: String) -> Int? {
    if let index { return index[key] }
    let count = key.utf8.count
    return members.firstIndex { $0.key.utf8.count == count && $0.key == key }
  }

  /// The value of `key`; setting nil removes it, setting a new key appends it.
  public subscript(key: String) -> JSONValue? {
    get { position(of: key).map { members[$0].value } }
    set {
      switch (position(of: key), newValue) {
      case (let place?, let value?):
        members[place].value = value
      case (let place?, nil):
        members.remove(at: place)
        index = nil
        reindex()
      case (nil, let value?):
        members.append((key, value))
        if index != nil { index![key] = members.count - 1 } else { reindex() }
      case (nil, nil):
        break
      }
    }
  }

  private mutating func reindex() {
    guard index == nil, members.count > Self.indexedCount else { return }
    index = Dictionary(uniqueKeysWithValues: members.enumerated().map { ($1.key, $0) })
  }

  @discardableResult
  public mutating func removeValue(forKey key: String) -> JSONValue? {
    let value = self[key]
    if value != nil { self[key] = nil }
    return value
  }

  public func mapValues(_ transform: (JSONValue) throws -> JSONValue) rethrows -> JSONObject {
    var mapped = self
    for i in mapped.members.indices { mapped.members[i].value = try transform(mapped.members[i].value) }
    return mapped
  }

  /// The members `isIncluded` keeps, in order.
  public func filter(_ isIncluded: (Member) throws -> Bool) rethrows -> JSONObject {
    var kept = self
    kept.members = try members.filter(isIncluded)
    kept.index = nil
    kept.reindex()
    return kept
  }

  /// Equal when they have the same keys with equal values, in any order (as JSON objects are).
  public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
    lhs.count == rhs.count && lhs.members.allSatisfy { rhs[$0.key] == $0.value }
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

  /// Frees the stacks (``MoveStack``): what an error left on them, and their storage.
  func release() {
    pending.release()
    pendingItems.release()
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

  /// Members of the objects being parsed, innermost last: an object's are gathered here and
  /// stored once, at its size; likewise the items of the arrays being parsed.
  private var pending = MoveStack<JSONObject.Member>()
  private var pendingItems = MoveStack<JSONValue>()
  /// A fingerprint of each pending member's key: its ``words(_:)`` and length, mixed.
  private var fingerprints: [UInt64] = []

  /// The text `bytes[range]` as two words: its first and last eight bytes, or (shorter than
  /// eight) all of its bytes in the first. With the length, they are the text itself up to 16
  /// bytes, and a fingerprint of longer ones.
  private func words(_ range: Range<Int>) -> (first: UInt64, last: UInt64) {
    var first: UInt64 = 0, last: UInt64 = 0
    if range.count >= 8 {
      let base = UnsafeRawPointer(bytes.baseAddress!)
      first = base.loadUnaligned(fromByteOffset: range.lowerBound, as: UInt64.self)
      last = base.loadUnaligned(fromByteOffset: range.upperBound - 8, as: UInt64.self)
    } else {
      for i in range { first = first << 8 | UInt64(bytes[i]) }
    }
    return (first, last)
  }

  private static func mix(_ words: (first: UInt64, last: UInt64), _ count: Int) -> UInt64 {
    (words.first &* 0x9E37_79B9_7F4A_7C15) ^ (words.last &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(count)
  }

  /// The words of the last string read without escapes (``words(_:)``).
  private var lastWords: (first: UInt64, last: UInt64) = (0, 0)

  /// Strings of up to 16 bytes already made, by their words: a config repeats its keys and
  /// many values (`"name"`, `"float32"`, `"channels_last"`) thousands of times, and a string
  /// found here is not decoded and checked again.
  private struct Interned {
    var first: UInt64 = 0
    var last: UInt64 = 0
    var count = 0
    var string = ""
  }
  private static let internSlots = 512
  private var interned = [Interned](repeating: Interned(), count: internSlots)

  private mutating func text(_ range: Range<Int>) -> String {
    let count = range.count
    lastWords = words(range)
    guard count > 0, count <= 16 else {
      return String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
    let slot = Int(truncatingIfNeeded: Self.mix(lastWords, count) >> 40) & (Self.internSlots - 1)
    if interned[slot].count == count, interned[slot].first == lastWords.first, interned[slot].last == lastWords.last {
      return interned[slot].string
    }
    let string = String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    interned[slot] = Interned(first: lastWords.first, last: lastWords.last, count: count, string: string)
    return string
  }

  private mutating func object() throws(JSONError) -> JSONValue {
    skipSpace()
    if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
      index += 1
      return .object([:])
    }
    let first = pending.count
    defer {
      pending.drop(from: first)  // after an error; an object made has taken its members
      fingerprints.removeLast(fingerprints.count - first)
    }
    // Whether two keys may be the same: then the object is made through the check that keeps
    // the last value; otherwise each key is known to differ. A key with an escape may equal one
    // written otherwise, and counts as a possible repeat.
    var mayRepeat = false
    var seen: UInt64 = 0  // one bit per fingerprint's low six bits
    while true {
      skipSpace()
      guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a quoted key") }
      let keyStart = index + 1
      let key = try string()
      let keyText = keyStart..<(index - 1)
      if !mayRepeat {
        // A key with an escape leaves lastWords as they were, but is a possible repeat anyway.
        let fingerprint = Self.mix(lastWords, keyText.count)
        let bit: UInt64 = 1 << (fingerprint & 63)
        if seen & bit != 0, fingerprints[first...].contains(fingerprint) { mayRepeat = true }
        // Escapes are longer than what they stand for.
        if key.utf8.count != keyText.count { mayRepeat = true }
        seen |= bit
        fingerprints.append(fingerprint)
      } else {
        fingerprints.append(0)
      }
      skipSpace()
      guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
      index += 1
      let member = try value()
      pending.push((key, member))
      skipSpace()
      guard index < bytes.count else { throw fail("unterminated object") }
      if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
      if bytes[index] == UInt8(ascii: "}") { break }
      throw fail("expected ',' or '}' in an object")
    }
    index += 1
    let members = pending.take(from: first)
    return .object(mayRepeat ? JSONObject(members) : JSONObject(unique: members))
  }

  private mutating func array() throws(JSONError) -> JSONValue {
    skipSpace()
    if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
      index += 1
      return .array([])
    }
    let first = pendingItems.count
    defer { pendingItems.drop(from: first) }
    while true {
      pendingItems.push(try value())
      skipSpace()
      guard index < bytes.count else { throw fail("unterminated array") }
      if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
      if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(pendingItems.take(from: first)) }
      throw fail("expected ',' or ']' in an array")
    }
  }

  private mutating func string() throws(JSONError) -> String {
    index += 1  // the opening quote
    let start = index
    // Fast path: no escapes. Eight bytes at a time while eight remain: a byte that ends the run
    // (a quote, a backslash, a control character) is found as a zero byte of a masked word, and
    // the lowest such byte is the first (borrows only run upwards, past a true match).
    let base = UnsafeRawPointer(bytes.baseAddress!)
    let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
    while index + 8 <= bytes.count {
      let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
      let quote = word ^ (ones &* 0x22), backslash = word ^ (ones &* 0x5C)
      let ends = ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash | (word &- ones &* 0x20) & ~word) & highs
      if ends != 0 {
        index += ends.trailingZeroBitCount / 8
        break
      }
      index += 8
    }
    while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\"), bytes[index] >= 0x20 {
      index += 1
    }
    guard index < bytes.count else { throw fail("unterminated string") }
    if bytes[index] == UInt8(ascii: "\"") {
      defer { index += 1 }
      return text(start..<index)
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

/// A stack whose top elements are moved, not copied, into the array they become: the parser
/// gathers an object's members (an array's items) here while it reads them, and copying each
/// member out and destroying it on the stack was a tenth of a large config's parse. Its owner
/// calls ``release()`` once, at the end.
struct MoveStack<Element> {
  private var base: UnsafeMutablePointer<Element>
  private var capacity: Int
  private(set) var count = 0

  init(capacity: Int = 64) {
    base = .allocate(capacity: capacity)
    self.capacity = capacity
  }

  mutating func push(_ element: consuming Element) {
    if count == capacity {
      let grown = UnsafeMutablePointer<Element>.allocate(capacity: 2 * capacity)
      grown.moveInitialize(from: base, count: count)
      base.deallocate()
      base = grown
      capacity *= 2
    }
    (base + count).initialize(to: element)
    count += 1
  }

  /// The elements from `start` up, in order, moved into an array; the stack keeps those below.
  mutating func take(from start: Int) -> [Element] {
    let taken = count - start
    guard taken > 0 else { return [] }
    count = start
    // Made from a sequence, not with `Array(unsafeUninitializedCapacity:)`: that one reaches an
    // unspecialized allocation that looks the array's class up in the runtime's metadata cache
    // for every array, a seventh of a large config's parse (DenseNet121's ~10,000 arrays).
    return Array(Moved(place: base + start, end: base + start + taken))
  }

  /// Elements moved out of the stack's storage one by one, as a sequence of known length.
  private struct Moved: Sequence, IteratorProtocol {
    var place: UnsafeMutablePointer<Element>
    let end: UnsafeMutablePointer<Element>
    var underestimatedCount: Int { end - place }

    mutating func next() -> Element? {
      guard place < end else { return nil }
      defer { place += 1 }
      return place.move()
    }
  }

  /// Destroys the elements from `start` up (none once ``take(from:)`` has taken them).
  mutating func drop(from start: Int) {
    guard count > start else { return }
    (base + start).deinitialize(count: count - start)
    count = start
  }

  /// Destroys what is left and frees the storage; the stack is not used after.
  func release() {
    base.deinitialize(count: count)
    base.deallocate()
  }
}
