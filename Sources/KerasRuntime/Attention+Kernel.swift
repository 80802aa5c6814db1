import KerasModel

extension MultiHeadAttention: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let layer = self
    let expected = (useGate ? 5 : 4) * (useBias ? 2 : 1)
    guard weights.count == expected else { throw RuntimeError("MultiHeadAttention expects \(expected) weights, got \(weights.count)") }
    return Kernel { inputs, call throws(RuntimeError) in
      guard let query = inputs.first else { throw RuntimeError("MultiHeadAttention needs query and value") }
      let axes: [Int]
      do throws(ModelError) { axes = try layer.attentionAxes(rank: query.tensor.rank) } catch { throw RuntimeError(error.message) }
      let (out, scores) = try Attention.multiHead(
        layer, axes: axes, causal: call.useCausalMask, weights: weights, inputs: inputs,
        attentionMask: call.attentionMask, scores: call.returnAttentionScores, keras3: keras3)
      return [Value(tensor: out, mask: query.mask)] + (scores.map { [Value(tensor: $0, mask: nil)] } ?? [])
    }
  }
}

extension GroupedQueryAttention: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let layer = self
    return Kernel { inputs, call throws(RuntimeError) in
      let (out, scores) = try Attention.groupedQuery(
        layer, causal: call.useCausalMask, weights: weights, inputs: inputs, attentionMask: call.attentionMask, scores: call.returnAttentionScores)
      return [Value(tensor: out, mask: inputs[0].mask)] + (scores.map { [Value(tensor: $0, mask: nil)] } ?? [])
    }
  }
}

extension ScoreAttention: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let layer = self
    return Kernel { inputs, call throws(RuntimeError) in
      let (out, scores) = try Attention.scored(layer, causal: layer.causal || call.useCausalMask, weights: weights, inputs: inputs, scores: call.returnAttentionScores)
      return [Value(tensor: out, mask: inputs[0].mask)] + (scores.map { [Value(tensor: $0, mask: nil)] } ?? [])
    }
  }
}

extension EinsumDense: RunnableLayer {
  func unsupportedReason(keras3: Bool) -> String? { Activations.unsupported(activation) }

  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let layer = self
    guard let kernel = weights.first else { throw RuntimeError("EinsumDense expects a kernel") }
    let bias = biasAxes != nil && weights.count > 1 ? weights[1] : nil
    let prepared = try EinsumKernel(input: inputSpec, kernelSpec: kernelSpec, kernel: kernel, output: outputSpec)
    return Kernel { inputs, _ throws(RuntimeError) in
      guard let x = inputs.first else { throw RuntimeError("EinsumDense has no input") }
      // The ellipsis stands for the axes the equation does not name, one placeholder each.
      let elided = x.tensor.rank - layer.inputSpec.count
      guard elided >= 0, layer.ellipsis != .none || elided == 0 else { throw RuntimeError("EinsumDense equation \(layer.equation) does not fit input \(x.tensor.shape)") }
      let extra = (0..<elided).map { i in Character(UnicodeScalar(0x2460 + i)!) }
      let (input, output) = layer.ellipsis == .left
        ? (extra + layer.inputSpec, extra + layer.outputSpec)
        : (layer.inputSpec + extra, layer.outputSpec + extra)
      let plan = try EinsumPlan(input: input, inputShape: x.tensor.shape, kernel: prepared, output: output)
      var y = plan.run(x.tensor)
      if let bias { y = try Elementwise.broadcast(y, bias, +) }
      return [Value(tensor: try Activations.apply(layer.activation, to: y, keras3: keras3), mask: x.mask)]
    }
  }
}
