/// Output shapes and weights of each supported layer class, computed from its config and input shapes
/// the way Keras computes them (`compute_output_shape` and `build`).
enum LayerSignatures {
  /// Classes whose config keras-inspect understands; others are reported as not understood.
  static let supported: Set<String> = [
    "InputLayer", "Dense", "LSTM", "GRU", "SimpleRNN", "Bidirectional", "TimeDistributed", "Embedding",
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
    "ActivityRegularization", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax",
    "Flatten", "Reshape", "Permute", "RepeatVector", "Masking",
    "Conv1D", "Conv2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
    "MaxPool1D", "MaxPool2D", "AvgPool1D", "AvgPool2D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
    "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D",
    "BatchNormalization", "LayerNormalization", "ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D", "UpSampling1D",
    "Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "MultiHeadAttention", "NotEqual", "Any",
  ]

  /// The signature of one call of a (non-model) layer, or nil when the class is not understood.
  static func signature(className: String, name: String, config c: JSONValue, inputs: [Shape]) throws(ModelError) -> LayerSignature? {
    let layer = LayerReader(name: name, className: className, config: c)
    switch className {
    case "InputLayer":
      guard let shape = ConfigParser.inputShape(of: c) else { throw layer.error("has no batch_shape or batch_input_shape") }
      return LayerSignature(outputs: [shape])
    case "Dense": return try dense(layer, inputs)
    case "LSTM", "GRU", "SimpleRNN": return try recurrent(layer, inputs)
    case "Bidirectional": return try bidirectional(layer, inputs)
    case "TimeDistributed": return try timeDistributed(layer, inputs)
    case "Embedding": return try embedding(layer, inputs)
    case "Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
      "ActivityRegularization", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Masking":
      return LayerSignature(outputs: [try layer.single(inputs)])
    case "Flatten": return try flatten(layer, inputs)
    case "Reshape": return try reshape(layer, inputs)
    case "Permute": return try permute(layer, inputs)
    case "RepeatVector":
      let x = try layer.single(inputs, rank: 2)
      return LayerSignature(outputs: [[x[0], try layer.int("n"), x[1]]])
    case "Conv1D", "Conv2D": return try convolution(layer, inputs, spatialRank: className == "Conv1D" ? 1 : 2)
    case "MaxPooling1D", "AveragePooling1D", "MaxPool1D", "AvgPool1D": return try pooling(layer, inputs, spatialRank: 1)
    case "MaxPooling2D", "AveragePooling2D", "MaxPool2D", "AvgPool2D": return try pooling(layer, inputs, spatialRank: 2)
    case "GlobalAveragePooling1D", "GlobalMaxPooling1D", "GlobalAvgPool1D", "GlobalMaxPool1D":
      return try globalPooling(layer, inputs, spatialRank: 1)
    case "GlobalAveragePooling2D", "GlobalMaxPooling2D", "GlobalAvgPool2D", "GlobalMaxPool2D":
      return try globalPooling(layer, inputs, spatialRank: 2)
    case "BatchNormalization": return try batchNormalization(layer, inputs)
    case "LayerNormalization": return try layerNormalization(layer, inputs)
    case "ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D": return try padOrCrop(layer, inputs)
    case "UpSampling1D":
      let x = try layer.single(inputs, rank: 3)
      let size = try layer.int("size", default: 2)
      let length = try x[1].map { n throws(ModelError) in try checkedProduct([n, size], layer) }
      return LayerSignature(outputs: [[x[0], length, x[2]]])
    case "Concatenate": return try concatenate(layer, inputs)
    case "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum": return try elementwiseMerge(layer, inputs)
    case "MultiHeadAttention": return try multiHeadAttention(layer, inputs)
    // Keras 3 op layers of a functional model (`ops.not_equal(x, 0.0)`, `ops.any(..., axis=-1)`),
    // as masking code leaves them: one tensor input.
    case "NotEqual": return LayerSignature(outputs: [try layer.single(inputs)])
    case "Any":
      let x = try layer.single(inputs)
      var axis = try layer.int("axis", default: -1)
      if axis < 0 { axis += x.count }
      guard axis >= 1, axis < x.count else { throw layer.error("reduces over axis \(axis) of a rank-\(x.count) input") }
      var out = x
      if layer.bool("keepdims", default: false) { out[axis] = 1 } else { out.remove(at: axis) }
      return LayerSignature(outputs: [out])
    default: return nil
    }
  }

  // MARK: Core

  static func dense(_ layer: LayerReader, _ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try layer.single(inputs)
    guard x.count >= 2 else { throw layer.error("needs an input of rank 2 or more, got \(format(x))") }
    let n = try layer.known(x.last!, "input feature dimension")
    let units = try layer.int("units")
    let useBias = layer.bool("use_bias", default: true)
    var weights = [WeightSpec("kernel", [n, units])]
    if useBias { weights.append(WeightSpec("bias", [units])) }
    return LayerSignature(outputs: [Array(x.dropLast()) + [units]], weights: weights,
      formula: useBias ? "\(n) × \(units) + \(units)" : "\(n) × \(units)")
  }

  /// `MultiHeadAttention` called on (query, value[, key]): the query's shape with the output
  /// width; weights in Keras's order, query/key/value projections (features, heads, key_dim or
  /// value_dim) with biases (heads, dim), then the output projection (heads, value_dim, out).
  static func multiHeadAttention(_ layer: LayerReader, _ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    guard inputs.count >= 2 && inputs.count <= 3 else { throw layer.error("expects query, value and optionally key, got \(inputs.count) inputs") }
    let (query, value) = (inputs[0], inputs[1])
    let key = inputs.count == 3 ? inputs[2] : value
    guard query.count >= 3, value.count >= 3, key.count >= 3 else { throw layer.error("expects inputs of rank 3 or more") }
    // Attention over the sequence axis only (Keras 3 writes the default for rank 3 as [1]).
    if let axes = layer.config["attention_axes"], !axes.isNull, axes.intList != [1] || query.count != 3 {
      throw layer.error("has attention_axes \(axes.intList.map { "\($0)" } ?? "?"), which keras-inspect does not read")
    }
    let heads = try layer.int("num_heads")
    let keyDim = try layer.int("key_dim")
    let valueDim = try layer.int("value_dim", default: keyDim)
    let useBias = layer.bool("use_bias", default: true)
    let dq = try layer.known(query.last!, "query feature dimension")
    let dk = try layer.known(key.last!, "key feature dimension")
    let dv = try layer.known(value.last!, "value feature dimension")
    let out = try layer.config["output_shape"].flatMap { v throws(ModelError) -> Int? in
      if v.isNull { return nil }
      guard let list = v.intList, list.count == 1 else { throw layer.error("has an output_shape keras-inspect does not read") }
      return list[0]
    } ?? dq
    var weights = [WeightSpec("kernel", [dq, heads, keyDim])]
    if useBias { weights.append(WeightSpec("bias", [heads, keyDim])) }
    weights.append(WeightSpec("kernel", [dk, heads, keyDim]))
    if useBias { weights.append(WeightSpec("bias", [heads, keyDim])) }
    weights.append(WeightSpec("kernel", [dv, heads, valueDim]))
    if useBias { weights.append(WeightSpec("bias", [heads, valueDim])) }
    weights.append(WeightSpec("kernel", [heads, valueDim, out]))
    if useBias { weights.append(WeightSpec("bias", [out])) }
    let b = useBias ? 1 : 0
    let formula = "\(heads) × ((\(dq) + \(dk)) × \(keyDim) + \(dv) × \(valueDim) + \(b * 2) × \(keyDim) + \(b) × \(valueDim)) + \(heads) × \(valueDim) × \(out)" + (useBias ? " + \(out)" : "")
    return LayerSignature(outputs: [Array(query.dropLast()) + [out]], weights: weights, formula: formula)
  }

  static func embedding(_ layer: LayerReader, _ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try layer.single(inputs)
    let vocabulary = try layer.int("input_dim")
    let dim = try layer.int("output_dim")
    var out = x
    // Keras 2 Embedding with `input_length` reports it as the time dimension.
    if x.count == 2, x[1] == nil, let length = layer.config["input_length"]?.int { out[1] = length }
    return LayerSignature(outputs: [out + [dim]], weights: [WeightSpec("embeddings", [vocabulary, dim])], formula: "\(vocabulary) × \(dim)")
  }

  // MARK: Recurrent

  /// LSTM (gates i, f, c, o), GRU (gates z, r, h) and SimpleRNN.
  ///
  /// GRU with `reset_after=True` (the Keras 2 and 3 default) keeps separate input and recurrent
  /// biases, so its bias is (2, 3u); with `reset_after=False` it is (3u).
  static func recurrent(_ layer: LayerReader, _ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    // Keras passes initial states as extra inputs; the sequence is the first.
    guard let x = inputs.first, x.count == 3 else {
      throw layer.error("needs a (batch, time, features) input, got \(inputs.map(format).joined(separator: ", "))")
    }
    let n = try layer.known(x[2], "input feature dimension")
    let u = try layer.int("units")
    let useBias = layer.bool("use_bias", default: true)
    let gates: Int
    let states: Int
    var biasShape = [Int]()
    var formula: String
    switch layer.className {
    case "LSTM":
      gates = 4; states = 2
      biasShape = [4 * u]
      formula = useBias ? "4 × ((\(n) + \(u)) × \(u) + \(u))" : "4 × (\(n) + \(u)) × \(u)"
    case "GRU":
      gates = 3; states = 1
      let resetAfter = layer.bool("reset_after", default: true)
      biasShape = resetAfter ? [2, 3 * u] : [3 * u]
      formula = useBias ? (resetAfter ? "3 × ((\(n) + \(u)) × \(u) + 2 × \(u))" : "3 × ((\(n) + \(u)) × \(u) + \(u))") : "3 × (\(n) + \(u)) × \(u)"
    default:
      gates = 1; states = 1
      biasShape = [u]
      formula = useBias ? "(\(n) + \(u)) × \(u) + \(u)" : "(\(n) + \(u)) × \(u)"
    }
    var weights = [WeightSpec("kernel", [n, gates * u]), WeightSpec("recurrent_kernel", [u, gates * u])]
    if useBias { weights.append(WeightSpec("bias", biasShape)) }
    var outputs: [Shape] = [layer.bool("return_sequences", default: false) ? [x[0], x[1], u] : [x[0], u]]
    if layer.bool("return_state", default: false) {
      outputs += Array(repeating: [x[0], u], count: states)
    }
    return LayerSignature(outputs: outputs, weights: weights, formula: formula)
  }

  /// A wrapped layer's class and config (`{"class_name", "config"}` under `layer`).
  static func wrapped(_ layer: LayerReader, key: String) throws(ModelError) -> LayerReader? {
    guard let inner = layer.config[key], !inner.isNull else { return nil }
    guard let className = inner["class_name"]?.string, let config = inner["config"] else {
      throw layer.error("has a \(key) entry without class_name and config")
    }
    return LayerReader(name: config["name"]?.string ?? "\(layer.name)/\(key)", className: className, config: config)
  }

  static func innerSignature(_ outer: LayerReader, _ inner: LayerReader, _ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    guard let signature = try signature(className: inner.className, name: inner.name, config: inner.config, inputs: inputs) else {
      throw outer.error("wraps a \(inner.className) layer, which keras-inspect does not understand")
    }
    return signature
  }

  /// Forward and backward copies of an RNN, merged by `merge_mode` (concat, sum, mul, ave, or null for two outputs).
  static func bidirectional(_ layer: LayerReader, _ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    guard let forwardLayer = try wrapped(layer, key: "layer") else { throw layer.error("has no wrapped layer") }
    let backwardLayer = try wrapped(layer, key: "backward_layer") ?? forwardLayer
    let forward = try innerSignature(layer, forwardLayer, inputs)
    let backward = try innerSignature(layer, backwardLayer, inputs)
    let mode = layer.config["merge_mode"]?.string
    let y = forward.outputs[0]
    var outputs: [Shape]
    switch mode {
    case nil: outputs = [y, backward.outputs[0]]
    case "concat": outputs = [Array(y.dropLast()) + [sum(y.last!, backward.outputs[0].last!)]]
    case "sum", "mul", "ave": outputs = [y]
    default: throw layer.error("has unknown merge_mode \(mode!)")
    }
    // With return_state, Keras appends the forward states then the backward states.
    outputs += forward.outputs.dropFirst() + backward.outputs.dropFirst()
    let formula = forward.formula.map { "2 × (\($0))" }
    return LayerSignature(outputs: outputs, weights: forward.weights + backward.weights, formula: forwardLayer.config == backwardLayer.config ? formula : nil)
  }

  /// Applies the wrapped layer to every time step: the inner layer sees (batch, *rest).
  static func timeDistributed(_ layer: LayerReader, _ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try layer.single(inputs)
    guard x.count >= 3 else { throw layer.error("needs an input of rank 3 or more, got \(format(x))") }
    guard let innerLayer = try wrapped(layer, key: "layer") else { throw layer.error("has no wrapped layer") }
    var inner = try innerSignature(layer, innerLayer, [[x[0]] + Array(x.dropFirst(2))])
    inner.outputs = inner.outputs.map { [x[0], x[1]] + Array($0.dropFirst()) }
    return inner
  }

  // MARK: Shape layers

  static func flatten(_ layer: LayerReader, _ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try layer.single(inputs)
    let rest = x.dropFirst()
    let product = rest.contains(where: { $0 == nil }) ? nil : try checkedProduct(rest.map { $0! }, layer)
    return LayerSignature(outputs: [[x[0], product]])
  }

  static func reshape(_ layer: LayerReader, _ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try layer.single(inputs)
    guard let target = layer.config["target_shape"]?.intList else { throw layer.error("has no target_shape") }
    var out: Shape = target.map { $0 }
    if let unknown = target.firstIndex(of: -1) {
      let known = try checkedProduct(target.filter { $0 != -1 }, layer)
      let rest = x.dropFirst()
      if known > 0, !rest.contains(where: { $0 == nil }) {
        out[unknown] = try checkedProduct(rest.map { $0! }, layer) / known
      } else {
        out[unknown] = nil
      }
    }
    return LayerSignature(outputs: [[x[0]] + out])
  }

  static func permute(_ layer: LayerReader, _ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try layer.single(inputs)
    guard let dims = layer.config["dims"]?.intList, dims.count == x.count - 1,
      Set(dims) == Set(1..<x.count)
    else { throw layer.error("has dims that are not a permutation of 1...\(x.count - 1)") }
    return LayerSignature(outputs: [[x[0]] + dims.map { x[$0] }])
  }

  // MARK: Convolution and pooling

  /// Keras's `compute_conv_output_length`.
  static func convLength(_ length: Int?, kernel: Int, padding: String, stride: Int, dilation: Int) -> Int? {
    guard let length else { return nil }
    let dilated = (kernel - 1) * dilation + 1
    let out: Int
    switch padding {
    case "same", "causal": out = length
    case "full": out = length + dilated - 1
    default: out = length - dilated + 1
    }
    return max(0, (out + stride - 1) / stride)
  }

  static func convolution(_ layer: LayerReader, _ inputs: [Shape], spatialRank r: Int) throws(ModelError) -> LayerSignature {
    let x = try layer.single(inputs, rank: r + 2)
    let channelsFirst = layer.config["data_format"]?.string == "channels_first"
    let spatial = channelsFirst ? Array(x[2...]) : Array(x[1...r])
    let channels = try layer.known(channelsFirst ? x[1] : x[r + 1], "input channels")
    let filters = try layer.int("filters")
    let kernel = try layer.ints("kernel_size", count: r)
    let strides = try layer.ints("strides", count: r, default: 1)
    let dilation = try layer.ints("dilation_rate", count: r, default: 1)
    let padding = layer.config["padding"]?.string ?? "valid"
    let groups = try layer.int("groups", default: 1)
    guard groups > 0, channels % groups == 0 else { throw layer.error("has \(channels) input channels, not divisible by groups=\(groups)") }
    let out = (0..<r).map { convLength(spatial[$0], kernel: kernel[$0], padding: padding, stride: strides[$0], dilation: dilation[$0]) }
    let useBias = layer.bool("use_bias", default: true)
    var weights = [WeightSpec("kernel", kernel + [channels / groups, filters])]
    if useBias { weights.append(WeightSpec("bias", [filters])) }
    let kernelText = kernel.map(String.init).joined(separator: " × ")
    let formula = "\(kernelText) × \(channels / groups) × \(filters)" + (useBias ? " + \(filters)" : "")
    return LayerSignature(outputs: [channelsFirst ? [x[0], filters] + out : [x[0]] + out + [filters]], weights: weights, formula: formula)
  }

  static func pooling(_ layer: LayerReader, _ inputs: [Shape], spatialRank r: Int) throws(ModelError) -> LayerSignature {
    let x = try layer.single(inputs, rank: r + 2)
    let channelsFirst = layer.config["data_format"]?.string == "channels_first"
    let pool = try layer.ints("pool_size", count: r, default: 2)
    let strides = (layer.config["strides"]?.isNull ?? true) ? pool : try layer.ints("strides", count: r)
    let padding = layer.config["padding"]?.string ?? "valid"
    let offset = channelsFirst ? 2 : 1
    var out = x
    for i in 0..<r {
      out[offset + i] = x[offset + i].map { length in
        padding == "same" ? (length + strides[i] - 1) / strides[i] : max(0, (length - pool[i]) / strides[i] + 1)
      }
    }
    return LayerSignature(outputs: [out])
  }

  static func globalPooling(_ layer: LayerReader, _ inputs: [Shape], spatialRank r: Int) throws(ModelError) -> LayerSignature {
    let x = try layer.single(inputs, rank: r + 2)
    let channelsFirst = layer.config["data_format"]?.string == "channels_first"
    let channels = channelsFirst ? x[1] : x[r + 1]
    if layer.bool("keepdims", default: false) {
      let ones = [Int?](repeating: 1, count: r)
      return LayerSignature(outputs: [channelsFirst ? [x[0], channels] + ones : [x[0]] + ones + [channels]])
    }
    return LayerSignature(outputs: [[x[0], channels]])
  }

  // MARK: Normalization

  /// Resolves Keras's `axis` (an int or a list, possibly negative) against a rank.
  static func axes(_ layer: LayerReader, rank: Int) throws(ModelError) -> [Int] {
    let raw = layer.config["axis"]?.intList ?? [-1]
    var result: [Int] = []
    for a in raw {
      let axis = a < 0 ? a + rank : a
      guard axis >= 1, axis < rank else { throw layer.error("has axis \(a), outside an input of rank \(rank)") }
      result.append(axis)
    }
    return result
  }

  static func batchNormalization(_ layer: LayerReader, _ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try layer.single(inputs)
    let axes = try axes(layer, rank: x.count)
    var shape: [Int] = []
    for a in axes { shape.append(try layer.known(x[a], "normalized dimension")) }
    let d = saturatingProduct(shape)
    var weights: [WeightSpec] = []
    if layer.bool("scale", default: true) { weights.append(WeightSpec("gamma", shape)) }
    if layer.bool("center", default: true) { weights.append(WeightSpec("beta", shape)) }
    let trained = weights.count
    weights.append(WeightSpec("moving_mean", shape, trainable: false))
    weights.append(WeightSpec("moving_variance", shape, trainable: false))
    return LayerSignature(outputs: [x], weights: weights, formula: "\(trained + 2) × \(d) (\(trained) × \(d) trainable, 2 × \(d) moving statistics)")
  }

  static func layerNormalization(_ layer: LayerReader, _ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try layer.single(inputs)
    let axes = try axes(layer, rank: x.count)
    var shape: [Int] = []
    for a in axes { shape.append(try layer.known(x[a], "normalized dimension")) }
    var weights: [WeightSpec] = []
    let rms = layer.bool("rms_scaling", default: false)
    if layer.bool("scale", default: true) || rms { weights.append(WeightSpec("gamma", shape)) }
    if layer.bool("center", default: true) && !rms { weights.append(WeightSpec("beta", shape)) }
    let d = saturatingProduct(shape)
    return LayerSignature(outputs: [x], weights: weights, formula: weights.isEmpty ? nil : "\(weights.count) × \(d)")
  }

  // MARK: Padding, cropping

  /// ZeroPadding1D/2D and Cropping1D: `padding`/`cropping` as an int, a pair, or pairs per axis.
  static func padOrCrop(_ layer: LayerReader, _ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let r = layer.className.hasSuffix("2D") ? 2 : 1
    let x = try layer.single(inputs, rank: r + 2)
    let cropping = layer.className.hasPrefix("Cropping")
    let pairs = try layer.pairs(cropping ? "cropping" : "padding", count: r, default: layer.className == "Cropping2D" ? 0 : 1)
    let sign = cropping ? -1 : 1
    let offset = layer.config["data_format"]?.string == "channels_first" ? 2 : 1
    var out = x
    for i in 0..<r {
      out[offset + i] = x[offset + i].map { $0 + sign * (pairs[i].0 + pairs[i].1) }
    }
    return LayerSignature(outputs: [out])
  }

  // MARK: Merge

  static func concatenate(_ layer: LayerReader, _ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    guard let first = inputs.first, inputs.count >= 1 else { throw layer.error("has no inputs") }
    let rank = first.count
    var axis = try layer.int("axis", default: -1)
    if axis < 0 { axis += rank }
    guard axis >= 1, axis < rank, inputs.allSatisfy({ $0.count == rank }) else {
      throw layer.error("cannot concatenate \(inputs.map(format).joined(separator: ", ")) on axis \(axis)")
    }
    var out = first
    out[axis] = inputs.dropFirst().reduce(first[axis]) { sum($0, $1[axis]) }
    return LayerSignature(outputs: [out])
  }

  /// Add, Subtract, ...: Keras broadcasts; the output takes each known dimension.
  static func elementwiseMerge(_ layer: LayerReader, _ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    guard let longest = inputs.max(by: { $0.count < $1.count }) else { throw layer.error("has no inputs") }
    var out = longest
    for shape in inputs {
      let offset = longest.count - shape.count
      for (i, d) in shape.enumerated() {
        let j = i + offset
        if let d, d != 1 {
          if let existing = out[j], existing != 1, existing != d {
            throw layer.error("cannot merge shapes \(inputs.map(format).joined(separator: ", "))")
          }
          out[j] = d
        }
      }
    }
    return LayerSignature(outputs: [out])
  }

  // MARK: Helpers

  static func sum(_ a: Int?, _ b: Int?) -> Int? {
    guard let a, let b else { return nil }
    return a + b
  }

  static func checkedProduct(_ values: [Int], _ layer: LayerReader) throws(ModelError) -> Int {
    var product = 1
    for v in values {
      let (p, overflow) = product.multipliedReportingOverflow(by: v)
      if overflow { throw layer.error("has a shape whose size overflows") }
      product = p
    }
    return product
  }

  /// Python's repr of a shape tuple: `(None, 10)`, `(None,)`.
  static func format(_ shape: Shape) -> String { pythonTuple(shape) }
}

/// Typed access to one layer's config, with errors naming the layer and the key.
struct LayerReader {
  let name: String
  let className: String
  let config: JSONValue

  func error(_ text: String) -> ModelError {
    ModelError(.badConfig, "layer \(name) (\(className)) \(text)")
  }

  func single(_ inputs: [Shape], rank: Int? = nil) throws(ModelError) -> Shape {
    guard inputs.count == 1 else { throw error("expects one input, got \(inputs.count)") }
    if let rank, inputs[0].count != rank {
      throw error("expects an input of rank \(rank), got \(LayerSignatures.format(inputs[0]))")
    }
    guard !inputs[0].isEmpty else { throw error("got a scalar input") }
    return inputs[0]
  }

  func known(_ dimension: Int?, _ what: String) throws(ModelError) -> Int {
    guard let dimension else { throw error("needs a known \(what) to build its weights") }
    return dimension
  }

  func int(_ key: String, default fallback: Int? = nil) throws(ModelError) -> Int {
    if let value = config[key], !value.isNull {
      guard let n = value.int ?? value.intList.flatMap({ $0.count == 1 ? $0[0] : nil }) else {
        throw error("has \(key) that is not an integer")
      }
      guard n >= 0 || key == "axis" else { throw error("has negative \(key) \(n)") }
      guard n < 1 << 40 else { throw error("has \(key) \(n), beyond any real model") }
      return n
    }
    guard let fallback else { throw error("has no \(key)") }
    return fallback
  }

  func ints(_ key: String, count: Int, default fallback: Int? = nil) throws(ModelError) -> [Int] {
    if let value = config[key], !value.isNull {
      guard let list = value.intList, list.count == 1 || list.count == count, list.allSatisfy({ $0 > 0 && $0 < 1 << 30 }) else {
        throw error("has \(key) that is not \(count) positive integers")
      }
      return list.count == count ? list : Array(repeating: list[0], count: count)
    }
    guard let fallback else { throw error("has no \(key)") }
    return Array(repeating: fallback, count: count)
  }

  /// `1`, `(1, 2)` (for one axis: before/after; for two axes: symmetric per axis), or `((1, 2), (3, 4))`.
  func pairs(_ key: String, count: Int, default fallback: Int) throws(ModelError) -> [(Int, Int)] {
    guard let value = config[key], !value.isNull else { return Array(repeating: (fallback, fallback), count: count) }
    if let n = value.int { return Array(repeating: (n, n), count: count) }
    guard let items = value.array else { throw error("has \(key) that is not a number or list") }
    if count == 1, let list = value.intList, list.count == 2 { return [(list[0], list[1])] }
    if items.count == count, let flat = value.intList { return flat.map { ($0, $0) } }
    var result: [(Int, Int)] = []
    for item in items {
      guard let pair = item.intList, pair.count == 2 else { throw error("has \(key) that is not pairs of integers") }
      result.append((pair[0], pair[1]))
    }
    guard result.count == count else { throw error("has \(key) with \(result.count) axes, expected \(count)") }
    return result
  }

  func bool(_ key: String, default fallback: Bool) -> Bool {
    config[key]?.bool ?? fallback
  }
}
