import ArgumentParser
import KerasInspect

struct KerasInspectCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "keras-inspect",
    abstract: "Inspect and validate Keras model files (.h5, .keras, weights-only) without Python.",
    discussion: """
      With just a model file, prints the model's summary as Keras prints it, then runs every check.
      Exit codes: 0 all checks passed, 1 a check failed, 2 the file could not be read as a Keras
      model, 64 usage error.
      """,
    version: ToolVersion.description,
    subcommands: [Check.self, SummaryCommand.self, WeightsCommand.self, PredictCommand.self, VerifyCommand.self, LockCommand.self, GraphCommand.self, DiffCommand.self, BenchCommand.self],
    defaultSubcommand: Check.self
  )
}
