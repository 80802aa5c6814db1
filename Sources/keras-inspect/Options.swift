import ArgumentParser
import Foundation
import KerasInspect

/// The model file argument shared by every subcommand.
struct ModelArgument: ParsableArguments {
  @Argument(help: "A Keras model file (.h5).")
  var path: String

  /// Opens the model, turning a file that cannot be read into exit 2 with one line on stderr.
  func open() throws -> Inspection {
    do {
      return try Inspection(path: path)
    } catch {
      printError("keras-inspect: \(error.description)")
      throw ExitCode(2)
    }
  }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
  case text, json
}

extension SummaryStyle: ExpressibleByArgument {}

func printError(_ message: String) {
  var stderr = StandardError()
  print(message, to: &stderr)
}

struct StandardError: TextOutputStream {
  mutating func write(_ string: String) {
    FileHandle.standardError.write(Data(string.utf8))
  }
}
