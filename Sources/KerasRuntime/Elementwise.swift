import Foundation
import KerasModel

/// Normalization, reshaping and merge layers.
enum Elementwise {
  /// Applies `f` to `x` viewed as (outer, block), where the block is `axes` (moved last, in the
  /// order given) and outer every other axis; the result comes back in `x`'s own layout. `f` works on
  /// the last axis of a rank-2 tensor (softmax, normalizations).
  static func overTrailing(_ x: Tensor, axes moved: [Int], _ f: (Tensor) throws(RuntimeError) -> Tensor) throws(RuntimeError) -> Tensor {
    let keep = (0..<x.rank).filter { !moved.contains($0) }
    let permutation = keep + moved
    let block = moved.reduce(1) { $0 * x.shape[$1] }
    let identity = permutation == Array(0..<x.rank)
    let data = identity ? x.data : transposed(x.data, shape: x.shape, permutation: permutation)
    let y = try f(Tensor(shape: [x.count / max(1, block), block], data: data))
    if identity { return y.reshaped(x.shape) }
    var inverse = [Int](repeating: 0, count: x.rank)
    for (i, p) in permutation.enumerated() { inverse[p] = i }
    return Tensor(shape: x.shape, data: transposed(y.data, shape: permutation.map { x.shape[$0] }, permutation: inverse))
  }

  /// For every element of `shape`, the index of its parameter in a tensor over `axes` (sorted),
  /// as Keras broadcasts per-axis parameters (BatchNormalization's statistics...).
  static func parameterIndex(_ shape: [Int], axes: [Int]) -> [Int] {
    let count = shape.reduce(1, *)
    var strides = [Int](repeating: 1, count: shape.count)
    for a in stride(from: shape.count - 2, through: 0, by: -1) { strides[a] = strides[a + 1] * shape[a + 1] }
    var paramStrides = [Int](repeating: 0, count: shape.count)
    var acc = 1
    for a in axes.sorted().reversed() { paramStrides[a] = acc; acc *= shape[a] }
    return (0..<count).map { i in
      var p = 0
      for a in axes { p += ((i / strides[a]) % shape[a]) * paramStrides[a] }
      return p
    }
  }

  /// (x − mean[p]) · scale[p] + shift[p] per parameter index p: the affine step every
  /// normalization ends with. Over the last axis, rows split over the cores, and `epilogue` (an
  /// activation folded after it) applied to each block of rows while it is in cache.
  static func affine(_ x: Tensor, axes: [Int], scale: [Float], shift: [Float], epilogue: Activations.Elementwise? = nil) -> Tensor {
    if axes == [x.rank - 1] {
      // Row by row over the channels: a loop the compiler vectorises.
      let d = max(x.last, 1)
      let count = x.count
      guard count > 0 else { return x }
      let out = x.data.withUnsafeBufferPointer { xp in
        scale.withUnsafeBufferPointer { sp in
          shift.withUnsafeBufferPointer { tp in
            [Float](unsafeUninitializedCapacity: count) { o, initialized in
              let (xs, ss, ts, os) = (xp.baseAddress, sp.baseAddress, tp.baseAddress, o.baseAddress)
              let block = max(1, 4096 / d)
              Parallel.chunks(count / d, serialBelow: max(1, (1 << 15) / d)) { rows in
                for first in stride(from: rows.lowerBound, to: rows.upperBound, by: block) {
                  let end = min(first + block, rows.upperBound)
                  for row in first..<end {
                    let start = row * d
                    for c in 0..<d { os![start + c] = xs![start + c] * ss![c] + ts![c] }
                  }
                  epilogue?.applySerially(os! + first * d, (end - first) * d)
                }
              }
              initialized = count
            }
          }
        }
      }
      return Tensor(shape: x.shape, data: out)
    }
    let index = parameterIndex(x.shape, axes: axes)
    var out = x.data
    for i in out.indices { out[i] = out[i] * scale[index[i]] + shift[index[i]] }
    if let epilogue, !out.isEmpty { out.withUnsafeMutableBufferPointer { epilogue.apply($0.baseAddress!, $0.count) } }
    return Tensor(shape: x.shape, data: out)
  }

  /// Permute: `dims` are 1-based positions of the non-batch axes.
  static func permute(_ x: Tensor, dims: [Int]) -> Tensor {
    let permutation = [0] + dims
    return Tensor(shape: permutation.map { x.shape[$0] }, data: transposed(x.data, shape: x.shape, permutation: permutation))
  }

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

  /// Element-wise merge with NumPy broadcasting, in loops specialised to the operation.
  static func merge(_ inputs: [Tensor], _ op: ElementwiseMerge.Operation) throws(RuntimeError) -> Tensor {
    guard var acc = inputs.first else { throw RuntimeError("\(op) needs inputs") }
    for next in inputs.dropFirst() {
      switch op {
      case .subtract: acc = try combine(acc, next, Subtract())
      case .multiply: acc = try combine(acc, next, Multiply())
      case .maximum: acc = try combine(acc, next, Maximum())
      case .minimum: acc = try combine(acc, next, Minimum())
      case .add, .average: acc = try combine(acc, next, Add())
      }
    }
    if op == .average { acc = acc.map { $0 / Float(inputs.count) } }
    return acc
  }

  /// `f(a, b)` element by element, with NumPy broadcasting.
  static func broadcast(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) throws(RuntimeError) -> Tensor {
    try withoutActuallyEscaping(f) { f throws(RuntimeError) in try combine(a, b, Closure(f: f)) }
  }

  /// A binary operation on floats. ``combine(_:_:_:)`` is specialised to each conforming type,
  /// so the merges' operations are inlined into its loops: through a closure, every element
  /// was a call (ResNet50's 56×56×256 Add took 1.3 ms on one core).
  protocol BinaryOperation { func callAsFunction(_ a: Float, _ b: Float) -> Float }
  struct Add: BinaryOperation { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b } }
  struct Subtract: BinaryOperation { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b } }
  struct Multiply: BinaryOperation { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b } }
  struct Maximum: BinaryOperation { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { max(a, b) } }
  struct Minimum: BinaryOperation { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { min(a, b) } }
  struct Closure: BinaryOperation {
    let f: (Float, Float) -> Float
    func callAsFunction(_ a: Float, _ b: Float) -> Float { f(a, b) }
  }

  /// `op(a, b)` with NumPy broadcasting. Same shapes, and one side a row repeated over the
  /// other's last axis (a squeeze-and-excitation scale, a bias), run over the cores.
  static func combine<Op: BinaryOperation>(_ a: Tensor, _ b: Tensor, _ op: Op) throws(RuntimeError) -> Tensor {
    if a.shape == b.shape {
      let count = a.count
      return Tensor(shape: a.shape, data: a.data.withUnsafeBufferPointer { x in
        b.data.withUnsafeBufferPointer { y in
          [Float](unsafeUninitializedCapacity: count) { o, initialized in
            let (xs, ys, os) = (x.baseAddress, y.baseAddress, o.baseAddress)
            Parallel.chunks(count) { range in
              for i in range { os![i] = op(xs![i], ys![i]) }
            }
            initialized = count
          }
        }
      })
    }
    if let (big, row, rowFirst) = rowOperands(a, b) {
      let (count, c) = (big.count, big.last)
      let perSample = row.count > c
      let inner = count / max(big.shape[0], 1)
      return Tensor(shape: big.shape, data: big.data.withUnsafeBufferPointer { x in
        row.data.withUnsafeBufferPointer { r in
          [Float](unsafeUninitializedCapacity: count) { o, initialized in
            let (xs, rs, os) = (x.baseAddress, r.baseAddress, o.baseAddress)
            Parallel.chunks(count / c) { rows in
              for k in rows {
                let start = k * c
                let ys = rs! + (perSample ? start / inner * c : 0)
                if rowFirst {
                  for j in 0..<c { os![start + j] = op(ys[j], xs![start + j]) }
                } else {
                  for j in 0..<c { os![start + j] = op(xs![start + j], ys[j]) }
                }
              }
            }
            initialized = count
          }
        }
      })
    }
    if b.count == 1, b.rank <= a.rank { let v = b.data[0]; return a.map { op($0, v) } }
    if a.count == 1, a.rank <= b.rank { let v = a.data[0]; return b.map { op(v, $0) } }
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
      out[o] = op(a.data[ia], b.data[ib])
      advance(&index, in: shape)
    }
    return Tensor(shape: shape, data: out)
  }

  /// The operands when one side is the other's last-axis row repeated over the rest, per sample
  /// (`(B, H, W, C)` with `(B, 1, 1, C)` or `(C,)`): the larger one, the row(s), and whether
  /// the row is the first operand. Else nil.
  static func rowOperands(_ a: Tensor, _ b: Tensor) -> (big: Tensor, row: Tensor, rowFirst: Bool)? {
    func isRow(_ small: Tensor, of big: Tensor) -> Bool {
      guard small.rank <= big.rank, big.rank >= 2, small.last == big.last else { return false }
      let lead = Array(repeating: 1, count: big.rank - small.rank) + small.shape
      // Every axis 1 but the last, and maybe the batch.
      return lead.dropLast().dropFirst().allSatisfy { $0 == 1 } && (lead[0] == 1 || (lead[0] == big.shape[0] && small.rank == big.rank))
    }
    let operands: (Tensor, Tensor, Bool)
    if isRow(b, of: a), b.count < a.count { operands = (a, b, false) }
    else if isRow(a, of: b), a.count < b.count { operands = (b, a, true) }
    else { return nil }
    guard operands.0.count > 0, operands.1.count > 0, operands.0.last > 0 else { return nil }
    return operands
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

  /// `x` scaled along `axis` to unit L2 norm: `x · min(1/‖x‖, cap)`.
  static func l2Normalized(_ x: Tensor, axis: Int, cap: Float) -> Tensor {
    let inner = x.shape[(axis + 1)...].reduce(1, *)
    let n = x.shape[axis]
    let outer = x.count / (inner * n)
    var out = x.data
    for o in 0..<outer {
      for i in 0..<inner {
        let base = o * n * inner + i
        var sum: Float = 0
        for j in 0..<n { let v = out[base + j * inner]; sum += v * v }
        let scale = min(1 / sum.squareRoot(), cap)
        for j in 0..<n { out[base + j * inner] *= scale }
      }
    }
    return Tensor(shape: x.shape, data: out)
  }

  /// Keras's `batch_dot`: per sample, `x`'s axis `axes.0` contracted with `y`'s axis `axes.1`;
  /// the result holds `x`'s other axes, then `y`'s (a lone batch axis gains a 1).
  static func batchDot(_ x: Tensor, _ y: Tensor, axes: (Int, Int)) -> Tensor {
    let (a, b) = axes
    let xRest = (1..<x.rank).filter { $0 != a }, yRest = (1..<y.rank).filter { $0 != b }
    let xm = transposed(x.data, shape: x.shape, permutation: [0] + xRest + [a])
    let ym = transposed(y.data, shape: y.shape, permutation: [0, b] + yRest)
    let batch = x.shape[0], k = x.shape[a]
    let m = xRest.reduce(1) { $0 * x.shape[$1] }, n = yRest.reduce(1) { $0 * y.shape[$1] }
    var out = [Float](repeating: 0, count: batch * m * n)
    xm.withUnsafeBufferPointer { xp in
      ym.withUnsafeBufferPointer { yp in
        out.withUnsafeMutableBufferPointer { op in
          for i in 0..<batch {
            Linear.matmul(xp.baseAddress! + i * m * k, yp.baseAddress! + i * k * n, op.baseAddress! + i * m * n, m: m, k: k, n: n)
          }
        }
      }
    }
    var shape = [batch] + xRest.map { x.shape[$0] } + yRest.map { y.shape[$0] }
    if shape.count == 1 { shape.append(1) }
    return Tensor(shape: shape, data: out)
  }
}
