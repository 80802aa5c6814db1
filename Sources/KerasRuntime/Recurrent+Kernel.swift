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
    (wrapped.definition as? any ReversibleRecurrent)?.recurrentCells
  }

  func unsupportedReason(keras3: Bool) -> String? {
    for wrapped in [forward, backward] {
      if let convolutional = wrapped.definition as? ConvLSTM {
        if let reason = convolutional.unsupportedReason(keras3: keras3) { return "wrapped \(wrapped.className): \(reason)" }
        continue
      }
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
    if let f = forward.definition as? ConvLSTM {
      return try convolutionalKernel(f, weights: weights, keras3: keras3)
    }
    guard let f = forward.definition as? any ReversibleRecurrent, let b = backward.definition as? any ReversibleRecurrent else {
      throw RuntimeError("Bidirectional around a layer that is not recurrent")
    }
    let half = weights.count / 2
    let fd = f.withZeroOutputForMask(f.returnsSequences)
    let bd = customBackward ? b.withZeroOutputForMask(b.returnsSequences) : f.reversed(zeroOutputForMask: f.returnsSequences)
    let forwardStack = try RecurrentStack(fd.recurrentCells, weights: try fd.cellWeights(Array(weights[..<half])), keras3: keras3)
    let backwardStack = try RecurrentStack(bd.recurrentCells, weights: try bd.cellWeights(Array(weights[half...])), keras3: keras3)
    let mode = mergeMode
    return Kernel { inputs, _ throws(RuntimeError) in
      let x = inputs[0]
      let (forwardStates, backwardStates) = try Self.initialStates(inputs)
      let fo = try forwardStack.run(x, initialState: forwardStates.map(\.tensor))
      let bo = try backwardStack.run(x, initialState: backwardStates.map(\.tensor))
      var yr = bo[0]
      if backwardStack.returnSequences { yr = reverseTime(yr) }
      let mask = forwardStack.returnSequences ? x.mask : nil
      return try Self.merged(fo[0], yr, mode: mode, mask: mask, states: Array(fo.dropFirst() + bo.dropFirst()))
    }
  }

  /// `Bidirectional(...)(x, initial_state=states)`: the call's inputs after the sequence, the
  /// first half for the forward layer, the second half for the backward one (Keras's split).
  static func initialStates(_ inputs: [Value]) throws(RuntimeError) -> (forward: [Value], backward: [Value]) {
    let initial = Array(inputs.dropFirst())
    guard initial.count % 2 == 0 else {
      throw RuntimeError("Bidirectional got \(initial.count) initial states; Keras splits them in half between its two layers")
    }
    return (Array(initial[..<(initial.count / 2)]), Array(initial[(initial.count / 2)...]))
  }

  /// The two directions' outputs merged by `merge_mode`, then the forward and backward states.
  static func merged(_ y: Tensor, _ yr: Tensor, mode: MergeMode?, mask: [Bool]?, states: [Tensor]) throws(RuntimeError) -> [Value] {
    let states = states.map { Value(tensor: $0, mask: nil) }
    switch mode {
    case nil: return [Value(tensor: y, mask: mask), Value(tensor: yr, mask: mask)] + states
    case .concat: return [Value(tensor: try Elementwise.concatenate([y, yr], axis: -1), mask: mask)] + states
    case .sum: return [Value(tensor: try Elementwise.merge([y, yr], .add), mask: mask)] + states
    case .mul: return [Value(tensor: try Elementwise.merge([y, yr], .multiply), mask: mask)] + states
    case .ave: return [Value(tensor: try Elementwise.merge([y, yr], .average), mask: mask)] + states
    }
  }

  /// Around a ConvLSTM: the backward copy is `backward_layer`, or the forward layer with
  /// `go_backwards` flipped (Keras's copy); its returned sequence is reversed back before merging.
  /// Initial states: the first half starts the forward layer, the second half the backward one.
  func convolutionalKernel(_ f: ConvLSTM, weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    guard let b = backward.definition as? ConvLSTM else { throw RuntimeError("Bidirectional around a ConvLSTM and a \(backward.className)") }
    // The forward layer's own weights first (a backward_layer may differ in use_bias).
    let half = f.useBias ? 3 : 2
    guard weights.count >= half else { throw RuntimeError("Bidirectional ConvLSTM expects its forward layer's \(half) weights, got \(weights.count)") }
    let forwardKernel = try f.kernel(weights: Array(weights[..<half]), keras3: keras3)
    let backwardKernel = customBackward
      ? try b.kernel(weights: Array(weights[half...]), keras3: keras3)
      : try f.kernel(weights: Array(weights[half...]), keras3: keras3, readsBackwards: !f.goBackwards)
    let (mode, sequences) = (mergeMode, (customBackward ? b : f).returnSequences)
    return Kernel { inputs, call throws(RuntimeError) in
      let x = inputs[0]
      let (forwardStates, backwardStates) = try Self.initialStates(inputs)
      let fo = try forwardKernel.run([x] + forwardStates, call)
      let bo = try backwardKernel.run([x] + backwardStates, call)
      let yr = sequences ? reverseTime(bo[0].tensor) : bo[0].tensor
      return try Self.merged(fo[0].tensor, yr, mode: mode, mask: nil, states: (fo.dropFirst() + bo.dropFirst()).map(\.tensor))
    }
  }
}

/// A recurrent definition Bidirectional can copy reading time the other way.
protocol ReversibleRecurrent: LayerDefinition {
  var returnsSequences: Bool { get }
  var recurrentCells: [Recurrent] { get }
  func reversed(zeroOutputForMask: Bool) -> Self
  func withZeroOutputForMask(_ zero: Bool) -> Self
  /// The cells' weights from the layer's stored ones (the same, but for cuDNN's layout).
  func cellWeights(_ weights: [Tensor]) throws(RuntimeError) -> [Tensor]
}

extension ReversibleRecurrent {
  func cellWeights(_ weights: [Tensor]) throws(RuntimeError) -> [Tensor] { weights }
}

extension CuDNNRecurrent: ReversibleRecurrent {
  var returnsSequences: Bool { equivalent.returnSequences }
  var recurrentCells: [Recurrent] { [equivalent] }

  /// Keras 2's `_convert_rnn_weights` from cuDNN: each gate's input kernel read as cuDNN reads
  /// it (its values in C order as a units × features matrix, transposed back), each recurrent
  /// kernel transposed, and the LSTM's two biases summed (the GRU's kept as two rows).
  func cellWeights(_ weights: [Tensor]) throws(RuntimeError) -> [Tensor] {
    let (u, g) = (equivalent.units, equivalent.kind.gates)
    guard weights.count == 3, weights[0].rank == 2, weights[0].shape[1] == g * u, weights[1].shape == [u, g * u], weights[2].count == 2 * g * u else {
      throw RuntimeError("\(equivalent.kind == .lstm ? "CuDNNLSTM" : "CuDNNGRU") expects kernel (n, \(g * u)), recurrent_kernel (\(u), \(g * u)) and bias (\(2 * g * u)), got \(weights.map(\.shape))")
    }
    let n = weights[0].shape[0]
    var kernel = [Float](repeating: 0, count: n * g * u), recurrent = [Float](repeating: 0, count: u * g * u)
    for gate in 0..<g {
      // The gate's block in C order: values[i·u + j] = k[i][gate·u + j].
      var block = [Float](repeating: 0, count: n * u)
      for i in 0..<n { for j in 0..<u { block[i * u + j] = weights[0].data[i * g * u + gate * u + j] } }
      // cuDNN's W (units × n) is that block row-major; Keras's kernel is Wᵀ.
      for i in 0..<n { for j in 0..<u { kernel[i * g * u + gate * u + j] = block[j * n + i] } }
      for i in 0..<u { for j in 0..<u { recurrent[i * g * u + gate * u + j] = weights[1].data[j * g * u + gate * u + i] } }
    }
    let b = weights[2].data
    let bias = equivalent.kind == .lstm
      ? Tensor(shape: [g * u], data: (0..<(g * u)).map { b[$0] + b[g * u + $0] })
      : Tensor(shape: [2, g * u], data: b)
    return [Tensor(shape: [n, g * u], data: kernel), Tensor(shape: [u, g * u], data: recurrent), bias]
  }
}

extension CuDNNRecurrent: RunnableLayer {
  func unsupportedReason(keras3: Bool) -> String? { equivalent.unsupportedReason(keras3: keras3) }

  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    RecurrentStack.kernel(try RecurrentStack([equivalent], weights: try cellWeights(weights), keras3: keras3))
  }
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

extension ConvLSTM: RunnableLayer {
  func unsupportedReason(keras3: Bool) -> String? {
    if stateful { return "stateful recurrent layers are not supported" }
    return Activations.unsupported(activation, recurrentActivation)
  }

  /// Keras's ConvLSTMCell at every step: the input convolution of all steps at once (the four
  /// gates are the kernel's output channels), then per step the recurrent convolution of h
  /// (stride 1, `same`), i = σ(x_i + h_i), f = σ(x_f + h_f), c = f·c + i·act(x_c + h_c),
  /// o = σ(x_o + h_o), h = o·act(c). Channels-first tensors are moved channels-last around it.
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    try kernel(weights: weights, keras3: keras3, readsBackwards: goBackwards)
  }

  /// The kernel reading time forwards or backwards (Bidirectional's backward copy flips it).
  func kernel(weights: [Tensor], keras3: Bool, readsBackwards: Bool) throws(RuntimeError) -> Kernel {
    try requireWeights(weights, 2, "kernel and recurrent_kernel")
    let (w, u, b) = (weights[0], weights[1], optionalBias(weights, after: 2, useBias))
    guard let act = Activations.Elementwise(activation.name, keras3: keras3), let rec = Activations.Elementwise(recurrentActivation.name, keras3: keras3) else {
      throw RuntimeError("activation \(activation.name) or \(recurrentActivation.name) is not supported in ConvLSTM")
    }
    let layer = self
    let recurrentWindow = Window(kernel: window.kernel, strides: Array(repeating: 1, count: rank), dilation: Array(repeating: 1, count: rank), padding: .same)
    func conv(_ x: Tensor, _ kernel: Tensor, _ bias: Tensor?, _ window: Window) -> Tensor {
      layer.rank == 3
        ? VolumeKernels.conv(x, kernel: kernel, bias: bias, window: window)
        : ConvolutionKernels.conv(x, kernel: kernel, bias: bias, geometry: ConvolutionKernels.planar(window), groups: 1)
    }
    return Kernel { inputs, _ throws(RuntimeError) in
      guard let input = inputs.first else { throw RuntimeError("ConvLSTM has no input") }
      if input.mask != nil { throw RuntimeError("masked ConvLSTM inputs are not supported") }
      var x = input.tensor
      guard x.rank == layer.rank + 3 else { throw RuntimeError("ConvLSTM input must have rank \(layer.rank + 3), got \(x.shape)") }
      let (batch, steps) = (x.shape[0], x.shape[1])
      // (B, T, ...) folded to (B·T, ...), channels last.
      var folded = x.reshaped([batch * steps] + Array(x.shape.dropFirst(2)))
      if layer.dataFormat == .channelsFirst { folded = Elementwise.channelsLast(folded) }
      x = conv(folded, w, b, layer.window)
      let stateShape = [batch] + Array(x.shape.dropFirst().dropLast()) + [layer.filters]
      let f = layer.filters, positions = stateShape.dropFirst().dropLast().reduce(1, *)
      let perStep = positions * 4 * f
      var h = Tensor(zeros: stateShape), c = [Float](repeating: 0, count: h.count)
      // `initial_state=[h, c]`: the states in the layer's data format.
      let initial = inputs.dropFirst().map(\.tensor)
      if !initial.isEmpty {
        let given = initial.map { layer.dataFormat == .channelsFirst ? Elementwise.channelsLast($0) : $0 }
        guard given.count == 2, given.allSatisfy({ $0.shape == stateShape }) else {
          throw RuntimeError("ConvLSTM initial states \(initial.map(\.shape)) do not fit its states (h and c of \(stateShape), channels last)")
        }
        h = given[0]
        c = given[1].data
      }
      var sequence = [[Float]](repeating: [], count: steps)
      var gates = [Float](repeating: 0, count: 4)
      for step in 0..<steps {
        let t = readsBackwards ? steps - 1 - step : step
        let r = conv(h, u, nil, recurrentWindow).data
        var next = h.data
        for bi in 0..<batch {
          let xBase = (bi * steps + t) * perStep
          for p in 0..<positions {
            let g = (bi * positions + p) * 4 * f, s = (bi * positions + p) * f
            for k in 0..<f {
              for q in 0..<4 { gates[q] = x.data[xBase + p * 4 * f + q * f + k] + r[g + q * f + k] }
              let i = rec.scalar(gates[0]), fo = rec.scalar(gates[1]), cc = act.scalar(gates[2]), o = rec.scalar(gates[3])
              let cell = fo * c[s + k] + i * cc
              c[s + k] = cell
              next[s + k] = o * act.scalar(cell)
            }
          }
        }
        h = Tensor(shape: stateShape, data: next)
        if layer.returnSequences { sequence[step] = next }
      }
      func channelsFirst(_ t: Tensor) -> Tensor { layer.dataFormat == .channelsFirst ? Elementwise.channelsFirst(t) : t }
      var result: [Tensor]
      if layer.returnSequences {
        // (T, B, ...) in processing order to (B, T, ...).
        let per = h.count / batch
        var data = [Float](repeating: 0, count: batch * steps * per)
        for step in 0..<steps { for bi in 0..<batch { for j in 0..<per { data[(bi * steps + step) * per + j] = sequence[step][bi * per + j] } } }
        let seq = channelsFirst(Tensor(shape: [batch * steps] + Array(stateShape.dropFirst()), data: data))
        result = [seq.reshaped([batch, steps] + Array(seq.shape.dropFirst()))]
      } else {
        result = [channelsFirst(h)]
      }
      if layer.returnState { result += [channelsFirst(h), channelsFirst(Tensor(shape: stateShape, data: c))] }
      return result.map { Value(tensor: $0, mask: nil) }
    }
  }
}
