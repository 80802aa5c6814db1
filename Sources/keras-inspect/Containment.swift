import ArgumentParser
import CSandbox
import HDF5
import KerasRuntime
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Runs the command in a child process, so that a crash or a hang inside libhdf5 (which trusts
/// the file it reads) becomes a clear error, exit 2, instead of a signal or a stuck CI job.
///
/// At start-up the program forks and the child starts this program afresh (`/proc/self/exe`, so
/// that nothing of the parent's runtime state carries over, and glibc gives its heap huge pages);
/// it writes to the same stdout and stderr, and is the process that sandboxes itself and reads.
/// `summary`, which reads no weight values, forks its reader before the Swift runtime starts
/// instead (CSandbox's reader.c): the reader then skips starting the program a second time
/// (about 5 ms), and the parent starts while it reads. The parent waits, up to `KERAS_INSPECT_TIMEOUT` seconds (default 30; 0 waits
/// forever), and exits with the child's status. `KERAS_INSPECT_NO_CONTAINMENT=1` runs in-process.
enum Containment {
  /// Set in the environment of the child that reads, so that it knows it is the contained one.
  static let childMarker = "KERAS_INSPECT_CONTAINED_CHILD"

  /// `recover` is asked, in the parent, what to do after the child crashed or hung: it returns
  /// an exit code once it has handled the failure itself, or nil for the one-line report.
  static func run(_ body: () -> Void, recover: (String) -> Int32? = { _ in nil }) -> Never {
    let environment = Environment()
    #if canImport(Glibc)
      if csandbox_forked_reader() == 1 {
        // `summary`'s reader, forked before the Swift runtime started (CSandbox's reader.c).
        dieOfCrashes()
        sandbox(environment, reader: "forked at start-up")
        runReader(body)
        end()
      }
      let forked = csandbox_reader_pid()
      if forked > 0 {
        // reader.c waited for it before this start-up, and ended this process if it exited.
        var status: Int32 = 0
        switch Int(csandbox_reader_outcome(&status)) {
        case CSANDBOX_READER_ENDED: exit(ended(status, recover: recover))
        case CSANDBOX_READER_TIMED_OUT: exit(timedOut(timeout(environment), recover: recover))
        default: exit(supervise(forked, timeout: timeout(environment), recover: recover))
        }
      }
      if environment[childMarker] == "1" {
        // The contained child, started afresh.
        dieOfCrashes()
        sandbox(environment, reader: "started afresh")
        body()
        end()
      }
      // Without /proc (some containers) there is no program to start afresh: run in-process.
      if environment["KERAS_INSPECT_NO_CONTAINMENT"].map({ $0.isEmpty || $0 == "0" }) ?? true, access("/proc/self/exe", X_OK) == 0 {
        // The child is this program started afresh, not a bare fork: a forked Swift process
        // keeps the parent's cached thread ids, and the priority-inheritance locks of Swift's
        // `once` then fail with EPERM and spin (seen under Landlock).
        setenv(childMarker, "1", 1)
        // Huge pages for the reader's heap (``HugePages``): glibc reads the tunable at start-up.
        let tunables = environment[HugePages.tunablesVariable]
        setenv(HugePages.tunablesVariable, HugePages.tunables(tunables), 1)
        var argv: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) } + [nil]
        let pid = fork()
        if pid == 0 {
          execv("/proc/self/exe", &argv)
          let reason = String(cString: strerror(errno))
          printError("keras-inspect: cannot start its reading process (\(reason)); set KERAS_INSPECT_NO_CONTAINMENT=1 to read in-process")
          _exit(2)
        }
        unsetenv(childMarker)
        if let tunables { setenv(HugePages.tunablesVariable, tunables, 1) } else { unsetenv(HugePages.tunablesVariable) }
        if pid > 0 {
          exit(supervise(pid, timeout: timeout(environment), recover: recover))
        }
        // fork failed: run unprotected rather than not at all.
      }
    #endif
    sandbox(environment, reader: "in-process")
    body()
    end()
  }

  /// How long the parent waits for its reader: `KERAS_INSPECT_TIMEOUT` seconds, else 30; `bench`
  /// runs as long as its passes take, with no default limit.
  static func timeout(_ environment: Environment) -> Double {
    let benchmarking = CommandLine.arguments.dropFirst().first == BenchCommand.configuration.commandName
    return environment["KERAS_INSPECT_TIMEOUT"].flatMap(Double.init) ?? (benchmarking ? 0 : Double(CSANDBOX_READER_TIMEOUT_SECONDS))
  }

  /// A contained reader dies of a crash at once (the Swift runtime's backtracer would print
  /// pages to stderr and take its time; the parent reports the crash in one line).
  static func dieOfCrashes() {
    for crash in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP] { signal(crash, SIG_DFL) }
  }

  /// Runs the forked reader's `body` (see `csandbox_run_reader`), or here if no thread starts.
  static func runReader(_ body: () -> Void) {
    withoutActuallyEscaping(body) { body in
      var box: () -> Void = body
      let started = withUnsafeMutablePointer(to: &box) { pointer in
        csandbox_run_reader({ context in context!.assumingMemoryBound(to: (() -> Void).self).pointee() }, pointer)
      }
      if started != 0 { body() }
    }
  }

  /// Lets the reading process reuse the memory of freed activations instead of handing it back.
  /// glibc maps each buffer over its threshold afresh and unmaps it on free, so every forward
  /// pass faulted in (and the kernel zeroed) each activation again: a quarter of MobileNetV2's
  /// time went to first touches of 1-5 MB buffers. Measured on an
  /// AMD EPYC (Zen 5), 2 cores: MobileNetV2 b1 15.1 -> 10.3 ms, EfficientNetB0 27.1 -> 23.5 ms,
  /// for up to 17 MB more peak memory.
  static func keepFreedMemory() {
    Parallel.keepFreedBuffers(true)
  }

  /// What the command keeps to the end instead of tearing it down: the last model it read. A
  /// 429-layer model is thousands of small objects and HDF5 handles, whose release, HDF5 file
  /// close and library shutdown took 10-15 % of a `summary`; the process ends without them.
  nonisolated(unsafe) static var kept: AnyObject?

  /// Ends a command that finished: its output flushed, then exit 0 without tearing down what
  /// ``kept`` holds (no atexit handlers: libhdf5's would close the file first).
  static func end() -> Never {
    fflush(nil)
    _exit(0)
  }

  /// The reading process gives up what reading does not need (``Sandbox``), before it parses
  /// anything; `--verbose` prints what it kept, and how the `reader` was started.
  static func sandbox(_ environment: Environment, reader: String) {
    // The forked reader (a summary) reads no weight values: its blocks, the largest a config
    // text copied three times over, reuse its huge-page heap (reader.c) instead of each being a
    // mapping of its own.
    Parallel.keepFreedBuffers(csandbox_forked_reader() == 1)
    #if DEBUG
      // Tests only (debug builds, which `swift test` runs): the file's own refusals off, to show
      // the sandbox stands alone.
      if environment["KERAS_INSPECT_TEST_FOLLOW_OUTSIDE_FILES"] == "1" { ReadPolicy.followsOutsideFiles = true }
    #endif
    let arguments = Array(CommandLine.arguments.dropFirst())
    let status = Sandbox.apply(arguments, environment: environment)
    if arguments.contains("--verbose") {
      printError("keras-inspect: reader: \(reader)")
      printError("keras-inspect: \(status)")
      printError("keras-inspect: kernels: \(KernelSelection.active)")
    }
    if let unknown = KernelSelection.unknownRequest {
      printError("keras-inspect: KERAS_INSPECT_KERNELS=\(unknown) names no kernels (portable, avx2, avx512 or auto); using \(KernelSelection.active)")
    }
  }

  #if canImport(Glibc)
    /// Waits for the child (a thread blocks in waitpid, so the parent wakes the moment it ends);
    /// returns the exit code to leave with.
    static func supervise(_ pid: pid_t, timeout: Double, recover: (String) -> Int32?) -> Int32 {
      final class Outcome: @unchecked Sendable { var status: Int32 = 0 }
      let outcome = Outcome()
      let finished = DispatchSemaphore(value: 0)
      Thread.detachNewThread {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        outcome.status = status
        finished.signal()
      }
      let deadline: DispatchTime = timeout > 0 ? .now() + timeout : .distantFuture
      if finished.wait(timeout: deadline) == .timedOut {
        kill(pid, SIGKILL)
        finished.wait()
        return timedOut(timeout, recover: recover)
      }
      return ended(outcome.status, recover: recover)
    }

    /// The exit code for a reader stopped at the timeout, reported.
    static func timedOut(_ timeout: Double, recover: (String) -> Int32?) -> Int32 {
      let problem = "reading took longer than \(formatted(timeout)) s and was stopped: the file is corrupt or hostile (KERAS_INSPECT_TIMEOUT sets the limit)"
      if let code = recover(problem) { return code }
      report(problem)
      return 2
    }

    /// The exit code for a reader that ended with wait status `status`; a crash is reported.
    static func ended(_ status: Int32, recover: (String) -> Int32?) -> Int32 {
      let signal = status & 0x7F
      if signal == 0 { return (status >> 8) & 0xFF }
      // SIGPIPE: whatever read our output (`| head`) went away. Not the file's fault; exit as a
      // process the pipe stopped (128 + 13), saying nothing.
      if signal == SIGPIPE { return 128 + SIGPIPE }
      // SIGILL and SIGTRAP are Swift's own traps; the others come from memory errors, in practice
      // inside libhdf5, which trusts the file it reads.
      let trap = signal == SIGILL || signal == SIGTRAP
      let problem = "reading crashed with signal \(signal) (\(String(cString: strsignal(signal))))" + (trap
        ? ", on a check inside keras-inspect: the file is corrupt (and this is a keras-inspect bug worth reporting)"
        : ", most likely inside the HDF5 library: the file is corrupt")
      if let code = recover(problem) { return code }
      report(problem)
      return 2
    }
  #endif

  static func formatted(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
  }

  /// One line on stderr naming the model files of the command line.
  static func report(_ problem: String) {
    let arguments = Array(CommandLine.arguments.dropFirst())
    let models = arguments.filter { argument in
      !argument.hasPrefix("-") && [".h5", ".hdf5", ".keras"].contains { argument.lowercased().hasSuffix($0) }
    }
    let named = models.isEmpty ? arguments.filter { FileManager.default.fileExists(atPath: $0) } : models
    printError("keras-inspect: \(named.isEmpty ? "input" : named.joined(separator: ", ")): \(problem)")
  }
}

@main
enum Entry {
  static func main() {
    // SVG is drawn by Graphviz outside the sandbox, from the DOT a contained reader writes.
    if let status = GraphCommand.svg(Array(CommandLine.arguments.dropFirst())) { exit(status) }
    Containment.run({
      if let quick = quickCommand(Array(CommandLine.arguments.dropFirst())) {
        do { try quick() } catch { KerasInspectCommand.exit(withError: error) }
      } else {
        KerasInspectCommand.main()
      }
    }, recover: VerifyCommand.isolateFiles)
  }

  /// The invocations a CI job runs most, `keras-inspect FILE`, `keras-inspect check FILE` and
  /// `keras-inspect summary FILE...`, without options, run with the commands' defaults without
  /// the argument parser: reflecting over the commands costs 1.2-2.8 ms of an 8 ms run. Anything
  /// else (options, `--help`, other commands, wrong argument counts) returns nil and goes through
  /// the parser, which gives the full usage text and errors.
  static func quickCommand(_ arguments: [String]) -> (() throws -> Void)? {
    guard let first = arguments.first, first != "help", !arguments.contains(where: { $0.hasPrefix("-") }) else { return nil }
    let rest = Array(arguments.dropFirst())
    if first == SummaryCommand.configuration.commandName {
      return rest.isEmpty ? nil : { try SummaryCommand.execute(paths: rest) }
    }
    if first == Check.configuration.commandName {
      return rest.count == 1 ? { try Check.execute(path: rest[0]) } : nil
    }
    let subcommands = KerasInspectCommand.configuration.subcommands.compactMap { $0.configuration.commandName }
    guard !subcommands.contains(first), rest.isEmpty else { return nil }
    return { try Check.execute(path: first) }
  }
}
