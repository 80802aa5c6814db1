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
      [Value(tensor: try Elementwise.concatenate(inputs.map(\.tensor), axis: axis), mask: Self.mask(inputs, axis: axis))]
    }
  }

  /// Keras's `Concatenate.compute_mask`: each input's mask (all kept without one) broadcast to
  /// the input, concatenated along the axis, then `any` over the last axis. Along time the steps'
  /// masks follow each other; along the features a step is kept where any input keeps it.
  static func mask(_ inputs: [Value], axis: Int) -> [Bool]? {
    guard inputs.contains(where: { $0.mask != nil }), let first = inputs.first, first.tensor.rank >= 3 else { return mergedMask(inputs) }
    let rank = first.tensor.rank, batch = first.tensor.shape[0]
    let a = axis < 0 ? axis + rank : axis
    func kept(_ v: Value) -> [Bool] {
      let steps = v.tensor.shape[1]
      guard let mask = v.mask, mask.count == batch * steps else { return [Bool](repeating: true, count: batch * steps) }
      return mask
    }
    if a == 1 {
      var out: [Bool] = []
      for b in 0..<batch {
        for v in inputs {
          let steps = v.tensor.shape[1]
          out += kept(v)[(b * steps)..<((b + 1) * steps)]
        }
      }
      return out
    }
    guard a == rank - 1, inputs.allSatisfy({ $0.tensor.rank == rank && $0.tensor.shape[1] == first.tensor.shape[1] }) else { return mergedMask(inputs) }
    var out = [Bool](repeating: false, count: batch * first.tensor.shape[1])
    for v in inputs {
      for (i, k) in kept(v).enumerated() where k { out[i] = true }
    }
    return out
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
