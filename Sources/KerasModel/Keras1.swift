/// Files written by Keras 1.x: their layer configs and per-gate recurrent weights, mapped to the
/// Keras 2 forms the rest of keras-inspect reads, as Keras 2's own legacy loader maps them
/// (`preprocess_weights_for_loading` and the Keras 1 argument converters, Keras 2.0-2.3).
enum Keras1 {
  /// Keras 1 class names that Keras 2 renamed.
  static let renamedClasses = [
    "Convolution1D": "Conv1D", "Convolution2D": "Conv2D", "Convolution3D": "Conv3D",
    "AtrousConvolution1D": "Conv1D", "AtrousConvolution2D": "Conv2D",
  ]

  /// Whether a layer config is in Keras 1's vocabulary (`output_dim` for a Dense or recurrent
  /// layer, `nb_filter`, `border_mode`, `inner_activation`, `dim_ordering`...).
  /// Keras 1's `Merge` modes that Keras 2 has a layer for.
  static let mergeModes = ["sum": "Add", "mul": "Multiply", "concat": "Concatenate", "ave": "Average", "max": "Maximum"]

  static func isKeras1(className: String, config: JSONValue) -> Bool {
    guard let object = config.object else { return false }
    if className == "Merge" { return true }
    if renamedClasses[className] != nil { return true }
    if className != "Embedding", object["output_dim"] != nil, object["units"] == nil { return true }
    return ["nb_filter", "border_mode", "inner_activation", "dim_ordering", "pool_length", "subsample"].contains { object[$0] != nil }
  }

  /// The Keras 2 class name and config of a Keras 1 layer; other layers are returned unchanged.
  /// The original class is kept in the config as `keras1_class_name`.
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
    guard isKeras1(className: className, config: config), var c = config.object else { return (className, config) }
    var newClass = renamedClasses[className] ?? className
    // A functional Keras 1 `Merge` (not one merging Sequential branches, which holds "layers")
    // becomes the Keras 2 merge layer of its mode; `dot`, `cos` and custom modes stay unread.
    if className == "Merge", c["layers"] == nil || c["layers"]?.isNull == true,
      let mode = c["mode"]?.string, let merged = mergeModes[mode]
    {
      newClass = merged
      if merged == "Concatenate" { c["axis"] = c["concat_axis"] ?? .number(-1) }
    }
    func move(_ old: String, _ new: String) {
      if let value = c.removeValue(forKey: old), c[new] == nil { c[new] = value }
    }
    if newClass != "Embedding" { move("output_dim", "units") }
    move("inner_activation", "recurrent_activation")
    move("nb_filter", "filters")
    move("border_mode", "padding")
    if let bias = c.removeValue(forKey: "bias") { c["use_bias"] = bias }
    switch newClass {
    case "Conv1D":
      move("filter_length", "kernel_size")
      move("subsample_length", "strides")
      move("atrous_rate", "dilation_rate")
    case "Conv2D", "Conv3D":
      if let rows = c.removeValue(forKey: "nb_row"), let cols = c.removeValue(forKey: "nb_col") {
        c["kernel_size"] = .array([rows, cols])
      }
      move("subsample", "strides")
      move("atrous_rate", "dilation_rate")
    case "MaxPooling1D", "AveragePooling1D":
      move("pool_length", "pool_size")
      move("stride", "strides")
    case "GRU":
      // Keras 1's GRU applies the reset gate before the recurrent product.
      if c["reset_after"] == nil { c["reset_after"] = .bool(false) }
    default:
      break
    }
    if let ordering = c.removeValue(forKey: "dim_ordering")?.string, c["data_format"] == nil {
      c["data_format"] = .string(ordering == "th" ? "channels_first" : "channels_last")
    }
    if className != newClass { c["keras1_class_name"] = .string(className) }
    return (newClass, .object(c))
  }

  /// Keras 1 convolution kernels in Keras 2's axis order, as Keras 2's loader converts them:
  /// a `Convolution1D` kernel is 4-D, (length, 1, in, filters), or in Keras 1.1 (filters, in,
  /// length, 1); a `dim_ordering: th` `Convolution2D` kernel is (filters, in, rows, cols).
  static func convolutionLayouts(_ weights: [String: [StoredWeight]], config: ModelConfig?) -> [String: [StoredWeight]] {
    guard let config else { return weights }
    var result = weights
    for layer in config.layers where layer.config["keras1_class_name"] != nil {
      guard var stored = weights[layer.name], let kernel = stored.first else { continue }
      let c = layer.config
      let filters = c["filters"]?.int
      let size = c["kernel_size"]?.intList ?? []
      var target: [Int]?
      var permutation: [Int]?
      switch layer.className {
      case "Conv1D" where kernel.shape.count == 4:
        if kernel.shape[1] == 1, kernel.shape[3] == filters {
          target = [kernel.shape[0], kernel.shape[2], kernel.shape[3]]
        } else if kernel.shape[0] == filters, kernel.shape[3] == 1 {
          target = [kernel.shape[2], kernel.shape[1], kernel.shape[0]]
          permutation = [2, 3, 1, 0]
        }
      case "Conv2D" where kernel.shape.count == 4 && c["data_format"]?.string == "channels_first":
        if kernel.shape[0] == filters, size.count == 2, Array(kernel.shape[2...]) == size {
          target = [kernel.shape[2], kernel.shape[3], kernel.shape[1], kernel.shape[0]]
          permutation = [2, 3, 1, 0]
        }
      default:
        break
      }
      guard let target else { continue }
      stored[0] = StoredWeight(
        name: kernel.name, path: kernel.path, shape: target, dtype: kernel.dtype, elementSize: kernel.elementSize,
        storedShape: kernel.shape, permutation: permutation)
      result[layer.name] = stored
    }
    return result
  }

  /// Gate order of Keras 1's per-gate arrays as Keras 2 fuses them: LSTM i, f, c, o; GRU z, r, h.
  static let gates = ["LSTM": ["i", "f", "c", "o"], "GRU": ["z", "r", "h"]]

  /// ``fuseGates(_:className:inner:)`` over every layer of `config` that holds weights.
  static func fuseGates(_ weights: [String: [StoredWeight]], config: ModelConfig?) -> [String: [StoredWeight]] {
    guard let config else { return weights }
    var result = weights
    for layer in config.layers {
      guard let stored = weights[layer.name], !stored.isEmpty else { continue }
      let inner = layer.config["layer"]?["class_name"]?.string
      result[layer.name] = fuseGates(stored, className: layer.className, inner: inner)
    }
    return result
  }

  /// Replaces Keras 1's per-gate recurrent arrays (`lstm_1_W_i`, `lstm_1_U_i`, `lstm_1_b_i`, ...;
  /// 12 for an LSTM, 9 for a GRU, twice that for a Bidirectional) by the fused kernel,
  /// recurrent_kernel and bias Keras 2 reads, each concatenated along its last axis from its parts.
  static func fuseGates(_ weights: [StoredWeight], className: String, inner: String?) -> [StoredWeight] {
    if className == "Bidirectional", let inner, let gateNames = gates[inner] {
      let half = weights.count / 2
      guard weights.count == 2 * 3 * gateNames.count else { return weights }
      return fuse(Array(weights[..<half]), gates: gateNames) + fuse(Array(weights[half...]), gates: gateNames)
    }
    guard let gateNames = gates[className], weights.count == 3 * gateNames.count else { return weights }
    return fuse(weights, gates: gateNames)
  }

  private static func fuse(_ weights: [StoredWeight], gates: [String]) -> [StoredWeight] {
    // Find each part by its name suffix (`_W_i`, `_U_f`, `_b_c`); a file whose names do not
    // follow the pattern is left alone rather than guessed at.
    func part(_ kind: String, _ gate: String) -> StoredWeight? {
      weights.first { $0.shortName.hasSuffix("_\(kind)_\(gate)") }
    }
    var fused: [StoredWeight] = []
    for (kind, name) in [("W", "kernel"), ("U", "recurrent_kernel"), ("b", "bias")] {
      let parts = gates.compactMap { part(kind, $0) }
      guard parts.count == gates.count, let first = parts.first, !first.shape.isEmpty else { return weights }
      let rows = first.shape.dropLast()
      guard parts.allSatisfy({ Array($0.shape.dropLast()) == Array(rows) && $0.dtype == first.dtype }) else { return weights }
      let width = parts.reduce(0) { $0 + ($1.shape.last ?? 0) }
      let prefix = first.name.split(separator: "/").dropLast().joined(separator: "/")
      fused.append(StoredWeight(
        name: (prefix.isEmpty ? "" : prefix + "/") + name, path: first.path, shape: Array(rows) + [width],
        dtype: first.dtype, elementSize: first.elementSize, parts: parts))
    }
    return fused
  }
}

/// Files written by Keras with the Theano backend (`backend` attribute "theano").
enum Theano {
  static let convolutions: Set<String> = ["Conv1D", "Conv2D", "Conv3D"]

  /// Marks the kernels of convolution layers (also inside TimeDistributed) to be read flipped:
  /// every convolution of a file whose `backend` is theano, and the `th`-ordered convolutions of
  /// a Keras 1 file, which records no backend (`th` was Keras 1's ordering for Theano).
  static func flipKernels(_ weights: [String: [StoredWeight]], config: ModelConfig?, backend: String?) -> [String: [StoredWeight]] {
    guard let config, backend == "theano" || backend == nil else { return weights }
    var result = weights
    for layer in config.layers {
      let className = layer.className == "TimeDistributed" ? layer.config["layer"]?["class_name"]?.string ?? "" : layer.className
      let keras1Theano = backend == nil && layer.config["keras1_class_name"] != nil && layer.config["data_format"]?.string == "channels_first"
      guard backend == "theano" || keras1Theano else { continue }
      guard convolutions.contains(className), var stored = weights[layer.name], !stored.isEmpty, stored[0].shape.count >= 3 else { continue }
      stored[0].flipSpatial = true
      result[layer.name] = stored
    }
    return result
  }

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
