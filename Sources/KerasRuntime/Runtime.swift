import KerasModel

/// Runs a model's forward pass in float32, layer by layer, as Keras computes it at inference.
///
/// Construction checks every layer up front and binds its stored weights; a model with a layer
/// this runtime cannot run is refused with the list of such layers, never run to a wrong answer.
public final class Runtime {
  let analysis: ModelAnalysis
  /// Each layer's kernel, built once with its bound weights, by layer path (`lstm`, or
  /// `encoder/lstm` inside a nested model).
  let kernels: [String: Kernel]
  /// Each model's schedule compiled for running, by model path ("" for the model, `encoder/`
  /// for a nested one): kernels, value slots and when each value can be let go, found once.
  let plans: [String: Plan]
  /// The largest output of any layer per sample (product of its known non-batch dimensions),
  /// so that the size check of every pass is one multiplication.
  let largestPerSample: Int
  /// The layers folded into the layer before them (``Fusion``: a BatchNormalization, an
  /// element-wise activation), by layer path, each with that layer's path.
  public let folded: [String: String]

  public var keras3: Bool { analysis.keras3 }

  /// Binds the model's stored weights, reading them from `file`, or through `values` when given
  /// (a caller that already read some weights passes them on instead of reading them again).
  public init(
    file: KerasFile, analysis: ModelAnalysis, maxTensorBytes: Int = 4 << 30,
    values: ((StoredWeight) throws(ModelError) -> [Float])? = nil
  ) throws(RuntimeError) {
    let unsupported = Self.unsupportedLayers(analysis)
    guard unsupported.isEmpty else {
      throw RuntimeError("cannot run this model: " + unsupported.joined(separator: "; "))
    }
    self.analysis = analysis
    var stored: [String: (owner: String, weights: [StoredWeight])] = [:]
    for layer in analysis.layers {
      for (path, weights) in try WeightBinder.bind(layer) { stored[path] = (layer.name, weights) }
    }
    // Each layer's weights are read as its kernel is built and let go once it is built: the
    // kernels' own (packed, folded) copies are then the only ones, and loading never holds the
    // stored weights of the whole model next to them.
    let read = { (path: String) throws(RuntimeError) -> [Tensor] in
      guard let (owner, weights) = stored[path] else { return [] }
      var tensors: [Tensor] = []
      tensors.reserveCapacity(weights.count)
      for weight in weights {
        do throws(ModelError) {
          let data: [Float]
          if let values { data = try values(weight) } else { data = try file.values(of: weight, maxBytes: maxTensorBytes) }
          tensors.append(Tensor(shape: weight.shape, data: data))
        } catch {
          throw RuntimeError("layer \(owner): \(error.message)")
        }
      }
      return tensors
    }
    (kernels, folded) = try Self.buildKernels(analysis, weights: read)
    plans = Plan.all(analysis, kernels: kernels)
    largestPerSample = Self.largestPerSample(analysis)
  }

  /// A runtime over in-memory weights, by layer path (`lstm`, `encoder/lstm` in a nested model),
  /// each list in the order the layer's config implies; shapes are checked against the config.
  public init(analysis: ModelAnalysis, weights: [String: [Tensor]]) throws(RuntimeError) {
    let unsupported = Self.unsupportedLayers(analysis)
    guard unsupported.isEmpty else {
      throw RuntimeError("cannot run this model: " + unsupported.joined(separator: "; "))
    }
    for layer in analysis.layers where layer.nested == nil {
      let want = layer.expected?.map(\.shape) ?? []
      let have = (weights[layer.name] ?? []).map(\.shape)
      guard want == have else {
        throw RuntimeError("layer \(layer.name): weights \(have) do not match the config's \(want)")
      }
    }
    self.analysis = analysis
    (kernels, folded) = try Self.buildKernels(analysis) { path throws(RuntimeError) in weights[path] ?? [] }
    plans = Plan.all(analysis, kernels: kernels)
    largestPerSample = Self.largestPerSample(analysis)
  }

  /// Every layer's kernel from its definition and weights (`weights` gives a layer's by path,
  /// asked once per layer as it is built), recursing into nested models.
  static func buildKernels(
    _ analysis: ModelAnalysis, prefix: String = "", weights: (String) throws(RuntimeError) -> [Tensor]
  ) throws(RuntimeError) -> (kernels: [String: Kernel], folded: [String: String]) {
    var kernels: [String: Kernel] = [:]
    var folded: [String: String] = [:]
    let normalizations = Fusion.batchNormalizationFolds(analysis)
    // Activations folded into the layer before them (``Fusion``), by that layer's index: applied
    // while it computes by a convolution or a normalization, by any other layer on the output
    // it made.
    var epilogues: [Int: (activation: Int, f: Activations.Elementwise)] = [:]
    for (p, a) in Fusion.activationFolds(analysis, after: normalizations) {
      if let f = (analysis.layers[a].definition as? any PointwiseLayer)?.pointwise(keras3: analysis.keras3) { epilogues[p] = (a, f) }
    }
    // BatchNormalization folded into the layer before it (``Fusion``): that layer's kernel
    // carries it, and the normalization passes its input on.
    for (p, n) in normalizations {
      let (producer, norm) = (analysis.layers[p], analysis.layers[n])
      guard let definition = producer.definition as? any ChannelFoldable, let normalization = norm.definition as? BatchNormalization,
        let foldedKernel = Fusion.foldedKernel(
          definition, weights: try weights(prefix + producer.name), normalization, normalizationWeights: try weights(prefix + norm.name),
          keras3: analysis.keras3, epilogue: epilogues[p]?.f)
      else {
        // Built apart: an activation after the normalization is not the producer's to apply.
        epilogues[p] = nil
        continue
      }
      kernels[prefix + producer.name] = foldedKernel
      kernels[prefix + norm.name] = Kernel { inputs, _ in Array(inputs.prefix(1)) }
      folded[prefix + norm.name] = prefix + producer.name
      if let (a, _) = epilogues.removeValue(forKey: p) { fold(a, into: p) }
    }
    func fold(_ a: Int, into p: Int) {
      kernels[prefix + analysis.layers[a].name] = Kernel { inputs, _ in Array(inputs.prefix(1)) }
      folded[prefix + analysis.layers[a].name] = prefix + analysis.layers[p].name
    }
    for (index, layer) in analysis.layers.enumerated() {
      let path = prefix + layer.name
      if kernels[path] != nil { continue }
      if let nested = layer.nested {
        let inner = try buildKernels(nested, prefix: path + "/", weights: weights)
        kernels.merge(inner.kernels) { a, _ in a }
        folded.merge(inner.folded) { a, _ in a }
        continue
      }
      guard let runnable = layer.definition as? any RunnableLayer else { throw RuntimeError("layer \(path) (\(layer.className)): no native kernel") }
      let layerWeights = try weights(path)
      do {
        if let (a, f) = epilogues[index], let fusable = runnable as? any EpilogueFusable {
          kernels[path] = try fusable.kernel(weights: layerWeights, keras3: analysis.keras3, epilogue: f)
          fold(a, into: index)
          epilogues[index] = nil
        } else {
          kernels[path] = try runnable.kernel(weights: layerWeights, keras3: analysis.keras3)
        }
      } catch {
        throw RuntimeError("layer \(path) (\(layer.className)): \(error.message)")
      }
    }
    // The other producers apply their activation on the output they have just made.
    for (p, (a, f)) in epilogues {
      guard let inner = kernels[prefix + analysis.layers[p].name] else { continue }
      kernels[prefix + analysis.layers[p].name] = Fusion.applying(f, after: inner)
      fold(a, into: p)
    }
    return (kernels, folded)
  }

  /// The layers (as `name (Class): reason`) this runtime cannot run, recursing into nested models.
  /// `includeProblems: false` lists only the layers with no native kernel, leaving out those
  /// whose config or stored weights are inconsistent.
  public static func unsupportedLayers(_ analysis: ModelAnalysis, prefix: String = "", includeProblems: Bool = true) -> [String] {
    analysis.layers.flatMap { layer -> [String] in
      if let nested = layer.nested { return unsupportedLayers(nested, prefix: prefix + layer.name + "/", includeProblems: includeProblems) }
      if includeProblems, let problem = layer.problem { return ["\(prefix)\(layer.name) (\(layer.className)): \(problem)"] }
      guard LayerRegistry.understands(layer.config) else {
        if layer.className == "Lambda", case .failure(let refusal) = Lambda.recognise(layer.config.config) {
          return ["\(prefix)\(layer.name) (Lambda): its function is not read: \(refusal.reason)"]
        }
        return ["\(prefix)\(layer.name) (\(layer.className)): no native kernel for \(layer.className)"]
      }
      guard let definition = layer.definition else { return includeProblems ? ["\(prefix)\(layer.name) (\(layer.className)): config could not be read"] : [] }
      guard let runnable = definition as? any RunnableLayer else {
        return ["\(prefix)\(layer.name) (\(layer.className)): no native kernel for \(layer.className)"]
      }
      if let reason = runnable.unsupportedReason(keras3: analysis.keras3) { return ["\(prefix)\(layer.name) (\(layer.className)): \(reason)"] }
      return []
    }
  }

  /// The model's input shapes, batch dimension first (`nil` where any size is accepted).
  public var inputShapes: [Shape] {
    analysis.config.inputs.map { ref in
      analysis.layers.first { $0.name == ref.layer }?.outputs.first??.first ?? []
    }
  }

  /// The names of the model's inputs, in order.
  public var inputNames: [String] { analysis.config.inputs.map(\.layer) }

  /// Runs the model on one tensor per input (in the model's input order); returns one per output.
  /// With `profile`, each layer call's time is added to it.
  public func predict(_ inputs: [Tensor], profile: LayerProfile? = nil) throws(RuntimeError) -> [Tensor] {
    try checkInputs(inputs)
    return try run(analysis, inputs.map { Value(tensor: $0, mask: nil) }, path: "", profile: profile).map(\.tensor)
  }

  /// Throws unless ``predict(_:profile:)`` can run on `inputs`: one per input, each of the
  /// model's shape (any batch), no layer's output over ``maxActivationElements``.
  public func checkInputs(_ inputs: [Tensor]) throws(RuntimeError) {
    guard inputs.count == analysis.config.inputs.count else {
      throw RuntimeError("the model has \(analysis.config.inputs.count) input(s), \(inputs.count) given")
    }
    for (i, (x, expected)) in zip(inputs, inputShapes).enumerated() {
      // The batch size is free even where a model fixed it: Keras predicts in batches of it,
      // and inference does not depend on it.
      let fits = x.rank == expected.count && zip(x.shape, expected).dropFirst().allSatisfy { $1 == nil || $0 == $1 }
      guard fits else {
        throw RuntimeError("input \(i) (\(inputNames[i])) has shape \(pythonTuple(x.shape.map { $0 })), the model expects \(pythonTuple(expected))")
      }
    }
    try checkActivationSizes(batch: inputs.first?.shape.first ?? 1)
  }

  /// Largest tensor a layer may produce, in elements (1 GiB of float32).
  public static let maxActivationElements = 1 << 28

  /// Refuses, before computing anything, a model whose config makes some layer's output larger
  /// than ``maxActivationElements`` (a hostile `RepeatVector(10**9)`, say).
  func checkActivationSizes(batch: Int) throws(RuntimeError) {
    func fits(_ perSample: Int) -> Bool {
      let (total, overflow) = max(batch, 1).multipliedReportingOverflow(by: perSample)
      return !overflow && total <= Self.maxActivationElements
    }
    if fits(largestPerSample) { return }
    // Too large: find the layer to name.
    for layer in analysis.layers {
      for shape in layer.outputs.compactMap({ $0 }).flatMap({ $0 }) where !fits(Self.perSample(shape)) {
        throw RuntimeError("layer \(layer.name) would produce more than \(Self.maxActivationElements) values (shape \(pythonTuple(shape)))")
      }
    }
  }

  /// The values one sample of an output of `shape` holds: the product of its known non-batch
  /// dimensions, saturating at Int.max.
  static func perSample(_ shape: Shape) -> Int {
    var count = 1
    for d in shape.dropFirst() {
      guard let d else { continue }
      let (p, overflow) = count.multipliedReportingOverflow(by: d)
      count = overflow ? Int.max : p
    }
    return count
  }

  /// See ``largestPerSample``.
  static func largestPerSample(_ analysis: ModelAnalysis) -> Int {
    analysis.layers.flatMap { $0.outputs.compactMap { $0 }.flatMap { $0 } }.map(perSample).max() ?? 1
  }

  /// Runs a model's schedule. A value is let go after the last call that reads it (and a value
  /// nothing reads is never kept), so a pass holds only the activations still ahead of it.
  func run(_ model: ModelAnalysis, _ inputs: [Value], path: String, profile: LayerProfile?) throws(RuntimeError) -> [Value] {
    guard let plan = plans[path] else { throw RuntimeError("model \(model.config.name): no schedule was compiled") }
    var values = [Value?](repeating: nil, count: plan.slots)
    for (slot, value) in zip(plan.inputs, inputs) { values[slot] = value }
    for step in plan.steps {
      var ins: [Value] = []
      ins.reserveCapacity(step.inputs.count)
      for (slot, ref) in zip(step.inputs, step.call.inputs) {
        guard let v = values[slot] else { throw RuntimeError("layer \(step.name): input \(ref) was not computed") }
        ins.append(v)
      }
      var kernelCall = step.arguments
      if step.call.inputs.count != step.call.dataInputPositions.count {
        (ins, kernelCall.attentionMask) = try Self.separatingMasks(ins, step.call, layer: step.name)
      }
      let outs = try apply(step, model, ins, call: kernelCall, profile: profile)
      ins.removeAll()
      for slot in step.released { values[slot] = nil }
      for (i, v) in outs.enumerated() where i < step.outputs.count {
        if let slot = step.outputs[i] { values[slot] = v }
      }
    }
    var outputs: [Value] = []
    for (slot, ref) in zip(plan.outputs, model.config.outputs) {
      guard let v = values[slot] else { throw RuntimeError("output \(ref) of model \(model.config.name) was not computed") }
      outputs.append(v)
    }
    return outputs
  }

  /// A call's data inputs with the masks it passed explicitly set on them (`mask=m` on the first,
  /// `mask=[m1, m2]` one each, `query_mask=`/`value_mask=`/`key_mask=` on those inputs), and its
  /// `attention_mask=`. A mask is (batch, time), nonzero where a step is kept; it replaces the
  /// mask the input carried.
  static func separatingMasks(_ all: [Value], _ call: LayerCall, layer: String) throws(RuntimeError) -> ([Value], Tensor?) {
    var data = call.dataInputPositions.map { all[$0] }
    func set(_ position: Int, on index: Int) throws(RuntimeError) {
      let mask = all[position].tensor
      guard index < data.count, data[index].tensor.rank >= 2, mask.count == data[index].tensor.shape[0] * data[index].tensor.shape[1] else {
        throw RuntimeError("layer \(layer): mask of shape \(mask.shape) does not fit its input")
      }
      data[index].mask = mask.data.map { $0 != 0 }
    }
    if let m = call.maskInput { try set(m, on: 0) }
    for (index, position) in call.maskListInputs.enumerated() {
      if let position { try set(position, on: index) }
    }
    let named = call.maskKeywordInputs
    // Data inputs in call order: query, value, then key when given.
    for (name, index) in [("query_mask", 0), ("value_mask", 1), ("key_mask", 2)] where index < data.count {
      if let position = named[name] { try set(position, on: index) }
    }
    // A key mask without a key masks the value's positions too (Keras ANDs it in as [B, 1, S]).
    if data.count == 2, let position = named["key_mask"] {
      let own = data[1].mask
      try set(position, on: 1)
      if let own, let keyMask = data[1].mask { data[1].mask = zip(own, keyMask).map { $0 && $1 } }
    }
    return (data, named["attention_mask"].map { all[$0].tensor })
  }

  func apply(_ step: Plan.Step, _ model: ModelAnalysis, _ inputs: [Value], call: KernelCall, profile: LayerProfile?) throws(RuntimeError) -> [Value] {
    // The step's own copy: reading the layer's `nested` copied the whole LayerInfo every pass.
    if let nested = step.nested {
      return try run(nested, inputs, path: step.path + "/", profile: profile)
    }
    guard let kernel = step.kernel else { throw RuntimeError("layer \(step.name) (\(step.className)): no kernel was built") }
    do {
      guard let profile else { return try kernel.run(inputs, call) }
      let start = ContinuousClock.now
      let outputs = try kernel.run(inputs, call)
      profile.add(step.path, layer: model.layers[step.layer], seconds: seconds(since: start))
      return outputs
    } catch {
      throw RuntimeError("layer \(step.name) (\(step.className)): \(error.message)")
    }
  }
}

/// Matches a layer's stored weights to the weights its config implies.
enum WeightBinder {
  /// Stored weights per layer path, in the order the kernels expect them.
  static func bind(_ layer: LayerInfo) throws(RuntimeError) -> [(String, [StoredWeight])] {
    guard let nested = layer.nested else {
      guard let expected = layer.expected else { return [(layer.name, [])] }
      return [(layer.name, try pick(expected.map { (nil, $0) }, from: layer.stored, layer: layer.name))]
    }
    // A nested model's weights all sit in its group; share them out by inner layer.
    var pool = layer.stored
    var result: [(String, [StoredWeight])] = []
    func visit(_ analysis: ModelAnalysis, _ prefix: String) throws(RuntimeError) {
      for inner in analysis.layers {
        if let deeper = inner.nested {
          try visit(deeper, prefix + inner.name + "/")
          continue
        }
        let expected = (inner.expected ?? []).map { (Optional(inner.name), $0) }
        let chosen = try pick(expected, from: pool, layer: prefix + inner.name)
        pool.removeAll { w in chosen.contains { $0.path == w.path } }
        result.append((prefix + inner.name, chosen))
      }
    }
    try visit(nested, layer.name + "/")
    return result
  }

  /// Stored weights in order of `expected`: positionally when the shapes line up, else each by
  /// owning layer name, short name and shape.
  static func pick(_ expected: [(String?, WeightSpec)], from stored: [StoredWeight], layer: String) throws(RuntimeError) -> [StoredWeight] {
    if expected.first?.0 == nil, stored.map(\.shape) == expected.map(\.1.shape) { return stored }
    var available = stored
    var chosen: [StoredWeight] = []
    for (owner, spec) in expected {
      let components = { (w: StoredWeight) in w.name.split(separator: "/").map { String($0.split(separator: ":")[0]) } }
      let candidates: [(StoredWeight) -> Bool] = [
        { w in w.shape == spec.shape && w.shortName == spec.name && (owner.map { components(w).contains($0) } ?? true) },
        { w in w.shape == spec.shape && w.shortName == spec.name },
        { w in w.shape == spec.shape },
      ]
      guard let index = candidates.lazy.compactMap({ test in available.firstIndex(where: test) }).first else {
        throw RuntimeError("layer \(layer): no stored weight of shape \(spec.shape) for \(spec.name)")
      }
      chosen.append(available.remove(at: index))
    }
    return chosen
  }
}

/// When the values of one model's schedule can be let go.
/// A model's schedule compiled for running: each step's kernel, and the values it reads and
/// makes as slots of an array instead of entries of a dictionary keyed by layer name. A value is
/// released after the last step that reads it (model outputs are kept to the end), and one that
/// nothing reads gets no slot: it is dropped as it is made.
struct Plan {
  struct Step {
    let layer: Int
    let name: String
    let className: String
    /// The layer's path (`encoder/lstm` in a nested model): its kernel's and its profile's key.
    let path: String
    let call: LayerCall
    let arguments: KernelCall
    let kernel: Kernel?
    /// For a nested model, its analysis (its own plan is at `path + "/"`).
    let nested: ModelAnalysis?
    /// The slots of the call's inputs, in order.
    let inputs: [Int]
    /// The slot of each output tensor, nil where nothing reads it.
    let outputs: [Int?]
    /// The slots no later step reads.
    let released: [Int]
  }

  let steps: [Step]
  let inputs: [Int]
  let outputs: [Int]
  let slots: Int

  init(_ model: ModelAnalysis, prefix: String, kernels: [String: Kernel]) {
    // The last step that reads each value (Int.max: a model output, kept to the end).
    var last: [TensorRef: Int] = [:]
    for (index, step) in model.schedule.enumerated() {
      for ref in model.layers[step.layer].config.calls[step.call].inputs { last[ref] = index }
    }
    for ref in model.config.outputs { last[ref] = Int.max }
    // A slot for each model input and each value read; by producing call, the highest output
    // index read.
    var slotOf: [TensorRef: Int] = [:]
    let modelInputs = model.config.inputs.map { TensorRef(layer: $0.layer, node: 0, tensor: 0) }
    for ref in modelInputs + Array(last.keys) where slotOf[ref] == nil { slotOf[ref] = slotOf.count }
    var highestRead: [TensorRef: Int] = [:]
    for ref in last.keys {
      let producer = TensorRef(layer: ref.layer, node: ref.node, tensor: 0)
      highestRead[producer] = max(highestRead[producer] ?? -1, ref.tensor)
    }
    var released = [[Int]](repeating: [], count: model.schedule.count)
    for (ref, index) in last where index < released.count { released[index].append(slotOf[ref]!) }
    steps = model.schedule.enumerated().map { index, step in
      let layer = model.layers[step.layer]
      let call = layer.config.calls[step.call]
      let highest = highestRead[TensorRef(layer: layer.name, node: step.node, tensor: 0)] ?? -1
      let outputs: [Int?] = (0..<(highest + 1)).map { slotOf[TensorRef(layer: layer.name, node: step.node, tensor: $0)] }
      let path = prefix + layer.name
      return Step(
        layer: step.layer, name: layer.name, className: layer.className, path: path, call: call,
        arguments: KernelCall(call.arguments), kernel: kernels[path], nested: layer.nested, inputs: call.inputs.map { slotOf[$0]! },
        outputs: outputs, released: released[index])
    }
    inputs = modelInputs.map { slotOf[$0]! }
    outputs = model.config.outputs.map { slotOf[$0]! }
    slots = slotOf.count
  }

  /// The plans of a model and of every nested model in it, by model path.
  static func all(_ model: ModelAnalysis, kernels: [String: Kernel], prefix: String = "") -> [String: Plan] {
    var result = [prefix: Plan(model, prefix: prefix, kernels: kernels)]
    for layer in model.layers {
      if let nested = layer.nested { result.merge(all(nested, kernels: kernels, prefix: prefix + layer.name + "/")) { a, _ in a } }
    }
    return result
  }
}

/// Time spent in each layer over forward passes (``Runtime/predict(_:profile:)``), by layer path.
/// A shared layer's calls add up under its one path.
public final class LayerProfile {
  public struct Entry: Sendable {
    /// `conv1`, or `encoder/conv1` inside a nested model.
    public let path: String
    public let layer: LayerInfo
    /// The time of each pass, in seconds (the sum of the layer's calls in that pass).
    public internal(set) var seconds: [Double]
  }

  /// In the order the layers first ran.
  public private(set) var entries: [Entry] = []
  var index: [String: Int] = [:]
  var pass = 0

  public init() {}

  /// Starts the next pass: later times go to a new slot of each entry.
  public func beginPass() { pass += 1 }

  func add(_ path: String, layer: LayerInfo, seconds: Double) {
    let slot = max(pass - 1, 0)
    if let i = index[path] {
      while entries[i].seconds.count <= slot { entries[i].seconds.append(0) }
      entries[i].seconds[slot] += seconds
    } else {
      index[path] = entries.count
      entries.append(Entry(path: path, layer: layer, seconds: Array(repeating: 0, count: slot) + [seconds]))
    }
  }
}

/// Seconds since `start`, never negative (signed arithmetic: a clock read on another core that
/// came out a little earlier cannot trap, as an unsigned difference would).
public func seconds(since start: ContinuousClock.Instant) -> Double {
  let elapsed = (ContinuousClock.now - start).components
  return max(0, Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18)
}
