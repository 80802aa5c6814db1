#if canImport(Glibc)
  import Glibc
#endif

/// What a thread started by ``BackgroundWork`` runs (non-generic: a C thread entry cannot name
/// a generic type).
class ThreadBody {
  func run() {}
}

/// Work run on a thread of its own while the caller goes on, collected with ``result()``:
/// a large model's config is parsed while libhdf5 lists its stored weights on the caller's
/// thread. Not started on a thread when `onThread` is false or no thread can be made; then it
/// runs in ``result()``.
final class BackgroundWork<T>: ThreadBody, @unchecked Sendable {
  /// The thread's stack: what the main thread has by default.
  static var stackBytes: Int { 8 << 20 }

  private let work: () -> T
  private var value: T?
  #if canImport(Glibc)
    private var thread: pthread_t?
  #endif

  init(onThread: Bool, _ work: @escaping @Sendable () -> T) {
    self.work = work
    super.init()
    #if canImport(Glibc)
      guard onThread else { return }
      var thread = pthread_t()
      // A stack of its own size, not the system's default for threads (2 MiB where the stack
      // limit is unlimited): the config parser recurses up to its nesting limit.
      var attributes = pthread_attr_t()
      pthread_attr_init(&attributes)
      defer { pthread_attr_destroy(&attributes) }
      pthread_attr_setstacksize(&attributes, Self.stackBytes)
      let context = Unmanaged<ThreadBody>.passRetained(self).toOpaque()
      let started = pthread_create(&thread, &attributes, { context in
        Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue().run()
        return nil
      }, context)
      if started == 0 {
        self.thread = thread
      } else {
        Unmanaged<ThreadBody>.fromOpaque(context).release()
      }
    #endif
  }

  override func run() { value = work() }

  /// The work's result, once the thread has finished (or the work has run here).
  func result() -> T {
    #if canImport(Glibc)
      if let thread {
        pthread_join(thread, nil)
        self.thread = nil
      }
    #endif
    if value == nil { run() }
    return value!
  }
}
