/// `Dense`: `activation(x · kernel + bias)` over the last axis; kernel (features, units).
public struct Dense: LayerDefinition {
  public static let classNames = ["Dense"]
  public static func upgradeKeras1(_ c: inout Keras1Config) { c.move("output_dim", "units") }
  public let units: Int
  public let useBias: Bool
  public let activation: Activation

  public init(_ c: LayerReader) throws(ModelError) {
    units = try c.int("units")
    useBias = try c.bool("use_bias", default: true)
    activation = try c.activation()
    // Keras 3 LoRA adds lora_kernel_a/b, which change the kernel Keras computes with.
    if try c.optionalInt("lora_rank") != nil { throw c.error("has lora_rank, which keras-inspect does not read") }
    label = c.label
  }
  let label: LayerLabel

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs)
    guard x.count >= 2 else { throw label.error("needs an input of rank 2 or more, got \(format(x))") }
    let n = try label.known(x.last!, "input feature dimension")
    var weights = [WeightSpec("kernel", [n, units])]
    if useBias { weights.append(WeightSpec("bias", [units])) }
    let positions = saturatingProduct(x.dropFirst().dropLast().map { $0 ?? 1 })
    return LayerSignature(
      outputs: [Array(x.dropLast()) + [units]], weights: weights,
      formula: useBias ? "\(n) × \(units) + \(units)" : "\(n) × \(units)",
      flops: saturatingProduct([2, positions, n, units]))
  }
}

/// Layers that are the identity at inference: dropout and noise of every kind, activity
/// regularization, `Identity`.
public struct InferenceIdentity: LayerDefinition {
  public static let classNames = [
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout",
    "AlphaDropout", "ActivityRegularization", "Identity",
  ]
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) { label = c.label }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    LayerSignature(outputs: [try label.single(inputs)])
  }
}

/// `Embedding`: token ids to rows of a (input_dim, output_dim) table.
public struct Embedding: LayerDefinition {
  public static let classNames = ["Embedding"]
  public let vocabulary: Int
  public let dimension: Int
  /// Keras 2's `input_length`, reported as the time dimension.
  public let inputLength: Int?
  /// Token 0 masks its step.
  public let maskZero: Bool
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    vocabulary = try c.int("input_dim")
    dimension = try c.int("output_dim")
    inputLength = c.present("input_length")?.int
    maskZero = try c.bool("mask_zero", default: false)
    if try c.optionalInt("lora_rank") != nil { throw c.error("has lora_rank, which keras-inspect does not read") }
    label = c.label
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    var x = try label.single(inputs)
    if x.count == 2, x[1] == nil, let inputLength { x[1] = inputLength }
    return LayerSignature(outputs: [x + [dimension]], weights: [WeightSpec("embeddings", [vocabulary, dimension])], formula: "\(vocabulary) × \(dimension)")
  }
}

/// `Activation(name)`.
public struct ActivationLayer: LayerDefinition {
  public static let classNames = ["Activation"]
  public let activation: Activation
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    activation = try c.activation()
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    LayerSignature(outputs: [try label.single(inputs)])
  }
}

/// `Masking`: a step is kept when any feature differs from `mask_value`; masked steps are zeroed.
public struct Masking: LayerDefinition {
  public static let classNames = ["Masking"]
  public let maskValue: Double
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    maskValue = try c.double("mask_value", default: 0)
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    LayerSignature(outputs: [try label.single(inputs)])
  }
}

// MARK: Activations as layers

/// `ReLU`: `max_value` where x ≥ max_value, x where threshold ≤ x, else negative_slope · (x − threshold).
public struct ReLULayer: LayerDefinition {
  public static let classNames = ["ReLU"]
  public let maxValue: Double?
  public let negativeSlope: Double
  public let threshold: Double
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    maxValue = try c.optionalDouble("max_value")
    negativeSlope = try c.double("negative_slope", default: 0)
    threshold = try c.double("threshold", default: 0)
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    LayerSignature(outputs: [try label.single(inputs)])
  }
}

/// `LeakyReLU`: x for x ≥ 0, else slope · x. Keras 2 calls the slope `alpha`, Keras 3
/// `negative_slope`; both default to 0.3.
public struct LeakyReLULayer: LayerDefinition {
  public static let classNames = ["LeakyReLU"]
  public let negativeSlope: Double
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    if let slope = try c.optionalDouble("negative_slope") { negativeSlope = slope } else { negativeSlope = try c.double("alpha", default: 0.3) }
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    LayerSignature(outputs: [try label.single(inputs)])
  }
}

/// `ELU`: x for x > 0, else α · (eˣ − 1).
public struct ELULayer: LayerDefinition {
  public static let classNames = ["ELU"]
  public let alpha: Double
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    alpha = try c.double("alpha", default: 1)
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    LayerSignature(outputs: [try label.single(inputs)])
  }
}

/// `Softmax` over `axis` (an axis or, in Keras 3, a list of axes normalized together).
public struct SoftmaxLayer: LayerDefinition {
  public static let classNames = ["Softmax"]
  public let axes: [Int]
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    axes = try c.intList("axis", default: [-1])
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    // Keras 3 passes the mask on through Softmax; a second input is that mask.
    let x = try label.single(Array(inputs.prefix(1)))
    for a in axes { _ = try label.resolve(axis: a, rank: x.count) }
    return LayerSignature(outputs: [x])
  }
}

/// `PReLU`: max(0, x) + α ⊙ min(0, x), with a learned α per position of the input (batch
/// excluded), shared (size 1) along `shared_axes`.
public struct PReLULayer: LayerDefinition {
  public static let classNames = ["PReLU"]
  public let sharedAxes: [Int]
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    sharedAxes = try c.intList("shared_axes", default: [])
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs)
    var alpha: [Int] = []
    for d in x.dropFirst() { alpha.append(try label.known(d, "input dimension")) }
    for a in sharedAxes {
      guard a >= 1, a < x.count else { throw label.error("has shared axis \(a), outside an input of rank \(x.count)") }
      alpha[a - 1] = 1
    }
    let count = saturatingProduct(alpha)
    return LayerSignature(outputs: [x], weights: [WeightSpec("alpha", alpha)], formula: alpha.map(String.init).joined(separator: " × ") + (alpha.count > 1 ? " = \(count)" : ""))
  }
}

/// `ThresholdedReLU` (Keras 2): x where x > θ, else 0.
public struct ThresholdedReLULayer: LayerDefinition {
  public static let classNames = ["ThresholdedReLU"]
  public let theta: Double
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    theta = try c.double("theta", default: 1)
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    LayerSignature(outputs: [try label.single(inputs)])
  }
}

/// A whole model a wrapper holds (`TimeDistributed(Sequential([...]))`): its outputs and weights
/// are those of its layers, analysed on the input it is called on. Not a registered class: nested
/// models in a model's own layer list are read as models.
public struct NestedModel: LayerDefinition {
  public static let classNames: [String] = []
  public let model: ModelConfig
  public let keras3: Bool
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    throw c.error("is a model, read by its wrapper")
  }

  init(model: ModelConfig, keras3: Bool, label: LayerLabel) {
    self.model = model
    self.keras3 = keras3
    self.label = label
  }

  /// The model's analysis on inputs of these shapes (no stored weights: its wrapper holds them).
  public func analysis(_ inputs: [Shape]) -> ModelAnalysis {
    Analyzer(keras3: keras3, stored: [:]).analyze(model, inputShapes: inputs, storedPrefix: "")
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let analysis = analysis(inputs)
    guard let signature = try Analyzer(keras3: keras3, stored: [:]).nestedSignature(analysis) else {
      throw label.error("wraps model \(model.name), whose output shapes could not be derived")
    }
    return signature
  }
}
