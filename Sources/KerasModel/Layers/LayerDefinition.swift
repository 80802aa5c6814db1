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

  /// The same for a call whose plain arguments change what it returns (attention's
  /// `return_attention_scores`). Default: ``signature(_:)``.
  func signature(_ inputs: [Shape], call: CallArguments) throws(ModelError) -> LayerSignature

  /// Whether the family understands this particular config (a family whose class covers many
  /// functions, such as TFOpLambda, claims only the functions it defines). Default: every one.
  static func understands(_ config: JSONValue) -> Bool

  // How the family reads what other Keras versions wrote. Each defaults to "as Keras 2 writes it".

  /// Keras 1 class names this family reads, each with the Keras 2 class it became
  /// (`Convolution2D`: `Conv2D`).
  static var keras1ClassNames: [String: String] { get }

  /// Renames a Keras 1 config's keys that are this family's own (`nb_row`, `pool_length`) to
  /// Keras 2's; the keys every Keras 1 layer shares are renamed before (``Keras1``).
  static func upgradeKeras1(_ config: inout Keras1Config)

  /// The layer's stored weights as Keras 2 reads them from this file: Keras 1's per-gate
  /// recurrent arrays fused, Keras 1's convolution kernel axes reordered, the kernels of a
  /// Theano-backend file flipped. Only the description changes: values are read later.
  static func storedLayout(_ weights: [StoredWeight], _ file: WeightLayoutContext) -> [StoredWeight]

  /// The sub-object groups holding this family's variables in Keras 3's weights layout
  /// (`layers/<layer>/<sub-object>/vars`), in Keras's weight order.
  static var keras3SubObjects: [String] { get }

  /// The sub-object order of one layer, when its config decides it (an RNN's stacked cells are
  /// named after their classes, in the cells' order). Default: ``keras3SubObjects``.
  static func keras3SubObjects(config: JSONValue) -> [String]

  /// The Keras 3 op classes (`keras.ops` nodes of a functional graph, ``LayerConfig/isOperation``)
  /// this family defines. They are looked up apart from layer classes: op `Add` is not layer `Add`.
  static var operationNames: [String] { get }

  /// The output shapes a config states for a layer the family does not understand (a Lambda
  /// whose function is not read but whose `output_shape` is given), so the layers after it keep
  /// their shapes. Default: none.
  static func declaredOutputs(_ config: JSONValue, inputs: [Shape]) -> [Shape]?

  /// Class names whose Python class is named otherwise (`GroupQueryAttention` is the exported
  /// name of `GroupedQueryAttention`): Keras 3 names weight groups after the Python class.
  static var pythonClassNames: [String: String] { get }
}

extension LayerDefinition {
  public func signature(_ inputs: [Shape], call: CallArguments) throws(ModelError) -> LayerSignature { try signature(inputs) }
  public static func understands(_ config: JSONValue) -> Bool { true }
  public static var keras1ClassNames: [String: String] { [:] }
  public static func upgradeKeras1(_ config: inout Keras1Config) {}
  public static func storedLayout(_ weights: [StoredWeight], _ file: WeightLayoutContext) -> [StoredWeight] { weights }
  public static var keras3SubObjects: [String] { [] }
  public static func keras3SubObjects(config: JSONValue) -> [String] { keras3SubObjects }
  public static var pythonClassNames: [String: String] { [:] }
  public static var operationNames: [String] { [] }
  public static func declaredOutputs(_ config: JSONValue, inputs: [Shape]) -> [Shape]? { nil }
}

/// What a file says about how one layer's weights are laid out.
public struct WeightLayoutContext: Sendable {
  public let className: String
  public let config: JSONValue
  /// The file's `backend` attribute (Keras 2 writes it; Keras 1 files have none).
  public let backend: String?

  public init(className: String, config: JSONValue, backend: String?) {
    self.className = className
    self.config = config
    self.backend = backend
  }

  /// The layer's config was upgraded from a renamed Keras 1 class (``Keras1Config``).
  public var keras1ClassName: String? { config[Keras1Config.marker]?.string }

  /// The context of the layer a wrapper (`TimeDistributed`, `Bidirectional`) holds.
  public var wrapped: WeightLayoutContext? {
    guard let inner = config["layer"], let className = inner["class_name"]?.string, let config = inner["config"] else { return nil }
    return WeightLayoutContext(className: className, config: config, backend: backend)
  }
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
    Recurrent.self, RNNLayer.self, CuDNNRecurrent.self, ConvLSTM.self, Bidirectional.self, TimeDistributed.self,
    // Reshaping
    Flatten.self, Reshape.self, Permute.self, RepeatVector.self, ZeroPadding.self, Cropping.self, UpSampling.self,
    // Convolution and pooling
    Convolution.self, DepthwiseConvolution.self, SeparableConvolution.self, TransposedConvolution.self, LocallyConnected.self,
    Pooling.self, GlobalPooling.self,
    // Normalization
    BatchNormalization.self, LayerNormalization.self, GroupNormalization.self, UnitNormalization.self, RMSNormalization.self,
    // Preprocessing layers saved inside models
    Rescaling.self, FeatureNormalization.self, CenterCrop.self, Resizing.self, CategoryEncoding.self, Discretization.self, IntegerLookup.self,
    RandomCrop.self, AutoContrast.self, InferenceAugmentation.self,
    // Scales registered by keras.applications
    LayerScale.self, CustomScaleLayer.self,
    // Merging
    Concatenate.self, ElementwiseMerge.self, Dot.self,
    // Attention and tensor products
    MultiHeadAttention.self, GroupedQueryAttention.self, ScoreAttention.self, EinsumDense.self,
    // Op nodes: tf.keras 2.4-2.15's TFOpLambda and SlicingOpLambda, Keras 3's keras.ops
    TFOpLambda.self, KerasOperation.self,
    // Lambda layers whose function is plain tensor arithmetic, read from its bytecode
    Lambda.self,
  ]

  /// Each claimed class name with its family.
  public static let byClassName: [String: any LayerDefinition.Type] = {
    var table: [String: any LayerDefinition.Type] = [:]
    for family in families {
      for name in family.classNames where table[name] == nil { table[name] = family }
    }
    return table
  }()

  /// Every class name the registry knows, sorted: Keras 2 and 3's, and Keras 1's.
  public static var classNames: [String] { Set(byClassName.keys).union(byKeras1ClassName.keys).sorted() }

  /// Each Keras 3 op class with the family that defines it.
  public static let byOperationName: [String: any LayerDefinition.Type] = {
    var table: [String: any LayerDefinition.Type] = [:]
    for family in families {
      for name in family.operationNames where table[name] == nil { table[name] = family }
    }
    return table
  }()

  /// Class names claimed by more than one family (empty when the registry is sound); op classes
  /// are a namespace of their own.
  public static var claimedTwice: [String] {
    var seen: [String: Int] = [:]
    for family in families {
      for name in family.classNames { seen[name, default: 0] += 1 }
      for name in family.keras1ClassNames.keys { seen[name, default: 0] += 1 }
      for name in family.operationNames { seen["ops." + name, default: 0] += 1 }
    }
    return seen.filter { $0.value > 1 }.keys.sorted()
  }

  /// Each Keras 1 class name with the family that reads it.
  public static let byKeras1ClassName: [String: any LayerDefinition.Type] = {
    var table: [String: any LayerDefinition.Type] = [:]
    for family in families {
      for name in family.keras1ClassNames.keys where table[name] == nil { table[name] = family }
    }
    return table
  }()

  /// The layer's stored weights as its family reads them from this file (see
  /// ``LayerDefinition/storedLayout(_:_:)``); as stored when its class has no family.
  public static func storedLayout(_ weights: [StoredWeight], _ file: WeightLayoutContext) -> [StoredWeight] {
    byClassName[file.className]?.storedLayout(weights, file) ?? weights
  }

  /// Keras 3's sub-object group names in weight order: each family's, in registry order.
  public static let keras3SubObjects: [String] = families.flatMap { $0.keras3SubObjects }

  /// The sub-object order of one layer: its family's own (MultiHeadAttention and
  /// GroupedQueryAttention name their projections alike, in different orders), else the registry's.
  public static func keras3SubObjects(of layer: LayerConfig) -> [String] {
    let own = family(of: layer)?.keras3SubObjects(config: layer.config) ?? []
    return own.isEmpty ? keras3SubObjects : own
  }

  /// The sub-object order of a wrapped layer's `{"class_name", "config"}`.
  public static func keras3SubObjects(wrapped: JSONValue?) -> [String] {
    guard let wrapped, let className = wrapped["class_name"]?.string, let config = wrapped["config"] else { return [] }
    if ConfigParser.modelClasses.contains(className) {
      // A wrapped model's layers, in its order (Keras 3's `layer/layers/<class>[_n]`).
      guard let model = try? ConfigParser.model(wrapped) else { return [] }
      return Keras3Layout.containers + Keras3Layout.groupNames(model)
    }
    return byClassName[className]?.keras3SubObjects(config: config) ?? []
  }

  /// The Python class behind a config's class name (they differ for a few exported aliases).
  public static func pythonClassName(_ className: String) -> String {
    byClassName[className]?.pythonClassNames[className] ?? className
  }

  /// Whether a layer class has a family.
  public static func understands(_ className: String) -> Bool { byClassName[className] != nil }

  /// Whether a layer's class has a family that understands its config.
  public static func understands(_ className: String, config: JSONValue) -> Bool {
    byClassName[className]?.understands(config) ?? false
  }

  /// The family of a model's layer or op node.
  public static func family(of layer: LayerConfig) -> (any LayerDefinition.Type)? {
    layer.isOperation ? byOperationName[layer.className] : byClassName[layer.className]
  }

  /// Whether a model's layer or op node has a family that understands it.
  public static func understands(_ layer: LayerConfig) -> Bool {
    family(of: layer)?.understands(layer.config) ?? false
  }

  /// The definition of a model's layer or op node (an op reads its call's arguments): nil when
  /// not understood; an error when the config does not decode.
  public static func definition(of layer: LayerConfig, keras3: Bool) throws(ModelError) -> (any LayerDefinition)? {
    guard let family = family(of: layer), family.understands(layer.config) else { return nil }
    return try family.init(LayerReader(name: layer.name, className: layer.className, config: layer.config, keras3: keras3, call: layer.calls.first?.structure))
  }

  /// The layer's definition: nil when its class is not understood; an error when the config does
  /// not decode.
  public static func definition(name: String, className: String, config: JSONValue, keras3: Bool = false) throws(ModelError) -> (any LayerDefinition)? {
    guard let family = byClassName[className], family.understands(config) else { return nil }
    return try family.init(LayerReader(name: name, className: className, config: config, keras3: keras3))
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
