/// Matrix products, the inner loops of Dense, the recurrent layers and convolution.
enum Linear {
  /// `c[m×n] = a[m×k] · b[k×n]` (+ `c` when `accumulate`), all row-major.
  ///
  /// i-k-j order: the innermost loop streams a row of `b` into a row of `c`, which the compiler
  /// vectorises; no allocation.
  static func matmul(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
    m: Int, k: Int, n: Int, accumulate: Bool = false
  ) {
    if !accumulate { c.update(repeating: 0, count: m * n) }
    for i in 0..<m {
      let row = c + i * n
      for p in 0..<k {
        let scale = a[i * k + p]
        if scale == 0 { continue }
        let bRow = b + p * n
        for j in 0..<n { row[j] += scale * bRow[j] }
      }
    }
  }

  /// `x[..., k] · w[k, n] + bias[n]` over the last axis of `x`.
  static func dense(_ x: Tensor, kernel: Tensor, bias: Tensor?) -> Tensor {
    let k = kernel.shape[0], n = kernel.shape[1]
    let m = x.count / k
    var out = [Float](repeating: 0, count: m * n)
    x.data.withUnsafeBufferPointer { xp in
      kernel.data.withUnsafeBufferPointer { wp in
        out.withUnsafeMutableBufferPointer { op in
          if let bias {
            for i in 0..<m { for j in 0..<n { op[i * n + j] = bias.data[j] } }
          }
          matmul(xp.baseAddress!, wp.baseAddress!, op.baseAddress!, m: m, k: k, n: n, accumulate: bias != nil)
        }
      }
    }
    return Tensor(shape: Array(x.shape.dropLast()) + [n], data: out)
  }
}
