import Foundation
import KerasModel
import KerasRuntime

#if canImport(Glibc)
  import Glibc
#endif

/// Runs `arguments` as a child process with its output discarded; returns its wall time and,
/// from wait4, its peak resident memory in bytes. Throws unless it exits with `expect`.
/// `hugePages` starts it as the CLI starts its reading process (``HugePages``).
func spawn(_ arguments: [String], expect: Int32 = 0, capture: Bool = false, hugePages: Bool = false) throws -> (seconds: Double, peakBytes: Int, output: String) {
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  var pipe: [Int32] = [-1, -1]
  if capture {
    guard Glibc.pipe(&pipe) == 0 else { throw BenchError("pipe failed") }
    posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
    posix_spawn_file_actions_addclose(&actions, pipe[0])
  } else {
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
  }
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
  let argv = arguments.map { strdup($0) } + [nil]
  defer { argv.forEach { free($0) } }
  var environment = ProcessInfo.processInfo.environment
  if hugePages { environment[HugePages.tunablesVariable] = HugePages.tunables(environment[HugePages.tunablesVariable]) }
  let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
  defer { envp.forEach { free($0) } }
  var pid: pid_t = 0
  let start = ContinuousClock.now
  let rc = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
  guard rc == 0 else { throw BenchError("cannot run \(arguments[0]): \(String(cString: strerror(rc)))") }
  var output = Data()
  if capture {
    close(pipe[1])
    output = FileHandle(fileDescriptor: pipe[0], closeOnDealloc: true).readDataToEndOfFile()
  }
  var status: Int32 = 0
  var usage = rusage()
  _ = wait4(pid, &status, 0, &usage)
  let elapsed = seconds(since: start)
  let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
  guard code == expect else { throw BenchError("\(arguments.joined(separator: " ")) exited with \(code), expected \(expect)") }
  return (elapsed, usage.ru_maxrss * 1024, String(decoding: output, as: UTF8.self))
}

/// Drops `path` from the page cache (no root needed), so the next read comes from the disk.
func evictFromPageCache(_ path: String) {
  let fd = open(path, O_RDONLY)
  guard fd >= 0 else { return }
  fdatasync(fd)
  _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
  close(fd)
}

/// Reads the whole file once so it sits in the page cache.
func warmPageCache(_ path: String) {
  guard let handle = FileHandle(forReadingAtPath: path) else { return }
  while let chunk = try? handle.read(upToCount: 16 << 20), !chunk.isEmpty {}
  try? handle.close()
}

/// The executables built beside this one.
func sibling(_ name: String) -> String {
  let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
  return me.deletingLastPathComponent().appendingPathComponent(name).path
}

/// Loading every weight of the large model into tensors, one load per child process.
enum LoadBenchmark {
  /// Child side: open, analyse and bind every weight (what `predict` does before running);
  /// prints the seconds taken. Peak memory comes from the parent's wait4.
  static func runOnce(path: String) -> Int32 {
    do {
      var count = 0
      let t = try seconds {
        let file = try KerasFile(path: path)
        guard let config = file.config else { throw BenchError("no config") }
        let runtime = try Runtime(file: file, analysis: ModelAnalysis(file: file, config: config))
        count = runtime.inputNames.count
      }
      print(t, count)
      return 0
    } catch {
      FileHandle.standardError.write(Data("\(error)\n".utf8))
      return 1
    }
  }

  static func run(_ large: Manifest.Large, folder: String, runs: Int) throws -> [Measurement] {
    let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
    var results: [Measurement] = []
    let files = [(large.model, "large"), (large.archive, "large.keras")].compactMap { file, name in file.map { ($0, name) } }
    for (file, name) in files {
      let path = folder + "/" + file
      for cold in [false, true] {
        warmPageCache(path)
        var times: [Double] = [], peaks: [Int] = []
        for _ in 0..<runs {
          if cold { evictFromPageCache(path) }
          // Started as the CLI starts the process that loads a model: with huge pages.
          let child = try spawn([me, "--load-once", path], capture: true, hugePages: true)
          guard let t = Double(child.output.split(separator: " ").first ?? "") else { throw BenchError("load child printed \(child.output)") }
          times.append(t)
          peaks.append(child.peakBytes)
        }
        let m = median(times)
        let mb = Double(large.bytes) / 1e6
        results.append(Measurement(
          group: "load", name: "\(name) (\(cold ? "cold" : "warm") cache)",
          detail: String(format: "%.0f MB of float32 weights", mb), runs: runs, medianSeconds: m,
          minSeconds: times.min() ?? m, rate: Double(large.bytes) / m / 1e9, rateUnit: "GB/s",
          peakBytes: peaks.max(), work: Double(large.bytes)))
      }
    }
    return results
  }
}

/// The whole keras-inspect process, as a CI job runs it.
enum ProcessBenchmark {
  static let workedExample = "Fixtures/keras3/lstm_worked_example.h5"

  static func run(manifest: Manifest, folder: String, runs: Int) throws -> [Measurement] {
    let tool = sibling("keras-inspect")
    guard FileManager.default.isExecutableFile(atPath: tool) else { throw BenchError("build keras-inspect first: \(tool) is missing") }
    let large = folder + "/" + manifest.large.model
    let jobs: [(name: String, detail: String, arguments: [String], cold: Bool, runs: Int)] = [
      ("summary worked example", "summary, warm cache", [tool, "summary", workedExample], false, runs),
      ("check worked example", "all checks, warm cache", [tool, workedExample], false, runs),
      ("check worked example", "all checks, cold cache", [tool, workedExample], true, runs),
      ("summary large", "summary, warm cache", [tool, "summary", large], false, runs),
      ("check large", "all checks, warm cache", [tool, large], false, max(3, runs / 3)),
      ("check large", "all checks, cold cache", [tool, large], true, max(3, runs / 3)),
    ]
    var results: [Measurement] = []
    for job in jobs {
      let file = job.arguments.last!
      warmPageCache(file)
      _ = try spawn(job.arguments)  // warm-up: the executable's own pages
      var times: [Double] = []
      for _ in 0..<job.runs {
        if job.cold { evictFromPageCache(file) }
        times.append(try spawn(job.arguments).seconds)
      }
      // No peak memory here: a spawned child's ru_maxrss starts from this process's own
      // (Linux keeps it across exec), which dwarfs a summary's. The load case is large enough.
      let m = median(times)
      results.append(Measurement(group: "inspect", name: job.name, detail: job.detail, runs: job.runs, medianSeconds: m, minSeconds: times.min() ?? m))
    }
    return results
  }
}
