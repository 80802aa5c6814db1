/// Typed access to one layer's config, with errors naming the layer and the key. Only layer
/// definitions use it: it is how config JSON becomes typed fields, once per layer.
public struct LayerReader: Sendable {
  public let name: String
  public let className: String
  public let config: JSONValue
  /// The file was written by Keras 3, whose `compute_output_shape` a few families follow where
  /// Keras 2's summary shows the shapes its call computed (EinsumDense's unknown output sizes).
  public let keras3: Bool
  /// The arguments of the layer's first call: op nodes (TFOpLambda, Keras 3 ops) are called once
  /// and say there what they compute.
  public let call: CallStructure?

  public init(name: String, className: String, config: JSONValue, keras3: Bool = false, call: CallStructure? = nil) {
    self.name = name
    self.className = className
    self.config = config
    self.keras3 = keras3
    self.call = call
  }

  public var label: LayerLabel { LayerLabel(name: name, className: className) }

  public func error(_ text: String) -> ModelError { label.error(text) }

  func present(_ key: String) -> JSONValue? {
    guard let value = config[key], !value.isNull else { return nil }
    return value
  }

  /// A non-negative integer (`axis` may be negative), or a one-element list of one.
  func int(_ key: String, default fallback: Int? = nil) throws(ModelError) -> Int {
    if let value = present(key) {
      guard let n = value.int ?? value.intList.flatMap({ $0.count == 1 ? $0[0] : nil }) else {
        throw error("has \(key) that is not an integer")
      }
      guard n >= 0 || key.contains("axis") else { throw error("has negative \(key) \(n)") }
      guard abs(n) < 1 << 40 else { throw error("has \(key) \(n), beyond any real model") }
      return n
    }
    guard let fallback else { throw error("has no \(key)") }
    return fallback
  }

  /// An integer that may be negative (a token such as `oov_token=-1`).
  func signedInt(_ key: String, default fallback: Int) throws(ModelError) -> Int {
    guard let value = present(key) else { return fallback }
    guard let n = value.int, abs(n) < 1 << 53 else { throw error("has \(key) that is not an integer") }
    return n
  }

  func optionalInt(_ key: String) throws(ModelError) -> Int? {
    present(key) == nil ? nil : try int(key)
  }

  /// `count` positive integers, or one repeated (`kernel_size: 3` for a 2-D layer).
  func ints(_ key: String, count: Int, default fallback: Int? = nil, allowZero: Bool = false) throws(ModelError) -> [Int] {
    if let value = present(key) {
      let low = allowZero ? 0 : 1
      guard let list = value.intList, list.count == 1 || list.count == count, list.allSatisfy({ $0 >= low && $0 < 1 << 30 }) else {
        throw error("has \(key) that is not \(count) \(allowZero ? "non-negative" : "positive") integers")
      }
      return list.count == count ? list : Array(repeating: list[0], count: count)
    }
    guard let fallback else { throw error("has no \(key)") }
    return Array(repeating: fallback, count: count)
  }

  /// An integer or a list of integers (`axis: -1`, `axis: [1, 2]`).
  func intList(_ key: String, default fallback: [Int]) throws(ModelError) -> [Int] {
    guard let value = present(key) else { return fallback }
    if let n = value.int { return [n] }
    guard let list = value.intList else { throw error("has \(key) that is not an integer or a list of integers") }
    return list
  }

  func double(_ key: String, default fallback: Double? = nil) throws(ModelError) -> Double {
    if let value = present(key) {
      guard let d = value.double else { throw error("has \(key) that is not a number") }
      return d
    }
    guard let fallback else { throw error("has no \(key)") }
    return fallback
  }

  func optionalDouble(_ key: String) throws(ModelError) -> Double? {
    present(key) == nil ? nil : try double(key)
  }

  /// A number, or a list of numbers (Rescaling's `scale`, Normalization's `mean`).
  func doubles(_ key: String) throws(ModelError) -> [Double]? {
    guard let value = present(key) else { return nil }
    if let d = value.double { return [d] }
    guard let items = value.array else { throw error("has \(key) that is not a number or a list of numbers") }
    var result: [Double] = []
    func flatten(_ v: JSONValue, depth: Int) throws(ModelError) {
      if let d = v.double { result.append(d); return }
      guard depth < 8, let list = v.array else { throw error("has \(key) that is not a number or a list of numbers") }
      for item in list { try flatten(item, depth: depth + 1) }
    }
    for item in items { try flatten(item, depth: 0) }
    return result
  }

  func bool(_ key: String, default fallback: Bool) throws(ModelError) -> Bool {
    guard let value = present(key) else { return fallback }
    guard let b = value.bool else { throw error("has \(key) that is not true or false") }
    return b
  }

  func string(_ key: String, default fallback: String? = nil) throws(ModelError) -> String {
    if let value = present(key) {
      guard let s = value.string else { throw error("has \(key) that is not a string") }
      return s
    }
    guard let fallback else { throw error("has no \(key)") }
    return fallback
  }

  /// A string from a closed set (`padding`, `interpolation`...).
  func choice<T: RawRepresentable>(_ key: String, default fallback: T) throws(ModelError) -> T where T.RawValue == String {
    guard let value = present(key) else { return fallback }
    guard let s = value.string, let choice = T(rawValue: s.lowercased()) else {
      throw error("has \(key) \(value.string.map { "\"\($0)\"" } ?? "\(value)"), which Keras does not define")
    }
    return choice
  }

  func dataFormat() throws(ModelError) -> DataFormat { try choice("data_format", default: .channelsLast) }

  func activation(_ key: String = "activation", default fallback: String = "linear") throws(ModelError) -> Activation {
    guard let value = present(key) else { return Activation(name: fallback) }
    // `"relu"`, or Keras 3's `{"class_name": "function", "config": "relu", ...}`.
    if let s = value.string { return Activation(name: s) }
    if let s = value["config"]?.string ?? value["config"]?["name"]?.string ?? value["class_name"]?.string {
      return Activation(name: s)
    }
    throw error("has an \(key) keras-inspect cannot read")
  }

  /// A wrapped layer (`{"class_name", "config"}` under `key`), decoded by its own family.
  func wrapped(_ key: String) throws(ModelError) -> WrappedLayer? {
    guard let inner = present(key) else { return nil }
    guard let className = inner["class_name"]?.string, let config = inner["config"] else {
      throw error("has a \(key) entry without class_name and config")
    }
    let name = config["name"]?.string ?? "\(self.name)/\(key)"
    if ConfigParser.modelClasses.contains(className) {
      // A whole model wrapped (TimeDistributed over a frame encoder).
      let model = try ConfigParser.model(.object(["class_name": .string(className), "config": config]))
      return WrappedLayer(className: className, name: name, definition: NestedModel(model: model, keras3: keras3, label: label))
    }
    guard let definition = try LayerRegistry.definition(name: name, className: className, config: config, keras3: keras3) else {
      throw error("wraps a \(className) layer, which keras-inspect does not understand")
    }
    return WrappedLayer(className: className, name: name, definition: definition)
  }

  /// `1`, `(1, 2)` (for one axis: before/after; for several: symmetric per axis), or `((1, 2), (3, 4))`.
  func pairs(_ key: String, count: Int, default fallback: Int) throws(ModelError) -> [Pair] {
    guard let value = present(key) else { return Array(repeating: Pair(fallback, fallback), count: count) }
    if let n = value.int {
      guard n >= 0 else { throw error("has negative \(key) \(n)") }
      return Array(repeating: Pair(n, n), count: count)
    }
    guard let items = value.array else { throw error("has \(key) that is not a number or list") }
    var result: [Pair] = []
    if count == 1, let list = value.intList, list.count == 2 {
      result = [Pair(list[0], list[1])]
    } else if items.count == count, let flat = value.intList {
      result = flat.map { Pair($0, $0) }
    } else {
      for item in items {
        guard let pair = item.intList, pair.count == 2 else { throw error("has \(key) that is not pairs of integers") }
        result.append(Pair(pair[0], pair[1]))
      }
    }
    guard result.count == count else { throw error("has \(key) with \(result.count) axes, expected \(count)") }
    guard result.allSatisfy({ $0.before >= 0 && $0.after >= 0 && $0.before < 1 << 30 && $0.after < 1 << 30 }) else {
      throw error("has \(key) with a negative or absurd amount")
    }
    return result
  }
}

/// A layer's name and class, for the errors its definition raises, and the shape checks every
/// definition shares.
public struct LayerLabel: Sendable {
  public let name: String
  public let className: String

  public func error(_ text: String) -> ModelError {
    ModelError(.badConfig, "layer \(name) (\(className)) \(text)")
  }


  func single(_ inputs: [Shape], rank: Int? = nil) throws(ModelError) -> Shape {
    guard inputs.count == 1 else { throw error("expects one input, got \(inputs.count)") }
    if let rank, inputs[0].count != rank {
      throw error("expects an input of rank \(rank), got \(pythonTuple(inputs[0]))")
    }
    guard !inputs[0].isEmpty else { throw error("got a scalar input") }
    return inputs[0]
  }

  func known(_ dimension: Int?, _ what: String) throws(ModelError) -> Int {
    guard let dimension else { throw error("needs a known \(what) to build its weights") }
    return dimension
  }

  /// A Keras axis (possibly negative) resolved against a rank; the batch axis is refused.
  func resolve(axis a: Int, rank: Int) throws(ModelError) -> Int {
    let axis = a < 0 ? a + rank : a
    guard axis >= 1, axis < rank else { throw error("has axis \(a), outside an input of rank \(rank)") }
    return axis
  }

  func checkedProduct(_ values: [Int]) throws(ModelError) -> Int {
    var product = 1
    for v in values {
      let (p, overflow) = product.multipliedReportingOverflow(by: v)
      if overflow { throw error("has a shape whose size overflows") }
      product = p
    }
    return product
  }
}

/// A layer inside a wrapper (Bidirectional, TimeDistributed), decoded by its own family.
public struct WrappedLayer: Sendable {
  public let className: String
  public let name: String
  public let definition: any LayerDefinition
}

/// Amounts before and after one axis (padding, cropping).
public struct Pair: Sendable, Equatable {
  public let before: Int
  public let after: Int
  public init(_ before: Int, _ after: Int) {
    self.before = before
    self.after = after
  }
  public var total: Int { before + after }
}

/// Where the channels sit: last (TensorFlow's default) or right after the batch (Theano's `th`).
public enum DataFormat: String, Sendable {
  case channelsLast = "channels_last"
  case channelsFirst = "channels_first"
}

/// A convolution's or pooling's padding, as Keras's `conv_utils.conv_output_length` reads it.
public enum Padding: String, Sendable {
  case valid, same, causal
  /// Keras 1's `border_mode="full"`: every partial overlap (input + span - 1 positions).
  case full
}

/// An activation by the name Keras gives it (`relu`, `gelu`, ...); `linear` for none.
public struct Activation: Sendable, Equatable {
  public let name: String
  public init(name: String) { self.name = name }
  public var isLinear: Bool { name == "linear" }
}

/// Python's repr of a shape tuple, for error messages.
func format(_ shape: Shape) -> String { pythonTuple(shape) }

func sum(_ a: Int?, _ b: Int?) -> Int? {
  guard let a, let b else { return nil }
  return a + b
}
