import KerasModel

/// Which layer configurations the runtime can run, and why not otherwise.
enum LayerSupport {
  static let identity: Set<String> = [
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization",
  ]
  static let merges: Set<String> = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]
  static let others: Set<String> = [
    "Dense", "LSTM", "GRU", "SimpleRNN", "Bidirectional", "TimeDistributed", "Embedding", "Activation", "ReLU", "LeakyReLU",
    "ELU", "Softmax", "Flatten", "Reshape", "Permute", "RepeatVector", "Masking", "Conv1D", "Conv2D",
    "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "MaxPool1D", "MaxPool2D", "AvgPool1D", "AvgPool2D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
    "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D",
    "BatchNormalization", "LayerNormalization", "ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D", "UpSampling1D", "Concatenate", "InputLayer",
    "MultiHeadAttention", "NotEqual", "Any",
  ]

  /// Layers that also run on channels-first tensors (by transposing around the channels-last kernel).
  static let channelsFirstCapable: Set<String> = [
    "Conv1D", "Conv2D", "MaxPooling1D", "MaxPool1D", "AveragePooling1D", "AvgPool1D", "MaxPooling2D", "MaxPool2D",
    "AveragePooling2D", "AvgPool2D", "GlobalAveragePooling1D", "GlobalAvgPool1D", "GlobalMaxPooling1D", "GlobalMaxPool1D",
    "GlobalAveragePooling2D", "GlobalAvgPool2D", "GlobalMaxPooling2D", "GlobalMaxPool2D",
  ]

  /// Nil when the runtime can run this layer; otherwise the reason.
  static func reason(className: String, config: JSONValue) -> String? {
    guard identity.contains(className) || merges.contains(className) || others.contains(className) else {
      return "no native kernel for \(className)"
    }
    if let format = config["data_format"]?.string, format != "channels_last",
      format != "channels_first" || !channelsFirstCapable.contains(className)
    {
      return "data_format \(format) is not supported"
    }
    if !Activations.isSupported(config["activation"]) || !Activations.isSupported(config["recurrent_activation"]) {
      return "activation \(Activations.name(config["activation"]) ?? "") is not supported"
    }
    if ["LSTM", "GRU", "SimpleRNN"].contains(className) {
      if config["stateful"]?.bool == true { return "stateful recurrent layers are not supported" }
      if config["unroll"]?.bool == true { return nil }
    }
    if className == "Bidirectional" || className == "TimeDistributed" {
      guard let inner = config["layer"], let innerClass = inner["class_name"]?.string, let innerConfig = inner["config"] else {
        return "wrapped layer is missing"
      }
      if className == "Bidirectional" {
        guard ["LSTM", "GRU", "SimpleRNN"].contains(innerClass) else { return "Bidirectional around \(innerClass)" }
        if innerConfig["return_state"]?.bool == true { return "Bidirectional with return_state is not supported" }
      }
      if let reason = reason(className: innerClass, config: innerConfig) { return "wrapped \(innerClass): \(reason)" }
    }
    return nil
  }
}

/// One kernel per layer class, on already bound weights.
enum Kernels {
  static func apply(className: String, config: JSONValue, weights: [Tensor], inputs: [Value], keras3: Bool) throws(RuntimeError) -> [Value] {
    let x = inputs[0]
    func activated(_ t: Tensor) throws(RuntimeError) -> Tensor { try Activations.apply(config["activation"], to: t, keras3: keras3) }
    func one(_ t: Tensor, mask: [Bool]? = nil) -> [Value] { [Value(tensor: t, mask: mask)] }
    func bias() -> Tensor? { (config["use_bias"]?.bool ?? true) ? weights.last : nil }

    switch className {
    case _ where LayerSupport.identity.contains(className):
      return [x]
    case "Dense":
      guard weights.count >= 1, weights[0].shape.first == x.tensor.last else { throw RuntimeError("kernel does not fit input \(x.tensor.shape)") }
      return one(try activated(Linear.dense(x.tensor, kernel: weights[0], bias: weights.count > 1 ? weights[1] : nil)), mask: x.mask)
    case "Activation":
      return one(try activated(x.tensor), mask: x.mask)
    case "ReLU":
      let maxValue = config["max_value"]?.double.map(Float.init) ?? .infinity
      let slope = Float(config["negative_slope"]?.double ?? 0)
      let threshold = Float(config["threshold"]?.double ?? 0)
      return one(x.tensor.map { v in v >= threshold ? min(v, maxValue) : slope * (v - threshold) }, mask: x.mask)
    case "LeakyReLU":
      let slope = Float(config["negative_slope"]?.double ?? config["alpha"]?.double ?? 0.3)
      return one(x.tensor.map { $0 >= 0 ? $0 : slope * $0 }, mask: x.mask)
    case "ELU":
      let alpha = Float(config["alpha"]?.double ?? 1)
      return one(x.tensor.map { $0 > 0 ? $0 : alpha * (Activations.scalar("elu", keras3: keras3)!($0)) }, mask: x.mask)
    case "Softmax":
      return one(Activations.softmax(x.tensor, log: false), mask: x.mask)
    case "LSTM", "GRU", "SimpleRNN":
      let layer = try RecurrentLayer(className: className, config: config, weights: weights, keras3: keras3)
      // `layer(x, initial_state=[h, c])`: the states arrive as the call's further inputs.
      let outs = try layer.run(x, initialState: inputs.dropFirst().map(\.tensor))
      return outs.enumerated().map { i, t in Value(tensor: t, mask: i == 0 && layer.returnSequences ? x.mask : nil) }
    case "Bidirectional":
      return try bidirectional(config, weights, x, keras3: keras3)
    case "TimeDistributed":
      guard let inner = config["layer"], let innerClass = inner["class_name"]?.string, let innerConfig = inner["config"] else {
        throw RuntimeError("wrapped layer is missing")
      }
      let (batch, steps) = (x.tensor.shape[0], x.tensor.shape[1])
      let folded = x.tensor.reshaped([batch * steps] + Array(x.tensor.shape.dropFirst(2)))
      let outs = try apply(className: innerClass, config: innerConfig, weights: weights, inputs: [Value(tensor: folded, mask: nil)], keras3: keras3)
      return outs.map { v in Value(tensor: v.tensor.reshaped([batch, steps] + Array(v.tensor.shape.dropFirst())), mask: x.mask) }
    case "Embedding":
      guard let table = weights.first, table.rank == 2 else { throw RuntimeError("embedding table missing") }
      let (vocabulary, dim) = (table.shape[0], table.shape[1])
      var out = [Float](repeating: 0, count: x.tensor.count * dim)
      for (i, raw) in x.tensor.data.enumerated() {
        let id = Int(raw)
        guard Float(id) == raw, id >= 0, id < vocabulary else {
          throw RuntimeError("input \(raw) is not a token id in 0..<\(vocabulary)")
        }
        for j in 0..<dim { out[i * dim + j] = table.data[id * dim + j] }
      }
      let mask = (config["mask_zero"]?.bool ?? false) ? x.tensor.data.map { $0 != 0 } : nil
      return one(Tensor(shape: x.tensor.shape + [dim], data: out), mask: mask)
    case "Masking":
      // Keras: a step is kept when any feature differs from mask_value; masked steps are zeroed.
      let maskValue = Float(config["mask_value"]?.double ?? 0)
      let features = x.tensor.last
      var data = x.tensor.data
      var mask: [Bool] = []
      for start in stride(from: 0, to: data.count, by: features) {
        let keep = data[start..<(start + features)].contains { $0 != maskValue }
        mask.append(keep)
        if !keep { for i in start..<(start + features) { data[i] = 0 } }
      }
      return one(Tensor(shape: x.tensor.shape, data: data), mask: mask)
    case "Flatten":
      return one(x.tensor.reshaped([x.tensor.shape[0], x.tensor.count / max(1, x.tensor.shape[0])]))
    case "Reshape":
      guard var target = config["target_shape"]?.intList else { throw RuntimeError("no target_shape") }
      let batch = x.tensor.shape[0]
      if let unknown = target.firstIndex(of: -1) {
        let known = saturatingProduct(target.filter { $0 != -1 })
        target[unknown] = known == 0 ? 0 : x.tensor.count / max(1, batch) / known
      }
      guard saturatingProduct(target + [batch]) == x.tensor.count else { throw RuntimeError("cannot reshape \(x.tensor.shape) to \(target)") }
      return one(x.tensor.reshaped([batch] + target))
    case "Permute":
      guard let dims = config["dims"]?.intList else { throw RuntimeError("no dims") }
      return one(Elementwise.permute(x.tensor, dims: dims))
    case "RepeatVector":
      let n = config["n"]?.int ?? 1
      let (batch, features) = (x.tensor.shape[0], x.tensor.last)
      var out: [Float] = []
      out.reserveCapacity(batch * n * features)
      for b in 0..<batch { for _ in 0..<n { out += x.tensor.data[(b * features)..<((b + 1) * features)] } }
      return one(Tensor(shape: [batch, n, features], data: out))
    case "Conv1D", "Conv2D":
      let rank = className == "Conv1D" ? 1 : 2
      let geometry = try Convolution.geometry(config, rank: rank, key: "kernel_size")
      let groups = config["groups"]?.int ?? 1
      // channels_first (Theano's `th` ordering) runs channels-last between two transposes.
      let first = config["data_format"]?.string == "channels_first"
      let input = first ? Elementwise.channelsLast(x.tensor) : x.tensor
      let y = Convolution.conv(input, kernel: weights[0], bias: weights.count > 1 ? weights[1] : nil, geometry: geometry, groups: groups)
      return one(try activated(first ? Elementwise.channelsFirst(y) : y))
    case "MaxPooling1D", "MaxPool1D", "AveragePooling1D", "AvgPool1D", "MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D":
      let rank = className.contains("1D") ? 1 : 2
      let geometry = try Convolution.geometry(config, rank: rank, key: "pool_size", defaultSize: 2)
      let first = config["data_format"]?.string == "channels_first"
      let y = Convolution.pool(first ? Elementwise.channelsLast(x.tensor) : x.tensor, geometry: geometry, average: className.hasPrefix("Av"))
      return one(first ? Elementwise.channelsFirst(y) : y)
    case "GlobalAveragePooling1D", "GlobalAvgPool1D", "GlobalMaxPooling1D", "GlobalMaxPool1D",
      "GlobalAveragePooling2D", "GlobalAvgPool2D", "GlobalMaxPooling2D", "GlobalMaxPool2D":
      let average = className.hasPrefix("GlobalAv")
      if config["data_format"]?.string == "channels_first" {
        guard config["keepdims"]?.bool != true else { throw RuntimeError("keepdims with channels_first is not supported") }
        return one(Convolution.globalPool(Elementwise.channelsLast(x.tensor), average: average, keepdims: false, mask: nil))
      }
      return one(Convolution.globalPool(x.tensor, average: average, keepdims: config["keepdims"]?.bool ?? false, mask: average ? x.mask : nil))
    case "BatchNormalization":
      return one(try Elementwise.batchNorm(x.tensor, config: config, weights: weights), mask: x.mask)
    case "LayerNormalization":
      return one(try Elementwise.layerNorm(x.tensor, config: config, weights: weights), mask: x.mask)
    case "ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D":
      let rank = className.hasSuffix("2D") ? 2 : 1
      let cropping = className.hasPrefix("Cropping")
      var pads = try pairs(config[cropping ? "cropping" : "padding"], rank: rank, default: className == "Cropping2D" ? 0 : 1)
      if cropping { pads = pads.map { (-$0.0, -$0.1) } }
      return one(Elementwise.pad(x.tensor, pads))
    case "UpSampling1D":
      let size = config["size"]?.int ?? 2
      let (batch, steps, features) = (x.tensor.shape[0], x.tensor.shape[1], x.tensor.shape[2])
      var out: [Float] = []
      out.reserveCapacity(x.tensor.count * size)
      for b in 0..<batch {
        for t in 0..<steps {
          let row = x.tensor.data[((b * steps + t) * features)..<((b * steps + t + 1) * features)]
          for _ in 0..<size { out += row }
        }
      }
      return one(Tensor(shape: [batch, steps * size, features], data: out))
    case "NotEqual":
      // Booleans as 1 and 0. The other operand is the call's constant (`ops.not_equal(x, 0.0)`).
      guard let constant = config["call_arguments"]?["args"]?.array?.first?.double else {
        throw RuntimeError("NotEqual without a constant operand is not supported")
      }
      return one(x.tensor.map { $0 != Float(constant) ? 1 : 0 })
    case "Any":
      let rank = x.tensor.rank
      var axis = config["axis"]?.int ?? -1
      if axis < 0 { axis += rank }
      guard axis >= 1, axis < rank else { throw RuntimeError("Any over axis \(axis) of rank \(rank)") }
      let outer = x.tensor.shape[..<axis].reduce(1, *), n = x.tensor.shape[axis], inner = x.tensor.shape[(axis + 1)...].reduce(1, *)
      var out = [Float](repeating: 0, count: outer * inner)
      for o in 0..<outer { for a in 0..<n { for i in 0..<inner where x.tensor.data[(o * n + a) * inner + i] != 0 { out[o * inner + i] = 1 } } }
      var shape = x.tensor.shape
      if config["keepdims"]?.bool == true { shape[axis] = 1 } else { shape.remove(at: axis) }
      return one(Tensor(shape: shape, data: out))
    case "MultiHeadAttention":
      return one(try Attention.multiHead(config: config, weights: weights, inputs: inputs), mask: x.mask)
    case "Concatenate":
      return one(try Elementwise.concatenate(inputs.map(\.tensor), axis: config["axis"]?.int ?? -1), mask: mergedMask(inputs))
    case _ where LayerSupport.merges.contains(className):
      return one(try Elementwise.merge(inputs.map(\.tensor), className), mask: mergedMask(inputs))
    default:
      throw RuntimeError("no native kernel for \(className)")
    }
  }

  /// Keras merges masks with a logical AND (an input without a mask keeps every step).
  static func mergedMask(_ inputs: [Value]) -> [Bool]? {
    let masks = inputs.compactMap(\.mask)
    guard var merged = masks.first else { return nil }
    for m in masks.dropFirst() where m.count == merged.count { merged = zip(merged, m).map { $0 && $1 } }
    return merged
  }

  /// `padding`/`cropping`: an int, a pair (1-D: before/after; 2-D: symmetric per axis), or pairs.
  static func pairs(_ value: JSONValue?, rank: Int, default fallback: Int = 1) throws(RuntimeError) -> [(Int, Int)] {
    guard let value, !value.isNull else { return Array(repeating: (fallback, fallback), count: rank) }
    if let n = value.int { return Array(repeating: (n, n), count: rank) }
    if rank == 1, let list = value.intList, list.count == 2 { return [(list[0], list[1])] }
    if let list = value.intList, list.count == rank { return list.map { ($0, $0) } }
    guard let items = value.array, items.count == rank else { throw RuntimeError("bad padding \(value)") }
    var result: [(Int, Int)] = []
    for item in items {
      guard let pair = item.intList, pair.count == 2 else { throw RuntimeError("bad padding \(value)") }
      result.append((pair[0], pair[1]))
    }
    return result
  }

  /// Forward and backward copies of an RNN; the backward one reads time reversed and, with
  /// return_sequences, its outputs are reversed back before merging. Masked steps output zeros
  /// when sequences are returned (Keras forces zero_output_for_mask = return_sequences).
  static func bidirectional(_ config: JSONValue, _ weights: [Tensor], _ x: Value, keras3: Bool) throws(RuntimeError) -> [Value] {
    guard let inner = config["layer"], let innerClass = inner["class_name"]?.string, let forwardConfig = inner["config"] else {
      throw RuntimeError("wrapped layer is missing")
    }
    var backwardClass = innerClass
    var backwardConfig: JSONValue
    if let custom = config["backward_layer"], let cls = custom["class_name"]?.string, let cfg = custom["config"] {
      backwardClass = cls
      backwardConfig = cfg
    } else {
      guard case .object(var dict) = forwardConfig else { throw RuntimeError("bad wrapped layer config") }
      dict["go_backwards"] = .bool(!(forwardConfig["go_backwards"]?.bool ?? false))
      backwardConfig = .object(dict)
    }
    let half = weights.count / 2
    var forward = try RecurrentLayer(className: innerClass, config: forwardConfig, weights: Array(weights[..<half]), keras3: keras3)
    var backward = try RecurrentLayer(className: backwardClass, config: backwardConfig, weights: Array(weights[half...]), keras3: keras3)
    forward.zeroOutputForMask = forward.returnSequences
    backward.zeroOutputForMask = backward.returnSequences
    let y = try forward.run(x)[0]
    var yr = try backward.run(x)[0]
    if backward.returnSequences { yr = reverseTime(yr) }
    let mask = forward.returnSequences ? x.mask : nil
    switch config["merge_mode"]?.string {
    case nil: return [Value(tensor: y, mask: mask), Value(tensor: yr, mask: mask)]
    case "concat": return [Value(tensor: try Elementwise.concatenate([y, yr], axis: -1), mask: mask)]
    case "sum": return [Value(tensor: try Elementwise.merge([y, yr], "Add"), mask: mask)]
    case "mul": return [Value(tensor: try Elementwise.merge([y, yr], "Multiply"), mask: mask)]
    case "ave": return [Value(tensor: try Elementwise.merge([y, yr], "Average"), mask: mask)]
    case let mode?: throw RuntimeError("merge_mode \(mode) is not supported")
    }
  }
}
