/// Turns a Keras model config (the JSON of `model.to_json()` / `model_config`) into a ModelConfig.
///
/// Accepts what Keras 2 (tf.keras / tf_keras) and Keras 3 write:
/// - Sequential: `{"class_name": "Sequential", "config": {"name", "layers": [...]}}`; Keras 2 may
///   instead put `batch_input_shape` on the first layer, Keras 3 `build_input_shape` on the model.
/// - Functional: `inbound_nodes` as Keras 2 lists `[[["enc", 0, 0, {}], ...]]` or Keras 3 objects
///   `[{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["enc", 0, 0]}}], "kwargs": {}}]`.
public enum ConfigParser {
  static let modelClasses: Set<String> = ["Sequential", "Functional", "Model"]

  /// Parses the JSON text of a model config.
  public static func parse(_ text: String) throws(ModelError) -> ModelConfig {
    let json: JSONValue
    do {
      json = try JSONValue.parse(text)
    } catch {
      throw ModelError(.badConfig, "model config is not valid JSON (\(error))")
    }
    return try model(json)
  }

  /// Models nested deeper than this are refused (Keras files nest two or three).
  static let maxNesting = 32

  /// Parses `{"class_name": ..., "config": {...}}`.
  public static func model(_ json: JSONValue) throws(ModelError) -> ModelConfig {
    try model(json, depth: 0)
  }

  static func model(_ json: JSONValue, depth: Int) throws(ModelError) -> ModelConfig {
    guard depth <= maxNesting else {
      throw ModelError(.badConfig, "model config has models nested more than \(maxNesting) models deep")
    }
    guard let className = json["class_name"]?.string else {
      throw ModelError(.badConfig, "model config has no class_name")
    }
    guard let body = json["config"] else {
      throw ModelError(.badConfig, "model config of class \(className) has no config")
    }
    if className == "Sequential" { return try sequential(body, depth: depth) }
    guard modelClasses.contains(className) else {
      throw ModelError(.badConfig, "model config has class \(className), not a Sequential or Functional model")
    }
    return try functional(body, className: className, depth: depth)
  }

  // MARK: Sequential

  static func sequential(_ body: JSONValue, depth: Int) throws(ModelError) -> ModelConfig {
    // Keras 2.0-2.2 wrote a Sequential config as the bare list of layers.
    let name = body["name"]?.string ?? "sequential"
    guard let items = body.array ?? body["layers"]?.array else {
      throw ModelError(.badConfig, "Sequential model \(name) has no layers list")
    }
    var members: [(className: String, name: String, config: JSONValue, nested: ModelConfig?)] = []
    for (index, item) in items.enumerated() {
      let (className, layerName, config) = try layerHeader(item, index: index, model: name)
      members.append((className, layerName, config, try nestedModel(item, className: className, depth: depth)))
    }
    var layers: [LayerConfig] = []
    var previous: TensorRef
    if let first = members.first, first.className == "InputLayer" {
      layers.append(LayerConfig(name: first.name, className: "InputLayer", config: first.config, calls: [], nested: nil))
      members.removeFirst()
    } else {
      // No InputLayer: the input shape sits on the first layer or on the model.
      let shape = members.first.flatMap { batchInputShape(of: $0.config, nested: $0.nested) }
        ?? body["build_input_shape"]?.shape
      var config: [String: JSONValue] = ["name": .string("input")]
      if let shape { config["batch_shape"] = .array(shape.map { $0.map { .number(Double($0)) } ?? .null }) }
      layers.append(LayerConfig(name: "input", className: "InputLayer", config: .object(config), calls: [], nested: nil))
    }
    previous = TensorRef(layer: layers[0].name, node: 0, tensor: 0)
    for member in members {
      layers.append(LayerConfig(name: member.name, className: member.className, config: member.config, calls: [LayerCall(inputs: [previous])], nested: member.nested))
      previous = TensorRef(layer: member.name, node: 0, tensor: 0)
    }
    return ModelConfig(name: name, className: "Sequential", layers: layers, inputs: [TensorRef(layer: layers[0].name, node: 0, tensor: 0)], outputs: [previous])
  }

  /// The batch input shape a layer (or a nested model's first layer) declares, if any.
  static func batchInputShape(of config: JSONValue, nested: ModelConfig?) -> [Int?]? {
    if let nested, let input = nested.layers.first, input.className == "InputLayer" {
      return inputShape(of: input.config)
    }
    return config["batch_input_shape"]?.shape ?? config["batch_shape"]?.shape
  }

  /// An InputLayer's batch shape: Keras 2 `batch_input_shape`, Keras 3 `batch_shape`.
  public static func inputShape(of config: JSONValue) -> [Int?]? {
    config["batch_shape"]?.shape ?? config["batch_input_shape"]?.shape
  }

  // MARK: Functional

  static func functional(_ body: JSONValue, className: String, depth: Int) throws(ModelError) -> ModelConfig {
    let name = body["name"]?.string ?? "model"
    guard let items = body["layers"]?.array else {
      throw ModelError(.badConfig, "\(className) model \(name) has no layers list")
    }
    var layers: [LayerConfig] = []
    for (index, item) in items.enumerated() {
      let (layerClass, layerName, config) = try layerHeader(item, index: index, model: name)
      let calls = try inboundNodes(item["inbound_nodes"], layer: layerName)
      layers.append(LayerConfig(name: layerName, className: layerClass, config: config, calls: calls, nested: try nestedModel(item, className: layerClass, depth: depth)))
    }
    let inputs = try tensorList(body["input_layers"], what: "input_layers", model: name)
    let outputs = try tensorList(body["output_layers"], what: "output_layers", model: name)
    return ModelConfig(name: name, className: className, layers: layers, inputs: inputs, outputs: outputs)
  }

  static func layerHeader(_ item: JSONValue, index: Int, model: String) throws(ModelError) -> (String, String, JSONValue) {
    guard let className = item["class_name"]?.string else {
      throw ModelError(.badConfig, "layer \(index) of model \(model) has no class_name")
    }
    guard let config = item["config"], config.object != nil else {
      throw ModelError(.badConfig, "layer \(index) (\(className)) of model \(model) has no config object")
    }
    guard let name = item["name"]?.string ?? config["name"]?.string else {
      throw ModelError(.badConfig, "layer \(index) (\(className)) of model \(model) has no name")
    }
    // tf.keras writes a class registered with `register_keras_serializable(package=P)` as `P>Class`;
    // Keras reports (and keras-inspect understands) it by its class name.
    let plainClass = className.split(separator: ">").last.map(String.init) ?? className
    let (upgradedClass, upgradedConfig) = Keras1.upgrade(className: plainClass, config: config)
    return (upgradedClass, name, upgradedConfig)
  }

  static func nestedModel(_ item: JSONValue, className: String, depth: Int) throws(ModelError) -> ModelConfig? {
    guard modelClasses.contains(className), let config = item["config"], config["layers"] != nil else { return nil }
    return try model(.object(["class_name": .string(className), "config": config]), depth: depth + 1)
  }

  /// `input_layers` / `output_layers`: a list of `[name, node, tensor]`, or (Keras 3, one tensor) a single one.
  static func tensorList(_ json: JSONValue?, what: String, model: String) throws(ModelError) -> [TensorRef] {
    guard let items = json?.array else {
      throw ModelError(.badConfig, "model \(model) has no \(what)")
    }
    if let single = tensorRef(json!) { return [single] }
    var refs: [TensorRef] = []
    for item in items {
      guard let ref = tensorRef(item) else {
        throw ModelError(.badConfig, "model \(model): entry of \(what) is not [layer, node, tensor]")
      }
      refs.append(ref)
    }
    return refs
  }

  /// `["enc", 0, 0]` or `["enc", 0, 0, {kwargs}]`.
  static func tensorRef(_ json: JSONValue) -> TensorRef? {
    guard let items = json.array, items.count >= 3, let layer = items[0].string,
      let node = items[1].int, let tensor = items[2].int, node >= 0, tensor >= 0
    else { return nil }
    return TensorRef(layer: layer, node: node, tensor: tensor)
  }

  static func inboundNodes(_ json: JSONValue?, layer: String) throws(ModelError) -> [LayerCall] {
    guard let json, !json.isNull else { return [] }
    guard let nodes = json.array else {
      throw ModelError(.badConfig, "layer \(layer): inbound_nodes is not a list")
    }
    var calls: [LayerCall] = []
    for node in nodes {
      var inputs: [TensorRef] = []
      var keywords: [String: JSONValue] = [:]
      var positional: [JSONValue] = []
      var operands: [CallOperand] = []
      var maskInput: Int?
      if node.object != nil {
        // Keras 3: {"args": [...], "kwargs": {...}}, tensors anywhere inside.
        collectKerasTensors(node["args"], into: &inputs, depth: 0)
        let kwargs = node["kwargs"]?.object ?? [:]
        maskInput = appendKeywordTensors(kwargs, to: &inputs) { value in
          var found: [TensorRef] = []
          collectKerasTensors(value, into: &found, depth: 1)
          return found
        }
        keywords = plainArguments(kwargs)
        positional = (node["args"]?.array ?? []).filter { value in
          switch value {
          case .bool, .number, .string: return true
          default: return false
          }
        }
        operands = (node["args"]?.array ?? []).flatMap { value -> [CallOperand] in
          if let n = value.double { return [.constant(n)] }
          var found: [TensorRef] = []
          collectKerasTensors(value, into: &found, depth: 1)
          return Array(repeating: .tensor, count: found.count)
        }
        if !operands.contains(where: { if case .constant = $0 { true } else { false } }) { operands = [] }
      } else if let list = node.array {
        // Keras 2: [["enc", 0, 0, {kwargs}], ...]; keyword tensors (attention's value and key,
        // `mask=`) sit in kwargs as [layer, node, tensor]. tf.keras 2.4-2.15 op layers (TFOpLambda)
        // write their one node as a bare entry, `["bn", 0, 0, {"y": 3.0, "name": null}]`, with
        // the other operand, a number or a tensor, as `y`.
        let refs = list.first?.string != nil ? [node] : list
        for entry in refs {
          guard let ref = tensorRef(entry) else {
            throw ModelError(.badConfig, "layer \(layer): inbound node entry is not [layer, node, tensor, kwargs]")
          }
          inputs.append(ref)
          if let kwargs = entry.array?.dropFirst(3).first?.object {
            maskInput = appendKeywordTensors(kwargs, to: &inputs) { value in tensorRef(value).map { [$0] } ?? [] } ?? maskInput
            keywords.merge(plainArguments(kwargs)) { first, _ in first }
            if let y = kwargs["y"]?.double { operands = [.tensor, .constant(y)] }
          }
        }
      } else {
        throw ModelError(.badConfig, "layer \(layer): inbound node is neither a list nor an object")
      }
      var arguments = CallArguments(keywords: keywords, positional: positional)
      arguments.operands = operands
      calls.append(LayerCall(inputs: inputs, arguments: arguments, maskInput: maskInput))
    }
    return calls
  }

  /// Appends the tensors passed as keyword arguments (found in each value by `tensors`) to
  /// `inputs`, in `orderedKeywords` order; returns the index of the `mask=` tensor, if one was passed.
  static func appendKeywordTensors(
    _ kwargs: [String: JSONValue], to inputs: inout [TensorRef], tensors: (JSONValue) -> [TensorRef]
  ) -> Int? {
    var maskInput: Int?
    for key in orderedKeywords(kwargs.keys) {
      guard let value = kwargs[key] else { continue }
      let found = tensors(value)
      if key == "mask", found.count == 1 { maskInput = inputs.count }
      inputs += found
    }
    return maskInput
  }

  /// Keyword names in the order their tensors are inputs: query, value, key first, then by name.
  static func orderedKeywords(_ keys: Dictionary<String, JSONValue>.Keys) -> [String] {
    let first = ["query", "value", "key"].filter { keys.contains($0) }
    return first + keys.filter { !first.contains($0) }.sorted()
  }

  /// The keyword arguments that are plain booleans, numbers or strings.
  static func plainArguments(_ kwargs: [String: JSONValue]) -> [String: JSONValue] {
    kwargs.filter { _, value in
      switch value {
      case .bool, .number, .string: return true
      default: return false
      }
    }
  }

  static func collectKerasTensors(_ json: JSONValue?, into refs: inout [TensorRef], depth: Int) {
    guard let json, depth < 64 else { return }
    switch json {
    case .object(let dict):
      if dict["class_name"]?.string == "__keras_tensor__", let history = dict["config"]?["keras_history"], let ref = tensorRef(history) {
        refs.append(ref)
      } else {
        for key in dict.keys.sorted() { collectKerasTensors(dict[key], into: &refs, depth: depth + 1) }
      }
    case .array(let items):
      for item in items { collectKerasTensors(item, into: &refs, depth: depth + 1) }
    default:
      break
    }
  }
}
