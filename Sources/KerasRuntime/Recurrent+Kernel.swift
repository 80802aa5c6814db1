import KerasModel

/// Recurrent layers run in turn on one sequence: a lone LSTM/GRU/SimpleRNN, or the cells of an
/// `RNN` (each step of a stacked cell runs every cell; run cell by cell over the whole sequence,
/// it computes the same). The first layer may read time backwards; the others then see the
/// sequence, and its mask, in that reversed order.
struct RecurrentStack: Sendable {
  let layers: [RecurrentLayer]
  /// States each layer carries (LSTM 2, GRU and SimpleRNN 1).
  let stateCounts: [Int]

  init(_ cells: [Recurrent], weights: [Tensor], keras3: Bool) throws(RuntimeError) {
    var layers: [RecurrentLayer] = []
    var next = 0
    for cell in cells {
      let count = cell.useBias ? 3 : 2
      guard next + count <= weights.count else { throw RuntimeError("recurrent cells expect \(cells.count) sets of weights, got \(weights.count) weights") }
      layers.append(try RecurrentLayer(cell, weights: Array(weights[next..<(next + count)]), keras3: keras3))
      next += count
    }
    self.layers = layers
    stateCounts = cells.map(\.kind.states)
  }

  var returnSequences: Bool { layers.last?.returnSequences ?? false }

  /// The output, then (with return_state) every layer's final states in order. `initialState`:
  /// every layer's states in order, or none.
  func run(_ input: Value, initialState: [Tensor] = []) throws(RuntimeError) -> [Tensor] {
    guard initialState.isEmpty || initialState.count == stateCounts.reduce(0, +) else {
      throw RuntimeError("recurrent layer got \(initialState.count) initial states, expected \(stateCounts.reduce(0, +))")
    }
    var x = input
    var states: [Tensor] = []
    var offset = 0
    for (i, layer) in layers.enumerated() {
      let initial = initialState.isEmpty ? [] : Array(initialState[offset..<(offset + stateCounts[i])])
      offset += stateCounts[i]
      let outs = try layer.run(x, initialState: initial)
      states += outs.dropFirst()
      if i == layers.count - 1 { return [outs[0]] + states }
      var mask = x.mask
      if layer.goBackwards, let m = mask, let steps = x.tensor.shape.dropFirst().first, steps > 0 {
        mask = (0..<m.count).map { m[($0 / steps) * steps + steps - 1 - $0 % steps] }
      }
      x = Value(tensor: outs[0], mask: mask)
    }
    return []
  }
}

extension Recurrent: RunnableLayer {
  func unsupportedReason(keras3: Bool) -> String? {
    if stateful { return "stateful recurrent layers are not supported" }
    return Activations.unsupported(activation, recurrentActivation)
  }

  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    RecurrentStack.kernel(try RecurrentStack([self], weights: weights, keras3: keras3))
  }
}

extension RNNLayer: RunnableLayer {
  func unsupportedReason(keras3: Bool) -> String? {
    cells.lazy.compactMap { $0.unsupportedReason(keras3: keras3) }.first
  }

  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    RecurrentStack.kernel(try RecurrentStack(cells, weights: weights, keras3: keras3))
  }
}

extension RecurrentStack {
  static func kernel(_ stack: RecurrentStack) -> Kernel {
    Kernel { inputs, _ throws(RuntimeError) in
      let x = inputs[0]
      // `layer(x, initial_state=[h, c])`: the states arrive as the call's further inputs.
      let outs = try stack.run(x, initialState: inputs.dropFirst().map(\.tensor))
      return outs.enumerated().map { i, t in Value(tensor: t, mask: i == 0 && stack.returnSequences ? x.mask : nil) }
    }
  }
}

extension Bidirectional: RunnableLayer {
  /// The wrapped layer's cells: a recurrent layer or an RNN.
  static func cells(_ wrapped: WrappedLayer) -> [Recurrent]? {
    if let r = wrapped.definition as? Recurrent { return [r] }
    return (wrapped.definition as? RNNLayer)?.cells
  }

  func unsupportedReason(keras3: Bool) -> String? {
    for wrapped in [forward, backward] {
      guard let cells = Self.cells(wrapped) else { return "Bidirectional around \(wrapped.className)" }
      if let reason = cells.lazy.compactMap({ $0.unsupportedReason(keras3: keras3) }).first { return "wrapped \(wrapped.className): \(reason)" }
    }
    return nil
  }

  /// Forward and backward copies of an RNN; the backward one reads time reversed and, with
  /// return_sequences, its outputs are reversed back before merging. Masked steps output zeros
  /// when sequences are returned (Keras forces zero_output_for_mask = return_sequences). With
  /// return_state, the forward states then the backward states follow the merged output.
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    guard let f = forward.definition as? any ReversibleRecurrent, let b = backward.definition as? any ReversibleRecurrent else {
      throw RuntimeError("Bidirectional around a layer that is not recurrent")
    }
    let half = weights.count / 2
    let fd = f.withZeroOutputForMask(f.returnsSequences)
    let bd = customBackward ? b.withZeroOutputForMask(b.returnsSequences) : f.reversed(zeroOutputForMask: f.returnsSequences)
    let forwardStack = try RecurrentStack(fd.recurrentCells, weights: Array(weights[..<half]), keras3: keras3)
    let backwardStack = try RecurrentStack(bd.recurrentCells, weights: Array(weights[half...]), keras3: keras3)
    let mode = mergeMode
    return Kernel { inputs, _ throws(RuntimeError) in
      let x = inputs[0]
      let fo = try forwardStack.run(x)
      let bo = try backwardStack.run(x)
      let y = fo[0]
      var yr = bo[0]
      if backwardStack.returnSequences { yr = reverseTime(yr) }
      let mask = forwardStack.returnSequences ? x.mask : nil
      let states = (fo.dropFirst() + bo.dropFirst()).map { Value(tensor: $0, mask: nil) }
      switch mode {
      case nil: return [Value(tensor: y, mask: mask), Value(tensor: yr, mask: mask)] + states
      case .concat: return [Value(tensor: try Elementwise.concatenate([y, yr], axis: -1), mask: mask)] + states
      case .sum: return [Value(tensor: try Elementwise.merge([y, yr], .add), mask: mask)] + states
      case .mul: return [Value(tensor: try Elementwise.merge([y, yr], .multiply), mask: mask)] + states
      case .ave: return [Value(tensor: try Elementwise.merge([y, yr], .average), mask: mask)] + states
      }
    }
  }
}

/// A recurrent definition Bidirectional can copy reading time the other way.
protocol ReversibleRecurrent: LayerDefinition {
  var returnsSequences: Bool { get }
  var recurrentCells: [Recurrent] { get }
  func reversed(zeroOutputForMask: Bool) -> Self
  func withZeroOutputForMask(_ zero: Bool) -> Self
}

extension Recurrent: ReversibleRecurrent {
  var returnsSequences: Bool { returnSequences }
  var recurrentCells: [Recurrent] { [self] }
}

extension RNNLayer: ReversibleRecurrent {
  var returnsSequences: Bool { returnSequences }
  var recurrentCells: [Recurrent] { cells }
}

extension TimeDistributed: RunnableLayer {
  func unsupportedReason(keras3: Bool) -> String? {
    guard let inner = inner.definition as? any RunnableLayer else { return "wrapped \(inner.className): no native kernel" }
    return inner.unsupportedReason(keras3: keras3).map { "wrapped \(self.inner.className): \($0)" }
  }

  /// The wrapped layer on (batch · time, ...), reshaped back to (batch, time, ...).
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    guard let runnable = inner.definition as? any RunnableLayer else { throw RuntimeError("no native kernel for \(inner.className)") }
    let wrapped = try runnable.kernel(weights: weights, keras3: keras3)
    return Kernel { inputs, call throws(RuntimeError) in
      let x = inputs[0]
      let (batch, steps) = (x.tensor.shape[0], x.tensor.shape[1])
      let folded = x.tensor.reshaped([batch * steps] + Array(x.tensor.shape.dropFirst(2)))
      let outs = try wrapped.run([Value(tensor: folded, mask: nil)], call)
      return outs.map { v in Value(tensor: v.tensor.reshaped([batch, steps] + Array(v.tensor.shape.dropFirst())), mask: x.mask) }
    }
  }
}
