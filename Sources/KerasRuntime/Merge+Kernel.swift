import KerasModel

/// Keras merges masks with a logical AND (an input without a mask keeps every step).
func mergedMask(_ inputs: [Value]) -> [Bool]? {
  let masks = inputs.compactMap(\.mask)
  guard var merged = masks.first else { return nil }
  for m in masks.dropFirst() where m.count == merged.count { merged = zip(merged, m).map { $0 && $1 } }
  return merged
}

extension Concatenate: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let axis = axis
    return Kernel { inputs, _ throws(RuntimeError) in
      [Value(tensor: try Elementwise.concatenate(inputs.map(\.tensor), axis: axis), mask: mergedMask(inputs))]
    }
  }
}

extension ElementwiseMerge: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let operation = operation
    return Kernel { inputs, _ throws(RuntimeError) in
      [Value(tensor: try Elementwise.merge(inputs.map(\.tensor), operation), mask: mergedMask(inputs))]
    }
  }
}

extension MultiHeadAttention: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let useBias = useBias
    guard weights.count == (useBias ? 8 : 4) else { throw RuntimeError("MultiHeadAttention expects \(useBias ? 8 : 4) weights, got \(weights.count)") }
    return Kernel { inputs, call throws(RuntimeError) in
      if call.returnAttentionScores { throw RuntimeError("return_attention_scores is not supported") }
      return [Value(tensor: try Attention.multiHead(useBias: useBias, causal: call.useCausalMask, weights: weights, inputs: inputs), mask: inputs[0].mask)]
    }
  }
}
