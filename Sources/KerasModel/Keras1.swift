/// Files written by Keras 1.x: their layer configs and per-gate recurrent weights, mapped to the
/// Keras 2 forms the rest of keras-inspect reads, as Keras 2's own legacy loader maps them
/// (`preprocess_weights_for_loading` and the Keras 1 argument converters, Keras 2.0-2.3).
enum Keras1 {
  /// Config keys of Keras 1's vocabulary (`nb_filter`, `border_mode`, `inner_activation`,
  /// `dim_ordering`...) that no Keras 2 layer has.
  /// (Their lengths, 9, 11, 12 and 16, are the only ones ``isKeras1(className:config:)`` compares.)
  static let keys = ["nb_filter", "border_mode", "inner_activation", "dim_ordering", "pool_length", "subsample"]

  /// Whether a layer config is in Keras 1's vocabulary: a Keras 1 class name, `output_dim` for
  /// a layer other than Embedding (Keras 2 calls it `units`), or a Keras 1 key.
  static func isKeras1(className: String, config: JSONValue) -> Bool {
    guard let object = config.object else { return false }
    if LayerRegistry.byKeras1ClassName[className] != nil { return true }
    // One pass over the config's keys (a large model has hundreds of layers to check), each
    // compared only with the Keras 1 keys of its length.
    var outputDim = false, units = false
    for member in object {
      let key = member.key
      switch key.utf8.count {
      case 5: units = units || key == "units"
      case 10: outputDim = outputDim || key == "output_dim"
      case 9, 11, 12, 16: if keys.contains(key) { return true }
      default: break
      }
    }
    return className != "Embedding" && outputDim && !units
  }

  /// The Keras 2 class name and config of a Keras 1 layer; other layers are returned unchanged.
  /// The keys every Keras 1 layer shares are renamed here, then the family's own
  /// (``LayerDefinition/upgradeKeras1(_:)``). A renamed class is kept in the config as
  /// ``Keras1Config/marker``.
  static func upgrade(className: String, config: JSONValue) -> (String, JSONValue) {
    // A wrapper (Bidirectional, TimeDistributed) holds its layer as {"class_name", "config"}.
    if var wrapper = config.object, let inner = wrapper["layer"], let innerClass = inner["class_name"]?.string,
      let innerConfig = inner["config"], isKeras1(className: innerClass, config: innerConfig)
    {
      let (newClass, newConfig) = upgrade(className: innerClass, config: innerConfig)
      var layer = inner.object ?? [:]
      layer["class_name"] = .string(newClass)
      layer["config"] = newConfig
      wrapper["layer"] = .object(layer)
      return (className, .object(wrapper))
    }
    guard isKeras1(className: className, config: config), let keys = config.object else { return (className, config) }
    let family = LayerRegistry.byKeras1ClassName[className]
    var c = Keras1Config(className: family?.keras1ClassNames[className] ?? className, keras1ClassName: className, keys: keys)
    c.move("inner_activation", "recurrent_activation")
    c.move("nb_filter", "filters")
    c.move("border_mode", "padding")
    if let bias = c.keys.removeValue(forKey: "bias") { c.keys["use_bias"] = bias }
    if let ordering = c.keys.removeValue(forKey: "dim_ordering")?.string, c.keys["data_format"] == nil {
      c.keys["data_format"] = .string(ordering == "th" ? "channels_first" : "channels_last")
    }
    (family ?? LayerRegistry.byClassName[c.className])?.upgradeKeras1(&c)
    if className != c.className { c.keys[Keras1Config.marker] = .string(className) }
    return (c.className, .object(c.keys))
  }
}

/// A Keras 1 layer config being rewritten into the Keras 2 keys its family's definition reads.
public struct Keras1Config: Sendable {
  /// The config key that keeps a renamed layer's Keras 1 class (`Convolution2D`), which tells
  /// how its weights were stored.
  public static let marker = "keras1_class_name"

  /// The Keras 2 class the layer becomes; a family may change it (Keras 1's `Merge`, by its mode).
  public var className: String
  public let keras1ClassName: String
  public var keys: JSONObject

  /// Renames `old` to `new` unless the config already has `new`.
  public mutating func move(_ old: String, _ new: String) {
    if let value = keys.removeValue(forKey: old), keys[new] == nil { keys[new] = value }
  }
}

/// Files written by Keras with the Theano backend (`backend` attribute "theano"): Theano
/// convolves, flipping the kernel, so the convolution families mark those kernels to be read
/// flipped (``StoredWeight/flipSpatial``).
enum Theano {
  /// Reverses every axis but the last two (input and output channels), in place.
  static func flip(_ values: inout [Float], shape: [Int]) {
    guard shape.count >= 3 else { return }
    let spatial = Array(shape.dropLast(2))
    let inner = shape.suffix(2).reduce(1, *)
    let positions = spatial.reduce(1, *)
    guard positions > 1, values.count == positions * inner else { return }
    let original = values
    for p in 0..<positions {
      // The position's multi-index, each coordinate reversed.
      var rest = p, flipped = 0, step = 1
      var coordinates = [Int](repeating: 0, count: spatial.count)
      for axis in stride(from: spatial.count - 1, through: 0, by: -1) {
        coordinates[axis] = rest % spatial[axis]
        rest /= spatial[axis]
      }
      for axis in stride(from: spatial.count - 1, through: 0, by: -1) {
        flipped += (spatial[axis] - 1 - coordinates[axis]) * step
        step *= spatial[axis]
      }
      for i in 0..<inner { values[p * inner + i] = original[flipped * inner + i] }
    }
  }
}
