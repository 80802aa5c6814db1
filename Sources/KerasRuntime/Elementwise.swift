import Foundation
import KerasModel

/// Normalization, reshaping and merge layers.
enum Elementwise {
  /// Resolves Keras's `axis` (int or list, possibly negative) against `rank`.
  static func axes(_ config: JSONValue, rank: Int) -> [Int] {
    (config["axis"]?.intList ?? [-1]).map { $0 < 0 ? $0 + rank : $0 }
  }

  /// BatchNormalization at inference: (x − mean) / √(var + ε) · γ + β along `axis`.
  static func batchNorm(_ x: Tensor, config: JSONValue, weights: [Tensor]) throws(RuntimeError) -> Tensor {
    let axis = axes(config, rank: x.rank)
    guard axis.count == 1 else { throw RuntimeError("BatchNormalization over several axes is not supported") }
    let a = axis[0]
    let eps = Float(config["epsilon"]?.double ?? 1e-3)
    let scale = config["scale"]?.bool ?? true, center = config["center"]?.bool ?? true
    var w = weights
    let gamma = scale ? w.removeFirst().data : nil
    let beta = center ? w.removeFirst().data : nil
    guard w.count == 2 else { throw RuntimeError("BatchNormalization weights do not match its config") }
    let (mean, variance) = (w[0].data, w[1].data)
    let d = x.shape[a]
    let inner = x.shape[(a + 1)...].reduce(1, *)
    var out = x.data
    for i in 0..<out.count {
      let c = (i / inner) % d
      var y = (out[i] - mean[c]) / (variance[c] + eps).squareRoot()
      if let gamma { y *= gamma[c] }
      if let beta { y += beta[c] }
      out[i] = y
    }
    return Tensor(shape: x.shape, data: out)
  }

  /// LayerNormalization over trailing axes: (x − μ) / √(σ² + ε) · γ + β.
  static func layerNorm(_ x: Tensor, config: JSONValue, weights: [Tensor]) throws(RuntimeError) -> Tensor {
    let axis = axes(config, rank: x.rank).sorted()
    guard !axis.isEmpty, axis == Array((x.rank - axis.count)..<x.rank) else {
      throw RuntimeError("LayerNormalization is supported over trailing axes only")
    }
    if config["rms_scaling"]?.bool == true { throw RuntimeError("LayerNormalization with rms_scaling is not supported") }
    let eps = Float(config["epsilon"]?.double ?? 1e-3)
    let scale = config["scale"]?.bool ?? true, center = config["center"]?.bool ?? true
    var w = weights
    let gamma = scale ? w.removeFirst().data : nil
    let beta = center ? w.removeFirst().data : nil
    let block = axis.map { x.shape[$0] }.reduce(1, *)
    var out = x.data
    for start in stride(from: 0, to: out.count, by: block) {
      var mean: Float = 0
      for i in 0..<block { mean += out[start + i] }
      mean /= Float(block)
      var variance: Float = 0
      for i in 0..<block { let d = out[start + i] - mean; variance += d * d }
      variance /= Float(block)
      let inv = 1 / (variance + eps).squareRoot()
      for i in 0..<block {
        var y = (out[start + i] - mean) * inv
        if let gamma { y *= gamma[i] }
        if let beta { y += beta[i] }
        out[start + i] = y
      }
    }
    return Tensor(shape: x.shape, data: out)
  }

  /// Permute: `dims` are 1-based positions of the non-batch axes.
  static func permute(_ x: Tensor, dims: [Int]) -> Tensor {
    let permutation = [0] + dims
    return Tensor(shape: permutation.map { x.shape[$0] }, data: transposed(x.data, shape: x.shape, permutation: permutation))
  }

  /// Pads (negative: crops) axis 1 (and 2 for 2-D) of a channels-last tensor with zeros.
  /// (batch, C, spatial...) to (batch, spatial..., C).
  static func channelsLast(_ x: Tensor) -> Tensor {
    guard x.rank >= 3 else { return x }
    return permute(x, dims: Array(2..<x.rank) + [1])
  }

  /// (batch, spatial..., C) to (batch, C, spatial...).
  static func channelsFirst(_ x: Tensor) -> Tensor {
    guard x.rank >= 3 else { return x }
    return permute(x, dims: [x.rank - 1] + Array(1..<(x.rank - 1)))
  }

  static func pad(_ x: Tensor, _ pads: [(Int, Int)]) -> Tensor {
    let x4 = Convolution.as2D(x)
    let p = x.rank == 3 ? [(0, 0)] + pads : pads
    let (batch, h, w, c) = (x4.shape[0], x4.shape[1], x4.shape[2], x4.shape[3])
    let (oh, ow) = (h + p[0].0 + p[0].1, w + p[1].0 + p[1].1)
    var out = [Float](repeating: 0, count: batch * max(0, oh) * max(0, ow) * c)
    for b in 0..<batch {
      for i in 0..<max(0, oh) {
        let y = i - p[0].0
        if y < 0 || y >= h { continue }
        for j in 0..<max(0, ow) {
          let xx = j - p[1].0
          if xx < 0 || xx >= w { continue }
          for k in 0..<c { out[((b * oh + i) * ow + j) * c + k] = x4.data[((b * h + y) * w + xx) * c + k] }
        }
      }
    }
    return Tensor(shape: x.rank == 3 ? [batch, ow, c] : [batch, oh, ow, c], data: out)
  }

  /// Element-wise merge with NumPy broadcasting.
  static func merge(_ inputs: [Tensor], _ op: String) throws(RuntimeError) -> Tensor {
    guard var acc = inputs.first else { throw RuntimeError("\(op) needs inputs") }
    for next in inputs.dropFirst() {
      acc = try broadcast(acc, next) { a, b in
        switch op {
        case "Subtract": a - b
        case "Multiply": a * b
        case "Maximum": max(a, b)
        case "Minimum": min(a, b)
        default: a + b
        }
      }
    }
    if op == "Average" { acc = acc.map { $0 / Float(inputs.count) } }
    return acc
  }

  static func broadcast(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) throws(RuntimeError) -> Tensor {
    if a.shape == b.shape { return Tensor(shape: a.shape, data: zip(a.data, b.data).map(f)) }
    let rank = max(a.rank, b.rank)
    let sa = Array(repeating: 1, count: rank - a.rank) + a.shape
    let sb = Array(repeating: 1, count: rank - b.rank) + b.shape
    var shape: [Int] = []
    for (x, y) in zip(sa, sb) {
      guard x == y || x == 1 || y == 1 else { throw RuntimeError("cannot broadcast \(a.shape) with \(b.shape)") }
      shape.append(max(x, y))
    }
    func strides(_ s: [Int]) -> [Int] {
      var st = [Int](repeating: 0, count: rank)
      var acc = 1
      for i in stride(from: rank - 1, through: 0, by: -1) { st[i] = s[i] == 1 ? 0 : acc; acc *= s[i] }
      return st
    }
    let (ta, tb) = (strides(sa), strides(sb))
    let count = shape.reduce(1, *)
    var out = [Float](repeating: 0, count: count)
    var index = [Int](repeating: 0, count: rank)
    for o in 0..<count {
      var ia = 0, ib = 0
      for k in 0..<rank { ia += index[k] * ta[k]; ib += index[k] * tb[k] }
      out[o] = f(a.data[ia], b.data[ib])
      advance(&index, in: shape)
    }
    return Tensor(shape: shape, data: out)
  }

  /// Concatenate along `axis`.
  static func concatenate(_ inputs: [Tensor], axis rawAxis: Int) throws(RuntimeError) -> Tensor {
    guard let first = inputs.first else { throw RuntimeError("Concatenate needs inputs") }
    let axis = rawAxis < 0 ? rawAxis + first.rank : rawAxis
    let outer = first.shape[..<axis].reduce(1, *)
    var shape = first.shape
    shape[axis] = inputs.reduce(0) { $0 + $1.shape[axis] }
    var out: [Float] = []
    out.reserveCapacity(shape.reduce(1, *))
    for o in 0..<outer {
      for t in inputs {
        let block = t.count / outer
        out += t.data[(o * block)..<((o + 1) * block)]
      }
    }
    return Tensor(shape: shape, data: out)
  }
}
