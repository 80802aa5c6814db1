/// One layer of a model as keras-inspect understands it: shapes and weights from the config,
/// next to the weights stored in the file. Immutable, and shared rather than copied: the summary,
/// the checks and the runtime each walk a model's layers several times.
public final class LayerInfo: Sendable {
  public let config: LayerConfig
  /// The class Keras reports in summaries (`Functional` for a nested functional model).
  public let displayClassName: String
  /// Output shapes of each call of the layer (one list per call, one shape per output);
  /// nil for a call whose shapes could not be computed.
  public let outputs: [[Shape]?]
  /// The tensors each call of the layer consumed, with Keras's live node indices.
  public let connections: [[TensorRef]]
  /// Weights the config implies, from the layer's first call; nil when unknown.
  public let expected: [WeightSpec]?
  /// The parameter formula, e.g. `4 × ((5 + 10) × 10 + 10)`.
  public let formula: String?
  /// Weights stored in the file for this layer, in Keras's order.
  public let stored: [StoredWeight]
  /// Whether each stored weight is trainable, as Keras counts it.
  public let storedTrainable: [Bool]
  /// Whether keras-inspect knows this layer class (and, for a nested model, every layer in it).
  public let understood: Bool
  /// Why shapes or weights could not be derived from the config, if they could not.
  public let problem: String?
  /// The layer's family definition, its config decoded once; nil for a nested model, an
  /// unknown class or a config that did not decode (then `problem` says why).
  public let definition: (any LayerDefinition)?
  /// Floating-point operations of the first call for one sample, where the family counts them.
  public let flops: Int?
  /// For a nested model, the analysis of its own layers.
  public let nested: ModelAnalysis?
  /// How tf.keras nests the layer's outputs in its summary (``LayerSignature/outputGroups``).
  public let outputGroups: [Int]?
  /// Whether tf.keras prints the outputs as a tuple (``LayerSignature/outputsAreTuple``).
  public let outputsAreTuple: Bool

  init(
    config: LayerConfig, displayClassName: String, outputs: [[Shape]?], connections: [[TensorRef]], expected: [WeightSpec]?,
    formula: String?, stored: [StoredWeight], storedTrainable: [Bool], understood: Bool, problem: String?,
    definition: (any LayerDefinition)?, flops: Int?, nested: ModelAnalysis?, outputGroups: [Int]? = nil, outputsAreTuple: Bool = false
  ) {
    self.config = config
    self.displayClassName = displayClassName
    self.outputs = outputs
    self.connections = connections
    self.expected = expected
    self.formula = formula
    self.stored = stored
    self.storedTrainable = storedTrainable
    self.understood = understood
    self.problem = problem
    self.definition = definition
    self.flops = flops
    self.nested = nested
    self.outputGroups = outputGroups
    self.outputsAreTuple = outputsAreTuple
  }

  public var name: String { config.name }
  public var className: String { config.className }
  /// Whether the layer holds any weight (a nested model: any of its layers).
  public var hasWeights: Bool {
    !(expected ?? []).isEmpty || !stored.isEmpty || (nested?.layers.contains { $0.hasWeights } ?? false)
  }

  /// Parameters as Keras counts them for the loaded model: the stored weights when the file has
  /// any for this layer, else what the config implies.
  public var params: Int { trainableParams + nonTrainableParams }
  public var trainableParams: Int { footprint(trainable: true).params }
  public var nonTrainableParams: Int { footprint(trainable: false).params }

  /// Parameters and their bytes (stored dtype; for weights known only from the config, float32
  /// or the dtype the family gives the weight), of the trainable or the non-trainable weights.
  public func footprint(trainable: Bool) -> (params: Int, bytes: Int) {
    if stored.isEmpty, let expected {
      var result = (params: 0, bytes: 0)
      for weight in expected where weight.trainable == trainable {
        result.params = saturatingSum(result.params, weight.count)
        result.bytes = saturatingSum(result.bytes, saturatingProduct([weight.count, weight.elementSize ?? 4]))
      }
      return result
    }
    var result = (params: 0, bytes: 0)
    for (weight, isTrainable) in zip(stored, storedTrainable) where isTrainable == trainable {
      result.params = saturatingSum(result.params, weight.count)
      result.bytes = saturatingSum(result.bytes, saturatingProduct([weight.count, weight.elementSize]))
    }
    return result
  }

  /// Parameters implied by the config alone.
  public var expectedParams: Int? { expected?.reduce(0) { saturatingSum($0, $1.count) } }
}

/// A model analysed: every layer with its shapes, expected and stored weights.
public struct ModelAnalysis: Sendable {
  public let config: ModelConfig
  /// Every layer in config order (for a Sequential model, the InputLayer first).
  public let layers: [LayerInfo]
  /// Output shapes of the model's outputs, when known.
  public let outputShapes: [Shape?]
  /// Keras's rule for whether the summary needs a "Connected to" column: false when the
  /// graph is a single chain with no shared layers.
  public let isSequentialLike: Bool
  /// Whether Keras 3 wrote the model (node numbering and some definitions differ).
  public let keras3: Bool
  /// Every call in execution order, computed once for the model (see ``ModelConfig/schedule(keras3:)``).
  public let schedule: [ScheduledCall]
  /// The layers that are nested Sequential models (their calls print renumbered, see below).
  let nestedSequential: Set<String>

  /// Keras's node index of a layer's `call`-th call in this model: Keras 2 numbers a nested
  /// functional model's calls from 1 (its node 0 is the one its own InputLayer made).
  public func nodeIndex(of layer: LayerConfig, call: Int) -> Int {
    Self.nodeIndex(of: layer, call: call, in: config, keras3: keras3)
  }

  static func nodeIndex(of layer: LayerConfig, call: Int, in model: ModelConfig, keras3: Bool) -> Int {
    guard !model.isSequential, !keras3, let nested = layer.nested, nested.layers.first?.className == "InputLayer" else { return call }
    return call + 1
  }

  /// A layer's input tensors as Keras's summary names them in "Connected to". The config numbers
  /// the calls of a nested Sequential model from 1 in Keras 2 (its node 0 is its own InputLayer's),
  /// but the model tf_keras 2.21 loads back numbers them from 0, and that is what it prints.
  public func displayedConnections(_ layer: LayerInfo) -> [TensorRef] {
    layer.connections.flatMap { $0 }.map { ref in
      guard !keras3, ref.node > 0, nestedSequential.contains(ref.layer) else { return ref }
      return TensorRef(layer: ref.layer, node: ref.node - 1, tensor: ref.tensor)
    }
  }

  /// Whether the config alone gives every parameter count a summary prints, as the file's stored
  /// weights would: every layer (and every layer of a nested model) understood, analysed without
  /// a problem, its weights known from its config, and its variables held as float32 (the bytes
  /// Keras's totals print are then counted in float32, or in the dtype a family gives a weight
  /// of its own, such as Normalization's int64 `count`). Keras's own `model.summary()` counts
  /// the weights the config built, so for a file Keras loads the two agree; a file whose weights
  /// contradict its config is what the checks report.
  public var configAccountsForWeights: Bool {
    layers.allSatisfy { layer in
      guard layer.understood, layer.problem == nil, let expected = layer.expected else { return false }
      if let nested = layer.nested { return nested.configAccountsForWeights }
      return expected.isEmpty || Self.variableDType(layer.config.config) == "float32"
    }
  }

  /// The dtype Keras creates a layer's variables in, from its config's `dtype`: a name, or a
  /// Keras 3 `DTypePolicy` / Keras 2 `Policy` object named by its `config.name`. A mixed policy
  /// (`mixed_float16`) keeps float32 variables; no `dtype` at all (Keras 1) means float32. Nil
  /// when the entry says something else (a quantized policy, say).
  static func variableDType(_ config: JSONValue) -> String? {
    guard let value = config["dtype"], !value.isNull else { return "float32" }
    guard let name = value.string ?? value["config"]?["name"]?.string else { return nil }
    return name.hasPrefix("mixed_") ? "float32" : name
  }

  /// The rows `model.summary()` prints: top-level layers, without a Sequential model's InputLayer.
  public var summaryRows: [LayerInfo] {
    config.isSequential ? layers.filter { $0.className != "InputLayer" } : layers
  }
}

extension ModelAnalysis {
  /// Analyses an opened file's model: its own architecture, or the one given for a weights-only file.
  public init(file: KerasFile, config: ModelConfig) {
    self = Analyzer(keras3: file.isKeras3, stored: file.weights).analyze(config, inputShapes: nil, storedPrefix: nil)
  }

  /// Analyses a bare config (no stored weights), e.g. for a weights-only check.
  public init(config: ModelConfig, keras3: Bool) {
    self = Analyzer(keras3: keras3, stored: [:]).analyze(config, inputShapes: nil, storedPrefix: nil)
  }
}

/// The output shapes of the calls analysed so far, by the producing layer's place in the model
/// and the call's node: a tensor is looked up by its layer's name once, not hashed with its node
/// and tensor index into a table at each of its uses.
struct ProducedShapes {
  /// Each layer name's first place in the model's layers.
  private let places: [String: Int]
  /// By place, then node: the outputs of that call, when known.
  private var outputs: [[[Shape]?]]

  init(_ model: ModelConfig) {
    places = model.firstPlaces()
    outputs = model.layers.map { [[Shape]?](repeating: nil, count: $0.calls.count + 1) }
  }

  func place(of layer: String) -> Int? { places[layer] }

  subscript(ref: TensorRef) -> Shape? {
    guard let place = places[ref.layer], ref.node < outputs[place].count, let shapes = outputs[place][ref.node], ref.tensor < shapes.count else {
      return nil
    }
    return shapes[ref.tensor]
  }

  /// The outputs of the call `node` of the layer at `place` (of that name's layer, when two share it).
  mutating func set(place: Int, node: Int, outputs shapes: [Shape]) {
    if node >= outputs[place].count { outputs[place] += [[Shape]?](repeating: nil, count: node + 1 - outputs[place].count) }
    outputs[place][node] = shapes
  }
}

/// Propagates shapes through a model graph and gathers each layer's facts.
struct Analyzer {
  let keras3: Bool
  /// Stored weights by top-level layer group.
  let stored: [String: [StoredWeight]]

  func analyze(_ model: ModelConfig, inputShapes: [Shape]?, storedPrefix: String?) -> ModelAnalysis {
    var shapes = ProducedShapes(model)
    var signatures = model.layers.map { [LayerSignature?](repeating: nil, count: max(1, $0.calls.count)) }
    var problems: [String?] = Array(repeating: nil, count: model.layers.count)
    var nestedAnalyses: [ModelAnalysis?] = Array(repeating: nil, count: model.layers.count)

    // Each layer's config decoded once by its family.
    var definitions: [(any LayerDefinition)?] = []
    definitions.reserveCapacity(model.layers.count)
    for (i, layer) in model.layers.enumerated() {
      guard layer.nested == nil else { definitions.append(nil); continue }
      do {
        definitions.append(try LayerRegistry.definition(of: layer, keras3: keras3))
      } catch {
        definitions.append(nil)
        problems[i] = error.message
      }
    }

    // Inputs: shapes from the caller (nested models) or from the InputLayer configs.
    for (position, ref) in model.inputs.enumerated() {
      guard let place = shapes.place(of: ref.layer) else { continue }
      if let given = inputShapes, position < given.count {
        shapes.set(place: place, node: 0, outputs: [given[position]])
      } else if let shape = ConfigParser.inputShape(of: model.layers[place].config) {
        shapes.set(place: place, node: 0, outputs: [shape])
      }
    }
    for (i, layer) in model.layers.enumerated() where layer.className == "InputLayer" {
      let ref = TensorRef(layer: layer.name, node: 0, tensor: 0)
      if shapes[ref] == nil, let shape = ConfigParser.inputShape(of: layer.config), let place = shapes.place(of: layer.name) {
        shapes.set(place: place, node: 0, outputs: [shape])
      }
      signatures[i] = [shapes[ref].map { LayerSignature(outputs: [$0]) }]
      if shapes[ref] == nil { problems[i] = "input shape is not known" }
    }

    let schedule = model.schedule(keras3: keras3)
    for step in schedule {
      let layer = model.layers[step.layer]
      let call = layer.calls[step.call]
      // A `mask=` tensor shapes nothing; it must only be known.
      let known = call.inputs.map { shapes[$0] }
      guard known.allSatisfy({ $0 != nil }) else { continue }
      let inputs = call.dataInputPositions.map { known[$0]! }
      do {
        let signature: LayerSignature?
        if let nested = layer.nested {
          let analysis = analyze(nested, inputShapes: inputs, storedPrefix: layer.name)
          if step.call == 0 { nestedAnalyses[step.layer] = analysis }
          signature = try nestedSignature(analysis)
        } else if let definition = definitions[step.layer] {
          signature = try definition.signature(inputs, call: call.arguments)
        } else if problems[step.layer] == nil, let declared = LayerRegistry.family(of: layer)?.declaredOutputs(layer.config, inputs: inputs) {
          signature = LayerSignature(outputs: declared)
        } else {
          signature = nil
        }
        signatures[step.layer][step.call] = signature
        if let signature, let place = shapes.place(of: layer.name) {
          shapes.set(place: place, node: step.node, outputs: signature.outputs)
        }
      } catch {
        if problems[step.layer] == nil { problems[step.layer] = error.message }
      }
    }

    let layers = model.layers.enumerated().map { index, layer -> LayerInfo in
      let sigs = layer.calls.isEmpty && layer.className != "InputLayer" ? [] : signatures[index]
      let nested = nestedAnalyses[index]
      let understood = layer.nested != nil
        ? (nested?.layers.allSatisfy(\.understood) ?? true)
        : LayerRegistry.understands(layer)
      var problem = problems[index]
      if problem == nil, !layer.calls.isEmpty, sigs.contains(where: { $0 == nil }), understood,
        !dependsOnUnknown(layer, in: model) {
        problem = "input shape could not be derived"
      }
      let first = sigs.first ?? nil
      let expected = first.map { sig in sig.weights.map { WeightSpec($0.name, $0.shape, trainable: $0.trainable && layer.trainable, elementSize: $0.elementSize) } }
      let stored = storedPrefix == nil ? (stored[layer.name] ?? []) : []
      return LayerInfo(
        config: layer,
        displayClassName: displayClass(layer),
        outputs: layer.className == "InputLayer" ? [sigs.first.flatMap { $0?.outputs }] : sigs.map { $0?.outputs },
        connections: layer.calls.map(\.connections),
        expected: understood ? expected : nil,
        formula: first?.formula,
        stored: stored,
        storedTrainable: trainableFlags(stored, expected: understood ? expected : nil, layer: layer),
        understood: understood,
        problem: problem,
        definition: definitions[index],
        flops: first?.flops,
        nested: nested,
        outputGroups: first?.outputGroups,
        outputsAreTuple: first?.outputsAreTuple ?? false
      )
    }
    let outputShapes = model.outputs.map { shapes[$0] }
    return ModelAnalysis(
      config: model, layers: layers, outputShapes: outputShapes,
      isSequentialLike: isSequentialLike(model, schedule: schedule), keras3: keras3, schedule: schedule,
      nestedSequential: Set(model.layers.filter { $0.nested?.isSequential == true }.map(\.name)))
  }

  /// Whether a layer's inputs come, directly or not, from a layer keras-inspect does not understand
  /// (whose output shape is then unknown): not a problem of this layer's own.
  func dependsOnUnknown(_ layer: LayerConfig, in model: ModelConfig) -> Bool {
    var seen: Set<String> = []
    var queue = layer.calls.flatMap(\.inputs).map(\.layer)
    while let name = queue.popLast() {
      guard seen.insert(name).inserted, let upstream = model.layers.first(where: { $0.name == name }) else { continue }
      if upstream.nested == nil, !LayerRegistry.understands(upstream) { return true }
      queue += upstream.calls.flatMap(\.inputs).map(\.layer)
    }
    return false
  }

  /// A nested model called on known inputs: its outputs, and every inner layer's weights in order.
  func nestedSignature(_ analysis: ModelAnalysis) throws(ModelError) -> LayerSignature? {
    var outputs: [Shape] = []
    for shape in analysis.outputShapes {
      guard let shape else { return nil }
      outputs.append(shape)
    }
    var weights: [WeightSpec] = []
    for inner in analysis.layers {
      if let problem = inner.problem { throw ModelError(.badConfig, "nested layer \(inner.name): \(problem)") }
      weights += inner.expected ?? []
    }
    let formula = analysis.layers.compactMap { inner in inner.expectedParams.flatMap { $0 > 0 ? String($0) : nil } }.joined(separator: " + ")
    return LayerSignature(outputs: outputs, weights: weights, formula: formula.isEmpty ? nil : formula)
  }

  func displayClass(_ layer: LayerConfig) -> String {
    // Keras reports a nested functional model as `Functional`, whatever its config class.
    if layer.nested != nil, layer.className == "Model" { return "Functional" }
    // Keras prints the Python class (`GroupedQueryAttention`), not an exported alias.
    return layer.isOperation ? layer.className : LayerRegistry.pythonClassName(layer.className)
  }

  /// Trainable flags of stored weights: the config's own when the stored weights line up with it
  /// (Keras 3 archives name variables `vars/0`, `vars/1`, ...), else judged by name.
  func trainableFlags(_ stored: [StoredWeight], expected: [WeightSpec]?, layer: LayerConfig) -> [Bool] {
    if let expected, expected.map(\.shape) == stored.map(\.shape) { return expected.map(\.trainable) }
    return stored.map { trainable($0, layer: layer) }
  }

  /// Trainable as Keras counts it: not in a frozen layer (or frozen layer of a nested model),
  /// and not a BatchNormalization moving statistic.
  func trainable(_ weight: StoredWeight, layer: LayerConfig) -> Bool {
    if !layer.trainable { return false }
    if ["moving_mean", "moving_variance"].contains(weight.shortName) { return false }
    if let nested = layer.nested {
      let frozen = frozenLayerNames(nested)
      let components = weight.name.split(separator: "/").map(String.init)
      if components.contains(where: frozen.contains) { return false }
    }
    return true
  }

  func frozenLayerNames(_ model: ModelConfig) -> Set<String> {
    var names: Set<String> = []
    for layer in model.layers {
      if !layer.trainable { names.insert(layer.name) }
      if let nested = layer.nested { names.formUnion(frozenLayerNames(nested)) }
    }
    return names
  }

  /// Keras's test in `print_summary`: group the calls (nodes) that lead to the outputs by depth
  /// (outputs at depth 0, each input one deeper than its deepest consumer); the model reads as a
  /// sequence when every depth holds one node with at most one input tensor and no layer has two
  /// nodes. Depths follow the schedule backwards (consumers before producers): linear in calls.
  func isSequentialLike(_ model: ModelConfig, schedule: [ScheduledCall]) -> Bool {
    if model.isSequential { return true }
    struct Node: Hashable { let layer: String; let node: Int }
    var depth: [Node: Int] = [:]
    for ref in model.outputs { depth[Node(layer: ref.layer, node: ref.node)] = 0 }
    var nodes: Set<Node> = Set(model.layers.filter { $0.className == "InputLayer" }.map { Node(layer: $0.name, node: 0) })
    for step in schedule.reversed() {
      let layer = model.layers[step.layer]
      nodes.insert(Node(layer: layer.name, node: step.node))
      guard let d = depth[Node(layer: layer.name, node: step.node)] else { continue }
      let inputs = layer.calls[step.call].inputs
      if inputs.count > 1 { return false }
      for ref in inputs {
        let source = Node(layer: ref.layer, node: ref.node)
        if (depth[source] ?? -1) < d + 1 { depth[source] = d + 1 }
      }
    }
    var perDepth: [Int: Int] = [:]
    var perLayer: [String: Int] = [:]
    for (node, d) in depth where nodes.contains(node) {
      perDepth[d, default: 0] += 1
      perLayer[node.layer, default: 0] += 1
    }
    return perDepth.values.allSatisfy { $0 == 1 } && perLayer.values.allSatisfy { $0 == 1 }
  }
}
