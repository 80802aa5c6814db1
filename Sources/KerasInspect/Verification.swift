import Foundation
import KerasModel
import KerasRuntime
import NumPy

/// What `verify` checks beyond the built-in checks.
public struct VerifyOptions: Sendable {
  /// The architecture for weights-only files.
  public var configPath: String?
  /// Expected total parameter count.
  public var expectParams: Int?
  /// The summary printed at export time (Keras 2 or 3 text, or keras-inspect JSON), and its path.
  public var expectSummary: (summary: PrintedSummary, source: String)?
  /// Expected SHA-256 of the weights (``Inspection/weightsSHA256(maxTensorBytes:)``), hex.
  public var expectWeightsSHA256: String?
  /// Reference inputs and outputs for a forward pass.
  public var reference: (inputs: [NDArray], outputs: [NDArray])?
  public var atol: Double = 1e-5
  public var rtol: Double = 1e-4
  /// Skipped checks (layers keras-inspect cannot interpret or run, a weights-only file's missing
  /// architecture) fail the file instead.
  public var strict = false

  public init() {}
}

/// One file's verification: its checks, or why it could not be read as a Keras model.
public struct FileReport: Sendable {
  public enum Status: String, Sendable { case passed, failed, error }

  public let path: String
  public let format: String?
  public let kerasVersion: String?
  /// Why the file could not be read as a Keras model (exit code 2).
  public let error: String?
  public let checks: [CheckResult]
  public let weightsSHA256: String?
  public let totalParams: Int?

  public init(path: String, format: String?, kerasVersion: String?, error: String?, checks: [CheckResult], weightsSHA256: String?, totalParams: Int?) {
    self.path = path
    self.format = format
    self.kerasVersion = kerasVersion
    self.error = error
    self.checks = checks
    self.weightsSHA256 = weightsSHA256
    self.totalParams = totalParams
  }

  public var status: Status {
    if error != nil { return .error }
    return checks.allSatisfy(\.passed) ? .passed : .failed
  }
}

public enum Verifier {
  /// Model files named by `arguments`: files as given, directories searched recursively for
  /// `.h5`, `.hdf5` and `.keras` files (sorted). Missing paths are kept, to be reported.
  public static func expand(_ arguments: [String]) -> [String] {
    var files: [String] = []
    for argument in arguments {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory), isDirectory.boolValue else {
        files.append(argument)
        continue
      }
      let base = URL(fileURLWithPath: argument)
      let found = (FileManager.default.enumerator(atPath: argument)?.allObjects as? [String] ?? [])
        .filter { name in [".h5", ".hdf5", ".keras"].contains { name.lowercased().hasSuffix($0) } }
        .sorted()
        .map { argument.hasSuffix("/") ? argument + $0 : base.appendingPathComponent($0).relativePath }
      // Only files: a directory may be named like one (`model.h5/`).
      files += found.filter { path in
        var nested: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &nested) && !nested.boolValue
      }
    }
    return files
  }

  /// Verifies every file concurrently; reports come back in the order of `paths`.
  public static func verify(_ paths: [String], options: VerifyOptions, progress: (@Sendable (Int, Int, String) -> Void)? = nil) -> [FileReport] {
    verify(paths, options: { _ in options }, progress: progress)
  }

  /// Verifies every file concurrently, file `i` with `options(i)`.
  public static func verify(
    _ paths: [String], options: @Sendable (Int) -> VerifyOptions, progress: (@Sendable (Int, Int, String) -> Void)? = nil
  ) -> [FileReport] {
    final class Results: @unchecked Sendable {
      let lock = NSLock()
      var reports: [FileReport?]
      var done = 0
      init(_ n: Int) { reports = Array(repeating: nil, count: n) }
    }
    let results = Results(paths.count)
    Parallel.perform(iterations: paths.count) { i in
      let report = verify(paths[i], options: options(i))
      results.lock.lock()
      results.reports[i] = report
      results.done += 1
      let done = results.done
      results.lock.unlock()
      progress?(done, paths.count, paths[i])
    }
    return results.reports.map { $0! }
  }

  /// Verifies one file.
  public static func verify(_ path: String, options: VerifyOptions) -> FileReport {
    let report = verifyLeniently(path, options: options)
    guard options.strict else { return report }
    let checks = report.checks.map { check in
      check.skipped ? CheckResult(id: check.id, passed: false, summary: check.summary + " (skipped; --strict fails it)", details: check.details) : check
    }
    return FileReport(
      path: report.path, format: report.format, kerasVersion: report.kerasVersion, error: report.error, checks: checks,
      weightsSHA256: report.weightsSHA256, totalParams: report.totalParams)
  }

  static func verifyLeniently(_ path: String, options: VerifyOptions) -> FileReport {
    let file: KerasFile
    do {
      file = try Inspection.open(path: path, configPath: options.configPath)
    } catch {
      return FileReport(path: path, format: nil, kerasVersion: nil, error: error.message, checks: [], weightsSHA256: nil, totalParams: nil)
    }
    guard let inspection = Inspection(file: file) else {
      // A weights-only file without --config: the checks that apply; expectations need the model.
      let summary = WeightsOnlySummary(file: file)
      var checks = summary.runChecks(file: file)
      if options.expectParams != nil || options.expectSummary != nil || options.reference != nil || options.expectWeightsSHA256 != nil {
        checks.append(CheckResult(id: "expectations", passed: false, summary: "expectations need the architecture of this weights-only file: give --config", details: []))
      }
      return FileReport(path: path, format: file.format.rawValue, kerasVersion: file.kerasVersion, error: nil, checks: checks, weightsSHA256: nil, totalParams: summary.totalParams)
    }
    // The fingerprint first, while nothing else holds the values it hashes: the checks then
    // share that one read, and the runtime takes each tensor over as its kernel is built.
    var sha: String?
    var hashProblem: CheckResult?
    do {
      sha = try inspection.weightsSHA256()
    } catch {
      hashProblem = CheckResult(id: "weights-sha256", passed: false, summary: "weights cannot be hashed", details: [error.message])
    }
    var checks = inspection.runChecks(forwardInputs: options.reference?.inputs)
    let totals = inspection.summary().totals
    if let expected = options.expectParams {
      checks.append(CheckResult(
        id: "expected-params", passed: totals.total == expected,
        summary: totals.total == expected ? "total params \(totals.total) as expected" : "total params are \(totals.total), expected \(expected)",
        details: []))
    }
    if let (summary, source) = options.expectSummary {
      let differences = inspection.summaryDifferences(from: summary)
      checks.append(CheckResult(
        id: "expected-summary", passed: differences.isEmpty,
        summary: differences.isEmpty ? "summary matches \(source): \(summary.rows.count) rows and the totals" : "summary differs from \(source) in \(differences.count) place(s)",
        details: differences))
    }
    if let hashProblem { checks.append(hashProblem) }
    if let expected = options.expectWeightsSHA256?.lowercased(), let sha {
      checks.append(CheckResult(
        id: "weights-sha256", passed: sha == expected,
        summary: sha == expected ? "weights SHA-256 \(sha) as expected" : "weights SHA-256 is \(sha), expected \(expected)",
        details: []))
    }
    if let reference = options.reference {
      checks.append(referenceCheck(inspection, reference, atol: options.atol, rtol: options.rtol))
    }
    return FileReport(path: path, format: inspection.file.format.rawValue, kerasVersion: inspection.file.kerasVersion, error: nil, checks: checks, weightsSHA256: sha, totalParams: totals.total)
  }

  /// The forward pass on reference inputs, compared with the reference outputs.
  static func referenceCheck(_ inspection: Inspection, _ reference: (inputs: [NDArray], outputs: [NDArray]), atol: Double, rtol: Double) -> CheckResult {
    let outputs: [Tensor]
    do {
      if let (inputs, given) = inspection.givenOutputs, inputs == reference.inputs {
        outputs = given
      } else {
        let runtime = try inspection.runtime()
        outputs = try runtime.predict(try inspection.inputs(reference.inputs, runtime: runtime))
      }
    } catch {
      return CheckResult(id: "reference-outputs", passed: false, summary: "forward pass on the reference inputs failed", details: [error.message])
    }
    guard outputs.count == reference.outputs.count else {
      return CheckResult(id: "reference-outputs", passed: false, summary: "the model has \(outputs.count) output(s), \(reference.outputs.count) reference(s) given", details: [])
    }
    let comparisons = zip(outputs, reference.outputs).enumerated().map { i, pair in
      OutputComparison(index: i, got: pair.0, expected: pair.1, atol: atol, rtol: rtol)
    }
    let failed = comparisons.filter { !$0.passed }.count
    return CheckResult(
      id: "reference-outputs", passed: failed == 0,
      summary: failed == 0 ? "\(comparisons.count) output(s) match the reference within atol \(atol), rtol \(rtol)" : "\(failed) of \(comparisons.count) output(s) differ from the reference",
      details: comparisons.map(\.description))
  }
}
