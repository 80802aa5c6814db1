import ArgumentParser
import Foundation
import KerasInspect
import NumPy

extension ReportFormat: ExpressibleByArgument {}

/// `keras-inspect verify`: every check on one or many models, with expectations, one report.
struct VerifyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Run every check on models (files or directories) against expectations; one report.",
    discussion: """
      Exit codes: 0 all checks passed, 1 a check failed, 2 a file could not be read as a Keras model,
      64 usage error. Directories are searched recursively for .h5, .hdf5 and .keras files, verified
      concurrently; one bad file does not stop the others.
      """
  )
  @OptionGroup var verboseOption: VerboseOption

  @Argument(help: "Model files or directories (with --lock: default, the lockfile's models).")
  var paths: [String] = []

  @Option(help: "A lockfile written by `keras-inspect lock`: every model is checked against its entry (summary rows, params, weights SHA-256, format, Keras version); models not in it and models it lists that are missing fail.")
  var lock: String?

  @Option(name: .customLong("config"), help: "The architecture of weights-only files (model.to_json() output or config.json).")
  var configPath: String?

  @OptionGroup var arrays: ArrayInputs

  @Option(name: .customLong("expect"), help: "A reference output, Y.npy or BUNDLE.npz:NAME; once per model output, in order.")
  var expected: [String] = []

  @Option(help: "An .npz bundle with input_0, input_1, ... and output_0, ... (instead of --input/--expect).")
  var bundle: String?

  @Option(help: "Absolute tolerance for reference outputs.")
  var atol: Double = 1e-5

  @Option(help: "Relative tolerance for reference outputs.")
  var rtol: Double = 1e-4

  @Option(help: "The expected total parameter count.")
  var expectParams: Int?

  @Option(help: "The summary printed at export time: Keras 2 or Keras 3 model.summary() text, or keras-inspect's summary JSON.")
  var expectSummary: String?

  @Option(help: "The expected SHA-256 of the weights (as printed by verify).")
  var expectWeightsSha256: String?

  @Flag(help: "Fail skipped checks too: layers keras-inspect cannot interpret or run, and the checks a weights-only file cannot have.")
  var strict = false

  @Option(help: "Report format: text, json, junit or github.")
  var format: ReportFormat = .text

  func validate() throws {
    guard atol >= 0, rtol >= 0 else { throw ValidationError("tolerances must be non-negative") }
    guard !paths.isEmpty || lock != nil else { throw ValidationError("name model files or directories, or give --lock") }
    let referenced = !arrays.inputs.isEmpty || !expected.isEmpty || bundle != nil
    if referenced {
      var isDirectory: ObjCBool = false
      let single = paths.count == 1 && !(FileManager.default.fileExists(atPath: paths[0], isDirectory: &isDirectory) && isDirectory.boolValue)
      guard single else { throw ValidationError("--input, --expect and --bundle apply to one model file") }
      if bundle != nil && (!arrays.inputs.isEmpty || !expected.isEmpty) {
        throw ValidationError("give either --bundle or --input/--expect")
      }
      if bundle == nil && (arrays.inputs.isEmpty || expected.isEmpty) {
        throw ValidationError("--input and --expect go together")
      }
    }
    if let sha = expectWeightsSha256, sha.count != 64 || !sha.allSatisfy(\.isHexDigit) {
      throw ValidationError("--expect-weights-sha256 must be 64 hexadecimal digits")
    }
  }

  func options() throws -> VerifyOptions {
    var options = VerifyOptions()
    options.configPath = configPath
    options.expectParams = expectParams
    options.expectWeightsSHA256 = expectWeightsSha256
    options.atol = atol
    options.rtol = rtol
    options.strict = strict
    if let path = expectSummary {
      guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
      do {
        options.expectSummary = (try PrintedSummary.parse(String(decoding: data, as: UTF8.self)), path)
      } catch {
        throw ValidationError("\(path): \(error.message)")
      }
    }
    do {
      if let bundle {
        let all = try NPZ.read(path: bundle)
        func ordered(_ prefix: String) -> [NDArray] { (0..<all.count).compactMap { all["\(prefix)_\($0)"] } }
        guard !ordered("input").isEmpty, !ordered("output").isEmpty else {
          throw ValidationError("\(bundle) has no input_0 / output_0 arrays")
        }
        options.reference = (ordered("input"), ordered("output"))
      } else if !arrays.inputs.isEmpty {
        options.reference = (try arrays.load(), try expected.map(readArray))
      }
    } catch let error as NumPyError {
      printError("keras-inspect: \(error.message)")
      throw ExitCode(2)
    }
    return options
  }

  func run() throws {
    let options = try options()
    if let lock { return try runLocked(lock, options: options) }
    let files = Verifier.expand(paths)
    guard !files.isEmpty else { throw ValidationError("no .h5 or .keras files in \(paths.joined(separator: ", "))") }
    let reports = Verifier.verify(files, options: options, progress: files.count > 1 && isatty(2) != 0 ? showProgress : nil)
    let report = VerificationReport(files: reports)
    print(report.render(format, color: useColor()), terminator: "")
    if report.exitCode != 0 { throw ExitCode(report.exitCode) }
  }
}

extension VerifyCommand {
  /// `verify --lock FILE [PATHS]`: the named models (else the lockfile's, and any model file in
  /// its folder) against their entries; a model the lockfile does not list, or one it lists that
  /// is gone, fails.
  func runLocked(_ lock: String, options: VerifyOptions) throws {
    guard let data = FileManager.default.contents(atPath: lock) else {
      printError("keras-inspect: \(lock): cannot read the lockfile")
      throw ExitCode(2)
    }
    let lockfile: Lockfile
    do {
      lockfile = try Lockfile.parse(String(decoding: data, as: UTF8.self), source: lock)
    } catch {
      printError("keras-inspect: \(error.description)")
      throw ExitCode(2)
    }
    let folder = URL(fileURLWithPath: lock).deletingLastPathComponent()
    let here = FileManager.default.currentDirectoryPath
    func located(_ entry: Lockfile.Entry) -> String { Lockfile.relative(folder.appendingPathComponent(entry.path).path, to: here) }
    var entries: [String: Lockfile.Entry] = [:]
    for entry in lockfile.models { entries[entry.path] = entry }
    let missing = lockfile.models.filter { !FileManager.default.fileExists(atPath: folder.appendingPathComponent($0.path).path) }
    let files: [String]
    if paths.isEmpty {
      let listed = lockfile.models.filter { !missing.map(\.path).contains($0.path) }.map(located)
      let unlisted = Verifier.expand([folder.path]).filter { entries[Lockfile.relative($0, to: folder.path)] == nil }
      files = listed + unlisted.map { Lockfile.relative($0, to: here) }.sorted()
    } else {
      files = Verifier.expand(paths)
    }
    let expected = files.map { entries[Lockfile.relative($0, to: folder.path)] }
    var reports = Verifier.verify(files, options: { i in
      guard let entry = expected[i] else { return options }
      var own = options
      if let summary = entry.summary {
        own.expectSummary = (summary, "the lockfile")
        own.expectParams = entry.totalParams
      }
      own.expectWeightsSHA256 = entry.weightsSHA256
      return own
    }, progress: files.count > 1 && isatty(2) != 0 ? showProgress : nil)
    for (i, report) in reports.enumerated() where report.error == nil {
      reports[i] = report.adding(
        expected[i].map { $0.lockCheck(format: report.format, kerasVersion: report.kerasVersion, totalParams: report.totalParams) }
          ?? Lockfile.unlisted(in: lock))
    }
    reports += missing.map { $0.missing(at: located($0), in: lock) }
    guard !reports.isEmpty else { throw ValidationError("\(lock) lists no models and none were named") }
    let report = VerificationReport(files: reports)
    print(report.render(format, color: useColor()), terminator: "")
    if report.exitCode != 0 { throw ExitCode(report.exitCode) }
  }
}

/// Progress on a terminal's stderr: one line, rewritten in place.
@Sendable func showProgress(_ done: Int, _ total: Int, _ path: String) {
  printError("\u{1B}[2K\r[\(done)/\(total)] \(path)", terminator: done == total ? "\n" : "")
}

/// Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org).
func useColor() -> Bool {
  let environment = Environment()
  let noColor = !(environment["NO_COLOR"] ?? "").isEmpty
  return isatty(1) != 0 && !noColor && environment["TERM"] != "dumb"
}

extension VerifyCommand {
  /// After a crash or hang of a `verify` over several files: verify each file in its own process
  /// (itself contained), so the bad file is named and every other file still reported. Runs in
  /// the parent, which has not touched libhdf5. Nil when the command was not such a `verify`.
  static func isolateFiles(_ problem: String) -> Int32? {
    guard let command = try? KerasInspectCommand.parseAsRoot() as? VerifyCommand else { return nil }
    let files = Verifier.expand(command.paths)
    guard files.count > 1 else { return nil }
    final class Results: @unchecked Sendable {
      let lock = NSLock()
      var reports: [FileReport?]
      init(_ n: Int) { reports = Array(repeating: nil, count: n) }
    }
    let results = Results(files.count)
    DispatchQueue.concurrentPerform(iterations: files.count) { i in
      let report = command.verifyInOwnProcess(files[i], problem: problem)
      results.lock.lock()
      results.reports[i] = report
      results.lock.unlock()
    }
    let report = VerificationReport(files: results.reports.map { $0! })
    print(report.render(command.format, color: useColor()), terminator: "")
    fflush(nil)
    return report.exitCode
  }

  /// This command's options for one file, with a JSON report.
  func arguments(for file: String) -> [String] {
    var arguments = ["verify", file, "--format", "json", "--atol", String(atol), "--rtol", String(rtol)]
    if let configPath { arguments += ["--config", configPath] }
    if let expectParams { arguments += ["--expect-params", String(expectParams)] }
    if let expectSummary { arguments += ["--expect-summary", expectSummary] }
    if let expectWeightsSha256 { arguments += ["--expect-weights-sha256", expectWeightsSha256] }
    for input in arrays.inputs { arguments += ["--input", input] }
    for reference in expected { arguments += ["--expect", reference] }
    if let bundle { arguments += ["--bundle", bundle] }
    if strict { arguments.append("--strict") }
    // With --lock, the file's own report comes first; the parent reads only that one.
    if let lock { arguments += ["--lock", lock] }
    return arguments
  }

  func verifyInOwnProcess(_ file: String, problem: String) -> FileReport {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
    process.arguments = arguments(for: file)
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let failed = FileReport(path: file, format: nil, kerasVersion: nil, error: problem, checks: [], weightsSHA256: nil, totalParams: nil)
    guard (try? process.run()) != nil else { return failed }
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    if let report = FileReport.parse(json: String(decoding: stdout, as: UTF8.self)).first { return report }
    // The file's own process reported it unreadable (crash, hang or error) on stderr.
    let prefix = "keras-inspect: \(file): "
    let message = stderr.split(separator: "\n").first.map { String($0.hasPrefix(prefix) ? $0.dropFirst(prefix.count) : $0) }
    return FileReport(path: file, format: nil, kerasVersion: nil, error: message ?? problem, checks: [], weightsSHA256: nil, totalParams: nil)
  }
}
