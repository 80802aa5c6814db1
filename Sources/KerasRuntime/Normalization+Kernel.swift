import Foundation
import KerasModel

/// Mean and variance of each row of a (rows, n) tensor.
private func moments(_ x: Tensor) -> [(mean: Float, variance: Float)] {
  let n = x.last
  return stride(from: 0, to: x.count, by: max(1, n)).map { start in
    var mean: Float = 0
    for i in start..<(start + n) { mean += x.data[i] }
    mean /= Float(n)
    var variance: Float = 0
    for i in start..<(start + n) { let d = x.data[i] - mean; variance += d * d }
    return (mean, variance / Float(n))
  }
}

/// Keras axes (possibly negative) as sorted non-negative ones.
func resolve(_ axes: [Int], _ rank: Int) -> [Int] { axes.map { $0 < 0 ? $0 + rank : $0 }.sorted() }

extension BatchNormalization: EpilogueFusable {
  /// At inference: (x − moving_mean) / √(moving_variance + ε) · γ + β, folded into one scale and shift.
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel { try kernel(weights: weights, keras3: keras3, epilogue: nil) }

  func kernel(weights: [Tensor], keras3: Bool, epilogue: Activations.Elementwise?) throws(RuntimeError) -> Kernel {
    let affine = try inferenceAffine(weights)
    let axis = axis
    return .unary { x in Elementwise.affine(x, axes: resolve(axis, x.rank), scale: affine.scale, shift: affine.shift, epilogue: epilogue) }
  }

  /// The layer at inference as one scale and shift per channel.
  func inferenceAffine(_ weights: [Tensor]) throws(RuntimeError) -> ChannelAffine {
    var w = weights
    guard w.count == (scale ? 1 : 0) + (center ? 1 : 0) + 2 else { throw RuntimeError("BatchNormalization weights do not match its config") }
    let gamma = scale ? w.removeFirst().data : nil
    let beta = center ? w.removeFirst().data : nil
    let (mean, variance) = (w[0].data, w[1].data)
    guard variance.count == mean.count, gamma.map({ $0.count == mean.count }) ?? true, beta.map({ $0.count == mean.count }) ?? true else {
      throw RuntimeError("BatchNormalization weights do not match its config")
    }
    var factor = [Float](repeating: 1, count: mean.count)
    var shift = [Float](repeating: 0, count: mean.count)
    for c in mean.indices {
      factor[c] = 1 / (variance[c] + Float(epsilon)).squareRoot() * (gamma?[c] ?? 1)
      shift[c] = (beta?[c] ?? 0) - mean[c] * factor[c]
    }
    return ChannelAffine(scale: factor, shift: shift)
  }
}

extension LayerNormalization: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    var w = weights
    guard w.count == (scale ? 1 : 0) + (center ? 1 : 0) else { throw RuntimeError("LayerNormalization weights do not match its config") }
    let gamma = scale ? w.removeFirst().data : nil
    let beta = center ? w.removeFirst().data : nil
    let (axis, eps, rms) = (axis, Float(epsilon), rmsScaling)
    return .unary { x throws(RuntimeError) in
      try Elementwise.overTrailing(x, axes: resolve(axis, x.rank)) { rows in
        var out = rows.data
        let n = rows.last
        for (r, m) in moments(rows).enumerated() {
          let inv = 1 / (m.variance + eps).squareRoot()
          for j in 0..<n {
            let i = r * n + j
            // rms_scaling (Keras 3): x / √(σ² + ε) · γ, x not centred.
            var y = rms ? out[i] * inv : (out[i] - m.mean) * inv
            if let gamma { y *= gamma[j] }
            if let beta { y += beta[j] }
            out[i] = y
          }
        }
        return Tensor(shape: rows.shape, data: out)
      }
    }
  }
}

extension GroupNormalization: RunnableLayer {
  /// Channels (moved last) split into groups; moments over every position and the group's channels.
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    var w = weights
    guard w.count == (scale ? 1 : 0) + (center ? 1 : 0) else { throw RuntimeError("GroupNormalization weights do not match its config") }
    let gamma = scale ? w.removeFirst().data : nil
    let beta = center ? w.removeFirst().data : nil
    let (axis, groups, eps) = (axis, groups, Float(epsilon))
    return .unary { x throws(RuntimeError) in
      let a = axis < 0 ? axis + x.rank : axis
      // Each sample as (positions, C) with the channel axis last.
      let others = (1..<x.rank).filter { $0 != a } + [a]
      return try Elementwise.overTrailing(x, axes: others) { samples in
        let c = x.shape[a]
        let positions = samples.last / c
        let per = c / groups
        var out = samples.data
        for s in 0..<samples.shape[0] {
          let base = s * samples.last
          for g in 0..<groups {
            var sum: Float = 0
            for p in 0..<positions { for k in 0..<per { sum += out[base + p * c + g * per + k] } }
            let count = Float(positions * per)
            let mean = sum / count
            var variance: Float = 0
            for p in 0..<positions { for k in 0..<per { let d = out[base + p * c + g * per + k] - mean; variance += d * d } }
            let inv = 1 / (variance / count + eps).squareRoot()
            for p in 0..<positions {
              for k in 0..<per {
                let ch = g * per + k, i = base + p * c + ch
                out[i] = (out[i] - mean) * inv * (gamma?[ch] ?? 1) + (beta?[ch] ?? 0)
              }
            }
          }
        }
        return Tensor(shape: samples.shape, data: out)
      }
    }
  }
}

extension UnitNormalization: RunnableLayer {
  /// x / max(‖x‖, 1e-12) in Keras 3; tf_keras's `l2_normalize`, x / √max(‖x‖², 1e-12).
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let axis = axis
    return .unary { x throws(RuntimeError) in
      try Elementwise.overTrailing(x, axes: resolve(axis, x.rank)) { rows in
        var out = rows.data
        let n = rows.last
        for start in stride(from: 0, to: out.count, by: max(1, n)) {
          var sq: Float = 0
          for i in start..<(start + n) { sq += out[i] * out[i] }
          let norm = keras3 ? max(sq.squareRoot(), 1e-12) : max(sq, 1e-12).squareRoot()
          for i in start..<(start + n) { out[i] /= norm }
        }
        return Tensor(shape: rows.shape, data: out)
      }
    }
  }
}

extension RMSNormalization: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    try requireWeights(weights, 1, "scale")
    let (scale, axis, eps) = (weights[0].data, axis, Float(epsilon))
    return .unary { x throws(RuntimeError) in
      try Elementwise.overTrailing(x, axes: resolve(axis, x.rank)) { rows in
        var out = rows.data
        let n = rows.last
        for start in stride(from: 0, to: out.count, by: max(1, n)) {
          var sq: Float = 0
          for i in start..<(start + n) { sq += out[i] * out[i] }
          let inv = 1 / (sq / Float(n) + eps).squareRoot()
          for j in 0..<n { out[start + j] *= inv * scale[j] }
        }
        return Tensor(shape: rows.shape, data: out)
      }
    }
  }
}

// MARK: Scales

extension LayerScale: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    try requireWeights(weights, 1, "gamma")
    let gamma = weights[0].data
    return .unary { x in Elementwise.affine(x, axes: [x.rank - 1], scale: gamma, shift: Array(repeating: 0, count: gamma.count)) }
  }
}

extension CustomScaleLayer: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let scale = Float(scale)
    return Kernel { inputs, _ throws(RuntimeError) in
      guard inputs.count == 2 else { throw RuntimeError("expects two inputs") }
      return [Value(tensor: try Elementwise.broadcast(inputs[0].tensor, inputs[1].tensor) { $0 + $1 * scale }, mask: nil)]
    }
  }
}
