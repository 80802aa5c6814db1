import ArgumentParser
import KerasInspect

struct WeightsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "weights",
    abstract: "List every weight tensor with its shape, dtype and statistics; gate slices for LSTM and GRU."
  )

  @OptionGroup var model: ModelArgument

  @Option(help: "Only the layer with this name.")
  var layer: String?

  @Option(help: "Output format: text or json.")
  var format: OutputFormat = .text

  func run() throws {
    let inspection = try model.open()
    let names = inspection.analysis.layers.map(\.name)
    if let layer, !names.contains(layer) {
      throw ValidationError("no layer named \(layer); layers: \(names.joined(separator: ", "))")
    }
    let report: WeightsReport
    do {
      report = try WeightsReport(inspection: inspection, layer: layer)
    } catch {
      printError("keras-inspect: \(error.description)")
      throw ExitCode(2)
    }
    switch format {
    case .text: print(report.renderText(), terminator: "")
    case .json: print(report.value().render())
    }
  }
}
