import KerasModel

/// A scale and a shift per channel: BatchNormalization at inference.
struct ChannelAffine {
  let scale: [Float]
  let shift: [Float]
}

/// A layer that applies one element-wise function to its input (Activation, ReLU...): after a
/// layer whose output it alone reads, it is applied in place on that output (``Fusion``).
protocol PointwiseLayer: RunnableLayer {
  /// The function, or nil when this configuration is not element-wise (softmax...).
  func pointwise(keras3: Bool) -> Activations.Elementwise?
}

/// A layer that can apply an activation folded after it (``Fusion``) while it computes, each
/// block of its output activated while in cache, instead of in a pass of its own.
protocol EpilogueFusable: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool, epilogue: Activations.Elementwise?) throws(RuntimeError) -> Kernel
}

/// A layer whose output channels can absorb a per-channel affine step that follows it: its
/// kernel's output channels scaled and its bias shifted (Dense, convolutions, depthwise
/// convolutions, all with a linear activation and channels last).
protocol ChannelFoldable: RunnableLayer {
  /// Whether this configuration can absorb one (no activation between the two, channels last).
  var foldable: Bool { get }
  var useBias: Bool { get }
  /// The kernel built from its (already folded) weights and a bias, whatever `use_bias` says.
  func kernel(_ w: Tensor, bias: Tensor?, keras3: Bool) -> Kernel
  /// The same, with an activation folded in (``Fusion``) applied after the layer's own.
  func kernel(_ w: Tensor, bias: Tensor?, keras3: Bool, epilogue: Activations.Elementwise?) -> Kernel
}

extension ChannelFoldable {
  /// The activation applied in place on the output the kernel has just made.
  func kernel(_ w: Tensor, bias: Tensor?, keras3: Bool, epilogue: Activations.Elementwise?) -> Kernel {
    let inner = kernel(w, bias: bias, keras3: keras3)
    guard let epilogue else { return inner }
    return Fusion.applying(epilogue, after: inner)
  }
}

extension Dense: ChannelFoldable {
  var foldable: Bool { activation.name == "linear" }
}

extension Convolution: ChannelFoldable {
  var foldable: Bool { activation.name == "linear" && dataFormat == .channelsLast }
}

extension DepthwiseConvolution: ChannelFoldable {
  var foldable: Bool { activation.name == "linear" && dataFormat == .channelsLast }
}

/// Inference-time rewrites that leave what the model computes unchanged up to float32 rounding.
///
/// A BatchNormalization whose input is the only use of a Dense or convolution's output (the
/// `Conv2D → BatchNormalization` of ResNet, MobileNet and EfficientNet) is folded into that
/// layer when the kernels are built: each output channel c of the kernel is multiplied by the
/// normalization's scale s[c], the bias becomes b[c]·s[c] + t[c], and the normalization itself
/// passes its input on. One pass over the activation is saved, and the product writes the
/// normalized values directly.
///
/// An element-wise activation layer (``PointwiseLayer``) whose input is the only use of the
/// output of the layer before it is applied by that layer, in place on the output it has just
/// made (through a folded normalization, to the layer the normalization was folded into): the
/// `Conv2D → BatchNormalization → Activation("relu")` of Inception and the `Add → ReLU` of
/// ResNet then make one new tensor, not three, and the activation layer passes its input on.
enum Fusion {
  /// How many calls, and model outputs, read each tensor of one model.
  static func readers(_ model: ModelAnalysis) -> [TensorRef: Int] {
    var readers: [TensorRef: Int] = [:]
    for layer in model.layers {
      for call in layer.config.calls { for ref in call.inputs { readers[ref, default: 0] += 1 } }
    }
    for ref in model.config.outputs { readers[ref, default: 0] += 1 }
    return readers
  }

  /// The layer whose only input is the first output of another, alone in reading it: that
  /// other layer's index, or nil.
  static func soleReader(_ layer: LayerInfo, _ readers: [TensorRef: Int], _ index: [String: Int]) -> Int? {
    guard layer.config.calls.count == 1, let call = layer.config.calls.first, call.inputs.count == 1, call.maskInput == nil,
      let source = call.inputs.first, source.tensor == 0, readers[source] == 1
    else { return nil }
    return index[source.layer]
  }

  /// For each folded activation, the index of the layer that applies it and the activation's,
  /// in one model, given the normalizations folded already (``batchNormalizationFolds(_:)``).
  static func activationFolds(_ model: ModelAnalysis, after normalizations: [(producer: Int, normalization: Int)]) -> [(producer: Int, activation: Int)] {
    let readers = readers(model)
    let index = Dictionary(model.layers.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
    let foldedInto = Dictionary(normalizations.map { ($0.normalization, $0.producer) }, uniquingKeysWith: { a, _ in a })
    // Only layers that run as a step of the schedule, once: inputs and shared layers apply nothing.
    let steps = Dictionary(model.schedule.map { ($0.layer, 1) }, uniquingKeysWith: +)
    // An activation after another stays a layer of its own: each producer applies at most one.
    var folds: [(Int, Int)] = []
    for (a, layer) in model.layers.enumerated() {
      guard layer.definition is any PointwiseLayer, var p = soleReader(layer, readers, index) else { continue }
      p = foldedInto[p] ?? p
      guard model.layers[p].nested == nil, model.layers[p].config.calls.count == 1, steps[p] == 1,
        !(model.layers[p].definition is any PointwiseLayer)
      else { continue }
      folds.append((p, a))
    }
    return folds
  }

  /// For each folded pair, the producing layer's index and the normalization's, in one model.
  static func batchNormalizationFolds(_ model: ModelAnalysis) -> [(producer: Int, normalization: Int)] {
    let readers = readers(model)
    let index = Dictionary(model.layers.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
    var folds: [(Int, Int)] = []
    for (n, layer) in model.layers.enumerated() {
      guard let norm = layer.definition as? BatchNormalization, let p = soleReader(layer, readers, index),
        model.layers[p].nested == nil, model.layers[p].config.calls.count == 1,
        let producer = model.layers[p].definition as? any ChannelFoldable, producer.foldable,
        let shape = model.layers[p].outputs.first??.first, shape.count >= 2,
        norm.axis.count == 1, norm.axis[0] == -1 || norm.axis[0] == shape.count - 1
      else { continue }
      folds.append((p, n))
    }
    return folds
  }

  /// `kernel`, then `f` in place on its first output (which it has just made).
  static func applying(_ f: Activations.Elementwise, after kernel: Kernel) -> Kernel {
    Kernel { inputs, arguments throws(RuntimeError) in
      var outputs = try kernel.run(inputs, arguments)
      if !outputs.isEmpty, outputs[0].tensor.count > 0 {
        outputs[0].tensor.data.withUnsafeMutableBufferPointer { f.apply($0.baseAddress!, $0.count) }
      }
      return outputs
    }
  }

  /// The producer's kernel with the normalization folded in (and `epilogue`, an activation
  /// folded after it), or nil when the weights do not line up (the layers are then built apart,
  /// as without folding).
  static func foldedKernel(
    _ producer: any ChannelFoldable, weights: [Tensor],
    _ normalization: BatchNormalization, normalizationWeights: [Tensor], keras3: Bool, epilogue: Activations.Elementwise?
  ) -> Kernel? {
    guard let kernel = weights.first, let affine = try? normalization.inferenceAffine(normalizationWeights) else { return nil }
    let channels = affine.scale.count
    guard channels > 0, kernel.count % channels == 0 else { return nil }
    let bias = optionalBias(weights, after: 1, producer.useBias)
    guard bias.map({ $0.count == channels }) ?? true else { return nil }
    // Kernel element i feeds output channel i mod C: the output channels are its trailing axes
    // ((…, F) for a convolution or Dense, (…, C, M) flattened for a depthwise one).
    var folded = kernel.data
    folded.withUnsafeMutableBufferPointer { k in
      affine.scale.withUnsafeBufferPointer { s in
        for row in stride(from: 0, to: k.count, by: channels) {
          for c in 0..<channels { k[row + c] *= s[c] }
        }
      }
    }
    let shifted = (0..<channels).map { c in (bias?.data[c] ?? 0) * affine.scale[c] + affine.shift[c] }
    return producer.kernel(Tensor(shape: kernel.shape, data: folded), bias: Tensor(shape: [channels], data: shifted), keras3: keras3, epilogue: epilogue)
  }
}
