import Foundation
import Testing

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent().appendingPathComponent("Fixtures")

/// The built `keras-inspect`, next to the test bundle in the build products directory.
let binary: URL = {
  if let path = ProcessInfo.processInfo.environment["KERAS_INSPECT_BIN"] { return URL(fileURLWithPath: path) }
  var dir = Bundle.main.bundleURL
  if dir.pathExtension == "xctest" { dir.deleteLastPathComponent() }
  return dir.appendingPathComponent("keras-inspect")
}()

struct Run {
  let status: Int32
  let stdout: String
  let stderr: String
}

func run(_ arguments: [String], environment: [String: String]? = nil, executable: URL = binary, directory: URL? = nil) throws -> Run {
  let process = Process()
  process.executableURL = executable
  process.arguments = arguments
  if let environment { process.environment = environment }
  if let directory { process.currentDirectoryURL = directory }
  let out = Pipe(), err = Pipe()
  process.standardOutput = out
  process.standardError = err
  try process.run()
  let stdout = out.fileHandleForReading.readDataToEndOfFile()
  let stderr = err.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
}

func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

@Suite("The keras-inspect command")
struct CLITests {
  @Test("output into a pipe nobody reads is not reported as a corrupt file (exit 141, nothing on stderr)")
  func closedPipe() throws {
    let process = Process()
    process.executableURL = binary
    process.arguments = ["summary", fixture("keras2/lstm_worked_example.h5")]
    let out = Pipe(), err = Pipe()
    // The read end closed before the run: the first write raises SIGPIPE.
    try out.fileHandleForReading.close()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    try out.fileHandleForWriting.close()
    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(stderr == "")
    // 141 when the write raised SIGPIPE (the default); 0 where a parent left SIGPIPE ignored and
    // the write failed with EPIPE instead. Never 2, a blamed file.
    #expect([141, 0].contains(process.terminationStatus))
  }

  @Test("the worked example: summary, checks, 640, exit 0")
  func workedExample() throws {
    let result = try run([fixture("keras2/lstm_worked_example.h5")])
    #expect(result.status == 0)
    let summary = try String(contentsOfFile: fixture("keras2/lstm_worked_example.summary.txt"), encoding: .utf8)
    #expect(result.stdout.hasPrefix(summary))
    #expect(result.stdout.contains("Total params: 640 (2.50 KB)"))
    #expect(result.stdout.contains("[PASS] forward pass on a deterministic batch of 2: outputs (2, 10), all finite"))
    #expect(result.stdout.contains("All 6 checks passed."))
    #expect(result.stderr.isEmpty)
  }

  @Test("Keras 3's table is as wide as Keras 3 makes it: COLUMNS, else the terminal, else 80 (a pipe); --width forces one",
        arguments: ["lstm_worked_example", "multi_io", "attention_cross"])
  func keras3Width(_ name: String) throws {
    let model = fixture("keras3/\(name).keras")
    func expected(_ suffix: String) throws -> String { try String(contentsOfFile: fixture("keras3/\(name)\(suffix)"), encoding: .utf8) }
    var environment = ProcessInfo.processInfo.environment
    environment["COLUMNS"] = nil
    #expect(try run(["summary", model], environment: environment).stdout == (try expected(".summary.cols80.txt")))
    environment["COLUMNS"] = "60"
    #expect(try run(["summary", model], environment: environment).stdout == (try expected(".summary.cols60.txt")))
    environment["COLUMNS"] = "200"
    #expect(try run(["summary", model], environment: environment).stdout == (try expected(".summary.txt")))
    #expect(try run(["summary", model, "--width", "60"]).stdout == (try expected(".summary.cols60.txt")))
    // A summary from a narrow console's log (cells wrapped, names cut with …) still verifies.
    #expect(try run(["verify", model, "--expect-summary", fixture("keras3/\(name).summary.cols60.txt")]).status == 0)
  }

  @Test("Keras 3 files get Keras 3's table; --style switches it")
  func styles() throws {
    var wide = ProcessInfo.processInfo.environment
    wide["COLUMNS"] = "200"
    let keras3 = try run(["summary", fixture("keras3/lstm_worked_example.h5")], environment: wide)
    #expect(keras3.stdout == (try String(contentsOfFile: fixture("keras3/lstm_worked_example.summary.txt"), encoding: .utf8)))
    let asKeras2 = try run(["summary", "--style", "keras2", fixture("keras3/lstm_worked_example.h5")])
    #expect(asKeras2.stdout.contains("Non-trainable params: 0 (0.00 Byte)"))
  }

  @Test("--explain shows each layer's formula")
  func explain() throws {
    let result = try run(["summary", "--explain", fixture("keras2/lstm_worked_example.h5")])
    #expect(result.stdout.contains("lstm (LSTM): 4 × ((5 + 10) × 10 + 10) = 640"))
  }

  @Test("summary --format json follows the documented contract and Keras's numbers")
  func summaryJSON() throws {
    let result = try run(["summary", "--format", "json", fixture("keras2/multi_io.h5")])
    #expect(result.status == 0)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    #expect(json["format"] as? String == "h5")
    #expect(json["keras_version"] as? String == "2.21.0")
    #expect((json["model"] as? [String: Any])?["name"] as? String == "multi_io")
    #expect(json["total_params"] as? Int == 332)
    let layers = try #require(json["layers"] as? [[String: Any]])
    #expect(layers.map { $0["name"] as? String } == ["sequence", "aux", "enc", "aux_dense", "merged", "score", "klass"])
    let enc = layers[2]
    #expect(enc["params"] as? Int == 264)
    #expect((enc["output_shape"] as? [Any])?.count == 2)
    #expect((enc["output_shape"] as? [Any])?.first is NSNull)
    let weights = try #require(enc["weights"] as? [[String: Any]])
    #expect(weights.map { $0["shape"] as? [Int] } == [[4, 24], [6, 24], [24]])
    #expect(weights.first?["dtype"] as? String == "float32")
  }

  @Test("weights lists every tensor with statistics and LSTM gate slices")
  func weights() throws {
    let text = try run(["weights", fixture("keras2/lstm_worked_example.h5")])
    #expect(text.status == 0)
    #expect(text.stdout.contains("lstm/lstm_cell/kernel:0  (5, 40)  float32"))
    #expect(text.stdout.contains("gate o [..., 30:40]"))
    let json = try run(["weights", "--format", "json", "--layer", "lstm", fixture("keras3/lstm_worked_example.h5")])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    #expect((object["weights"] as? [Any])?.count == 3)
    let missing = try run(["weights", "--layer", "nope", fixture("keras3/lstm_worked_example.h5")])
    #expect(missing.status == 64)
    #expect(missing.stderr.contains("no layer named nope"))
  }

  @Test("a wrong kernel shape fails the check: exit 1, naming the layer and both shapes")
  func wrongShape() throws {
    let result = try run([fixture("broken/lstm_wrong_kernel_shape_keras2.h5")])
    #expect(result.status == 1)
    #expect(result.stdout.contains("[FAIL] params"))
    #expect(result.stdout.contains("layer lstm (LSTM): weight lstm/lstm_cell/kernel:0 has shape (6, 40), but the config implies kernel (5, 40)"))
  }

  @Test("files that are not Keras models: exit 2 and one line on stderr naming the file", arguments: [
    ("broken/missing.h5", "no such file"),
    ("broken/text_file.h5", "not an HDF5 file"),
    ("broken/not_keras.h5", "without a Keras model_config"),
    ("broken", "is a directory"),
  ])
  func unreadable(_ name: String, _ reason: String) throws {
    let result = try run([fixture(name)])
    #expect(result.status == 2)
    #expect(result.stdout.isEmpty)
    let lines = result.stderr.split(separator: "\n")
    #expect(lines.count == 1)
    #expect(lines.first?.hasPrefix("keras-inspect: \(fixture(name)): ") == true)
    #expect(result.stderr.contains(reason))
  }

  @Test("a damaged zip is named as such: exit 2")
  func zipArchive() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("keras-inspect-test-\(getpid()).keras").path
    try Data([0x50, 0x4B, 0x03, 0x04] + Array(repeating: 0, count: 26)).write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let result = try run([path])
    #expect(result.status == 2)
    #expect(result.stderr.contains("zip archive that cannot be read"))
  }

  @Test("predict on the worked example reproduces Keras's output")
  func predict() throws {
    let bundle = fixture("keras2/lstm_worked_example.npz")
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("keras-inspect-predict-\(getpid()).npy").path
    defer { try? FileManager.default.removeItem(atPath: out) }
    let result = try run(["predict", fixture("keras2/lstm_worked_example.h5"), "--input", bundle + ":input_0", "--output", out])
    #expect(result.status == 0, "\(result.stderr)")
    let verify = try run(["verify", fixture("keras2/lstm_worked_example.h5"), "--input", bundle + ":input_0", "--expect", out])
    #expect(verify.status == 0)
    let againstKeras = try run(["verify", fixture("keras2/lstm_worked_example.h5"), "--input", bundle + ":input_0", "--expect", bundle + ":output_0"])
    #expect(againstKeras.status == 0)
    #expect(againstKeras.stdout.contains("output 0: PASS  max abs error"))
  }

  @Test("verify fails (exit 1) against another model's output, naming the shapes")
  func verifyFails() throws {
    let result = try run(["verify", fixture("keras3/gru_reset_after.h5"), "--input", fixture("keras3/gru_reset_after.npz") + ":input_0",
      "--expect", fixture("keras3/simple_rnn.npz") + ":output_0"])
    #expect(result.status == 1)
    #expect(result.stdout.contains("native output has shape (3, 5), the reference (3, 2)"))
    let tight = try run(["verify", fixture("keras3/masking_lstm.h5"), "--input", fixture("keras3/masking_lstm.npz") + ":input_0",
      "--expect", fixture("keras3/masking_lstm.npz") + ":output_0", "--atol", "0", "--rtol", "0"])
    #expect([0, 1].contains(tight.status))
  }

  @Test("predict refuses a model it cannot run (exit 2, naming the layer) and a wrong input shape (exit 64)")
  func predictRefuses() throws {
    let unsupported = try run(["predict", fixture("broken/unsupported_layer_keras3.h5"), "--input", fixture("broken/unsupported_layer_input.npy"), "--output", "/dev/null"])
    #expect(unsupported.status == 2)
    #expect(unsupported.stderr.contains("stateful (LSTM)"))
    let wrongShape = try run(["predict", fixture("keras2/lstm_worked_example.h5"), "--input", fixture("keras2/gru_reset_after.npz") + ":input_0", "--output", "/dev/null"])
    #expect(wrongShape.status == 64)
    #expect(wrongShape.stderr.contains("has shape (3, 6, 3), the model expects (None, 13, 5)"))
    let badFile = try run(["predict", fixture("keras2/lstm_worked_example.h5"), "--input", fixture("keras2/lstm_worked_example.summary.txt"), "--output", "/dev/null"])
    #expect(badFile.status == 2)
    #expect(badFile.stderr == "keras-inspect: \(fixture("keras2/lstm_worked_example.summary.txt")): not a .npy file (bad magic)\n")
  }

  @Test("weights-only files: listed and summarised without an architecture, fully with --config")
  func weightsOnly() throws {
    let weights = fixture("weights/keras3/lstm_worked_example.weights.h5")
    let listing = try run(["weights", weights])
    #expect(listing.status == 0)
    #expect(listing.stdout.contains("layers/lstm/cell/vars/0  (5, 40)  float32"))
    let summary = try run(["summary", weights, "--config", fixture("weights/keras3/lstm_worked_example.model.json"), "--format", "json"])
    #expect(summary.status == 0)
    #expect(summary.stdout.contains("\"format\": \"keras-weights\""))
    #expect(summary.stdout.contains("\"total_params\": 640"))
    let named = try run(["weights", weights, "--config", fixture("weights/keras3/lstm_worked_example.model.json")])
    #expect(named.stdout.contains("layers/lstm/cell/vars/1 (recurrent_kernel)  (10, 40)  float32"))
    // Without --config: what can be known (groups, tensors, params), the checks that apply.
    let known = try run([weights])
    #expect(known.status == 0, "\(known.stderr)")
    #expect(known.stdout.contains("No architecture is stored"))
    #expect(known.stdout.contains("Total params: 640 "))
    #expect(known.stdout.contains("[SKIP] config: none in a weights-only file"))
    #expect(known.stdout.contains("[PASS] no NaN/Inf in 3 weight tensor(s)"))
    #expect(try run(["check", "--strict", weights]).status == 1)
    #expect(try run(["verify", weights]).status == 0)
    #expect(try run(["verify", weights, "--expect-params", "640"]).status == 1)
    let json = try run(["summary", weights, "--format", "json"])
    #expect(json.status == 0)
    #expect(json.stdout.contains("\"weights_only\": true"))
  }

  @Test("layers keras-inspect cannot interpret are flagged and skipped; --strict fails them")
  func unknownLayers() throws {
    let model = fixture("corrupt/config_unknown_layer.h5")
    let lenient = try run([model])
    #expect(lenient.status == 0, "\(lenient.stderr)")
    #expect(lenient.stdout.contains("[SKIP] 1 layer(s) keras-inspect cannot interpret, flagged"))
    #expect(lenient.stdout.contains("[SKIP] forward pass: skipped"))
    #expect(try run(["check", "--strict", model]).status == 1)
    #expect(try run(["verify", model]).status == 0)
    let strict = try run(["verify", "--strict", "--format", "json", model])
    #expect(strict.status == 1)
    #expect(strict.stdout.contains("--strict fails it"))
  }

  @Test("a .keras archive: summary, checks and verify as for its .h5 twin")
  func archive() throws {
    let model = fixture("keras3/lstm_worked_example.keras")
    let check = try run([model])
    #expect(check.status == 0)
    #expect(check.stdout.contains("[PASS] file opens: .keras archive written by Keras 3.15.1"))
    let bundle = fixture("keras3/lstm_worked_example.npz")
    #expect(try run(["verify", model, "--input", bundle + ":input_0", "--expect", bundle + ":output_0"]).status == 0)
  }

  @Test("usage errors exit 64")
  func usage() throws {
    #expect(try run([]).status == 64)
    #expect(try run(["summary", "--format", "yaml", fixture("keras2/lstm_worked_example.h5")]).status == 64)
  }
}

/// Real Keras files from public repositories, kept beside the project (never copied into it).
let wildModels: [String] = {
  let shared = fixtures.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
  var paths: [String] = []
  for folder in ["wild-models", "peer-dl4j"] {
    let dir = shared.appendingPathComponent(folder)
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { continue }
    for entry in entries.sorted() {
      let models = (try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent(entry).path)) ?? []
      for model in models.sorted() where (model.hasSuffix(".h5") || model.hasSuffix(".hdf5")) && model != "inputs_and_outputs.h5" {
        paths.append(dir.appendingPathComponent(entry).appendingPathComponent(model).path)
      }
    }
  }
  return paths
}()

@Suite("Real files from the wild")
struct WildModelTests {
  @Test("every shared real-world file gets an answer: exit 0, 1 or 2, never a signal", .enabled(if: !wildModels.isEmpty), arguments: wildModels)
  func answered(_ path: String) throws {
    let result = try run([path])
    #expect([0, 1, 2].contains(result.status), "\(path): \(result.stderr)")
    if result.status == 2 {
      #expect(result.stderr.hasPrefix("keras-inspect: \(path): "))
    } else {
      #expect(result.stdout.contains("Total params: "))
    }
  }
}

/// Each kernel path checked in its own process: the kernels are chosen once per process (from
/// `KERAS_INSPECT_KERNELS`), so no test ever changes what another test's forward pass runs on.
@Suite("Kernel paths")
struct KernelPathTests {
  /// The kernels a run reports with `--verbose` (its `kernels:` line on stderr).
  static func kernels(_ result: Run) -> String? {
    result.stderr.split(separator: "\n").first { $0.hasPrefix("keras-inspect: kernels: ") }.map { String($0.dropFirst(24)) }
  }

  static let best: String? = {
    guard let result = try? run(["summary", fixture("keras2/lstm_worked_example.h5"), "--verbose"]) else { return nil }
    return kernels(result)
  }()

  @Test("portable C, AVX2 and AVX-512 kernels each match Keras", arguments: [
    "keras2/lstm_worked_example.h5", "keras3/masking_bidirectional.h5", "keras3/conv2d.keras", "keras2/gru_reset_before.h5",
    "keras3/multi_io.keras", "keras2/depthwise_separable.h5",
  ], ["portable", "avx2", "avx512"])
  func agrees(_ model: String, _ request: String) throws {
    let best = try #require(Self.best)
    let bundle = fixture(String(model[..<model.lastIndex(of: ".")!]) + ".npz")
    var environment = ProcessInfo.processInfo.environment
    environment["KERAS_INSPECT_KERNELS"] = request
    let result = try run(["verify", fixture(model), "--bundle", bundle, "--verbose"], environment: environment)
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    // Capped at what the processor has: portable < AVX2/FMA < AVX-512.
    let order = ["portable C", "AVX2/FMA", "AVX-512"]
    let asked = order[["portable", "avx2", "avx512"].firstIndex(of: request)!]
    let expected = order[min(order.firstIndex(of: asked)!, try #require(order.firstIndex(of: best)))]
    #expect(Self.kernels(result) == expected)
  }

  @Test("a KERAS_INSPECT_KERNELS naming no kernels is said once and ignored")
  func unknown() throws {
    var environment = ProcessInfo.processInfo.environment
    environment["KERAS_INSPECT_KERNELS"] = "sse9"
    let result = try run(["summary", fixture("keras2/lstm_worked_example.h5")], environment: environment)
    #expect(result.status == 0)
    #expect(result.stderr == "keras-inspect: KERAS_INSPECT_KERNELS=sse9 names no kernels (portable, avx2, avx512 or auto); using \(try #require(Self.best))\n")
  }
}

@Suite("bench")
struct BenchTests {
  @Test("JSON: the versioned contract, every layer once, FLOPs from the layer definitions")
  func json() throws {
    let result = try run(["bench", fixture("keras2/lstm_worked_example.h5"), "--runs", "4", "--warmup", "2", "--profile", "--format", "json"])
    #expect(result.status == 0, "\(result.stderr)")
    let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    #expect(report["schema"] as? String == "keras-inspect/bench")
    #expect(report["version"] as? Int == 1)
    #expect(report["runs"] as? Int == 4)
    #expect(report["warmup"] as? Int == 2)
    #expect(report["batch"] as? Int == 1)
    // LSTM(10) on (13, 5): 13 steps × 2 × (5 + 10) × 4·10 multiply-adds of the gates.
    #expect(report["flops"] as? Int == 13 * 2 * (5 + 10) * 40)
    #expect((report["peak_rss_bytes"] as? Int ?? 0) > 1 << 20)
    let (median, low, high) = (try #require(report["median_s"] as? Double), try #require(report["min_s"] as? Double), try #require(report["max_s"] as? Double))
    #expect(low > 0 && low <= median && median <= high)
    let layers = try #require(report["layers"] as? [[String: Any]])
    #expect(layers.map { $0["name"] as? String } == ["lstm"])
    #expect(layers.first?["class_name"] as? String == "LSTM")
    #expect(layers.first?["output_shape"] as? String == "(None, 10)")
    #expect(layers.first?["flops"] as? Int == 15600)
  }

  @Test("a batch multiplies the work; a functional model's profile lists each of its layers, slowest first")
  func profile() throws {
    let result = try run(["bench", fixture("keras3/multi_io.keras"), "--batch", "3", "--runs", "3", "--profile", "--format", "json"])
    #expect(result.status == 0, "\(result.stderr)")
    let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    #expect(report["batch"] as? Int == 3)
    let layers = try #require(report["layers"] as? [[String: Any]])
    let summary = try run(["summary", fixture("keras3/multi_io.keras"), "--format", "json"])
    let model = try #require(try JSONSerialization.jsonObject(with: Data(summary.stdout.utf8)) as? [String: Any])
    let rows = try #require(model["layers"] as? [[String: Any]])
    let computing = Set(rows.filter { $0["class_name"] as? String != "InputLayer" }.compactMap { $0["name"] as? String })
    #expect(Set(layers.compactMap { $0["name"] as? String }) == computing)
    #expect(layers.count == computing.count)
    let times = layers.compactMap { $0["median_s"] as? Double }
    #expect(times == times.sorted(by: >))
    let counted = layers.compactMap { $0["flops"] as? Int }
    #expect(counted.reduce(0, +) == report["flops"] as? Int)
  }

  @Test("text: the times line, and the table with --profile")
  func text() throws {
    let plain = try run(["bench", fixture("keras3/conv2d.keras"), "--runs", "2"])
    #expect(plain.status == 0)
    let lines = plain.stdout.split(separator: "\n")
    #expect(lines.count == 2)
    #expect(lines.first?.hasSuffix(": batch 1, 2 timed pass(es) after 1 warm-up, \(try #require(KernelPathTests.best)) kernels on \(ProcessInfo.processInfo.activeProcessorCount) core(s)") == true)
    #expect(lines.last?.hasPrefix("forward: median ") == true)
    let profiled = try run(["bench", fixture("keras3/conv2d.keras"), "--runs", "2", "--profile"])
    let table = profiled.stdout.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(table[3].split(separator: " ", omittingEmptySubsequences: true) == ["layer", "class", "output", "shape", "time", "share", "work", "GFLOP/s"])
    #expect(table.contains { $0.hasPrefix("conv2d ") && $0.contains("Conv2D") && $0.contains("(None, 10, 8, 6)") })
  }

  @Test("the runtime uses the cores the process may run on, not all those online", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset")))
  func affinity() throws {
    let result = try run(["-c", "0", binary.path, "bench", fixture("keras3/conv2d.keras"), "--runs", "3", "--format", "json"], executable: URL(fileURLWithPath: "/usr/bin/taskset"))
    #expect(result.status == 0, "\(result.stderr)")
    let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    #expect(report["cores"] as? Int == 1)
  }

  @Test("bad counts are usage errors", arguments: [["--runs", "0"], ["--batch", "0"], ["--warmup=-1"], ["--batch", "2", "--input", "x.npy"]])
  func refused(_ extra: [String]) throws {
    let result = try run(["bench", fixture("keras2/lstm_worked_example.h5")] + extra)
    #expect(result.status == 64, "\(result.stderr)")
  }

  @Test("a model it cannot run is exit 2, naming the layer")
  func cannotRun() throws {
    let result = try run(["bench", fixture("broken/unsupported_layer_keras3.h5")])
    #expect(result.status == 2)
    #expect(result.stderr.contains("stateful (LSTM)"))
  }
}

@Suite("Sandboxed forward passes")
struct SandboxedForwardTests {
  /// libdispatch's worker-pool monitor opens /proc/<tid>/stat once a second while its queue
  /// holds work, and traps (SIGILL) when it cannot: under the Landlock sandbox, 11 of 40 bench
  /// runs of ResNet50 and InceptionV3 died so when the runtime's loops ran on libdispatch.
  @Test("seconds of parallel passes inside the sandbox end normally")
  func longParallelRun() throws {
    let start = Date()
    let result = try run(["bench", fixture("keras2/conv2d.h5"), "--batch", "2048", "--runs", "40", "--verbose"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("sandbox: Landlock") || result.stderr.contains("sandbox:"))
    #expect(Date().timeIntervalSince(start) > 1, "too short to cross the monitor's one-second period")
  }
}
