import Foundation
import KerasModel

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

  /// Opens and analyses `path`. Throws ``InspectionError`` naming the file and the problem.
  public init(path: String) throws(InspectionError) {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw InspectionError(path: path, message: "no such file")
    }
    if isDirectory.boolValue { throw InspectionError(path: path, message: "is a directory, not a model file") }
    guard FileManager.default.isReadableFile(atPath: path) else {
      throw InspectionError(path: path, message: "permission denied")
    }
    if let handle = FileHandle(forReadingAtPath: path) {
      let magic = (try? handle.read(upToCount: 4)) ?? Data()
      try? handle.close()
      if magic == Data([0x50, 0x4B, 0x03, 0x04]) {
        throw InspectionError(path: path, message: "a zip archive (a Keras 3 .keras file?); this version reads legacy HDF5 (.h5) model files only")
      }
    }
    do {
      file = try KerasFile(path: path)
    } catch {
      throw InspectionError(path: path, message: error.message)
    }
    analysis = ModelAnalysis(file: file)
  }

  /// The summary in the given style (default: that of the Keras that wrote the file).
  public func summary(style: SummaryStyle? = nil, lineLength: Int? = nil) -> Summary {
    Summary(analysis: analysis, style: style ?? SummaryStyle(for: file), lineLength: lineLength)
  }
}
