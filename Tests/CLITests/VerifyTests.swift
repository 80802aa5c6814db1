import Foundation
import Testing

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// Counts JUnit elements with Foundation's XML parser (a real XML parser: malformed XML fails).
final class JUnitCounter: NSObject, XMLParserDelegate {
  var suites = 0, cases = 0, failures = 0, errors = 0
  func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
    switch name {
    case "testsuite": suites += 1
    case "testcase": cases += 1
    case "failure": failures += 1
    case "error": errors += 1
    default: break
    }
  }
}

@Suite("verify in CI: expectations, many files, reports")
struct VerifyCLITests {
  let model = fixture("keras2/lstm_worked_example.h5")
  let keras2Summary = fixture("keras2/lstm_worked_example.summary.txt")

  @Test("the worked example passes --expect-params 640 and the summary Keras printed")
  func expectationsPass() throws {
    let result = try run(["verify", model, "--expect-params", "640", "--expect-summary", keras2Summary])
    #expect(result.status == 0)
    #expect(result.stdout.contains("[PASS] total params 640 as expected"))
    #expect(result.stdout.contains("[PASS] summary matches"))
    // A Keras 3 summary of the same architecture (box layout) matches too, and so does our JSON.
    #expect(try run(["verify", fixture("keras3/lstm_worked_example.keras"), "--expect-summary", fixture("keras3/lstm_worked_example.summary.txt")]).status == 0)
    let json = FileManager.default.temporaryDirectory.appendingPathComponent("keras-inspect-summary-\(getpid()).json").path
    defer { try? FileManager.default.removeItem(atPath: json) }
    try Data(try run(["summary", "--format", "json", model]).stdout.utf8).write(to: URL(fileURLWithPath: json))
    #expect(try run(["verify", model, "--expect-summary", json]).status == 0)
  }

  @Test("641 params, or another model's summary, fail naming each difference")
  func expectationsFail() throws {
    let wrongCount = try run(["verify", model, "--expect-params", "641"])
    #expect(wrongCount.status == 1)
    #expect(wrongCount.stdout.contains("[FAIL] total params are 640, expected 641"))
    let other = try run(["verify", model, "--expect-summary", fixture("keras2/multi_io.summary.txt")])
    #expect(other.status == 1)
    for line in [
      "row 1 lstm (LSTM): name is lstm, expected sequence",
      "row 1 lstm (LSTM): output shape is (None,10), expected [(None,9,4)]",
      "row 2: expected aux (InputLayer), the model has no such row",
      "row 7: expected klass (Dense), the model has no such row",
      "total params are 640, expected 332",
    ] {
      #expect(other.stdout.contains(line), "\(line)")
    }
  }

  @Test("the whole fixture set in one run: every file reported, exit 0")
  func directories() throws {
    let result = try run(["verify", fixture("keras2"), fixture("keras3"), "--format", "json"])
    #expect(result.status == 0, "\(result.stdout.suffix(500))")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    #expect(json["schema"] as? String == "keras-inspect/verify")
    #expect(json["version"] as? Int == 1)
    let files = try #require(json["files"] as? [[String: Any]])
    // keras2/*.h5, keras3/*.h5 and keras3/*.keras
    let models = { (flavour: String, suffix: String) in
      ((try? FileManager.default.contentsOfDirectory(atPath: fixture(flavour))) ?? []).filter { $0.hasSuffix(suffix) }.count
    }
    #expect(files.count == models("keras2", ".h5") + models("keras3", ".h5") + models("keras3", ".keras"))
    #expect(files.count >= 57 * 3 - 1)
    #expect(files.allSatisfy { $0["status"] as? String == "passed" })
    #expect(json["passed"] as? Int == files.count)
  }

  @Test("one corrupted file: exit 2, every other file still reported")
  func corrupted() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keras-inspect-verify-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let names = ["lstm_worked_example.h5", "multi_io.h5", "conv2d.h5", "gru_reset_after.h5"]
    for name in names {
      try FileManager.default.copyItem(atPath: fixture("keras2/\(name)"), toPath: dir.appendingPathComponent(name).path)
    }
    // A directory named like a model file is searched, not verified.
    let folder = dir.appendingPathComponent("archive.h5")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: fixture("keras3/lstm_worked_example.keras"), toPath: folder.appendingPathComponent("model.keras").path)
    let good = try Data(contentsOf: URL(fileURLWithPath: fixture("keras2/multi_io.h5")))
    try good.prefix(3000).write(to: dir.appendingPathComponent("truncated.h5"))
    let result = try run(["verify", dir.path])
    #expect(result.status == 2)
    for name in names { #expect(result.stdout.contains("PASS  \(dir.appendingPathComponent(name).path)")) }
    #expect(result.stdout.contains("ERROR \(dir.appendingPathComponent("truncated.h5").path): "))
    #expect(result.stdout.contains("PASS  \(folder.appendingPathComponent("model.keras").path)"))
    #expect(result.stdout.contains("6 file(s): 5 passed, 0 failed, 1 could not be read"))
    #expect(!result.stdout.contains("\u{1B}["), "no colour when stdout is not a terminal")
  }

  @Test("colour on a terminal only, and never with NO_COLOR", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
  func colour() throws {
    // util-linux's `script` gives the command a pseudo-terminal.
    func onTerminal(_ environment: [String: String]) throws -> String {
      var env = ProcessInfo.processInfo.environment
      env.merge(environment) { $1 }
      env["NO_COLOR"] = environment["NO_COLOR"]
      env["TERM"] = "xterm"
      let result = try run(["-qc", "\(binary.path) verify \(model)", "/dev/null"], environment: env, executable: URL(fileURLWithPath: "/usr/bin/script"))
      return result.stdout
    }
    #expect(try onTerminal([:]).contains("\u{1B}[32;1mPASS\u{1B}[0m"))
    #expect(!(try onTerminal(["NO_COLOR": "1"]).contains("\u{1B}[")))
  }

  @Test("JUnit XML: one test case per check per file, failures and errors, well-formed")
  func junit() throws {
    let result = try run(["verify", model, fixture("broken/lstm_wrong_kernel_shape_keras2.h5"), fixture("broken/text_file.h5"), "--format", "junit"])
    #expect(result.status == 2)
    let parser = XMLParser(data: Data(result.stdout.utf8))
    let counter = JUnitCounter()
    parser.delegate = counter
    #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
    #expect(counter.suites == 3)
    #expect(counter.cases == 6 + 6 + 1)
    #expect(counter.failures == 2)  // params and forward-pass of the wrong-shape file
    #expect(counter.errors == 1)
  }

  @Test("GitHub annotations name the file and the failed check")
  func github() throws {
    let result = try run(["verify", fixture("broken/lstm_wrong_kernel_shape_keras2.h5"), "--format", "github"])
    #expect(result.status == 1)
    #expect(result.stdout.contains("::error file=\(fixture("broken/lstm_wrong_kernel_shape_keras2.h5")),title=keras-inspect params::params: 1 layer(s) whose stored weights contradict the config%0Alayer lstm (LSTM): weight lstm/lstm_cell/kernel:0 has shape (6, 40)"))
  }

  @Test("weights SHA-256: printed, equal for a model's .h5 and .keras, checked with --expect-weights-sha256")
  func sha256() throws {
    func sha(_ path: String) throws -> String? {
      let json = try JSONSerialization.jsonObject(with: Data(try run(["verify", path, "--format", "json"]).stdout.utf8)) as? [String: Any]
      return (json?["files"] as? [[String: Any]])?.first?["weights_sha256"] as? String
    }
    let h5 = try #require(try sha(fixture("keras3/multi_io.h5")))
    #expect(h5.count == 64)
    #expect(try sha(fixture("keras3/multi_io.keras")) == h5)
    #expect(try sha(fixture("keras3/lstm_worked_example.h5")) != h5)
    #expect(try run(["verify", fixture("keras3/multi_io.keras"), "--expect-weights-sha256", h5]).status == 0)
    let wrong = try run(["verify", fixture("keras3/multi_io.keras"), "--expect-weights-sha256", String(repeating: "0", count: 64)])
    #expect(wrong.status == 1)
    #expect(wrong.stdout.contains("[FAIL] weights SHA-256 is \(h5), expected 0000"))
    #expect(try run(["verify", model, "--expect-weights-sha256", "xyz"]).status == 64)
  }

  @Test("diff: a model against itself or its .keras twin is identical; a changed weight is named")
  func diff() throws {
    let same = try run(["diff", model, model])
    #expect(same.status == 0)
    #expect(same.stdout.hasPrefix("identical"))
    #expect(try run(["diff", fixture("keras3/nested_functional.h5"), fixture("keras3/nested_functional.keras")]).status == 0)
    let changed = try run(["diff", model, fixture("broken/lstm_one_weight_changed_keras2.h5")])
    #expect(changed.status == 1)
    #expect(changed.stdout == "tensor lstm/lstm/lstm_cell/recurrent_kernel:0: max absolute difference 0.25\n1 difference(s)\n")
    let other = try run(["diff", model, fixture("keras2/gru_reset_after.h5")])
    #expect(other.status == 1)
    #expect(other.stdout.contains("layer lstm removed") && other.stdout.contains("layer gru added"))
  }

  @Test("usage errors: references with several files, unreadable expectations")
  func usage() throws {
    #expect(try run(["verify", fixture("keras2"), "--bundle", fixture("keras2/lstm_worked_example.npz")]).status == 64)
    #expect(try run(["verify", model, "--expect-summary", "/nonexistent"]).status == 64)
    #expect(try run(["verify", model, "--bundle", fixture("keras2/lstm_worked_example.npz")]).status == 0)
  }
}
