import Foundation
import KerasModel
import KerasRuntime
import NumPy

/// A file that could not be read as a Keras model (exit code 2 in the CLI).
public struct InspectionError: Error, CustomStringConvertible, Sendable {
  public let path: String
  public let message: String

  public var description: String { "\(path): \(message)" }
}

/// An opened and analysed model file: what the summary, checks and reports are made from.
public final class Inspection {
  public let file: KerasFile
  public let analysis: ModelAnalysis
  /// Weight values already read, by dataset path, kept only when the model can run natively:
  /// the runtime will hold every weight anyway, so the checks, the fingerprint and the forward
  /// pass share one read of each tensor instead of reading the file two or three times.
  private var readValues: [String: [Float]] = [:]
  private lazy var retainsValues = Runtime.unsupportedLayers(analysis).isEmpty
  func releaseValues() {
    readValues = [:]
    retainsValues = false
  }

  /// The runtime, once ``runtime()`` has built it.
  var builtRuntime: Runtime?
  /// The outputs of the forward-pass check when it ran on given inputs (verify's reference
  /// inputs), with those inputs.
  var givenOutputs: (inputs: [NDArray], outputs: [Tensor])?

  /// Opens and analyses `path`. `configPath` gives the architecture of a weights-only file.
  /// Throws ``InspectionError`` naming the file and the problem.
  public convenience init(path: String, configPath: String? = nil) throws(InspectionError) {
    let file = try Self.open(path: path, configPath: configPath)
    guard let config = file.config else {
      throw InspectionError(path: path, message: "\(file.format.description): it holds no architecture; give one with --config (the JSON of model.to_json(), or a .keras archive's config.json)")
    }
    self.init(file: file, config: config)
  }

  /// Analyses an opened file; nil for a weights-only file opened without an architecture.
  public convenience init?(file: KerasFile) {
    guard let config = file.config else { return nil }
    self.init(file: file, config: config)
  }

  init(file: KerasFile, config: ModelConfig) {
    self.file = file
    self.analysis = ModelAnalysis(file: file, config: config)
  }

  /// What a text summary needs: this inspection when the file's weights are listed or its config
  /// accounts for every weight (`ModelAnalysis.configAccountsForWeights`), else the model analysed
  /// again with its stored weights listed (a file opened with `listWeights: false` whose config
  /// does not say everything: a layer keras-inspect does not understand, weights not in float32).
  public func forSummary() throws(InspectionError) -> Inspection {
    if file.weightsListed || analysis.configAccountsForWeights { return self }
    do {
      return Inspection(file: try file.listingWeights(), config: analysis.config)
    } catch {
      throw InspectionError(path: file.path, message: error.message)
    }
  }

  /// Opens any Keras file, with or without an architecture (enough to list weights).
  /// `listWeights: false` skips listing the stored weights of a legacy `.h5` model (see `KerasFile`).
  public static func open(path: String, configPath: String? = nil, listWeights: Bool = true) throws(InspectionError) -> KerasFile {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw InspectionError(path: path, message: "no such file")
    }
    if isDirectory.boolValue { throw InspectionError(path: path, message: "is a directory, not a model file") }
    guard FileManager.default.isReadableFile(atPath: path) else {
      throw InspectionError(path: path, message: "permission denied")
    }
    do {
      return try KerasFile(path: path, configPath: configPath, listWeights: listWeights)
    } catch {
      throw InspectionError(path: path, message: error.message)
    }
  }

  /// One weight's values as Float, read from the file once (see `readValues`).
  public func values(of weight: StoredWeight, maxBytes: Int = 4 << 30) throws(ModelError) -> [Float] {
    if let values = readValues[weight.path] { return values }
    let values = try file.values(of: weight, maxBytes: maxBytes)
    if retainsValues { readValues[weight.path] = values }
    return values
  }

  /// One weight's values, given up by the cache: read once more from the file if asked again.
  func takeValues(of weight: StoredWeight) throws(ModelError) -> [Float] {
    if let values = readValues.removeValue(forKey: weight.path) { return values }
    return try file.values(of: weight, maxBytes: 4 << 30)
  }

  /// The summary in the given style (default: that of the Keras that wrote the file).
  public func summary(style: SummaryStyle? = nil, lineLength: Int? = nil, consoleColumns: Int? = nil, options: SummaryOptions = SummaryOptions()) -> Summary {
    Summary(analysis: analysis, style: style ?? SummaryStyle(for: file), lineLength: lineLength, consoleColumns: consoleColumns, options: options)
  }
}
