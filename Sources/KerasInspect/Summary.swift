import KerasModel

/// The text of `model.summary()`, reproduced from an analysed model.
public struct Summary: Sendable {
  public let analysis: ModelAnalysis
  public let style: SummaryStyle
  /// Total line width; nil for Keras's default (65 or 98 for Keras 2, 88 or 108 for Keras 3).
  public let lineLength: Int?
  /// The console's width, which Keras 3 narrows its default table to (its width minus 4, as
  /// `print_summary` does with `shutil.get_terminal_size()`); nil for Keras's full default width.
  public let consoleColumns: Int?

  public init(analysis: ModelAnalysis, style: SummaryStyle, lineLength: Int? = nil, consoleColumns: Int? = nil) {
    self.analysis = analysis
    self.style = style
    self.lineLength = lineLength
    self.consoleColumns = consoleColumns
  }

  /// Whether the table has Keras's "Connected to" column.
  var connected: Bool { !analysis.isSequentialLike }

  public var totals: Totals { Totals(analysis.summaryRows) }

  /// The summary as Keras prints it, each line ending in a newline.
  public func render() -> String {
    let rows = analysis.summaryRows.map { layer in
      var fields = ["\(layer.name) (\(layer.displayClassName))", style.outputShapeText(layer), style.count(layer.params)]
      if connected { fields.append(style.connections(analysis.displayedConnections(layer))) }
      return fields
    }
    let lines: [String]
    switch style {
    case .keras2: lines = keras2Table(rows)
    case .keras3: lines = keras3Table(rows)
    }
    return lines.map { $0 + "\n" }.joined()
  }

  var headers: [String] {
    connected ? ["Layer (type)", "Output Shape", "Param #", "Connected to"] : ["Layer (type)", "Output Shape", "Param #"]
  }

  func totalsLines(prefix: String) -> [String] {
    let t = totals
    return [
      "\(prefix)Total params: \(style.count(t.total)) (\(style.bytes(t.totalBytes)))",
      "\(prefix)Trainable params: \(style.count(t.trainable)) (\(style.bytes(t.trainableBytes)))",
      "\(prefix)Non-trainable params: \(style.count(t.nonTrainable)) (\(style.bytes(t.nonTrainableBytes)))",
    ]
  }

  // MARK: Keras 2 (tf_keras `layer_utils.print_summary`)

  func keras2Table(_ rows: [[String]]) -> [String] {
    let length = lineLength ?? (connected ? 98 : 65)
    let fractions = connected ? [0.3, 0.6, 0.70, 1.0] : [0.45, 0.85, 1.0]
    let positions = fractions.map { Int(Double(length) * $0) }
    var lines = ["Model: \"\(analysis.config.name)\"", String(repeating: "_", count: length)]
    lines += keras2Row(headers, positions)
    lines.append(String(repeating: "=", count: length))
    for row in rows {
      lines += keras2Row(row, positions)
      lines.append(String(repeating: " ", count: length))
    }
    lines.append(String(repeating: "=", count: length))
    lines += totalsLines(prefix: "")
    lines.append(String(repeating: "_", count: length))
    return lines
  }

  /// tf_keras's `print_row`: each field cut to its column, breaking after `),` `},` `],` `',`
  /// when one occurs in the part that fits, and continued on the next line.
  func keras2Row(_ fields: [String], _ positions: [Int]) -> [String] {
    var left = fields.map { Array($0) }
    var lines: [String] = []
    while left.contains(where: { !$0.isEmpty }) {
      var line: [Character] = []
      for col in 0..<left.count {
        let start = col > 0 ? positions[col - 1] : 0
        let last = col == positions.count - 1
        let space = last ? 0 : 2
        var cutoff = positions[col] - start - space - (last ? 0 : 1)
        cutoff = max(0, cutoff)
        var fit = Array(left[col].prefix(cutoff))
        let text = String(fit)
        let breaks = ["),", "},", "],", "',"].compactMap { pattern -> Int? in
          guard let range = text.range(of: pattern) else { return nil }
          return text.distance(from: text.startIndex, to: range.upperBound)
        }
        if let shortest = breaks.min() {
          cutoff = shortest
          fit = Array(fit.prefix(cutoff))
        }
        if col == 0 { line.append(" ") }
        line += fit
        line += Array(repeating: " ", count: space)
        left[col] = Array(left[col].dropFirst(min(cutoff, left[col].count)))
        line += Array(repeating: " ", count: max(0, positions[col] - line.count))
      }
      lines.append(String(line))
    }
    return lines
  }

  // MARK: Keras 3 (`summary_utils.print_summary`, rendered by rich)

  func keras3Table(_ rows: [[String]]) -> [String] {
    // Keras 3: `min(default, terminal columns - 4)`; an explicit line length is taken as given.
    // (Keras refuses a console too narrow for its columns; here the table stops narrowing at 40.)
    let full = connected ? 108 : 88
    let length = lineLength ?? consoleColumns.map { max(40, min(full, $0 - 4)) } ?? full
    let fractions = connected ? [0.3, 0.56, 0.74, 1.0] : [0.45, 0.80, 1.0]
    let alignments: [RichTable.Alignment] = connected ? [.left, .left, .right, .left] : [.left, .left, .right]
    let table = RichTable(headers: headers, alignments: alignments, fractions: fractions, width: length)
    var lines = ["Model: \"\(analysis.config.name)\""]
    lines += table.render(rows)
    lines += totalsLines(prefix: " ")
    return lines
  }
}

/// Parameter totals as Keras prints them under the table.
public struct Totals: Sendable, Equatable {
  public let trainable: Int
  public let nonTrainable: Int
  public let trainableBytes: Int
  public let nonTrainableBytes: Int

  public var total: Int { saturatingSum(trainable, nonTrainable) }
  public var totalBytes: Int { saturatingSum(trainableBytes, nonTrainableBytes) }

  init(_ layers: [LayerInfo]) {
    let trained = layers.map { $0.footprint(trainable: true) }
    let frozen = layers.map { $0.footprint(trainable: false) }
    trainable = trained.reduce(0) { saturatingSum($0, $1.params) }
    trainableBytes = trained.reduce(0) { saturatingSum($0, $1.bytes) }
    nonTrainable = frozen.reduce(0) { saturatingSum($0, $1.params) }
    nonTrainableBytes = frozen.reduce(0) { saturatingSum($0, $1.bytes) }
  }
}
