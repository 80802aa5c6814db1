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
    var config = try model(json)
    config.document = json
    return config
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
      var config: JSONObject = ["name": .string("input")]
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
      layers.append(
        LayerConfig(
          name: layerName, className: layerClass, config: config, calls: calls, nested: try nestedModel(item, className: layerClass, depth: depth),
          isOperation: isOperation(item, className: layerClass)))
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
    let plainClass = className.utf8.contains(UInt8(ascii: ">")) ? className.split(separator: ">").last.map(String.init) ?? className : className
    let (upgradedClass, upgradedConfig) = Keras1.upgrade(className: plainClass, config: config)
    return (upgradedClass, name, upgradedConfig)
  }

  /// Whether a functional model's entry is a Keras 3 op node rather than a layer: its `module` is
  /// `keras.src.ops.*` (`.keras` archives). A legacy `.h5` drops the module: there an op is an
  /// entry of an op class whose config has neither `trainable` nor a dtype policy (every Keras
  /// layer's config has both) and whose nodes are Keras 3's `{"args", "kwargs"}` objects.
  static func isOperation(_ item: JSONValue, className: String) -> Bool {
    if let module = item["module"]?.string { return module.hasPrefix("keras.src.ops.") }
    // The entry first: the op table is built only for a file that may have an op node.
    guard let config = item["config"], config["trainable"] == nil, config["dtype"]?.object == nil,
      item["inbound_nodes"]?.array?.first?.object != nil
    else { return false }
    return LayerRegistry.byOperationName[className] != nil
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
      var structure = CallStructure()
      var keywords: JSONObject = [:]
      var maskInput: Int?
      var connections: [TensorRef]?
      if node.object != nil {
        // Keras 3: {"args": [...], "kwargs": {...}}, tensors anywhere inside.
        structure.args = (node["args"]?.array ?? []).map { keras3Value($0, inputs: &inputs, depth: 0) }
        let kwargs = node["kwargs"]?.object ?? [:]
        (structure.kwargs, maskInput) = keywordArguments(kwargs, inputs: &inputs, keras3Value)
        keywords = plainArguments(kwargs)
        // Tensors inside objects no value reads (they still connect the graph) come last.
        let ordered = flattened(structure)
        // Each position comes once in `ordered`: all of them there (the usual call), none is left.
        let rest = ordered.count == inputs.count ? [] : Set(inputs.indices).subtracting(ordered).sorted()
        connections = (ordered + rest).map { inputs[$0] }
      } else if let list = node.array {
        // Keras 2: [["enc", 0, 0, {kwargs}], ...]; keyword tensors (attention's value and key,
        // `mask=`) sit in kwargs as [layer, node, tensor]. tf.keras 2.4-2.15 op layers (TFOpLambda)
        // write a node whose first argument is one tensor as a bare entry,
        // `["bn", 0, 0, {"y": 3.0, "name": null}]`, and a list first argument (`tf.concat`) as a
        // list of entries repeating one kwargs; a number first argument (`3.0 - x`) is the entry
        // `["_CONSTANT_VALUE", -1, 3.0, {"y": ["x", 0, 0]}]`.
        let entries = list.first?.string != nil ? [node] : list
        var first: [CallValue] = []
        var kwargs: JSONObject?
        for entry in entries {
          guard let items = entry.array, items.count >= 3, items[0].string != nil else {
            throw ModelError(.badConfig, "layer \(layer): inbound node entry is not [layer, node, tensor, kwargs]")
          }
          if items[0].string == constantEntry, items[1].int == -1 {
            first.append(keras2Value(items[2], inputs: &inputs, depth: 0))
          } else {
            guard let ref = tensorRef(entry) else {
              throw ModelError(.badConfig, "layer \(layer): inbound node entry is not [layer, node, tensor, kwargs]")
            }
            first.append(.tensor(inputs.count))
            inputs.append(ref)
          }
          if kwargs == nil, let object = items.dropFirst(3).first?.object { kwargs = object }
        }
        structure.args = first.count == 1 ? first : [.list(first)]
        (structure.kwargs, maskInput) = keywordArguments(kwargs ?? [:], inputs: &inputs, keras2Value)
        keywords = plainArguments(kwargs ?? [:])
      } else {
        throw ModelError(.badConfig, "layer \(layer): inbound node is neither a list nor an object")
      }
      calls.append(
        LayerCall(inputs: inputs, arguments: CallArguments(keywords: keywords), maskInput: maskInput, structure: structure, connections: connections))
    }
    return calls
  }

  /// The input positions a call's arguments hold, as Keras 3's `tree.flatten((args, kwargs))`
  /// orders them: positional arguments in turn, keyword arguments by name, lists item by item.
  static func flattened(_ structure: CallStructure) -> [Int] {
    var positions: [Int] = []
    func walk(_ value: CallValue) {
      switch value {
      case .tensor(let i): positions.append(i)
      case .list(let items): items.forEach(walk)
      case .slice(let start, let stop, let step): [start, stop, step].forEach(walk)
      default: break
      }
    }
    structure.args.forEach(walk)
    if structure.kwargs.isEmpty { return positions }
    for name in structure.kwargs.keys.sorted() { walk(structure.kwargs[name]!) }
    return positions
  }

  /// A call's keyword arguments decoded in input order (query, value, key, then by name), with
  /// the position of the `mask=` tensor among the inputs when one was passed.
  static func keywordArguments(
    _ kwargs: JSONObject, inputs: inout [TensorRef], _ decode: (JSONValue, inout [TensorRef], Int) -> CallValue
  ) -> ([String: CallValue], Int?) {
    guard !kwargs.isEmpty else { return ([:], nil) }
    var result: [String: CallValue] = [:]
    var maskInput: Int?
    for key in orderedKeywords(kwargs.keys) {
      guard let value = kwargs[key] else { continue }
      let decoded = decode(value, &inputs, 0)
      if key == "mask", case .tensor(let i) = decoded { maskInput = i }
      result[key] = decoded
    }
    return (result, maskInput)
  }

  /// tf.keras's marker for a number standing where a node entry's tensor would.
  static let constantEntry = "_CONSTANT_VALUE"

  /// Bounds the nesting of call arguments read (real files nest two or three levels).
  static let maxArgumentDepth = 32

  /// A Keras 3 call argument: `__keras_tensor__`, `__slice__`, `__ellipsis__`, `__numpy__` and
  /// `__tensor__` objects, lists and plain values. Each tensor is appended to `inputs`.
  static func keras3Value(_ json: JSONValue, inputs: inout [TensorRef], depth: Int) -> CallValue {
    guard depth < maxArgumentDepth else { return .other }
    if let plain = plainValue(json) { return plain }
    switch json {
    case .array(let items): return .list(items.map { keras3Value($0, inputs: &inputs, depth: depth + 1) })
    case .object(let dict):
      let config = dict["config"]
      switch dict["class_name"]?.string {
      case "__keras_tensor__":
        if let history = config?["keras_history"], let ref = tensorRef(history) {
          inputs.append(ref)
          return .tensor(inputs.count - 1)
        }
        return .other
      case "__slice__":
        func part(_ key: String) -> CallValue { config?[key].map { keras3Value($0, inputs: &inputs, depth: depth + 1) } ?? .none }
        return .slice(start: part("start"), stop: part("stop"), step: part("step"))
      case "__ellipsis__":
        return .ellipsis
      case "__numpy__", "__tensor__":
        guard let value = config?["value"], let values = numbers(value), let shape = arrayShape(value), shape.reduce(1, *) == values.count else {
          return .other
        }
        return .array(values, shape: shape)
      default:
        // Tensors inside an unknown object still connect the graph.
        for key in dict.keys.sorted() { _ = keras3Value(dict[key]!, inputs: &inputs, depth: depth + 1) }
        return .other
      }
    default:
      return .other
    }
  }

  /// A tf.keras call argument: `[layer, node, tensor]` lists are tensors, `{"start", "stop",
  /// "step"}` a slice, `{"class_name": "__ellipsis__"}` the ellipsis. Each tensor is appended to `inputs`.
  static func keras2Value(_ json: JSONValue, inputs: inout [TensorRef], depth: Int) -> CallValue {
    guard depth < maxArgumentDepth else { return .other }
    if let plain = plainValue(json) { return plain }
    switch json {
    case .array(let items):
      if items.count == 3 || items.count == 4, items[0].string != nil {
        if items[0].string == constantEntry, items[1].int == -1 { return keras2Value(items[2], inputs: &inputs, depth: depth + 1) }
        if let ref = tensorRef(json) {
          inputs.append(ref)
          return .tensor(inputs.count - 1)
        }
      }
      return .list(items.map { keras2Value($0, inputs: &inputs, depth: depth + 1) })
    case .object(let dict):
      if dict["class_name"]?.string == "__ellipsis__" { return .ellipsis }
      if dict.count == 3, let start = dict["start"], let stop = dict["stop"], let step = dict["step"] {
        return .slice(
          start: keras2Value(start, inputs: &inputs, depth: depth + 1), stop: keras2Value(stop, inputs: &inputs, depth: depth + 1),
          step: keras2Value(step, inputs: &inputs, depth: depth + 1))
      }
      for key in dict.keys.sorted() { _ = keras2Value(dict[key]!, inputs: &inputs, depth: depth + 1) }
      return .other
    default:
      return .other
    }
  }

  /// A number, boolean, string or null as a call value; nil for a list or an object.
  static func plainValue(_ json: JSONValue) -> CallValue? {
    switch json {
    case .number(let n): return .number(n)
    case .bool(let b): return .bool(b)
    case .string(let s): return .string(s)
    case .null: return CallValue.none
    default: return nil
    }
  }

  /// The numbers of a (nested) list, flattened; nil when something else is inside.
  static func numbers(_ json: JSONValue) -> [Double]? {
    var result: [Double] = []
    func walk(_ v: JSONValue, _ depth: Int) -> Bool {
      if let d = v.double { result.append(d); return true }
      if let b = v.bool { result.append(b ? 1 : 0); return true }
      guard depth < maxArgumentDepth, let items = v.array else { return false }
      return items.allSatisfy { walk($0, depth + 1) }
    }
    return walk(json, 0) ? result : nil
  }

  /// The shape of nested lists of numbers ([] for a number), or nil when they are ragged.
  static func arrayShape(_ json: JSONValue, depth: Int = 0) -> [Int]? {
    guard let items = json.array else { return [] }
    guard depth < maxArgumentDepth else { return nil }
    guard let first = items.first else { return [0] }
    guard let inner = arrayShape(first, depth: depth + 1) else { return nil }
    for item in items.dropFirst() where arrayShape(item, depth: depth + 1) != inner { return nil }
    return [items.count] + inner
  }

  /// Keyword names in the order their tensors are inputs: query, value, key first, then by name.
  static func orderedKeywords(_ keys: [String]) -> [String] {
    let first = ["query", "value", "key"].filter { keys.contains($0) }
    return first + keys.filter { !first.contains($0) }.sorted()
  }

  /// The keyword arguments that are plain booleans, numbers or strings.
  static func plainArguments(_ kwargs: JSONObject) -> JSONObject {
    guard !kwargs.isEmpty else { return kwargs }
    return kwargs.filter { _, value in
      switch value {
      case .bool, .number, .string: return true
      default: return false
      }
    }
  }
}
