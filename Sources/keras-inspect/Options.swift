import ArgumentParser
import Foundation
#if canImport(Glibc)
  import Glibc
#endif
import KerasInspect
import KerasModel

/// The model file argument shared by every subcommand.
struct ModelArgument: ParsableArguments {
  @Argument(help: "A Keras model file: .h5 (full model or weights only), .keras, .weights.h5.")
  var path: String

  @Option(name: .customLong("config"), help: "The architecture of a weights-only file: the JSON of model.to_json(), or a .keras archive's config.json.")
  var configPath: String?

  /// Opens the model, turning a file that cannot be read into exit 2 with one line on stderr.
  func open() throws -> Inspection {
    try Self.open(path, configPath: configPath)
  }

  /// Opens a model for a command that takes several, with the same exit-2 handling.
  static func open(_ path: String, configPath: String?) throws -> Inspection {
    do {
      return try Inspection(path: path, configPath: configPath)
    } catch {
      printError("keras-inspect: \(error.description)")
      throw ExitCode(2)
    }
  }

  /// Opens any Keras file, architecture or not (for listing weights).
  func openFile() throws -> KerasFile {
    try Self.openFile(path, configPath: configPath)
  }

  static func openFile(_ path: String, configPath: String?) throws -> KerasFile {
    do {
      return try Inspection.open(path: path, configPath: configPath)
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

func printError(_ message: String, terminator: String = "\n") {
  var stderr = StandardError()
  print(message, terminator: terminator, to: &stderr)
}

struct StandardError: TextOutputStream {
  mutating func write(_ string: String) {
    FileHandle.standardError.write(Data(string.utf8))
  }
}

/// Writes text already encoded as UTF-8 to stdout, after what `print` has buffered.
func printUTF8(_ bytes: [UInt8]) {
  fflush(nil)
  bytes.withUnsafeBufferPointer { buffer in
    var done = 0
    while done < buffer.count {
      let written = write(STDOUT_FILENO, buffer.baseAddress! + done, buffer.count - done)
      if written > 0 {
        done += written
      } else if written < 0, errno == EINTR {
        continue
      } else {
        return  // a closed pipe or a full disk: as print, which does not report it either
      }
    }
  }
}

/// `--verbose`: the sandbox and kernel lines on stderr, printed by ``Containment`` before parsing.
struct VerboseOption: ParsableArguments {
  @Flag(help: "Say on stderr how the reading process is sandboxed and which kernels compute.")
  var verbose = false
}

/// The process's environment variables, read one at a time with `getenv`: Foundation's
/// `ProcessInfo.environment` builds a dictionary of all of them, which cost a summary about half a
/// millisecond of start-up.
struct Environment {
  subscript(name: String) -> String? { getenv(name).map { String(cString: $0) } }
}

/// The console width Keras 3 narrows its summary to, found as Python's `shutil.get_terminal_size`
/// finds it: `COLUMNS` when set, else the width of the terminal on stdout, else 80 (a pipe, a CI log).
enum Console {
  static func columns(forced: Int? = nil) -> Int {
    if let forced { return forced }
    if let value = Environment()["COLUMNS"].flatMap(Int.init), value > 0 { return value }
    #if canImport(Glibc)
      var size = winsize()
      if isatty(STDOUT_FILENO) != 0, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
    #endif
    return 80
  }
}
