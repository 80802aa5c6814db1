/// One output tensor of one call of a layer: Keras's `[layer_name, node_index, tensor_index]`.
public struct TensorRef: Hashable, Sendable, CustomStringConvertible {
  public let layer: String
  public let node: Int
  public let tensor: Int

  public init(layer: String, node: Int, tensor: Int) {
    self.layer = layer
    self.node = node
    self.tensor = tensor
  }

  /// Keras's notation in the summary's "Connected to" column: `lstm[0][0]`.
  public var description: String { "\(layer)[\(node)][\(tensor)]" }
}

/// One call of a layer inside a model: the tensors it was called on.
public struct LayerCall: Sendable, Equatable {
  public let inputs: [TensorRef]
  /// The call's arguments that are not tensors.
  public let arguments: CallArguments
  /// Which of `inputs` came as the `mask=` keyword argument (Keras 3), if one did.
  public let maskInput: Int?

  public init(inputs: [TensorRef], arguments: CallArguments = CallArguments(), maskInput: Int? = nil) {
    self.inputs = inputs
    self.arguments = arguments
    self.maskInput = maskInput
  }

  /// The inputs that carry data, without the `mask=` tensor.
  public var dataInputs: [TensorRef] {
    guard let maskInput else { return inputs }
    return inputs.enumerated().filter { $0.offset != maskInput }.map(\.element)
  }
}

/// The arguments of one call that are plain values, typed: what a kernel may need beyond its
/// input tensors. Tensor arguments (`mask=`, `initial_state=`, attention's `key=`) are inputs.
public struct CallArguments: Sendable, Equatable {
  /// `use_causal_mask=True` (attention).
  public var useCausalMask = false
  /// `training=` when the call fixed it; inference ignores it either way.
  public var training: Bool?
  /// `return_attention_scores=True` (attention).
  public var returnAttentionScores = false
  /// Numbers passed positionally (the `0.0` of `ops.not_equal(x, 0.0)`).
  public var constants: [Double] = []
  /// The positional arguments in order, tensors and numbers, when numbers are among them: Keras 3
  /// writes `x + 3.0` as an `Add` node on `[x, 3.0]`, `3.0 - x` as `Subtract` on `[3.0, x]`.
  public var operands: [CallOperand] = []

  public init() {}

  /// Reads the plain keyword values and positional values of a node entry.
  init(keywords: [String: JSONValue], positional: [JSONValue]) {
    useCausalMask = keywords["use_causal_mask"]?.bool ?? false
    training = keywords["training"]?.bool
    returnAttentionScores = keywords["return_attention_scores"]?.bool ?? false
    constants = positional.compactMap(\.double)
  }
}

/// One positional argument of a call: the next of the call's input tensors, or a number.
public enum CallOperand: Sendable, Equatable {
  case tensor
  case constant(Double)
}

/// A layer as the model config describes it.
public struct LayerConfig: Sendable {
  /// The layer's unique name inside its model.
  public let name: String
  /// Keras class name from the config (`LSTM`, `Dense`, `Sequential`, `Functional`, ...).
  public let className: String
  /// The layer's own `config` object.
  public let config: JSONValue
  /// Calls of this layer in the enclosing model, in node order (empty for Sequential members).
  public let calls: [LayerCall]
  /// For a nested model, its architecture.
  public let nested: ModelConfig?

  /// Whether the config marks the layer trainable (Keras's default is true).
  public var trainable: Bool { config["trainable"]?.bool ?? true }
}

/// A model's architecture: its layers and how they connect.
public struct ModelConfig: Sendable {
  public let name: String
  /// `Sequential`, `Functional` or `Model`.
  public let className: String
  /// Every layer in config order. For a Sequential model the InputLayer, when present, is first.
  public let layers: [LayerConfig]
  /// The model's input tensors, in input order.
  public let inputs: [TensorRef]
  /// The model's output tensors, in output order.
  public let outputs: [TensorRef]

  public var isSequential: Bool { className == "Sequential" }
}
