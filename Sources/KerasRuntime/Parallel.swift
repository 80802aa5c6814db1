import CKernels

/// Parallel loops over the cores, on the runtime's own thread pool (``ckernels_parallel_for``),
/// not libdispatch's: libdispatch's Linux pool monitor opens `/proc/<tid>/stat` once a second
/// while work waits and traps when it cannot, and the sandboxed reader keeps /proc out.
public enum Parallel {
  /// Calls `body(i)` for every i in 0..<iterations, spread over the cores; returns when all are done.
  public static func perform(iterations: Int, _ body: (Int) -> Void) {
    guard iterations > 1 else {
      if iterations == 1 { body(0) }
      return
    }
    withoutActuallyEscaping(body) { body in
      var box = body
      withUnsafeMutablePointer(to: &box) { pointer in
        ckernels_parallel_for(iterations, { context, index in
          context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(index)
        }, pointer)
      }
    }
  }

  /// With `keep`, has the process keep freed buffers of up to 32 MiB for reuse instead of
  /// unmapping them (glibc), so that repeated forward passes do not fault in, and have the
  /// kernel zero, every activation again. Without, each large buffer is mapped on its own and
  /// handed back when freed: what loading weights wants, where a layer's stored tensors are freed
  /// as its packed kernel is made and reused holes would not fit the next layer's. Process-wide:
  /// the CLI sets it; a library user may too.
  public static func keepFreedBuffers(_ keep: Bool) {
    ckernels_keep_freed_buffers(keep ? 1 : 0)
  }
}
