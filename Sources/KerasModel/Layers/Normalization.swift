/// Keras's `axis` (an int or a list, possibly negative) resolved against a rank, sorted.
func resolvedAxes(_ raw: [Int], rank: Int, _ label: LayerLabel) throws(ModelError) -> [Int] {
  var result: [Int] = []
  for a in raw { result.append(try label.resolve(axis: a, rank: rank)) }
  return result.sorted()
}

/// The sizes of `axes` of `x`, each known.
func axisSizes(_ x: Shape, _ axes: [Int], _ label: LayerLabel) throws(ModelError) -> [Int] {
  var shape: [Int] = []
  for a in axes { shape.append(try label.known(x[a], "normalized dimension")) }
  return shape
}

/// `BatchNormalization` at inference: (x − moving_mean) / √(moving_variance + ε) · γ + β along
/// `axis` (an axis or several).
public struct BatchNormalization: LayerDefinition {
  public static let classNames = ["BatchNormalization"]
  public let axis: [Int]
  public let epsilon: Double
  public let center: Bool
  public let scale: Bool
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    axis = try c.intList("axis", default: [-1])
    epsilon = try c.double("epsilon", default: 1e-3)
    center = try c.bool("center", default: true)
    scale = try c.bool("scale", default: true)
    label = c.label
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs)
    let shape = try axisSizes(x, try resolvedAxes(axis, rank: x.count, label), label)
    let d = saturatingProduct(shape)
    var weights: [WeightSpec] = []
    if scale { weights.append(WeightSpec("gamma", shape)) }
    if center { weights.append(WeightSpec("beta", shape)) }
    let trained = weights.count
    weights.append(WeightSpec("moving_mean", shape, trainable: false))
    weights.append(WeightSpec("moving_variance", shape, trainable: false))
    return LayerSignature(outputs: [x], weights: weights, formula: "\(trained + 2) × \(d) (\(trained) × \(d) trainable, 2 × \(d) moving statistics)")
  }
}

/// `LayerNormalization` over `axis`: (x − μ) / √(σ² + ε) · γ + β. With Keras 3's `rms_scaling`,
/// x / √(σ² + ε) · γ (Keras 3.15 divides by the variance, not the mean square, and keeps no β).
public struct LayerNormalization: LayerDefinition {
  public static let classNames = ["LayerNormalization"]
  public let axis: [Int]
  public let epsilon: Double
  public let center: Bool
  public let scale: Bool
  public let rmsScaling: Bool
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    axis = try c.intList("axis", default: [-1])
    epsilon = try c.double("epsilon", default: 1e-3)
    rmsScaling = try c.bool("rms_scaling", default: false)
    center = try c.bool("center", default: true) && !rmsScaling
    scale = try c.bool("scale", default: true) || rmsScaling
    label = c.label
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs)
    let shape = try axisSizes(x, try resolvedAxes(axis, rank: x.count, label), label)
    var weights: [WeightSpec] = []
    if scale { weights.append(WeightSpec("gamma", shape)) }
    if center { weights.append(WeightSpec("beta", shape)) }
    let d = saturatingProduct(shape)
    return LayerSignature(outputs: [x], weights: weights, formula: weights.isEmpty ? nil : "\(weights.count) × \(d)")
  }
}

/// `GroupNormalization`: the channels on `axis` split into `groups`; each group normalized over
/// its channels and every spatial position, then γ and β per channel.
public struct GroupNormalization: LayerDefinition {
  public static let classNames = ["GroupNormalization"]
  public let groups: Int
  public let axis: Int
  public let epsilon: Double
  public let center: Bool
  public let scale: Bool
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    groups = try c.int("groups", default: 32)
    guard groups >= 1 else { throw c.error("has groups 0") }
    axis = try c.int("axis", default: -1)
    epsilon = try c.double("epsilon", default: 1e-3)
    center = try c.bool("center", default: true)
    scale = try c.bool("scale", default: true)
    label = c.label
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs)
    let a = try label.resolve(axis: axis, rank: x.count)
    let channels = try label.known(x[a], "channel dimension")
    guard channels % groups == 0 else { throw label.error("has \(channels) channels, not divisible by groups=\(groups)") }
    var weights: [WeightSpec] = []
    if scale { weights.append(WeightSpec("gamma", [channels])) }
    if center { weights.append(WeightSpec("beta", [channels])) }
    return LayerSignature(outputs: [x], weights: weights, formula: weights.isEmpty ? nil : "\(weights.count) × \(channels)")
  }
}

/// `UnitNormalization`: x / ‖x‖₂ over `axis`.
public struct UnitNormalization: LayerDefinition {
  public static let classNames = ["UnitNormalization"]
  public let axis: [Int]
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    axis = try c.intList("axis", default: [-1])
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs)
    _ = try resolvedAxes(axis, rank: x.count, label)
    return LayerSignature(outputs: [x])
  }
}

/// `RMSNormalization` (Keras 3): x / √(mean(x²) + ε) · scale over `axis`.
public struct RMSNormalization: LayerDefinition {
  public static let classNames = ["RMSNormalization"]
  public let axis: [Int]
  public let epsilon: Double
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    axis = try c.intList("axis", default: [-1])
    epsilon = try c.double("epsilon", default: 1e-6)
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs)
    let shape = try axisSizes(x, try resolvedAxes(axis, rank: x.count, label), label)
    return LayerSignature(outputs: [x], weights: [WeightSpec("scale", shape)], formula: "\(saturatingProduct(shape))")
  }
}

// MARK: Scales registered by keras.applications

/// ConvNeXt's `LayerScale`: x · γ, with γ (projection_dim) learned per channel.
public struct LayerScale: LayerDefinition {
  public static let classNames = ["LayerScale"]
  public let projectionDim: Int
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    projectionDim = try c.int("projection_dim")
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs)
    if let d = x.last!, d != projectionDim { throw label.error("scales \(projectionDim) channels of an input with \(d)") }
    return LayerSignature(outputs: [x], weights: [WeightSpec("gamma", [projectionDim])], formula: "\(projectionDim)")
  }
}

/// InceptionResNetV2's `CustomScaleLayer`: inputs[0] + inputs[1] · scale.
public struct CustomScaleLayer: LayerDefinition {
  public static let classNames = ["CustomScaleLayer"]
  public let scale: Double
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    scale = try c.double("scale")
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    // Called on one list of two tensors.
    guard inputs.count == 2 else { throw label.error("expects two inputs, got \(inputs.count)") }
    return LayerSignature(outputs: [inputs[0]])
  }
}
