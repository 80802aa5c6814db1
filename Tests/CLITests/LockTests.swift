import Foundation
import Testing

/// `keras-inspect lock` and `verify --lock`, on copies of the fixtures in a scratch folder.
@Suite("Lockfiles")
struct LockTests {
  static let models = ["keras2/lstm_worked_example.h5", "keras2/conv2d.h5", "keras3/attention_self.keras", "keras3/nested_functional.h5"]

  /// A scratch folder holding `models/` copies of `names`, removed afterwards by the caller.
  static func scratch(_ names: [String]) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keras-inspect-lock-\(getpid())-\(UUID().uuidString)")
    let models = dir.appendingPathComponent("models")
    try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
    for name in names {
      let flat = name.replacingOccurrences(of: "/", with: "-")
      try FileManager.default.copyItem(atPath: fixture(name), toPath: models.appendingPathComponent(flat).path)
    }
    return dir
  }

  static func json(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
  }

  @Test("lock records each model as Keras described it: rows, shapes, params; sorted, relative, the same bytes each time")
  func records() throws {
    let dir = try Self.scratch(Self.models)
    defer { try? FileManager.default.removeItem(at: dir) }
    let first = try run(["lock", "models"], directory: dir)
    #expect(first.status == 0, "\(first.stderr)")
    #expect(try run(["lock", "models"], directory: dir).stdout == first.stdout)
    let lock = try Self.json(first.stdout)
    #expect(lock["schema"] as? String == "keras-inspect/lock" && lock["version"] as? Int == 1)
    let entries = try #require(lock["models"] as? [[String: Any]])
    let paths = entries.compactMap { $0["path"] as? String }
    #expect(paths == Self.models.map { "models/" + $0.replacingOccurrences(of: "/", with: "-") }.sorted())
    for (entry, name) in zip(entries, Self.models.sorted { $0.replacingOccurrences(of: "/", with: "-") < $1.replacingOccurrences(of: "/", with: "-") }) {
      // Keras's own description of the same file, recorded when the fixture was made.
      let keras = try Self.json(String(contentsOfFile: fixture(name.replacingOccurrences(of: ".keras", with: ".h5").replacingOccurrences(of: ".h5", with: ".json")), encoding: .utf8))
      #expect(entry["total_params"] as? Int == keras["total_params"] as? Int, "\(name)")
      let rows = try #require(entry["layers"] as? [[String: Any]])
      let kerasRows = try #require(keras["layers"] as? [[String: Any]])
      #expect(rows.count == kerasRows.count, "\(name)")
      for (row, kerasRow) in zip(rows, kerasRows) {
        for key in ["name", "class_name", "params", "trainable_params", "non_trainable_params"] {
          #expect("\(row[key] ?? "-")" == "\(kerasRow[key] ?? "-")", "\(name): \(key)")
        }
        #expect("\(row["output_shape"] ?? "-")" == "\(kerasRow["output_shape"] ?? "-")", "\(name): output_shape")
      }
      #expect((entry["weights_sha256"] as? String)?.count == 64)
    }
    // With --output elsewhere, paths are relative to the lockfile's folder.
    let elsewhere = dir.appendingPathComponent("ci")
    try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
    let written = try run(["lock", "models", "--output", "ci/lock.json"], directory: dir)
    #expect(written.status == 0 && written.stdout.isEmpty, "\(written.stderr)")
    let relocated = try Self.json(String(contentsOf: elsewhere.appendingPathComponent("lock.json"), encoding: .utf8))
    #expect(((relocated["models"] as? [[String: Any]])?.first?["path"] as? String)?.hasPrefix("../models/") == true)
    #expect(try run(["verify", "--lock", "ci/lock.json"], directory: dir).status == 0)
  }

  @Test("verify --lock passes an unchanged repository, and names what changed, what is new and what is gone")
  func changes() throws {
    let dir = try Self.scratch(Self.models)
    defer { try? FileManager.default.removeItem(at: dir) }
    let lock = try run(["lock", "models", "--output", "keras-inspect.lock.json"], directory: dir)
    #expect(lock.status == 0, "\(lock.stderr)")
    // From another folder, without naming the models: the lockfile's own are read (sandbox too).
    let clean = try run(["verify", "--lock", dir.appendingPathComponent("keras-inspect.lock.json").path])
    #expect(clean.status == 0, "\(clean.stdout)\(clean.stderr)")
    #expect(clean.stdout.contains("summary matches the lockfile") && clean.stdout.contains("4 file(s): 4 passed"), "\(clean.stdout)")

    let models = dir.appendingPathComponent("models")
    try FileManager.default.removeItem(at: models.appendingPathComponent("keras2-conv2d.h5"))
    try FileManager.default.copyItem(atPath: fixture("keras2/conv1d.h5"), toPath: models.appendingPathComponent("keras2-conv2d.h5").path)
    try FileManager.default.removeItem(at: models.appendingPathComponent("keras2-lstm_worked_example.h5"))
    try FileManager.default.copyItem(atPath: fixture("keras2/gru_reset_before.h5"), toPath: models.appendingPathComponent("added.h5").path)
    let changed = try run(["verify", "--lock", "keras-inspect.lock.json", "--format", "json"], directory: dir)
    #expect(changed.status == 1, "\(changed.stderr)")
    let report = try Self.json(changed.stdout)
    let files = try #require(report["files"] as? [[String: Any]])
    func failed(_ suffix: String) -> Set<String> {
      let file = files.first { ($0["file"] as? String)?.hasSuffix(suffix) == true }
      let checks = file?["checks"] as? [[String: Any]] ?? []
      return Set(checks.filter { $0["passed"] as? Bool == false }.compactMap { $0["id"] as? String })
    }
    #expect(failed("keras2-conv2d.h5") == ["expected-params", "expected-summary", "weights-sha256"])
    #expect(failed("added.h5") == ["lock"])
    #expect(failed("keras2-lstm_worked_example.h5") == ["lock"])
    #expect(failed("keras3-attention_self.keras").isEmpty && failed("keras3-nested_functional.h5").isEmpty)
    let text = try run(["verify", "--lock", "keras-inspect.lock.json", "models/added.h5"], directory: dir)
    #expect(text.status == 1 && text.stdout.contains("not in the lockfile keras-inspect.lock.json: run keras-inspect lock to add it"), "\(text.stdout)")
    #expect(text.stdout.contains("listed in the lockfile keras-inspect.lock.json but missing"))
    // Re-locking accepts the change.
    #expect(try run(["lock", "models", "--output", "keras-inspect.lock.json"], directory: dir).status == 0)
    #expect(try run(["verify", "--lock", "keras-inspect.lock.json"], directory: dir).status == 0)
  }

  @Test("a lockfile that is not one, or a model lock cannot read, is exit 2 with one line; nothing is written")
  func refusals() throws {
    let dir = try Self.scratch(["keras2/lstm_worked_example.h5"])
    defer { try? FileManager.default.removeItem(at: dir) }
    try #"{"schema": "something/else", "version": 1, "models": []}"#.write(to: dir.appendingPathComponent("other.json"), atomically: true, encoding: .utf8)
    let other = try run(["verify", "--lock", "other.json"], directory: dir)
    #expect(other.status == 2 && other.stderr == "keras-inspect: other.json: not a keras-inspect lockfile (no \"schema\": \"keras-inspect/lock\")\n", "\(other.stderr)")
    try #"{"schema": "keras-inspect/lock", "version": 1, "models": [{"path": "/etc/passwd", "format": "h5"}]}"#
      .write(to: dir.appendingPathComponent("absolute.json"), atomically: true, encoding: .utf8)
    let absolute = try run(["verify", "--lock", "absolute.json"], directory: dir)
    #expect(absolute.status == 2 && absolute.stderr.contains("/etc/passwd is not relative to the lockfile's folder"), "\(absolute.stderr)")
    try "not json".write(to: dir.appendingPathComponent("models/broken.h5"), atomically: true, encoding: .utf8)
    let broken = try run(["lock", "models", "--output", "lock.json"], directory: dir)
    #expect(broken.status == 2 && broken.stderr.contains("broken.h5"), "\(broken.stderr)")
    #expect((try? String(contentsOf: dir.appendingPathComponent("lock.json"), encoding: .utf8))?.isEmpty ?? true)
    #expect(try run(["verify"], directory: dir).status == 64)
  }
}

/// What `make install` puts beside the binary: shell completions from the command's own definition.
@Suite("Shell completions")
struct CompletionTests {
  @Test("bash, zsh and fish completion scripts name every subcommand; the bash one loads and registers itself")
  func scripts() throws {
    for shell in ["bash", "zsh", "fish"] {
      let script = try run(["--generate-completion-script", shell])
      #expect(script.status == 0, "\(shell): \(script.stderr)")
      for word in ["summary", "weights", "predict", "verify", "lock", "graph", "diff", "bench", "expect-summary", "expect-weights-sha256"] {
        #expect(script.stdout.contains(word), "\(shell) completion lacks \(word)")
      }
    }
    let bash = try run(["--generate-completion-script", "bash"])
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("keras-inspect-completion-\(getpid()).bash")
    try bash.stdout.write(to: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: file) }
    let loaded = try run(["-c", "source '\(file.path)' && complete -p keras-inspect"], executable: URL(fileURLWithPath: "/bin/bash"))
    #expect(loaded.status == 0 && loaded.stdout.contains("keras-inspect"), "\(loaded.stdout)\(loaded.stderr)")
  }
}
