import ArgumentParser
import KerasInspect

/// `keras-inspect diff A B`: exit 0 when identical, 1 when they differ.
struct DiffCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "diff",
    abstract: "Compare two models: layers added or removed, changed configs, shapes and params, and weight differences."
  )
  @OptionGroup var verboseOption: VerboseOption

  @Argument(help: "The first model file.")
  var first: String

  @Argument(help: "The second model file.")
  var second: String

  @Option(name: .customLong("config"), help: "The architecture for weights-only files.")
  var configPath: String?

  func run() throws {
    let a = try ModelArgument.open(first, configPath: configPath)
    let b = try ModelArgument.open(second, configPath: configPath)
    let diff: ModelDiff
    do {
      diff = try ModelDiff(a, b)
    } catch {
      printError("keras-inspect: \(error.description)")
      throw ExitCode(2)
    }
    if diff.identical {
      print("identical: \(a.analysis.layers.count) layers, \(diff.tensorDifferences.count) tensors equal")
      return
    }
    for line in diff.differences { print(line) }
    print("\(diff.differences.count) difference(s)")
    throw ExitCode(1)
  }
}
