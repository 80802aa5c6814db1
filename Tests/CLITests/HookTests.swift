import Foundation
import Testing

/// The repository's pre-commit hook, driven by the real pre-commit from PyPI (`make test` installs
/// it into .venv-tools and names that Python in KERAS_INSPECT_TEST_PYTHON).
@Suite("pre-commit hook")
struct HookTests {
  static let root = fixtures.deletingLastPathComponent()

  /// pre-commit from the tools' venv, or nil (a plain `swift test` without it).
  static func preCommit() -> URL? {
    guard let python = ProcessInfo.processInfo.environment["KERAS_INSPECT_TEST_PYTHON"] else { return nil }
    let tool = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("pre-commit")
    return FileManager.default.isExecutableFile(atPath: tool.path) ? tool : nil
  }

  func git(_ arguments: [String], in dir: URL) throws -> Run {
    try run(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"] + arguments, executable: URL(fileURLWithPath: "/usr/bin/git"), directory: dir)
  }

  @Test("a repository using the hook: a good model passes, a broken one is refused with the reason, and --lock checks the lockfile",
        .enabled(if: ProcessInfo.processInfo.environment["KERAS_INSPECT_TEST_PYTHON"] != nil))
  func endToEnd() throws {
    let tool = try #require(Self.preCommit(), "KERAS_INSPECT_TEST_PYTHON names a Python without pre-commit")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keras-inspect-hook-\(getpid())")
    try? FileManager.default.removeItem(at: dir)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    #expect(try git(["init", "-q"], in: dir).status == 0)
    try FileManager.default.copyItem(atPath: fixture("keras2/lstm_worked_example.h5"), toPath: dir.appendingPathComponent("good.h5").path)
    try FileManager.default.copyItem(atPath: fixture("broken/lstm_nan_weight_keras2.h5"), toPath: dir.appendingPathComponent("bad.h5").path)
    var environment = ProcessInfo.processInfo.environment
    environment["PRE_COMMIT_HOME"] = dir.appendingPathComponent(".pre-commit-home").path
    environment["PATH"] = binary.deletingLastPathComponent().path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
    func tryRepo(_ files: [String]) throws -> Run {
      try run(["try-repo", Self.root.path, "keras-inspect-system", "--files"] + files, environment: environment, executable: tool, directory: dir)
    }
    let good = try tryRepo(["good.h5"])
    #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
    let bad = try tryRepo(["good.h5", "bad.h5"])
    #expect(bad.status == 1, "\(bad.stdout)")
    #expect(bad.stdout.contains("FAIL  bad.h5") && bad.stdout.contains("weight tensor(s) with NaN/Inf"), "\(bad.stdout)")

    // args: [--lock, keras-inspect.lock.json], from the hook repository at its HEAD.
    let head = try git(["-C", Self.root.path, "rev-parse", "HEAD"], in: dir).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(try run(["lock", "good.h5", "--output", "keras-inspect.lock.json"], directory: dir).status == 0)
    let config = """
      repos:
        - repo: \(Self.root.path)
          rev: \(head)
          hooks:
            - id: keras-inspect-system
              args: [--lock, keras-inspect.lock.json]
      """
    try config.write(to: dir.appendingPathComponent(".pre-commit-config.yaml"), atomically: true, encoding: .utf8)
    let locked = try run(["run", "--files", "good.h5"], environment: environment, executable: tool, directory: dir)
    #expect(locked.status == 0, "\(locked.stdout)\(locked.stderr)")
    try FileManager.default.removeItem(at: dir.appendingPathComponent("good.h5"))
    try FileManager.default.copyItem(atPath: fixture("keras2/gru_reset_before.h5"), toPath: dir.appendingPathComponent("good.h5").path)
    let changed = try run(["run", "--files", "good.h5"], environment: environment, executable: tool, directory: dir)
    #expect(changed.status == 1 && changed.stdout.contains("summary differs from the lockfile"), "\(changed.stdout)")
  }
}
