import Foundation
import KerasModel

extension InputLayerDefinition: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel { Kernel { inputs, _ in inputs } }
}

extension Dense: RunnableLayer {
  func unsupportedReason(keras3: Bool) -> String? { Activations.unsupported(activation) }
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    try requireWeights(weights, 1, "a kernel")
    return kernel(weights[0], bias: optionalBias(weights, after: 1, useBias), keras3: keras3)
  }

  func kernel(_ w: Tensor, bias b: Tensor?, keras3: Bool) -> Kernel {
    let activation = activation
    let shape = w.shape
    guard w.rank == 2 else { return .unary { _ throws(RuntimeError) in throw RuntimeError("kernel \(shape) is not a matrix") } }
    // The kernel is packed once, here: at batch 1 a product reads each weight once, and
    // packing it on every call doubled the time of a classifier's last layer.
    let packed = PackedMatrix(w.data, k: shape[0], n: shape[1])
    return .unary { x throws(RuntimeError) in
      guard shape[0] == x.last else { throw RuntimeError("kernel \(shape) does not fit input \(x.shape)") }
      return try Activations.apply(activation, to: Linear.dense(x, packed: packed, bias: b), keras3: keras3)
    }
  }
}

extension InferenceIdentity: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel { Kernel { inputs, _ in Array(inputs.prefix(1)) } }
}

extension Embedding: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    guard let table = weights.first, table.rank == 2 else { throw RuntimeError("embedding table missing") }
    let maskZero = maskZero
    return Kernel { inputs, _ throws(RuntimeError) in
      let x = inputs[0].tensor
      let (vocabulary, dim) = (table.shape[0], table.shape[1])
      var out = [Float](repeating: 0, count: x.count * dim)
      for (i, raw) in x.data.enumerated() {
        let id = Int(exactly: raw.rounded(.towardZero)) ?? -1
        guard Float(id) == raw, id >= 0, id < vocabulary else {
          throw RuntimeError("input \(raw) is not a token id in 0..<\(vocabulary)")
        }
        for j in 0..<dim { out[i * dim + j] = table.data[id * dim + j] }
      }
      return [Value(tensor: Tensor(shape: x.shape + [dim], data: out), mask: maskZero ? x.data.map { $0 != 0 } : nil)]
    }
  }
}

extension ActivationLayer: PointwiseLayer {
  func unsupportedReason(keras3: Bool) -> String? { Activations.unsupported(activation) }
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    if let f = pointwise(keras3: keras3) { return .unary { f.applied(to: $0) } }
    let activation = activation
    return .unary { x throws(RuntimeError) in try Activations.apply(activation, to: x, keras3: keras3) }
  }

  /// nil for the activations over a whole axis (softmax...).
  func pointwise(keras3: Bool) -> Activations.Elementwise? { Activations.Elementwise(activation.name, keras3: keras3) }
}

extension Masking: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let maskValue = Float(maskValue)
    return Kernel { inputs, _ in
      let x = inputs[0].tensor
      let features = x.last
      var data = x.data
      var mask: [Bool] = []
      for start in stride(from: 0, to: data.count, by: max(1, features)) {
        let keep = data[start..<(start + features)].contains { $0 != maskValue }
        mask.append(keep)
        if !keep { for i in start..<(start + features) { data[i] = 0 } }
      }
      return [Value(tensor: Tensor(shape: x.shape, data: data), mask: mask)]
    }
  }
}

extension ReLULayer: PointwiseLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let f = elementwise(keras3: keras3)
    return .unary { f.applied(to: $0) }
  }

  func pointwise(keras3: Bool) -> Activations.Elementwise? { elementwise(keras3: keras3) }

  func elementwise(keras3: Bool) -> Activations.Elementwise {
    let maxValue = maxValue.map(Float.init) ?? .infinity
    let (slope, threshold) = (Float(negativeSlope), Float(threshold))
    // The usual forms (relu, relu6, any max_value) as the vectorised clamp.
    if threshold == 0, slope == 0 { return Activations.Elementwise(reluBelow: maxValue) }
    return Activations.Elementwise(custom: { v in v >= threshold ? min(v, maxValue) : slope * (v - threshold) })
  }
}

extension LeakyReLULayer: PointwiseLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let f = elementwise(keras3: keras3)
    return .unary { f.applied(to: $0) }
  }

  func pointwise(keras3: Bool) -> Activations.Elementwise? { elementwise(keras3: keras3) }

  func elementwise(keras3: Bool) -> Activations.Elementwise {
    Activations.Elementwise(leakyBelowZero: Float(negativeSlope))
  }
}

extension ELULayer: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let alpha = Float(alpha)
    return .unary { x in x.map { $0 > 0 ? $0 : alpha * Foundation.expm1($0) } }
  }
}

extension SoftmaxLayer: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let axes = axes
    return .unary { x throws(RuntimeError) in
      let resolved = axes.map { $0 < 0 ? $0 + x.rank : $0 }.sorted()
      return try Elementwise.overTrailing(x, axes: resolved) { Activations.softmax($0, log: false) }
    }
  }
}

extension PReLULayer: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    try requireWeights(weights, 1, "alpha")
    let alpha = weights[0]
    return .unary { x throws(RuntimeError) in
      // α broadcasts over the batch and the shared axes.
      let a = try Elementwise.broadcast(x, alpha.reshaped([1] + alpha.shape)) { v, a in v >= 0 ? v : a * v }
      return a
    }
  }
}

extension ThresholdedReLULayer: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let theta = Float(theta)
    return .unary { x in x.map { $0 > theta ? $0 : 0 } }
  }
}


extension NestedModel: RunnableLayer {
  /// The wrapped model run on its own: analysed on the input it gets (the step shape of a
  /// TimeDistributed), its weights shared out to its layers in their order.
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let nested = self
    return Kernel { inputs, _ throws(RuntimeError) in
      let shapes: [Shape] = inputs.map { [nil] + $0.tensor.shape.dropFirst().map { Optional($0) } }
      let analysis = nested.analysis(shapes)
      var byLayer: [String: [Tensor]] = [:]
      var next = 0
      func share(_ a: ModelAnalysis, _ prefix: String) throws(RuntimeError) {
        for layer in a.layers {
          if let deeper = layer.nested { try share(deeper, prefix + layer.name + "/"); continue }
          let count = layer.expected?.count ?? 0
          guard next + count <= weights.count else { throw RuntimeError("model \(nested.model.name) needs more weights than its wrapper stores") }
          byLayer[prefix + layer.name] = Array(weights[next..<(next + count)])
          next += count
        }
      }
      try share(analysis, "")
      guard next == weights.count else { throw RuntimeError("model \(nested.model.name) uses \(next) of its wrapper's \(weights.count) weights") }
      let runtime = try Runtime(analysis: analysis, weights: byLayer)
      return try runtime.predict(inputs.map(\.tensor)).map { Value(tensor: $0, mask: nil) }
    }
  }
}
