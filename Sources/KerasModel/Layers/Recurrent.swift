/// LSTM (gates i, f, c, o), GRU (gates z, r, h) and SimpleRNN over (batch, time, features).
///
/// Weights: kernel (features, G·units), recurrent_kernel (units, G·units), bias. GRU with
/// `reset_after=True` (the Keras 2 and 3 default; Keras 1 computed reset-before) keeps separate
/// input and recurrent biases, so its bias is (2, 3u); with `reset_after=False` it is (3u).
public struct Recurrent: LayerDefinition {
  public static let classNames = ["LSTM", "GRU", "SimpleRNN"]

  public enum Kind: Sendable {
    case lstm, gru, simple

    /// Gates along the weights' last axis, and states carried from step to step.
    public var gates: Int { self == .lstm ? 4 : self == .gru ? 3 : 1 }
    public var states: Int { self == .lstm ? 2 : 1 }
  }

  public let kind: Kind
  public let units: Int
  public let activation: Activation
  public let recurrentActivation: Activation
  public let useBias: Bool
  public let returnSequences: Bool
  public let returnState: Bool
  public let goBackwards: Bool
  public let stateful: Bool
  /// GRU only: the reset gate multiplies (h·U_h + b_rh) (true) or h (false).
  public let resetAfter: Bool
  /// Masked steps output zeros instead of the previous output.
  public let zeroOutputForMask: Bool
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    switch c.className {
    case "LSTM": kind = .lstm
    case "GRU": kind = .gru
    default: kind = .simple
    }
    units = try c.int("units")
    activation = try c.activation(default: "tanh")
    recurrentActivation = try c.activation("recurrent_activation", default: "sigmoid")
    useBias = try c.bool("use_bias", default: true)
    returnSequences = try c.bool("return_sequences", default: false)
    returnState = try c.bool("return_state", default: false)
    goBackwards = try c.bool("go_backwards", default: false)
    stateful = try c.bool("stateful", default: false)
    resetAfter = try c.bool("reset_after", default: true)
    zeroOutputForMask = try c.bool("zero_output_for_mask", default: false)
    if try c.bool("time_major", default: false) { throw c.error("has time_major, which keras-inspect does not read") }
    label = c.label
  }

  /// The same layer reading time the other way (Bidirectional's backward copy), with masked
  /// steps output as zeros when it returns sequences.
  public func reversed(zeroOutputForMask zero: Bool) -> Recurrent {
    Recurrent(copy: self, goBackwards: !goBackwards, zeroOutputForMask: zero)
  }

  public func withZeroOutputForMask(_ zero: Bool) -> Recurrent {
    Recurrent(copy: self, goBackwards: goBackwards, zeroOutputForMask: zero)
  }

  init(copy o: Recurrent, goBackwards: Bool, zeroOutputForMask: Bool) {
    kind = o.kind; units = o.units; activation = o.activation; recurrentActivation = o.recurrentActivation
    useBias = o.useBias; returnSequences = o.returnSequences; returnState = o.returnState
    self.goBackwards = goBackwards; stateful = o.stateful; resetAfter = o.resetAfter
    self.zeroOutputForMask = zeroOutputForMask; label = o.label
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    // Keras passes initial states as extra inputs; the sequence is the first.
    guard let x = inputs.first, x.count == 3 else {
      throw label.error("needs a (batch, time, features) input, got \(inputs.map(format).joined(separator: ", "))")
    }
    let n = try label.known(x[2], "input feature dimension")
    let u = units
    let biasShape: [Int]
    let formula: String
    switch kind {
    case .lstm:
      biasShape = [4 * u]
      formula = useBias ? "4 × ((\(n) + \(u)) × \(u) + \(u))" : "4 × (\(n) + \(u)) × \(u)"
    case .gru:
      biasShape = resetAfter ? [2, 3 * u] : [3 * u]
      formula = useBias ? (resetAfter ? "3 × ((\(n) + \(u)) × \(u) + 2 × \(u))" : "3 × ((\(n) + \(u)) × \(u) + \(u))") : "3 × (\(n) + \(u)) × \(u)"
    case .simple:
      biasShape = [u]
      formula = useBias ? "(\(n) + \(u)) × \(u) + \(u)" : "(\(n) + \(u)) × \(u)"
    }
    let g = kind.gates
    var weights = [WeightSpec("kernel", [n, g * u]), WeightSpec("recurrent_kernel", [u, g * u])]
    if useBias { weights.append(WeightSpec("bias", biasShape)) }
    var outputs: [Shape] = [returnSequences ? [x[0], x[1], u] : [x[0], u]]
    if returnState { outputs += Array(repeating: [x[0], u], count: kind.states) }
    let flops = saturatingProduct([2, x[1] ?? 1, n + u, g * u])
    return LayerSignature(outputs: outputs, weights: weights, formula: formula, flops: flops)
  }
}

/// `CuDNNLSTM` and `CuDNNGRU` (Keras 2.0-2.3, tf.keras 1.x): the GPU-only layers, computed on
/// the CPU as cuDNN computes them, an LSTM (tanh, sigmoid) or a GRU with the reset gate after
/// the recurrent product. Weights as they store them: kernel (features, G·units),
/// recurrent_kernel (units, G·units), and separate input and recurrent biases (2·G·units).
/// cuDNN reads each gate's kernel flattened in C order as a (units, features) matrix and each
/// recurrent kernel as (units, units), so the runtime takes Keras 2's `_convert_rnn_weights`
/// path to the plain layer's weights.
public struct CuDNNRecurrent: LayerDefinition {
  public static let classNames = ["CuDNNLSTM", "CuDNNGRU"]
  /// The plain layer that computes the same (LSTM, or GRU with reset_after).
  public let equivalent: Recurrent
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    let lstm = c.className == "CuDNNLSTM"
    var fields: JSONObject = ["activation": .string("tanh"), "recurrent_activation": .string("sigmoid"), "reset_after": .bool(true)]
    fields["units"] = .number(Double(try c.int("units")))
    for key in ["return_sequences", "return_state", "go_backwards", "stateful"] { fields[key] = .bool(try c.bool(key, default: false)) }
    equivalent = try Recurrent(LayerReader(name: c.name, className: lstm ? "LSTM" : "GRU", config: .object(fields), keras3: c.keras3))
    label = c.label
  }

  init(_ o: CuDNNRecurrent, _ equivalent: Recurrent) {
    self.equivalent = equivalent
    label = o.label
  }

  /// A copy reading time the other way (Bidirectional's backward layer).
  public func reversed(zeroOutputForMask zero: Bool) -> CuDNNRecurrent { CuDNNRecurrent(self, equivalent.reversed(zeroOutputForMask: zero)) }

  public func withZeroOutputForMask(_ zero: Bool) -> CuDNNRecurrent { CuDNNRecurrent(self, equivalent.withZeroOutputForMask(zero)) }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    var s = try equivalent.signature(inputs)
    let (n, u, g) = (s.weights[0].shape[0], equivalent.units, equivalent.kind.gates)
    s.weights = [WeightSpec("kernel", [n, g * u]), WeightSpec("recurrent_kernel", [u, g * u]), WeightSpec("bias", [2 * g * u])]
    s.formula = "\(g) × ((\(n) + \(u)) × \(u) + 2 × \(u))"
    return s
  }
}

/// `RNN(cell)`: Keras's generic recurrent layer around an `LSTMCell`, `GRUCell` or
/// `SimpleRNNCell`, or a stack of them (a list of cells, or `StackedRNNCells`), whose step runs
/// each cell in turn on the previous cell's output. It computes as LSTM, GRU and SimpleRNN do:
/// the cells here are those layers, all but the last returning their sequences, only the first
/// reading time backwards. Weights: each cell's kernel, recurrent_kernel and bias, in order.
public struct RNNLayer: LayerDefinition {
  public static let classNames = ["RNN"]
  /// The class each cell computes as.
  static let cellClasses = ["LSTMCell": "LSTM", "GRUCell": "GRU", "SimpleRNNCell": "SimpleRNN"]
  /// The cells in step order, each as the recurrent layer it computes as.
  public let cells: [Recurrent]
  /// The cells' classes (`LSTMCell`...), for Keras 3's weight groups.
  public let cellClassNames: [String]
  public let returnSequences: Bool
  public let returnState: Bool
  public let goBackwards: Bool
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    guard let cell = c.present("cell"), let cellClass = cell["class_name"]?.string, let cellConfig = cell["config"] else {
      throw c.error("has no cell")
    }
    var cellItems: [(String, JSONValue)] = []
    if cellClass == "StackedRNNCells" {
      guard let list = cellConfig["cells"]?.array, !list.isEmpty, list.count <= 64 else { throw c.error("has a StackedRNNCells without cells") }
      for item in list {
        guard let name = item["class_name"]?.string, let config = item["config"] else { throw c.error("has a cell without class_name and config") }
        cellItems.append((name, config))
      }
    } else if let list = cell.array {
      for item in list {
        guard let name = item["class_name"]?.string, let config = item["config"] else { throw c.error("has a cell without class_name and config") }
        cellItems.append((name, config))
      }
    } else {
      cellItems = [(cellClass, cellConfig)]
    }
    returnSequences = try c.bool("return_sequences", default: false)
    returnState = try c.bool("return_state", default: false)
    goBackwards = try c.bool("go_backwards", default: false)
    let stateful = try c.bool("stateful", default: false)
    let zeroOutput = try c.bool("zero_output_for_mask", default: false)
    if try c.bool("time_major", default: false) { throw c.error("has time_major, which keras-inspect does not read") }
    var cells: [Recurrent] = []
    for (i, (className, config)) in cellItems.enumerated() {
      guard let layerClass = Self.cellClasses[className], var fields = config.object else {
        throw c.error("wraps a \(className), which keras-inspect does not understand")
      }
      let last = i == cellItems.count - 1
      fields["return_sequences"] = .bool(last ? returnSequences : true)
      fields["return_state"] = .bool(returnState)
      fields["go_backwards"] = .bool(i == 0 && goBackwards)
      fields["stateful"] = .bool(stateful)
      fields["zero_output_for_mask"] = .bool(last && zeroOutput)
      let name = config["name"]?.string ?? "\(c.name)/cell_\(i)"
      cells.append(try Recurrent(LayerReader(name: name, className: layerClass, config: .object(fields), keras3: c.keras3)))
    }
    self.cells = cells
    cellClassNames = cellItems.map(\.0)
    label = c.label
  }

  /// A copy reading time the other way (Bidirectional's backward layer), with masked steps
  /// output as zeros when it returns sequences.
  public func reversed(zeroOutputForMask zero: Bool) -> RNNLayer {
    RNNLayer(copy: self, goBackwards: !goBackwards, zeroOutputForMask: zero)
  }

  public func withZeroOutputForMask(_ zero: Bool) -> RNNLayer {
    RNNLayer(copy: self, goBackwards: goBackwards, zeroOutputForMask: zero)
  }

  init(copy o: RNNLayer, goBackwards: Bool, zeroOutputForMask: Bool) {
    cells = o.cells.enumerated().map { i, cell in
      var c = i == 0 && cell.goBackwards != goBackwards ? cell.reversed(zeroOutputForMask: cell.zeroOutputForMask) : cell
      if i == o.cells.count - 1 { c = c.withZeroOutputForMask(zeroOutputForMask) }
      return c
    }
    cellClassNames = o.cellClassNames
    returnSequences = o.returnSequences; returnState = o.returnState; self.goBackwards = goBackwards; label = o.label
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    guard let x = inputs.first, x.count == 3 else {
      throw label.error("needs a (batch, time, features) input, got \(inputs.map(format).joined(separator: ", "))")
    }
    var sequence = x
    var weights: [WeightSpec] = []
    var formulas: [String] = []
    var flops = 0
    var states: [Shape] = []
    var groups: [Int] = [1]
    for cell in cells {
      let s = try cell.signature([sequence])
      weights += s.weights
      formulas += s.formula.map { [$0] } ?? []
      flops = saturatingSum(flops, s.flops ?? 0)
      states += s.outputs.dropFirst()
      groups.append(s.outputs.count - 1)
      sequence = s.outputs[0]
    }
    var outputs = [sequence]
    if returnState { outputs += states }
    var signature = LayerSignature(outputs: outputs, weights: weights, formula: formulas.joined(separator: " + "), flops: flops)
    // tf.keras nests the states of stacked cells per cell: [output, h1, [h2, c2]].
    if returnState, cells.count > 1 { signature.outputGroups = groups }
    return signature
  }
}

/// `ConvLSTM1D/2D/3D`: an LSTM whose input and recurrent products are convolutions, over
/// (batch, time, spatial..., channels) (or channels first after time). The input convolution
/// takes the layer's window (strides, padding, dilation); the recurrent one runs on the state
/// with stride 1 and `same` padding. Weights: kernel (k..., C, 4·filters), recurrent_kernel
/// (k..., filters, 4·filters), bias (4·filters); gates i, f, c, o.
public struct ConvLSTM: LayerDefinition {
  public static let classNames = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]
  public static let keras3SubObjects = ["cell"]
  public let rank: Int
  public let filters: Int
  public let window: Window
  public let dataFormat: DataFormat
  public let activation: Activation
  public let recurrentActivation: Activation
  public let useBias: Bool
  public let returnSequences: Bool
  public let returnState: Bool
  public let goBackwards: Bool
  public let stateful: Bool
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    rank = spatialRank(c.className)
    filters = try c.int("filters")
    window = try convolutionWindow(c, rank: rank)
    dataFormat = try c.dataFormat()
    activation = try c.activation(default: "tanh")
    // tf_keras's default is hard_sigmoid, Keras 3's sigmoid; both write it.
    recurrentActivation = try c.activation("recurrent_activation", default: c.keras3 ? "sigmoid" : "hard_sigmoid")
    useBias = try c.bool("use_bias", default: true)
    returnSequences = try c.bool("return_sequences", default: false)
    returnState = try c.bool("return_state", default: false)
    goBackwards = try c.bool("go_backwards", default: false)
    stateful = try c.bool("stateful", default: false)
    guard window.padding == .valid || window.padding == .same else { throw c.error("has padding \(window.padding.rawValue), which ConvLSTM does not take") }
    label = c.label
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    guard let x = inputs.first, x.count == rank + 3 else {
      throw label.error("needs a (batch, time, \(rank) spatial axes, channels) input, got \(inputs.map(format).joined(separator: ", "))")
    }
    let step = [x[0]] + Array(x.dropFirst(2))
    let (dims, ch) = spatial(step, rank: rank, dataFormat)
    let channels = try label.known(ch, "input channels")
    for d in dims where d == nil { throw label.error("needs known spatial sizes, got \(format(x))") }
    let out = (0..<rank).map { window.outputLength(dims[$0], axis: $0) }
    let state = assemble(x[0], out, channels: filters, dataFormat)
    var weights = [WeightSpec("kernel", window.kernel + [channels, 4 * filters]), WeightSpec("recurrent_kernel", window.kernel + [filters, 4 * filters])]
    if useBias { weights.append(WeightSpec("bias", [4 * filters])) }
    var outputs = [returnSequences ? [x[0], x[1]] + Array(state.dropFirst()) : state]
    if returnState { outputs += [state, state] }
    let k = window.kernel.map(String.init).joined(separator: " × ")
    let positions = saturatingProduct(out.map { $0 ?? 1 })
    let taps = saturatingProduct(window.kernel + [channels + filters, 4 * filters])
    return LayerSignature(
      outputs: outputs, weights: weights,
      formula: "4 × (\(k) × (\(channels) + \(filters)) × \(filters)" + (useBias ? " + \(filters))" : ")"),
      flops: saturatingProduct([2, taps, positions, x[1] ?? 1]))
  }
}

/// `Bidirectional`: forward and backward copies of a recurrent layer, merged by `merge_mode`
/// (concat, sum, mul, ave, or null for two outputs). The backward copy is `backward_layer` when
/// the config has one, else the forward layer reading time reversed.
public struct Bidirectional: LayerDefinition {
  public static let classNames = ["Bidirectional"]
  public enum MergeMode: String, Sendable { case concat, sum, mul, ave }

  public let forward: WrappedLayer
  public let backward: WrappedLayer
  /// Whether `backward_layer` was given (else `backward` is the forward layer's config).
  public let customBackward: Bool
  /// nil: the two outputs are returned separately.
  public let mergeMode: MergeMode?
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    guard let forward = try c.wrapped("layer") else { throw c.error("has no wrapped layer") }
    self.forward = forward
    let custom = try c.wrapped("backward_layer")
    customBackward = custom != nil
    backward = custom ?? forward
    // A null merge_mode returns both outputs; a missing one is Keras's default, concat.
    mergeMode = c.config["merge_mode"] == nil ? .concat : c.present("merge_mode") == nil ? nil : try c.choice("merge_mode", default: MergeMode.concat)
    label = c.label
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let f = try forward.definition.signature(inputs)
    let b = try backward.definition.signature(inputs)
    let y = f.outputs[0]
    var outputs: [Shape]
    switch mergeMode {
    case nil: outputs = [y, b.outputs[0]]
    case .concat: outputs = [Array(y.dropLast()) + [sum(y.last!, b.outputs[0].last!)]]
    case .sum, .mul, .ave: outputs = [y]
    }
    // With return_state, Keras appends the forward states then the backward states.
    outputs += f.outputs.dropFirst() + b.outputs.dropFirst()
    let formula = customBackward ? nil : f.formula.map { "2 × (\($0))" }
    return LayerSignature(outputs: outputs, weights: f.weights + b.weights, formula: formula, flops: f.flops.flatMap { a in b.flops.map { saturatingSum(a, $0) } })
  }
}

/// `TimeDistributed`: the wrapped layer applied to every time step; it sees (batch, *rest).
public struct TimeDistributed: LayerDefinition {
  public static let classNames = ["TimeDistributed"]
  public let inner: WrappedLayer
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    guard let inner = try c.wrapped("layer") else { throw c.error("has no wrapped layer") }
    self.inner = inner
    label = c.label
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs)
    guard x.count >= 3 else { throw label.error("needs an input of rank 3 or more, got \(format(x))") }
    var s = try inner.definition.signature([[x[0]] + Array(x.dropFirst(2))])
    s.outputs = s.outputs.map { [x[0], x[1]] + Array($0.dropFirst()) }
    s.flops = s.flops.map { saturatingProduct([$0, x[1] ?? 1]) }
    return s
  }
}

// MARK: Older files

extension Recurrent {
  public static let keras3SubObjects = ["cell"]

  /// Keras 1's GRU applies the reset gate before the recurrent product.
  public static func upgradeKeras1(_ c: inout Keras1Config) {
    c.move("output_dim", "units")
    if c.className == "GRU", c.keys["reset_after"] == nil { c.keys["reset_after"] = .bool(false) }
  }

  /// Gate order of Keras 1's per-gate arrays as Keras 2 fuses them: LSTM i, f, c, o; GRU z, r, h.
  static let keras1Gates = ["LSTM": ["i", "f", "c", "o"], "GRU": ["z", "r", "h"]]

  /// Keras 1's per-gate arrays (`lstm_1_W_i`, `lstm_1_U_i`, `lstm_1_b_i`, ...; 12 for an LSTM,
  /// 9 for a GRU) read as the fused kernel, recurrent_kernel and bias Keras 2 loads, each
  /// concatenated along its last axis from its parts.
  public static func storedLayout(_ weights: [StoredWeight], _ file: WeightLayoutContext) -> [StoredWeight] {
    guard let gates = keras1Gates[file.className], weights.count == 3 * gates.count else { return weights }
    // Each part by its name suffix (`_W_i`, `_U_f`, `_b_c`); a file whose names do not follow
    // the pattern is left alone rather than guessed at.
    func part(_ kind: String, _ gate: String) -> StoredWeight? {
      weights.first { $0.shortName.hasSuffix("_\(kind)_\(gate)") }
    }
    var fused: [StoredWeight] = []
    for (kind, name) in [("W", "kernel"), ("U", "recurrent_kernel"), ("b", "bias")] {
      let parts = gates.compactMap { part(kind, $0) }
      guard parts.count == gates.count, let first = parts.first, !first.shape.isEmpty else { return weights }
      let rows = Array(first.shape.dropLast())
      guard parts.allSatisfy({ Array($0.shape.dropLast()) == rows && $0.dtype == first.dtype }) else { return weights }
      let width = parts.reduce(0) { $0 + ($1.shape.last ?? 0) }
      let prefix = first.name.split(separator: "/").dropLast().joined(separator: "/")
      fused.append(StoredWeight(
        name: (prefix.isEmpty ? "" : prefix + "/") + name, path: first.path, shape: rows + [width],
        dtype: first.dtype, elementSize: first.elementSize, parts: parts))
    }
    return fused
  }
}

extension RNNLayer {
  public static let keras3SubObjects = ["cell", "cells"]

  /// Keras 3 keeps stacked cells as `cell/cells/<snake_case class>[_n]`, counted per class in
  /// the cells' order.
  public static func keras3SubObjects(config: JSONValue) -> [String] {
    guard let cells = config["cell"]?["config"]?["cells"]?.array else { return keras3SubObjects }
    var counts: [String: Int] = [:]
    let names = cells.compactMap { $0["class_name"]?.string }.map { className -> String in
      let base = Keras3Layout.snakeCase(className)
      let n = counts[base, default: 0]
      counts[base] = n + 1
      return n == 0 ? base : "\(base)_\(n)"
    }
    return keras3SubObjects + names
  }
}

extension Bidirectional {
  public static let keras3SubObjects = ["forward_layer", "backward_layer"]

  /// Forward before backward, then the order inside the wrapped layers.
  public static func keras3SubObjects(config: JSONValue) -> [String] {
    keras3SubObjects + LayerRegistry.keras3SubObjects(wrapped: config["layer"]) + LayerRegistry.keras3SubObjects(wrapped: config["backward_layer"])
  }

  /// The forward layer's weights, then the backward layer's, each as the wrapped family reads them.
  public static func storedLayout(_ weights: [StoredWeight], _ file: WeightLayoutContext) -> [StoredWeight] {
    guard let inner = file.wrapped, weights.count % 2 == 0 else { return weights }
    let half = weights.count / 2
    return LayerRegistry.storedLayout(Array(weights[..<half]), inner) + LayerRegistry.storedLayout(Array(weights[half...]), inner)
  }
}

extension TimeDistributed {
  public static let keras3SubObjects = ["layer"]

  public static func keras3SubObjects(config: JSONValue) -> [String] {
    keras3SubObjects + LayerRegistry.keras3SubObjects(wrapped: config["layer"])
  }

  /// The wrapped layer's weights, as its family reads them.
  public static func storedLayout(_ weights: [StoredWeight], _ file: WeightLayoutContext) -> [StoredWeight] {
    file.wrapped.map { LayerRegistry.storedLayout(weights, $0) } ?? weights
  }
}
