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

  /// Calls `body(member, team)` for every member of a team at the same time, each on a thread of
  /// its own, so that members may wait for each other at a ``Barrier``; returns the team size.
  /// That is `members`, or fewer when the pool has fewer threads: 1 (just `body(0, 1)`, here)
  /// when nested in another parallel loop, while another thread's loop runs, or on one core.
  /// Every member must reach every barrier of the team.
  @discardableResult
  static func team(_ members: Int, _ body: (Int, Int) -> Void) -> Int {
    withoutActuallyEscaping(body) { body in
      var box = body
      return withUnsafeMutablePointer(to: &box) { pointer in
        ckernels_parallel_team(members, { context, member, team in
          context!.assumingMemoryBound(to: ((Int, Int) -> Void).self).pointee(member, team)
        }, pointer)
      }
    }
  }

  /// A reusable barrier for the `team` members of a ``team(_:_:)`` call.
  final class Barrier: @unchecked Sendable {
    private let state = UnsafeMutablePointer<ckernels_barrier>.allocate(capacity: 1)
    init(team: Int) { ckernels_barrier_init(state, team) }
    deinit { state.deallocate() }
    /// Returns once every member has called it (at once for a team of 1).
    func wait() { ckernels_barrier_wait(state) }
  }

  /// Calls `body` on consecutive ranges that cover 0..<count: one per core when `count` is at
  /// least `serialBelow` (each but the last a multiple of 16 long), else one over all of it.
  /// For element-wise loops over large tensors (a 112×112×96 swish took 1.4 ms on one core).
  @inline(__always)
  public static func chunks(_ count: Int, serialBelow: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
    let cores = ProcessInfoCores.count
    guard cores > 1, count >= serialBelow else {
      if count > 0 { body(0..<count) }
      return
    }
    let chunk = (count / cores + 15) & ~15
    perform(iterations: cores) { part in
      let start = part * chunk
      if start < count { body(start..<min(start + chunk, count)) }
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
