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
  public var description: String {
    var text = ""
    write(to: &text)
    return text
  }

  /// Appends ``description`` to `text` (a summary's table writes hundreds).
  public func write(to text: inout String) {
    text += layer
    text += "["
    text += String(node)
    text += "]["
    text += String(tensor)
    text += "]"
  }
}

/// One call of a layer inside a model: the tensors it was called on.
public struct LayerCall: Sendable, Equatable {
  public let inputs: [TensorRef]
  /// The call's arguments that are not tensors.
  public let arguments: CallArguments
  /// Which of `inputs` came as the `mask=` keyword argument (Keras 3), if one did.
  public let maskInput: Int?
  /// The call's positional and keyword arguments as the node entry wrote them, each tensor
  /// replaced by its position in `inputs`: how op nodes (`x + 3.0`, `x[:, -1]`,
  /// `tf.reshape(x, [-1, 4])`) say what they compute.
  public let structure: CallStructure
  /// The tensors in the order Keras's summary lists them under "Connected to": Keras 3 flattens
  /// the positional arguments, then the keyword arguments by name (`tree.flatten`), where
  /// `inputs` keeps query, value, key first for the kernels.
  public let connections: [TensorRef]

  public init(
    inputs: [TensorRef], arguments: CallArguments = CallArguments(), maskInput: Int? = nil, structure: CallStructure = CallStructure(),
    connections: [TensorRef]? = nil
  ) {
    self.inputs = inputs
    self.arguments = arguments
    self.maskInput = maskInput
    self.structure = structure
    self.connections = connections ?? inputs
  }

  /// The inputs that carry data: without the `mask=` tensor or tensors and the masks passed by
  /// name (``maskKeywords``).
  public var dataInputs: [TensorRef] { dataInputPositions.map { inputs[$0] } }

  /// The positions in `inputs` of ``dataInputs``.
  public var dataInputPositions: [Int] {
    // Masks come only as keyword arguments: most calls have none.
    if maskInput == nil, structure.kwargs.isEmpty { return Array(inputs.indices) }
    var masks = Set(maskKeywordInputs.values)
    if let maskInput { masks.insert(maskInput) }
    for case let position? in maskListInputs { masks.insert(position) }
    return inputs.indices.filter { !masks.contains($0) }
  }

  /// Keyword tensors that are masks, not data: attention's `attention_mask=` and Keras 3's
  /// explicit `query_mask=`, `value_mask=`, `key_mask=`.
  public static let maskKeywords = ["attention_mask", "query_mask", "value_mask", "key_mask"]

  /// The tensors passed as one of ``maskKeywords``: keyword -> position in `inputs`.
  public var maskKeywordInputs: [String: Int] {
    var found: [String: Int] = [:]
    for name in Self.maskKeywords {
      if case .tensor(let position)? = structure.kwargs[name] { found[name] = position }
    }
    return found
  }

  /// `mask=[query_mask, value_mask]`: for each data input in turn, the position of its mask in
  /// `inputs`, nil where the list holds None. Empty unless `mask=` is a list.
  public var maskListInputs: [Int?] {
    guard case .list(let items)? = structure.kwargs["mask"] else { return [] }
    return items.map { item in
      if case .tensor(let position) = item { return position }
      return nil
    }
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

  public init() {}

  /// Reads the plain keyword values of a node entry.
  init(keywords: JSONObject) {
    useCausalMask = keywords["use_causal_mask"]?.bool ?? false
    training = keywords["training"]?.bool
    returnAttentionScores = keywords["return_attention_scores"]?.bool ?? false
  }
}

/// One argument of a call, as the node entry wrote it.
public indirect enum CallValue: Sendable, Equatable {
  /// The call's input tensor at this position of ``LayerCall/inputs``.
  case tensor(Int)
  case number(Double)
  case bool(Bool)
  case string(String)
  /// Python's None (in a subscript: a new axis).
  case none
  case list([CallValue])
  /// A Python slice `start:stop:step`.
  case slice(start: CallValue, stop: CallValue, step: CallValue)
  /// Python's `...`.
  case ellipsis
  /// A NumPy array or tensor constant, flattened, with its shape.
  case array([Double], shape: [Int])
  /// Anything else (a dict, a serialized object).
  case other

  /// An integer value.
  public var int: Int? {
    guard case .number(let n) = self, n == n.rounded(), abs(n) < 9e15 else { return nil }
    return Int(n)
  }

  /// A list of integers, or one integer as a list of one.
  public var ints: [Int]? {
    if let n = int { return [n] }
    guard case .list(let items) = self else { return nil }
    var result: [Int] = []
    for item in items {
      guard let n = item.int else { return nil }
      result.append(n)
    }
    return result
  }

  public var isNone: Bool { self == .none }

  /// The integers of a NumPy constant (`__numpy__`).
  public var arrayInts: [Int]? {
    guard case .array(let values, _) = self, values.allSatisfy({ $0 == $0.rounded() && abs($0) < 9e15 }) else { return nil }
    return values.map { Int($0) }
  }
}

/// A call's positional and keyword arguments.
public struct CallStructure: Sendable, Equatable {
  public var args: [CallValue]
  public var kwargs: [String: CallValue]

  public init(args: [CallValue] = [], kwargs: [String: CallValue] = [:]) {
    self.args = args
    self.kwargs = kwargs
  }

  /// The positional argument at `index`, else the keyword argument `name`.
  public func argument(_ index: Int, _ name: String) -> CallValue? {
    index < args.count ? args[index] : kwargs[name]
  }
}

/// A layer as the model config describes it. Immutable, and shared rather than copied: the
/// schedule, the analysis and the runtime each walk a model's layers, and a copy of a layer with
/// every field retained and released again was a visible part of a large model's summary.
public final class LayerConfig: Sendable {
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
  /// A Keras 3 op node (`keras.ops.add` on symbolic tensors): an Operation, not a Layer, whose
  /// class name may be a layer's too (`Add`, `Reshape`, `Softmax`).
  public let isOperation: Bool

  init(name: String, className: String, config: JSONValue, calls: [LayerCall], nested: ModelConfig?, isOperation: Bool = false) {
    self.name = name
    self.className = className
    self.config = config
    self.calls = calls
    self.nested = nested
    self.isOperation = isOperation
  }

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
  /// The whole JSON document the model was read from (nil for a nested model, or a model not
  /// read from text). Kept with the model, so that the parts of it no layer holds (a large
  /// model's node lists, thousands of small objects) are freed with the model, not on the way
  /// to its first use: a CLI process that exits with the model still held never frees them.
  public internal(set) var document: JSONValue?

  public var isSequential: Bool { className == "Sequential" }

  /// Each layer name's first place in ``layers`` (a hostile file may repeat a name).
  func firstPlaces() -> [String: Int] {
    var places = [String: Int](minimumCapacity: layers.count)
    for (i, layer) in layers.enumerated() where places[layer.name] == nil { places[layer.name] = i }
    return places
  }
}
