import ArgumentParser
import KerasInspect

/// `keras-inspect MODEL`: the summary, then every check; exit 1 when one fails.
struct Check: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Print the summary, then run every check (the default command)."
  )
  @OptionGroup var verboseOption: VerboseOption

  @OptionGroup var model: ModelArgument

  @Option(help: "Table layout: keras2 or keras3. Default: that of the Keras that saved the file.")
  var style: SummaryStyle?

  @Flag(help: "Fail skipped checks too: layers keras-inspect cannot interpret or run (Lambda, custom layers), and the checks a weights-only file cannot have.")
  var strict = false

  func run() throws {
    try Self.execute(path: model.path, configPath: model.configPath, style: style, strict: strict)
  }

  /// The command's work, on plain values (the start-up fast path in Entry calls it directly).
  static func execute(path: String, configPath: String? = nil, style: SummaryStyle? = nil, strict: Bool = false) throws {
    let file = try ModelArgument.openFile(path, configPath: configPath)
    let results: [CheckResult]
    if let inspection = Inspection(file: file) {
      print(inspection.summary(style: style, consoleColumns: Console.columns()).render())
      results = inspection.runChecks()
    } else {
      // A weights-only file without --config: what can be known, and the checks that apply.
      let summary = WeightsOnlySummary(file: file)
      print(summary.render())
      results = summary.runChecks(file: file)
    }
    print("Checks:")
    let color = useColor()
    for result in results {
      for line in result.textLines(color: color) { print(line) }
    }
    let failed = results.filter { !$0.passed || (strict && $0.skipped) }.count
    let skipped = results.filter(\.skipped).count
    let made = results.count - skipped
    let skippedNote = skipped > 0 ? " (\(skipped) skipped)" : ""
    print(failed == 0 ? "All \(made) checks passed\(skippedNote)." : "\(failed) of \(made) checks failed\(skippedNote).")
    if failed > 0 { throw ExitCode(1) }
  }
}
