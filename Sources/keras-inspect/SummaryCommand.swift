import ArgumentParser
import KerasInspect

struct SummaryCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "summary",
    abstract: "Print the model's summary exactly as Keras's model.summary() prints it."
  )

  @OptionGroup var model: ModelArgument

  @Option(help: "Output format: text or json.")
  var format: OutputFormat = .text

  @Option(help: "Table layout: keras2 (ASCII) or keras3 (box drawing). Default: that of the Keras that saved the file.")
  var style: SummaryStyle?

  @Option(help: "Line width of the table. Default: Keras's own (65/98 for Keras 2, 88/108 for Keras 3).")
  var lineLength: Int?

  @Flag(help: "After the table, show how each layer's parameter count follows from its config.")
  var explain = false

  func validate() throws {
    if let lineLength, lineLength < 40 || lineLength > 1000 {
      throw ValidationError("--line-length must be between 40 and 1000")
    }
  }

  func run() throws {
    let inspection = try model.open()
    switch format {
    case .text:
      let summary = inspection.summary(style: style, lineLength: lineLength)
      print(summary.render(), terminator: "")
      if explain { print(Explanation(analysis: inspection.analysis).render(), terminator: "") }
    case .json:
      print(SummaryJSON(inspection: inspection).render())
    }
  }
}
