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

  /// Has the process keep freed buffers of up to 32 MiB for reuse instead of unmapping them
  /// (glibc), so that a forward pass does not fault in, and have the kernel zero, every
  /// activation again. Process-wide: the CLI calls it at start; a library user may too.
  public static func reuseFreedBuffers() {
    ckernels_reuse_freed_buffers()
  }
}
