import Foundation
import KerasModel

/// `keras-inspect lock`: what each model file of a repository is expected to be, and
/// `verify --lock` against it, like a snapshot test.
///
/// The JSON (`keras-inspect/lock`, version 1): `{"schema", "version", "models": [...]}`, models
/// sorted by path; each is `{"path", "format", "keras_version", "layers": [{"name", "class_name",
/// "output_shape", "params", "trainable_params", "non_trainable_params"}], "total_params",
/// "trainable_params", "non_trainable_params", "weights_sha256"}` with `path` relative to the
/// lockfile's folder (the layer keys are those of `summary --format json`). A weights-only file
/// read without its architecture has `"layers": null` and `"weights_sha256": null`.
public struct Lockfile: Sendable {
  public static let schema = "keras-inspect/lock"
  public static let version = 1

  /// One model's expected state.
  public struct Entry: Sendable {
    /// Relative to the lockfile's folder, `/`-separated.
    public let path: String
    public let format: String
    public let kerasVersion: String?
    /// The summary rows and totals; nil rows for a weights-only file.
    public let summary: PrintedSummary?
    public let totalParams: Int?
    public let weightsSHA256: String?
    /// The entry as written, for `lock` to print.
    let json: OrderedJSON
  }

  public let models: [Entry]

  public init(models: [Entry]) {
    self.models = models.sorted { $0.path < $1.path }
  }

  /// The entry of one model file, its path given relative to the lockfile's folder.
  public static func entry(for path: String, relativePath: String, configPath: String? = nil) throws(InspectionError) -> Entry {
    let file = try Inspection.open(path: path, configPath: configPath)
    guard let inspection = Inspection(file: file) else {
      let summary = WeightsOnlySummary(file: file)
      let json = OrderedJSON.object([
        ("path", .string(relativePath)), ("format", .string(file.format.rawValue)),
        ("keras_version", file.kerasVersion.map(OrderedJSON.string) ?? .null), ("layers", .null),
        ("total_params", .int(summary.totalParams)), ("weights_sha256", .null),
      ])
      return Entry(path: relativePath, format: file.format.rawValue, kerasVersion: file.kerasVersion, summary: nil, totalParams: summary.totalParams, weightsSHA256: nil, json: json)
    }
    let totals = Totals(inspection.analysis.summaryRows)
    let sha: String
    do {
      // The entry needs the fingerprint only: each tensor is read, hashed and let go, instead of
      // being kept for a forward pass that `lock` never runs.
      inspection.releaseValues()
      sha = try inspection.weightsSHA256()
    } catch {
      throw InspectionError(path: path, message: "weights cannot be hashed: \(error.message)")
    }
    let layers = OrderedJSON.array(inspection.analysis.summaryRows.map { layer in
      .object([
        ("name", .string(layer.name)), ("class_name", .string(layer.displayClassName)), ("output_shape", SummaryJSON.outputShape(layer)),
        ("params", .int(layer.params)), ("trainable_params", .int(layer.trainableParams)), ("non_trainable_params", .int(layer.nonTrainableParams)),
      ])
    })
    let json = OrderedJSON.object([
      ("path", .string(relativePath)), ("format", .string(file.format.rawValue)),
      ("keras_version", file.kerasVersion.map(OrderedJSON.string) ?? .null), ("layers", layers),
      ("total_params", .int(totals.total)), ("trainable_params", .int(totals.trainable)), ("non_trainable_params", .int(totals.nonTrainable)),
      ("weights_sha256", .string(sha)),
    ])
    return Entry(
      path: relativePath, format: file.format.rawValue, kerasVersion: file.kerasVersion,
      summary: try PrintedSummary.parse(json: json.render()), totalParams: totals.total, weightsSHA256: sha, json: json)
  }

  public func render() -> String {
    OrderedJSON.object([
      ("schema", .string(Self.schema)), ("version", .int(Self.version)), ("models", .array(models.map(\.json))),
    ]).render() + "\n"
  }

  /// Reads a lockfile; `source` names it in errors.
  public static func parse(_ text: String, source: String) throws(InspectionError) -> Lockfile {
    func fail(_ message: String) -> InspectionError { InspectionError(path: source, message: message) }
    let json: JSONValue
    do {
      json = try JSONValue.parse(text)
    } catch {
      throw fail("not a keras-inspect lockfile: not valid JSON")
    }
    guard json["schema"]?.string == schema else { throw fail("not a keras-inspect lockfile (no \"schema\": \"\(schema)\")") }
    guard json["version"]?.int == version else { throw fail("lockfile version \(json["version"]?.int.map(String.init) ?? "?") is not \(version), which this keras-inspect reads") }
    guard let models = json["models"]?.array else { throw fail("lockfile has no models list") }
    var entries: [Entry] = []
    var seen: Set<String> = []
    for (i, model) in models.enumerated() {
      guard let path = model["path"]?.string, !path.isEmpty, let format = model["format"]?.string else {
        throw fail("lockfile model \(i + 1) has no path or format")
      }
      guard !path.hasPrefix("/") else { throw fail("lockfile model \(path) is not relative to the lockfile's folder") }
      guard seen.insert(path).inserted else { throw fail("lockfile lists \(path) twice") }
      let summary: PrintedSummary?
      if model["layers"]?.array != nil {
        summary = try PrintedSummary.parse(json: model)
      } else {
        summary = nil
      }
      entries.append(Entry(
        path: path, format: format, kerasVersion: model["keras_version"]?.string, summary: summary,
        totalParams: model["total_params"]?.int, weightsSHA256: model["weights_sha256"]?.string, json: .null))
    }
    return Lockfile(models: entries)
  }

  /// `path` relative to the folder `base`, `/`-separated (`../` where it lies outside).
  public static func relative(_ path: String, to base: String) -> String {
    let target = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
    let from = URL(fileURLWithPath: base, isDirectory: true).standardizedFileURL.pathComponents
    var common = 0
    while common < min(target.count, from.count), target[common] == from[common] { common += 1 }
    let up = Array(repeating: "..", count: from.count - common)
    return (up + target[common...]).joined(separator: "/")
  }
}

extension Lockfile {
  /// The check of a model file the lockfile `lock` does not list.
  public static func unlisted(in lock: String) -> CheckResult {
    CheckResult(id: "lock", passed: false, summary: "not in the lockfile \(lock): run keras-inspect lock to add it", details: [])
  }
}

extension FileReport {
  /// This report with `check` after its own.
  public func adding(_ check: CheckResult) -> FileReport {
    FileReport(path: path, format: format, kerasVersion: kerasVersion, error: error, checks: checks + [check], weightsSHA256: weightsSHA256, totalParams: totalParams)
  }
}

extension Lockfile.Entry {
  /// The report of an entry whose model file is gone, found at `path`.
  public func missing(at path: String, in lock: String) -> FileReport {
    FileReport(
      path: path, format: format, kerasVersion: kerasVersion, error: nil,
      checks: [CheckResult(id: "lock", passed: false, summary: "listed in the lockfile \(lock) but missing", details: [])],
      weightsSHA256: nil, totalParams: nil)
  }

  /// The expectations `verify --lock` checks a model against: its format and Keras version, the
  /// summary rows and totals, the parameter count and the weights' hash.
  public func lockCheck(format: String?, kerasVersion: String?, totalParams: Int?) -> CheckResult {
    var differences: [String] = []
    // A model's parameters are checked with its summary; a weights-only file's here.
    if summary == nil, let expected = self.totalParams, totalParams != expected {
      differences.append("total params are \(totalParams.map(String.init) ?? "unknown"), the lockfile says \(expected)")
    }
    if let format, format != self.format { differences.append("format is \(format), the lockfile says \(self.format)") }
    if kerasVersion != self.kerasVersion {
      differences.append("written by Keras \(kerasVersion ?? "unknown"), the lockfile says \(self.kerasVersion ?? "unknown")")
    }
    return CheckResult(
      id: "lock", passed: differences.isEmpty,
      summary: differences.isEmpty ? "format and Keras version as the lockfile's entry \(path)" : "differs from the lockfile's entry \(path)",
      details: differences)
  }
}
