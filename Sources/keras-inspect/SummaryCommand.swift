import ArgumentParser
import KerasInspect
import KerasModel

struct SummaryCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "summary",
    abstract: "Print the model's summary exactly as Keras's model.summary() prints it."
  )
  @OptionGroup var verboseOption: VerboseOption

  @Argument(help: "Model files or directories (searched recursively for .h5, .hdf5 and .keras files).")
  var paths: [String]

  @Option(name: .customLong("config"), help: "The architecture of weights-only files: the JSON of model.to_json(), or a .keras archive's config.json.")
  var configPath: String?

  @Option(help: "Output format: text or json.")
  var format: OutputFormat = .text

  @Option(help: "Table layout: keras2 (ASCII) or keras3 (box drawing). Default: that of the Keras that saved the file.")
  var style: SummaryStyle?

  @Option(help: "Line width of the table. Default: Keras's own (65/98 for Keras 2; for Keras 3 88/108, narrowed to the console as Keras 3 does).")
  var lineLength: Int?

  @Option(help: "The console width Keras 3's table narrows to (default: COLUMNS, else the terminal's, else 80).")
  var width: Int?

  @Flag(help: "After the table, show how each layer's parameter count follows from its config.")
  var explain = false

  @Flag(help: "A Trainable column, as model.summary(show_trainable=True) prints it.")
  var showTrainable = false

  @Flag(help: "Nested models' layers under their row, as model.summary(expand_nested=True) prints them.")
  var expandNested = false

  @Option(parsing: .upToNextOption, help: "FIRST LAST: the rows from the first layer matching FIRST to the last matching LAST, as model.summary(layer_range=[FIRST, LAST]) prints them (names matched as Python's re.match).")
  var layerRange: [String] = []

  func validate() throws {
    if let lineLength, lineLength < 40 || lineLength > 1000 {
      throw ValidationError("--line-length must be between 40 and 1000")
    }
    if let width, width < 1 || width > 10000 {
      throw ValidationError("--width must be between 1 and 10000")
    }
    if !layerRange.isEmpty, layerRange.count != 2 {
      throw ValidationError("--layer-range takes two layer names (or patterns), FIRST and LAST")
    }
  }

  /// One summary per file, in order; a file that cannot be read is reported on stderr and the
  /// others still print (exit 2 at the end).
  func run() throws {
    let options = SummaryOptions(showTrainable: showTrainable, layerRange: layerRange.count == 2 ? (layerRange[0], layerRange[1]) : nil, expandNested: expandNested)
    try Self.execute(paths: paths, configPath: configPath, format: format, style: style, lineLength: lineLength, width: width, explain: explain, options: options)
  }

  /// The command's work, on plain values (the start-up fast path in Entry calls it directly).
  static func execute(
    paths: [String], configPath: String? = nil, format: OutputFormat = .text, style: SummaryStyle? = nil,
    lineLength: Int? = nil, width: Int? = nil, explain: Bool = false, options: SummaryOptions = SummaryOptions()
  ) throws {
    let files = Verifier.expand(paths)
    guard !files.isEmpty else { throw ValidationError("no .h5 or .keras files in \(paths.joined(separator: ", "))") }
    var unreadable = 0
    var objects: [OrderedJSON] = []
    for (index, path) in files.enumerated() {
      let file: KerasFile
      do {
        // The text summary of a model whose config accounts for every weight needs no listing of
        // the stored ones (through libhdf5, most of a large model's summary); the JSON lists them.
        file = try Inspection.open(path: path, configPath: configPath, listWeights: format == .json)
      } catch {
        printError("keras-inspect: \(error.description)")
        unreadable += 1
        continue
      }
      Containment.kept = file
      guard var inspection = Inspection(file: file) else {
        // A weights-only file without --config: its weight groups, tensors and params.
        let summary = WeightsOnlySummary(file: file)
        switch format {
        case .text:
          if files.count > 1 { print("\(index > 0 ? "\n" : "")==> \(path) <==") }
          print(summary.render(), terminator: "")
        case .json:
          objects.append(summary.value())
        }
        continue
      }
      do {
        inspection = try inspection.forSummary()
      } catch {
        printError("keras-inspect: \(error.description)")
        unreadable += 1
        continue
      }
      switch format {
      case .text:
        if files.count > 1 { print("\(index > 0 ? "\n" : "")==> \(path) <==") }
        if options.layerRange != nil {
          do throws(LayerRangeError) {
            _ = try Summary.rows(inspection.analysis.summaryRows, range: options.layerRange)
          } catch {
            throw ValidationError("\(path): \(error.description)")
          }
        }
        printUTF8(inspection.summary(style: style, lineLength: lineLength, consoleColumns: Console.columns(forced: width), options: options).renderedUTF8())
        if explain { print(Explanation(analysis: inspection.analysis).render(), terminator: "") }
      case .json:
        objects.append(SummaryJSON(inspection: inspection).value())
      }
      Containment.kept = inspection
    }
    if format == .json {
      // One file: its summary object; several: a list of them.
      print(files.count == 1 ? (objects.first?.render() ?? "") : OrderedJSON.array(objects).render())
    }
    if unreadable > 0 { throw ExitCode(2) }
  }
}
