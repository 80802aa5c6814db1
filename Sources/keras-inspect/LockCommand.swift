import ArgumentParser
import Foundation
import KerasInspect

struct LockCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lock",
    abstract: "Record what each model file is (format, Keras version, summary rows, params, weights SHA-256) in a lockfile.",
    discussion: """
      `keras-inspect lock models/ > keras-inspect.lock.json`, then `keras-inspect verify --lock
      keras-inspect.lock.json` in CI: every model is checked against its entry, and models added
      or missing are reported. Run lock again to accept a change. Paths in the lockfile are
      relative to its folder: --output's, else the current folder.
      """
  )
  @OptionGroup var verboseOption: VerboseOption

  @Argument(help: "Model files or directories (searched recursively for .h5, .hdf5 and .keras files).")
  var paths: [String]

  @Option(name: .customLong("config"), help: "The architecture of weights-only files.")
  var configPath: String?

  @Option(help: "Write the lockfile here instead of to stdout (paths in it are then relative to its folder).")
  var output: String?

  func run() throws {
    let files = Verifier.expand(paths)
    guard !files.isEmpty else { throw ValidationError("no .h5 or .keras files in \(paths.joined(separator: ", "))") }
    let base = output.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path } ?? FileManager.default.currentDirectoryPath
    var entries: [Lockfile.Entry] = []
    var unreadable = 0
    for path in files {
      do {
        entries.append(try Lockfile.entry(for: path, relativePath: Lockfile.relative(path, to: base), configPath: configPath))
      } catch {
        printError("keras-inspect: \(error.description)")
        unreadable += 1
      }
    }
    // A lockfile of some of the models would accept the others' absence: none is written.
    if unreadable > 0 { throw ExitCode(2) }
    let text = Lockfile(models: entries).render()
    if let output {
      // In place (not through a temporary file): the sandbox lets this file, not its folder, be written.
      do {
        try Data(text.utf8).write(to: URL(fileURLWithPath: output))
      } catch {
        printError("keras-inspect: \(output): cannot write the lockfile: \(error.localizedDescription)")
        throw ExitCode(2)
      }
    } else {
      print(text, terminator: "")
    }
  }
}
