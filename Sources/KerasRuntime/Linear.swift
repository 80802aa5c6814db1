import CKernels
import Dispatch
#if canImport(Glibc)
  import Glibc
#endif

/// Matrix products, the inner loops of Dense, the recurrent layers and convolution.
enum Linear {
  /// Products smaller than this many multiply-adds run on one core: waking a second costs more.
  static let parallelThreshold = 1 << 21

  /// `c[m×n] = a[m×k] · b[k×n]` (+ `c` when `accumulate`), all row-major, without allocating.
  ///
  /// Large products split their columns (in multiples of 16, the kernel's block) over the cores.
  static func matmul(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
    m: Int, k: Int, n: Int, accumulate: Bool = false, ldb: Int? = nil, columns: Int? = nil
  ) {
    if !accumulate { c.update(repeating: 0, count: m * n) }
    // A sub-block: only the first `columns` columns of b (row stride `ldb`) into c (row stride n).
    if let columns {
      ckernels_sgemm(a, b, c, m, k, columns, k, ldb ?? n, n)
      return
    }
    let work = m * k * n
    let cores = ProcessInfoCores.count
    guard cores > 1, work >= parallelThreshold, n >= 32 else {
      ckernels_sgemm(a, b, c, m, k, n, k, n, n)
      return
    }
    let parts = min(cores, n / 16)
    let width = ((n / parts + 15) / 16) * 16
    let (sa, sb, sc) = (UInt(bitPattern: a), UInt(bitPattern: b), UInt(bitPattern: c))
    DispatchQueue.concurrentPerform(iterations: parts) { part in
      let start = part * width
      let end = min(n, start + width)
      guard start < end else { return }
      let a = UnsafePointer<Float>(bitPattern: sa)!, b = UnsafePointer<Float>(bitPattern: sb)!, c = UnsafeMutablePointer<Float>(bitPattern: sc)!
      ckernels_sgemm(a, b + start, c + start, m, k, end - start, k, n, n)
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

/// The number of cores the products may use.
enum ProcessInfoCores {
  static let count: Int = {
    #if canImport(Glibc)
      return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    #else
      return 1
    #endif
  }()
}

/// Which kernels the runtime uses: AVX-512 or AVX2/FMA when the processor has them, else portable C.
public enum KernelSelection: Int32, Sendable, CaseIterable {
  case automatic = 0, portable = 1, avx2 = 2

  /// Whether vectorised (AVX2 or better) kernels are in use.
  public static var vectorized: Bool { ckernels_has_avx2() != 0 }

  /// Limits the kernels process-wide; meant for tests that check every path agrees.
  public static func force(_ selection: KernelSelection) { ckernels_force_level(selection.rawValue) }
}
