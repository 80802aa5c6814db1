/// One layer family as keras-inspect understands it: its config decoded once into typed fields.
///
/// A definition is the only place a layer's config JSON is read. From it come the output shapes
/// of each call (Keras's `compute_output_shape`), the weights the layer builds (names, shapes,
/// order and trainability, as Keras's `build`), the parameter formula `--explain` prints and the
/// floating-point work of a call. The runtime builds each family's kernel from the definition by
/// conformance, and never sees the JSON.
public protocol LayerDefinition: Sendable {
  /// The Keras class names this family claims: the canonical name and its aliases
  /// (`MaxPooling2D`, `MaxPool2D`). ``LayerRegistry`` checks that each is claimed once.
  static var classNames: [String] { get }

  /// Decodes and validates the config; errors name the layer and the key.
  init(_ config: LayerReader) throws(ModelError)

  /// Output shapes, weights and formula of one call on inputs of these shapes.
  func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature

  /// Whether the family understands this particular config (a family whose class covers many
  /// functions, such as TFOpLambda, claims only the functions it defines). Default: every one.
  static func understands(_ config: JSONValue) -> Bool
}

extension LayerDefinition {
  public static func understands(_ config: JSONValue) -> Bool { true }
}

/// The registry of layer families: every class name keras-inspect understands, mapped to the
/// family that defines it. Adding a layer is its definition, its kernel, and one line here.
public enum LayerRegistry {
  public static let families: [any LayerDefinition.Type] = [
    InputLayerDefinition.self,
    // Core
    Dense.self, InferenceIdentity.self, Embedding.self, ActivationLayer.self, Masking.self,
    // Activations as layers
    ReLULayer.self, LeakyReLULayer.self, ELULayer.self, SoftmaxLayer.self, PReLULayer.self, ThresholdedReLULayer.self,
    // Recurrent and wrappers
    Recurrent.self, Bidirectional.self, TimeDistributed.self,
    // Reshaping
    Flatten.self, Reshape.self, Permute.self, RepeatVector.self, ZeroPadding.self, Cropping.self, UpSampling.self,
    // Convolution and pooling
    Convolution.self, DepthwiseConvolution.self, SeparableConvolution.self, TransposedConvolution.self, LocallyConnected.self,
    Pooling.self, GlobalPooling.self,
    // Normalization
    BatchNormalization.self, LayerNormalization.self, GroupNormalization.self, UnitNormalization.self, RMSNormalization.self,
    // Preprocessing layers saved inside models
    Rescaling.self, FeatureNormalization.self, CenterCrop.self, Resizing.self, CategoryEncoding.self, Discretization.self, IntegerLookup.self,
    InferenceAugmentation.self,
    // Scales registered by keras.applications
    LayerScale.self, CustomScaleLayer.self,
    // Merging
    Concatenate.self, ElementwiseMerge.self,
    // Attention
    MultiHeadAttention.self,
    // Op layers: Keras 3's, and tf.keras 2.4-2.15's TFOpLambda
    NotEqualOp.self, AnyOp.self, TFOpLambda.self,
  ]

  /// Each claimed class name with its family.
  public static let byClassName: [String: any LayerDefinition.Type] = {
    var table: [String: any LayerDefinition.Type] = [:]
    for family in families {
      for name in family.classNames where table[name] == nil { table[name] = family }
    }
    return table
  }()

  /// Every class name the registry knows, sorted.
  public static var classNames: [String] { byClassName.keys.sorted() }

  /// Class names claimed by more than one family (empty when the registry is sound).
  public static var claimedTwice: [String] {
    var seen: [String: Int] = [:]
    for family in families { for name in family.classNames { seen[name, default: 0] += 1 } }
    return seen.filter { $0.value > 1 }.keys.sorted()
  }

  /// Whether a layer class has a family.
  public static func understands(_ className: String) -> Bool { byClassName[className] != nil }

  /// Whether a layer's class has a family that understands its config.
  public static func understands(_ className: String, config: JSONValue) -> Bool {
    byClassName[className]?.understands(config) ?? false
  }

  /// The layer's definition: nil when its class is not understood; an error when the config does
  /// not decode.
  public static func definition(name: String, className: String, config: JSONValue) throws(ModelError) -> (any LayerDefinition)? {
    guard let family = byClassName[className], family.understands(config) else { return nil }
    return try family.init(LayerReader(name: name, className: className, config: config))
  }
}

/// The definition of an `InputLayer`: its declared batch shape (the caller may give another).
public struct InputLayerDefinition: LayerDefinition {
  public static let classNames = ["InputLayer"]
  public let batchShape: Shape?

  public init(_ c: LayerReader) throws(ModelError) {
    batchShape = ConfigParser.inputShape(of: c.config)
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    if let given = inputs.first { return LayerSignature(outputs: [given]) }
    guard let batchShape else { throw ModelError(.badConfig, "input shape is not known") }
    return LayerSignature(outputs: [batchShape])
  }
}
