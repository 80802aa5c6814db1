import ArgumentParser
import KerasInspect

/// `keras-inspect MODEL`: the summary, then every check; exit 1 when one fails.
struct Check: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Print the summary, then run every check (the default command)."
  )

  @OptionGroup var model: ModelArgument

  @Option(help: "Table layout: keras2 or keras3. Default: that of the Keras that saved the file.")
  var style: SummaryStyle?

  func run() throws {
    let inspection = try model.open()
    print(inspection.summary(style: style).render())
    let results = inspection.runChecks()
    print("Checks:")
    for result in results {
      for line in result.textLines(color: useColor()) { print(line) }
    }
    let failed = results.filter { !$0.passed }.count
    print(failed == 0 ? "All \(results.count) checks passed." : "\(failed) of \(results.count) checks failed.")
    if failed > 0 { throw ExitCode(1) }
  }
}
