import CKernels
#if canImport(Glibc)
  import Glibc
#endif

/// Matrix products, the inner loops of Dense, the recurrent layers and convolution.
enum Linear {
  /// Products smaller than this many multiply-adds run on one core: waking a second costs more.
  static let parallelThreshold = 1 << 21

  /// `c[m×n] = a[m×k] · b[k×n]` (+ `c` when `accumulate`), all row-major, without allocating.
  /// Rows of `a` are `lda` apart (default `k`; less than `k` lets rows overlap, as the windows of
  /// a convolution do).
  ///
  /// Large products split their columns (in multiples of 16, the kernel's block) over the cores.
  static func matmul(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
    m: Int, k: Int, n: Int, accumulate: Bool = false, lda: Int? = nil, ldb: Int? = nil, columns: Int? = nil
  ) {
    if !accumulate { c.update(repeating: 0, count: m * n) }
    let lda = lda ?? k
    // A sub-block: only the first `columns` columns of b (row stride `ldb`) into c (row stride n).
    if let columns {
      ckernels_sgemm(a, b, c, m, k, columns, lda, ldb ?? n, n)
      return
    }
    let work = m * k * n
    let cores = ProcessInfoCores.count
    guard cores > 1, work >= parallelThreshold, n >= 32 else {
      ckernels_sgemm(a, b, c, m, k, n, lda, n, n)
      return
    }
    let parts = min(cores, n / 16)
    let width = ((n / parts + 15) / 16) * 16
    let (sa, sb, sc) = (UInt(bitPattern: a), UInt(bitPattern: b), UInt(bitPattern: c))
    Parallel.perform(iterations: parts) { part in
      let start = part * width
      let end = min(n, start + width)
      guard start < end else { return }
      let a = UnsafePointer<Float>(bitPattern: sa)!, b = UnsafePointer<Float>(bitPattern: sb)!, c = UnsafeMutablePointer<Float>(bitPattern: sc)!
      ckernels_sgemm(a, b + start, c + start, m, k, end - start, lda, n, n)
    }
  }

  /// `c[m×n] (+)= a[m×k] · b`, with `b` packed once beforehand: the products of recurrent steps
  /// and convolution windows reuse one weight matrix many times, and packing it on every call
  /// would copy it as often. Columns split over the cores in whole 32-column panels.
  static func matmul(
    _ a: UnsafePointer<Float>, packed b: PackedMatrix, _ c: UnsafeMutablePointer<Float>,
    m: Int, accumulate: Bool = false, lda: Int? = nil, parallel: Bool = true
  ) {
    let (k, n) = (b.k, b.n)
    if !accumulate { c.update(repeating: 0, count: m * n) }
    let lda = lda ?? k
    b.values.withUnsafeBufferPointer { bv in
      let bp = bv.baseAddress!
      let cores = ProcessInfoCores.count
      guard parallel, cores > 1, m * k * n >= parallelThreshold, n >= 64 else {
        ckernels_sgemm_packed(a, bp, b.packed, c, m, k, n, 0, n, lda, n, n)
        return
      }
      let parts = min(cores, n / 32)
      let width = ((n / parts + 31) / 32) * 32
      let (sa, sb, sc, sp) = (UInt(bitPattern: a), UInt(bitPattern: bp), UInt(bitPattern: c), UInt(bitPattern: b.packed))
      Parallel.perform(iterations: parts) { part in
        let start = part * width
        let end = min(n, start + width)
        guard start < end else { return }
        ckernels_sgemm_packed(
          UnsafePointer(bitPattern: sa)!, UnsafePointer(bitPattern: sb)!, UnsafePointer(bitPattern: sp),
          UnsafeMutablePointer(bitPattern: sc)!, m, k, n, start, end - start, lda, n, n)
      }
    }
  }

  /// `x[..., k] · w + bias[n]` over the last axis of `x`, with `w` packed beforehand.
  static func dense(_ x: Tensor, packed w: PackedMatrix, bias: Tensor?) -> Tensor {
    affine(x, k: w.k, n: w.n, bias: bias) { a, c, m in matmul(a, packed: w, c, m: m, accumulate: bias != nil) }
  }

  /// `x[..., k] · w[k, n] + bias[n]` over the last axis of `x`.
  static func dense(_ x: Tensor, kernel: Tensor, bias: Tensor?) -> Tensor {
    let k = kernel.shape[0], n = kernel.shape[1]
    return kernel.data.withUnsafeBufferPointer { wp in
      affine(x, k: k, n: n, bias: bias) { a, c, m in matmul(a, wp.baseAddress!, c, m: m, k: k, n: n, accumulate: bias != nil) }
    }
  }

  /// The output of `x[..., k]` times a k×n matrix plus `bias`: the bias is laid under each row,
  /// then `product(a, c, m)` adds the m×n product into it (an empty input gives an empty output).
  private static func affine(
    _ x: Tensor, k: Int, n: Int, bias: Tensor?, _ product: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
  ) -> Tensor {
    let m = x.count / max(k, 1)
    var out = [Float](repeating: 0, count: m * n)
    guard m > 0, k > 0, n > 0 else { return Tensor(shape: Array(x.shape.dropLast()) + [n], data: out) }
    if let bias { fillRows(&out, rows: m, with: bias.data) }
    x.data.withUnsafeBufferPointer { xp in
      out.withUnsafeMutableBufferPointer { op in product(xp.baseAddress!, op.baseAddress!, m) }
    }
    return Tensor(shape: Array(x.shape.dropLast()) + [n], data: out)
  }
}

/// A k×n weight matrix with its panels packed for the matrix-product kernel (when the kernel
/// in use has a packed layout, whose panels cover every column); the plain values are kept only
/// when nothing is packed.
/// Immutable after init (the packed copy is only read), so it is shared across cores as is.
final class PackedMatrix: @unchecked Sendable {
  let k: Int
  let n: Int
  let values: [Float]
  /// 64-byte aligned; nil when the kernel in use packs nothing. When it is set, `values` is not
  /// kept (the products read only the panels).
  let packed: UnsafeMutablePointer<Float>?

  init(_ values: [Float], k: Int, n: Int) {
    precondition(values.count == k * n, "a \(k)×\(n) matrix needs \(k * n) values, not \(values.count)")
    self.k = k
    self.n = n
    let floats = ckernels_packed_floats(k, n)
    if floats > 0 {
      let raw = UnsafeMutableRawPointer.allocate(byteCount: floats * 4, alignment: 64)
      let packed = raw.bindMemory(to: Float.self, capacity: floats)
      values.withUnsafeBufferPointer { ckernels_pack($0.baseAddress!, k, n, n, packed) }
      self.packed = packed
      // The panels cover every column: the plain values would never be read again.
      self.values = floats >= k * n ? [0] : values
    } else {
      packed = nil
      self.values = values
    }
  }

  deinit { packed?.deallocate() }
}

/// Sets each of the `rows` rows of `out` (row length `row.count`) to `row`: the bias under a product.
func fillRows(_ out: inout [Float], rows: Int, with row: [Float]) {
  guard !row.isEmpty else { return }
  out.withUnsafeMutableBufferPointer { o in
    row.withUnsafeBufferPointer { r in layRows(o.baseAddress!, rows: rows, width: r.count, bias: r.baseAddress) }
  }
}

/// Lays `bias` (zeros when nil) under columns `columns` (all when nil) of `rows` rows of `width`
/// floats, for a product to add into.
func layRows(_ c: UnsafeMutablePointer<Float>, rows: Int, width: Int, columns: Range<Int>? = nil, bias: UnsafePointer<Float>?) {
  let columns = columns ?? 0..<width
  if bias == nil && columns.count == width { c.update(repeating: 0, count: rows * width); return }
  for r in 0..<rows {
    let row = c + r * width + columns.lowerBound
    if let bias { row.update(from: bias + columns.lowerBound, count: columns.count) } else { row.update(repeating: 0, count: columns.count) }
  }
}

/// The number of cores the products may use.
enum ProcessInfoCores {
  static let count = Int(ckernels_cores())
}

/// Which kernels the runtime uses: AVX-512 or AVX2/FMA when the processor has them, else portable
/// C. Chosen once per process; the environment variable `KERAS_INSPECT_KERNELS` (`portable`,
/// `avx2`, `avx512`, `auto`) caps it, so every path can be checked, and compared, on one machine.
public enum KernelSelection: Int32, Sendable, CaseIterable, CustomStringConvertible {
  case portable = 0, avx2 = 1, avx512 = 2

  /// The kernels in use in this process.
  public static var active: KernelSelection { KernelSelection(rawValue: ckernels_level()) ?? .portable }

  /// The cores the kernels may use.
  public static var cores: Int { ProcessInfoCores.count }

  /// Whether vectorised (AVX2 or better) kernels are in use.
  public static var vectorized: Bool { active != .portable }

  /// The value of `KERAS_INSPECT_KERNELS` when it names no kernels (it is then ignored), else nil.
  public static var unknownRequest: String? {
    guard ckernels_requested_level() < 0 else { return nil }
    #if canImport(Glibc)
      return getenv("KERAS_INSPECT_KERNELS").map { String(cString: $0) }
    #else
      return nil
    #endif
  }

  public var description: String {
    switch self {
    case .portable: "portable C"
    case .avx2: "AVX2/FMA"
    case .avx512: "AVX-512"
    }
  }
}
