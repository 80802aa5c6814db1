import KerasModel

extension Recurrent: RunnableLayer {
  func unsupportedReason(keras3: Bool) -> String? {
    if stateful { return "stateful recurrent layers are not supported" }
    return Activations.unsupported(activation, recurrentActivation)
  }

  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let layer = try RecurrentLayer(self, weights: weights, keras3: keras3)
    return Kernel { inputs, _ throws(RuntimeError) in
      let x = inputs[0]
      // `layer(x, initial_state=[h, c])`: the states arrive as the call's further inputs.
      let outs = try layer.run(x, initialState: inputs.dropFirst().map(\.tensor))
      return outs.enumerated().map { i, t in Value(tensor: t, mask: i == 0 && layer.returnSequences ? x.mask : nil) }
    }
  }
}

extension Bidirectional: RunnableLayer {
  func unsupportedReason(keras3: Bool) -> String? {
    for wrapped in [forward, backward] {
      guard let inner = wrapped.definition as? Recurrent else { return "Bidirectional around \(wrapped.className)" }
      if inner.returnState { return "Bidirectional with return_state is not supported" }
      if let reason = inner.unsupportedReason(keras3: keras3) { return "wrapped \(wrapped.className): \(reason)" }
    }
    return nil
  }

  /// Forward and backward copies of an RNN; the backward one reads time reversed and, with
  /// return_sequences, its outputs are reversed back before merging. Masked steps output zeros
  /// when sequences are returned (Keras forces zero_output_for_mask = return_sequences).
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    guard let f = forward.definition as? Recurrent, let b = backward.definition as? Recurrent else {
      throw RuntimeError("Bidirectional around a layer that is not recurrent")
    }
    let half = weights.count / 2
    let fd = f.withZeroOutputForMask(f.returnSequences)
    let bd = customBackward ? b.withZeroOutputForMask(b.returnSequences) : f.reversed(zeroOutputForMask: f.returnSequences)
    let forwardLayer = try RecurrentLayer(fd, weights: Array(weights[..<half]), keras3: keras3)
    let backwardLayer = try RecurrentLayer(bd, weights: Array(weights[half...]), keras3: keras3)
    let mode = mergeMode
    return Kernel { inputs, _ throws(RuntimeError) in
      let x = inputs[0]
      let y = try forwardLayer.run(x)[0]
      var yr = try backwardLayer.run(x)[0]
      if backwardLayer.returnSequences { yr = reverseTime(yr) }
      let mask = forwardLayer.returnSequences ? x.mask : nil
      switch mode {
      case nil: return [Value(tensor: y, mask: mask), Value(tensor: yr, mask: mask)]
      case .concat: return [Value(tensor: try Elementwise.concatenate([y, yr], axis: -1), mask: mask)]
      case .sum: return [Value(tensor: try Elementwise.merge([y, yr], .add), mask: mask)]
      case .mul: return [Value(tensor: try Elementwise.merge([y, yr], .multiply), mask: mask)]
      case .ave: return [Value(tensor: try Elementwise.merge([y, yr], .average), mask: mask)]
      }
    }
  }
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
