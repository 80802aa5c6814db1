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

extension Dot: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let layer = self
    // Keras 3 caps the inverse norm at 1/epsilon (1e7); tf_keras's l2_normalize floors the
    // squared norm at 1e-12 (a cap of 1e6).
    let cap: Float = keras3 ? 1e7 : 1e6
    return Kernel { inputs, _ throws(RuntimeError) in
      guard inputs.count == 2 else { throw RuntimeError("Dot takes two inputs, got \(inputs.count)") }
      var (x, y) = (inputs[0].tensor, inputs[1].tensor)
      let (a, b): (Int, Int)
      do throws(ModelError) { (a, b) = try layer.axes(ranks: (x.rank, y.rank)) } catch { throw RuntimeError(error.message) }
      guard x.shape[0] == y.shape[0], x.shape[a] == y.shape[b] else { throw RuntimeError("Dot cannot contract \(x.shape) axis \(a) with \(y.shape) axis \(b)") }
      if layer.normalize {
        x = Elementwise.l2Normalized(x, axis: a, cap: cap)
        y = Elementwise.l2Normalized(y, axis: b, cap: cap)
      }
      return [Value(tensor: Elementwise.batchDot(x, y, axes: (a, b)), mask: nil)]
    }
  }
}
