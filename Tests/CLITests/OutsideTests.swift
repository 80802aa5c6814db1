import Foundation
import Testing

/// `Fixtures/outside`: files that would make a reader read other files. The outside files sit
/// in the same folder, holding a marker value no fixture contains, and the commands run from
/// there, where the relative names inside the hostile files would find them.
let outsideFolder = fixtures.appendingPathComponent("outside")
let outsideCorpus: [CorpusEntry] = corpusEntries("outside")
/// The value the outside files hold (31337.25), as any output would start to print it.
let outsideMarker = "31337"

@Suite("A model file is read alone")
struct OutsideTests {
  @Test("nothing outside the file is followed: exit and message as expected, the outside value never shown", arguments: outsideCorpus)
  func readAlone(_ entry: CorpusEntry) throws {
    let name = URL(fileURLWithPath: entry.file).lastPathComponent
    let input = fixture("keras2/lstm_worked_example.npz") + ":input_0"
    let predicted = FileManager.default.temporaryDirectory.appendingPathComponent("keras-inspect-outside-\(getpid())-\(name).npy")
    defer { try? FileManager.default.removeItem(at: predicted) }
    for command in [[name], ["summary", name], ["weights", name], ["weights", "--format", "json", name], ["verify", name], ["diff", name, name],
                    ["predict", name, "--input", input, "--output", predicted.path]] {
      let result = try run(command, directory: outsideFolder)
      if command.first == "predict", let written = FileManager.default.contents(atPath: predicted.path) {
        // The outside value as float32 bytes, and as text, in the array predict wrote.
        let marker = withUnsafeBytes(of: Float(31337.25).bitPattern.littleEndian) { Data($0) }
        #expect(written.range(of: marker) == nil && written.range(of: Data(outsideMarker.utf8)) == nil, "predict wrote the outside file's values")
      }
      #expect(!result.stdout.contains(outsideMarker) && !result.stderr.contains(outsideMarker), "\(command) showed the outside file's values")
      if command.first == "summary", name.hasSuffix(".h5") {
        // The text summary of a legacy .h5 whose config accounts for every weight reads the config
        // alone: the weights, where these files lead outside, are never opened, and it prints Keras's table.
        #expect(result.status == 0 && result.stdout.contains("Total params: 640"), "\(command): \(result.stderr)")
        continue
      }
      #expect(result.status == entry.exit ?? result.status, "\(command): \(result.stderr)")
      #expect(result.status != 0 || entry.exit == 0, "\(command) exited 0")
      guard entry.exit == 2 else { continue }
      if command.first == "verify" {
        // verify reports each file it could not read in its report, and goes on with the others.
        #expect(result.stdout.contains("ERROR \(name): ") && result.stdout.contains(entry.message), "\(command): \(result.stdout)")
      } else {
        #expect(result.stderr.contains(entry.message), "\(command): \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(command): more than one line: \(result.stderr)")
      }
    }
  }

  @Test("an archive's entries named outside it (../, absolute, assets/../../) are never written anywhere")
  func escapingEntries() throws {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("keras-inspect-escape-\(getpid())/inner")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch.deletingLastPathComponent()) }
    let archive = outsideFolder.appendingPathComponent("archive_escaping_entries.keras").path
    for command in [["verify", archive], ["weights", archive], ["summary", archive]] {
      let result = try run(command, directory: scratch)
      #expect(result.status == 0, "\(command): \(result.stderr)")
    }
    for path in [scratch.deletingLastPathComponent().appendingPathComponent("escape.txt").path,
                 scratch.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("up.txt").path,
                 outsideFolder.deletingLastPathComponent().appendingPathComponent("escape.txt").path, "/etc/absolute.txt"] {
      #expect(!FileManager.default.fileExists(atPath: path), "\(path) was written")
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty)
  }

  @Test("the corpus covers every way out the issue names")
  func complete() {
    let names = Set(outsideCorpus.map { URL(fileURLWithPath: $0.file).lastPathComponent })
    for expected in ["external_storage.h5", "external_link_weight.h5", "external_link_group.h5", "virtual_dataset.h5", "plugin_filter.h5",
                     "soft_link_loop.h5", "soft_link_dangling.h5", "archive_external_link.keras", "archive_hard_link_cycle.keras",
                     "archive_duplicate_entry.keras", "archive_escaping_entries.keras"] {
      #expect(names.contains(expected), "missing \(expected)")
    }
  }
}

@Suite("The sandboxed reader")
struct SandboxTests {
  /// Whether this kernel offers Landlock, as the tool itself reports it.
  static func landlock() throws -> Bool {
    try run(["summary", fixture("keras2/lstm_worked_example.h5"), "--verbose"]).stderr.contains("sandbox: Landlock ABI")
  }

  @Test("with the file's own refusals switched off, the sandbox alone keeps the reader in; without it the outside value leaks",
        arguments: ["external_link_weight.h5", "external_link_group.h5", "external_storage.h5", "virtual_dataset.h5", "archive_external_link.keras"])
  func standsAlone(_ name: String) throws {
    var environment = ProcessInfo.processInfo.environment
    environment["KERAS_INSPECT_TEST_FOLLOW_OUTSIDE_FILES"] = "1"
    var open = environment
    open["KERAS_INSPECT_NO_SANDBOX"] = "1"
    let unguarded = try run(["weights", name], environment: open, directory: outsideFolder)
    #expect(unguarded.stdout.contains(outsideMarker), "the test switch should let the outside file through: \(unguarded.stderr)")
    guard try Self.landlock() else { return }
    let sandboxed = try run(["weights", name], environment: environment, directory: outsideFolder)
    // A virtual dataset whose source file cannot be opened reads libhdf5's fill value: the
    // sandbox keeps the outside bytes out, the file's own refusal makes it exit 2.
    if name != "virtual_dataset.h5" { #expect(sandboxed.status == 2, "\(sandboxed.stderr)") }
    #expect(!sandboxed.stdout.contains(outsideMarker) && !sandboxed.stderr.contains(outsideMarker))
  }

  @Test("inside the child: a file the command line does not name is neither read nor written; --output is written")
  func probe() throws {
    guard try Self.landlock() else { return }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keras-inspect-probe-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let secret = dir.appendingPathComponent("secret.txt"), output = dir.appendingPathComponent("out.npy")
    try "secret".write(to: secret, atomically: true, encoding: .utf8)
    var environment = ProcessInfo.processInfo.environment
    environment["KERAS_INSPECT_TEST_SANDBOX_PROBE"] = secret.path
    let denied = try run(["summary", fixture("keras2/lstm_worked_example.h5")], environment: environment)
    #expect(denied.status == 0)
    #expect(denied.stderr.contains("read denied, write denied"), "\(denied.stderr)")
    environment["KERAS_INSPECT_TEST_SANDBOX_PROBE"] = output.path
    let written = try run(["predict", fixture("keras2/lstm_worked_example.h5"), "--input", fixture("keras2/lstm_worked_example.npz") + ":input_0",
                           "--output", output.path], environment: environment)
    #expect(written.status == 0, "\(written.stderr)")
    #expect(written.stderr.contains("write allowed, create beside denied"), "\(written.stderr)")
    #expect(((try? FileManager.default.attributesOfItem(atPath: output.path))?[.size] as? Int ?? 0) > 0)
    #expect(try String(contentsOf: secret, encoding: .utf8) == "secret")
    #expect(!FileManager.default.fileExists(atPath: output.path + ".created"))
    // No new privileges, and the address space capped: 6 GiB above the files read by default,
    // or KERAS_INSPECT_MEMORY_LIMIT MiB.
    #expect(denied.stderr.contains("no_new_privs 1"), "\(denied.stderr)")
    #expect(denied.stderr.range(of: #"address space 61\d\d MiB"#, options: .regularExpression) != nil, "\(denied.stderr)")
    environment["KERAS_INSPECT_TEST_SANDBOX_PROBE"] = secret.path
    environment["KERAS_INSPECT_MEMORY_LIMIT"] = "3000"
    let capped = try run(["summary", fixture("keras2/lstm_worked_example.h5")], environment: environment)
    #expect(capped.status == 0 && capped.stderr.contains("address space 3000 MiB"), "\(capped.stderr)")
  }

  @Test("where the kernel has no Landlock the reader still works, with no new privileges and its limits, and --verbose says so")
  func withoutLandlock() throws {
    var environment = ProcessInfo.processInfo.environment
    environment["KERAS_INSPECT_TEST_NO_LANDLOCK"] = "1"
    let plain = try run(["summary", fixture("keras2/lstm_worked_example.h5")])
    let result = try run(["summary", fixture("keras2/lstm_worked_example.h5"), "--verbose"], environment: environment)
    #expect(result.status == 0)
    #expect(result.stdout == plain.stdout)
    #expect(result.stderr.contains("sandbox: no Landlock on this system; no new privileges; resource limits set"), "\(result.stderr)")
    environment["KERAS_INSPECT_TEST_SANDBOX_PROBE"] = fixture("keras2/lstm_worked_example.json")
    let probed = try run(["summary", fixture("keras2/lstm_worked_example.h5")], environment: environment)
    #expect(probed.stderr.contains("read allowed") && probed.stderr.contains("no_new_privs 1"), "\(probed.stderr)")
  }

  @Test("a reading process that reads weights starts afresh with huge pages for its heap, and the user's own glibc tunables win")
  func readerTunables() throws {
    var environment = ProcessInfo.processInfo.environment
    environment["KERAS_INSPECT_TEST_SANDBOX_PROBE"] = fixture("keras2/lstm_worked_example.json")
    environment["GLIBC_TUNABLES"] = nil
    let plain = try run([fixture("keras2/lstm_worked_example.h5"), "--verbose"], environment: environment)
    #expect(plain.status == 0 && plain.stderr.contains("tunables glibc.malloc.hugetlb=1\n"), "\(plain.stderr)")
    #expect(plain.stderr.contains("keras-inspect: reader: started afresh\n"), "\(plain.stderr)")
    environment["GLIBC_TUNABLES"] = "glibc.malloc.arena_max=2"
    let added = try run([fixture("keras2/lstm_worked_example.h5"), "--verbose"], environment: environment)
    #expect(added.stderr.contains("tunables glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1\n"), "\(added.stderr)")
    environment["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=0:glibc.malloc.arena_max=2"
    let kept = try run([fixture("keras2/lstm_worked_example.h5"), "--verbose"], environment: environment)
    #expect(kept.stderr.contains("tunables glibc.malloc.hugetlb=0:glibc.malloc.arena_max=2\n"), "\(kept.stderr)")
    #expect(kept.stdout == plain.stdout && added.stdout == plain.stdout)
  }

  @Test("summary's reader is forked at start-up: sandboxed all the same, the environment untouched, the same output as in-process")
  func summaryReaderForked() throws {
    let model = fixture("keras2/lstm_worked_example.h5")
    var environment = ProcessInfo.processInfo.environment
    environment["KERAS_INSPECT_TEST_SANDBOX_PROBE"] = fixture("keras2/lstm_worked_example.json")
    environment["GLIBC_TUNABLES"] = "glibc.malloc.arena_max=2"
    let forked = try run(["summary", model, "--verbose"], environment: environment)
    #expect(forked.status == 0, "\(forked.stderr)")
    #expect(forked.stderr.contains("keras-inspect: reader: forked at start-up\n"), "\(forked.stderr)")
    #expect(forked.stderr.contains("read denied, write denied, create beside denied; no_new_privs 1"), "\(forked.stderr)")
    #expect(forked.stderr.contains("tunables glibc.malloc.arena_max=2\n"), "\(forked.stderr)")
    environment["KERAS_INSPECT_NO_CONTAINMENT"] = "1"
    let inProcess = try run(["summary", model, "--verbose"], environment: environment)
    #expect(inProcess.stderr.contains("keras-inspect: reader: in-process\n"), "\(inProcess.stderr)")
    #expect(forked.stdout == inProcess.stdout && forked.stdout.contains("Total params: 640"))
    // Several files, one reader; and the quick path and the argument parser's path alike.
    let two = try run(["summary", model, fixture("keras3/lstm_worked_example.h5")])
    #expect(two.status == 0 && two.stdout.components(separatedBy: "Total params: 640").count == 3, "\(two.stderr)")
    let json = try run(["summary", model, "--format", "json"])
    #expect(json.status == 0 && json.stdout.hasPrefix("{"), "\(json.stderr)")
  }

  @Test("--verbose says how the reader is sandboxed; KERAS_INSPECT_NO_SANDBOX turns it off")
  func verbose() throws {
    let on = try run(["summary", fixture("keras2/lstm_worked_example.h5"), "--verbose"])
    #expect(on.status == 0)
    #expect(on.stderr.contains("sandbox: Landlock ABI") || on.stderr.contains("sandbox: no Landlock"), "\(on.stderr)")
    var environment = ProcessInfo.processInfo.environment
    environment["KERAS_INSPECT_NO_SANDBOX"] = "1"
    let off = try run(["summary", fixture("keras2/lstm_worked_example.h5"), "--verbose"], environment: environment)
    #expect(off.stderr.contains("sandbox: off"))
    #expect(off.stdout == on.stdout)
  }
}

@Suite("Version")
struct VersionTests {
  @Test("--version names the tool's semantic version and the libhdf5 it reads with; reports carry it")
  func version() throws {
    let result = try run(["--version"])
    #expect(result.status == 0)
    let line = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(line.range(of: #"^keras-inspect \d+\.\d+\.\d+ \(libhdf5 \d+\.\d+\.\d+\)$"#, options: .regularExpression) != nil, "\(line)")
    let version = String(line.split(separator: " ")[1])
    let json = try run(["verify", fixture("keras2/lstm_worked_example.h5"), "--format", "json"])
    #expect(json.stdout.contains("\"keras_inspect_version\": \"\(version)\"") || json.stdout.contains("\"keras_inspect_version\":\"\(version)\""), "\(json.stdout.prefix(200))")
    let junit = try run(["verify", fixture("keras2/lstm_worked_example.h5"), "--format", "junit"])
    #expect(junit.stdout.contains("<property name=\"keras_inspect_version\" value=\"\(version)\"/>"))
  }
}

@Suite("Keras's summary options")
struct SummaryOptionTests {
  static let cases = ["keras2", "keras3"].flatMap { flavour in
    ["frozen_and_batchnorm", "multi_io", "nested_functional", "op_arithmetic"].map { "\(flavour)/\($0)" }
  }

  @Test("--show-trainable and --layer-range print what model.summary(show_trainable=True, layer_range=...) printed", arguments: cases)
  func matchesKeras(_ name: String) throws {
    let model = fixture(name + (name.hasPrefix("keras3") ? ".keras" : ".h5"))
    var wide = ProcessInfo.processInfo.environment
    wide["COLUMNS"] = "200"
    let trainable = try run(["summary", model, "--show-trainable"], environment: wide)
    #expect(trainable.stdout == (try String(contentsOfFile: fixture(name + ".summary.trainable.txt"), encoding: .utf8)))
    let range = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture(name + ".summary.range.json")))) as? [String: [String]]
    let bounds = try #require(range?["layer_range"])
    let ranged = try run(["summary", model, "--layer-range"] + bounds, environment: wide)
    #expect(ranged.stdout == (try String(contentsOfFile: fixture(name + ".summary.range.txt"), encoding: .utf8)))
  }

  @Test("--expand-nested (and with --show-trainable) prints what model.summary(expand_nested=True) printed",
        arguments: ["keras2", "keras3"].flatMap { flavour in
          ["nested_sequential", "nested_functional", "nested_sequential_branch", "time_distributed_nested"].map { "\(flavour)/\($0)" }
        })
  func expandNested(_ name: String) throws {
    let model = fixture(name + (name.hasPrefix("keras3") ? ".keras" : ".h5"))
    var wide = ProcessInfo.processInfo.environment
    wide["COLUMNS"] = "200"
    let nested = try run(["summary", model, "--expand-nested"], environment: wide)
    #expect(nested.stdout == (try String(contentsOfFile: fixture(name + ".summary.nested.txt"), encoding: .utf8)))
    let both = try run(["summary", model, "--expand-nested", "--show-trainable"], environment: wide)
    #expect(both.stdout == (try String(contentsOfFile: fixture(name + ".summary.nested.trainable.txt"), encoding: .utf8)))
  }

  @Test("a layer range no layer matches is a usage error naming it")
  func noMatch() throws {
    let result = try run(["summary", fixture("keras2/multi_io.h5"), "--layer-range", "nothing_here", "head"])
    #expect(result.status == 64)
    #expect(result.stderr.contains("nothing_here"))
  }
}

@Suite("verify --format markdown")
struct MarkdownReportTests {
  static let paths = [fixture("keras2/lstm_worked_example.h5"), fixture("broken"), fixture("corrupt/empty.h5")]

  @Test("one table row per file with status, format, Keras version, params and failed checks; details of failures only")
  func table() throws {
    let markdown = try run(["verify"] + Self.paths + ["--format", "markdown"])
    let json = try run(["verify"] + Self.paths + ["--format", "json"])
    #expect(markdown.status == json.status)
    let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    let files = try #require(report["files"] as? [[String: Any]])
    let lines = markdown.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let header = try #require(lines.firstIndex(of: "| Status | File | Format | Keras | Params | Failed checks |"))
    #expect(lines[header + 1] == "|---|---|---|---|---:|---|")
    let rows = lines[(header + 2)...].prefix { $0.hasPrefix("| ") }
    #expect(rows.count == files.count)
    for (row, file) in zip(rows, files) {
      // Cells split on the pipes that are not escaped.
      let cells = row.replacingOccurrences(of: "\\|", with: "\u{0}").split(separator: "|", omittingEmptySubsequences: false)
        .dropFirst().dropLast().map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\u{0}", with: "|") }
      #expect(cells.count == 6, "\(row)")
      guard cells.count == 6 else { continue }
      #expect(cells[0].hasSuffix(file["status"] as? String == "error" ? "error" : (file["status"] as? String ?? "?")))
      #expect(cells[1] == "`\(file["file"] as? String ?? "")`")
      #expect(cells[4] == ((file["total_params"] as? Int).map(String.init) ?? ""))
      let failed = ((file["checks"] as? [[String: Any]]) ?? []).filter { !($0["passed"] as? Bool ?? true) }.compactMap { $0["id"] as? String }
      #expect(cells[5] == (file["status"] as? String == "error" ? "could not be read" : failed.joined(separator: ", ")))
    }
    let details = markdown.stdout.components(separatedBy: "#### Failures").last ?? ""
    #expect(!details.contains("lstm_worked_example.h5"), "a passing file has no details")
  }

  @Test("markdown-it-py (from PyPI) renders the table with a row per file, when a Python with it is at hand")
  func rendered() throws {
    let python = ProcessInfo.processInfo.environment["KERAS_INSPECT_TEST_PYTHON"] ?? "/usr/bin/python3"
    let probe = try? run(["-c", "import markdown_it"], executable: URL(fileURLWithPath: python))
    guard probe?.status == 0 else { return }
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("keras-inspect-report-\(getpid()).md")
    defer { try? FileManager.default.removeItem(at: file) }
    try run(["verify"] + Self.paths + ["--format", "markdown"]).stdout.write(to: file, atomically: true, encoding: .utf8)
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("scripts/check-markdown.py").path
    let checked = try run([script, file.path], executable: URL(fileURLWithPath: python))
    #expect(checked.status == 0, "\(checked.stderr)")
    let rows = try #require(try JSONSerialization.jsonObject(with: Data(checked.stdout.utf8)) as? [[String: String]])
    let json = try run(["verify"] + Self.paths + ["--format", "json"])
    let files = try #require((try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])?["files"] as? [[String: Any]])
    #expect(rows.map { $0["file"] } == files.map { $0["file"] as? String })
    #expect(rows.map { $0["status"] } == files.map { $0["status"] as? String })
  }
}
