import ArgumentParser
import KerasInspect
import KerasModel

struct WeightsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "weights",
    abstract: "List every weight tensor with its shape, dtype and statistics; gate slices for LSTM and GRU."
  )
  @OptionGroup var verboseOption: VerboseOption

  @OptionGroup var model: ModelArgument

  @Option(help: "Only the layer with this name.")
  var layer: String?

  @Option(help: "Output format: text or json.")
  var format: OutputFormat = .text

  func run() throws {
    let file = try model.openFile()
    let analysis = file.config.map { ModelAnalysis(file: file, config: $0) }
    let names = analysis?.layers.map(\.name) ?? file.weightLayers
    if let layer, !names.contains(layer) {
      throw ValidationError("no layer named \(layer); layers: \(names.joined(separator: ", "))")
    }
    let report: WeightsReport
    do {
      report = try WeightsReport(file: file, analysis: analysis, layer: layer)
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
