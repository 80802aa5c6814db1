import KerasModel

/// Keras merges masks with a logical AND (an input without a mask keeps every step).
func mergedMask(_ inputs: [Value]) -> [Bool]? {
  let masks = inputs.compactMap(\.mask)
  guard var merged = masks.first else { return nil }
  for m in masks.dropFirst() where m.count == merged.count { merged = zip(merged, m).map { $0 && $1 } }
  return merged
}

/// The call's operands in order: its input tensors, with the numbers of an op node (`x + 3.0`:
/// Keras 3's `Add` on `[x, 3.0]`, tf.keras's TFOpLambda with `y=3.0`) as scalars in place.
func operands(_ inputs: [Value], _ call: CallArguments) throws(RuntimeError) -> [Tensor] {
  let tensors = inputs.map(\.tensor)
  guard !call.operands.isEmpty else { return tensors }
  var next = tensors.makeIterator()
  var result: [Tensor] = []
  for operand in call.operands {
    switch operand {
    case .constant(let c): result.append(Tensor(shape: [], data: [Float(c)]))
    case .tensor:
      guard let t = next.next() else { throw RuntimeError("has fewer input tensors than its arguments name") }
      result.append(t)
    }
  }
  return result
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
    return Kernel { inputs, call throws(RuntimeError) in
      [Value(tensor: try Elementwise.merge(try operands(inputs, call), operation), mask: mergedMask(inputs))]
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

extension TFOpLambda: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let function = function
    return Kernel { inputs, call throws(RuntimeError) in
      let tensors = try operands(inputs, call)
      let x = tensors[0]
      let y: Tensor
      switch function {
      case .relu: return [Value(tensor: x.map { max($0, 0) }, mask: inputs[0].mask)]
      case .relu6: return [Value(tensor: x.map { min(max($0, 0), 6) }, mask: inputs[0].mask)]
      case .sigmoid: return [Value(tensor: x.map(Activations.sigmoid), mask: inputs[0].mask)]
      case .tanh: return [Value(tensor: try Activations.apply(Activation(name: "tanh"), to: x, keras3: keras3), mask: inputs[0].mask)]
      default:
        guard tensors.count == 2 else { throw RuntimeError("tf.\(function.rawValue) needs two operands, got \(tensors.count)") }
        y = tensors[1]
      }
      let result = function == .divide
        ? try Elementwise.broadcast(x, y) { $0 / $1 }
        : try Elementwise.merge([x, y], function.merge ?? .add)
      return [Value(tensor: result, mask: mergedMask(inputs))]
    }
  }
}
