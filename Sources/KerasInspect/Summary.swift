import Foundation
import KerasModel

/// `model.summary()`'s options that change the table.
public struct SummaryOptions: Sendable, Equatable {
  /// `show_trainable=True`: a Trainable column (Y or N; Keras 3 prints - for a layer without weights).
  public var showTrainable = false
  /// `layer_range=[first, last]`: the rows from the first layer whose name matches `first` to the
  /// last whose name matches `last` (Python's `re.match`: a regular expression anchored at the
  /// start), both included. The totals stay the whole model's.
  public var layerRange: (first: String, last: String)?

  public init(showTrainable: Bool = false, layerRange: (first: String, last: String)? = nil) {
    self.showTrainable = showTrainable
    self.layerRange = layerRange
  }

  public static func == (a: Self, b: Self) -> Bool {
    a.showTrainable == b.showTrainable && a.layerRange?.first == b.layerRange?.first && a.layerRange?.last == b.layerRange?.last
  }
}

/// Keras's `get_layer_index_bound_by_layer_name`: the rows `layer_range` selects, or an error
/// naming a pattern no layer matches.
public struct LayerRangeError: Error, CustomStringConvertible, Sendable {
  public let description: String
}

/// The text of `model.summary()`, reproduced from an analysed model.
public struct Summary: Sendable {
  public let analysis: ModelAnalysis
  public let style: SummaryStyle
  /// Total line width; nil for Keras's default (65 or 98 for Keras 2, 88 or 108 for Keras 3).
  public let lineLength: Int?
  /// The console's width, which Keras 3 narrows its default table to (its width minus 4, as
  /// `print_summary` does with `shutil.get_terminal_size()`); nil for Keras's full default width.
  public let consoleColumns: Int?
  public let options: SummaryOptions

  public init(analysis: ModelAnalysis, style: SummaryStyle, lineLength: Int? = nil, consoleColumns: Int? = nil, options: SummaryOptions = SummaryOptions()) {
    self.analysis = analysis
    self.style = style
    self.lineLength = lineLength
    self.consoleColumns = consoleColumns
    self.options = options
  }

  /// The rows `layer_range` keeps, as Keras bounds them: from the first match of `first` to the
  /// last match of `last`; when the first's earliest match comes after the last's latest, from the
  /// last's earliest to the first's latest.
  public static func rows(_ rows: [LayerInfo], range: (first: String, last: String)?) throws(LayerRangeError) -> ArraySlice<LayerInfo> {
    guard let range else { return rows[...] }
    func matches(_ pattern: String) throws(LayerRangeError) -> [Int] {
      guard let regex = try? NSRegularExpression(pattern: pattern) else { throw LayerRangeError(description: "layer range pattern \(pattern) is not a regular expression") }
      return rows.indices.filter { i in
        let name = rows[i].name
        return regex.firstMatch(in: name, options: [.anchored], range: NSRange(name.startIndex..., in: name)) != nil
      }
    }
    let lower = try matches(range.first), upper = try matches(range.last)
    guard let lowMin = lower.min(), let lowMax = lower.max(), let upMin = upper.min(), let upMax = upper.max() else {
      throw LayerRangeError(description: "layer range [\(range.first), \(range.last)] matches no layer's name (\(rows.map(\.name).joined(separator: ", ")))")
    }
    return lowMin > upMax ? rows[upMin...lowMax] : rows[lowMin...upMax]
  }

  /// Whether the table has Keras's "Connected to" column.
  var connected: Bool { !analysis.isSequentialLike }

  public var totals: Totals { Totals(analysis.summaryRows) }

  /// The summary as Keras prints it, each line ending in a newline. A layer range that matches
  /// no layer prints the whole table (``rows(_:range:)`` says why).
  public func render() -> String {
    let shown = (try? Self.rows(analysis.summaryRows, range: options.layerRange)) ?? analysis.summaryRows[...]
    let rows = shown.map { layer in
      var fields = ["\(layer.name) (\(layer.displayClassName))", style.outputShapeText(layer), style.count(layer.params)]
      if connected { fields.append(style.connections(analysis.displayedConnections(layer))) }
      if options.showTrainable { fields.append(trainableMark(layer)) }
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
    (connected ? ["Layer (type)", "Output Shape", "Param #", "Connected to"] : ["Layer (type)", "Output Shape", "Param #"])
      + (options.showTrainable ? ["Trainable"] : [])
  }

  /// The Trainable cell: Keras 2 prints the layer's flag; Keras 3 prints `-` for a layer
  /// without weights.
  func trainableMark(_ layer: LayerInfo) -> String {
    if style == .keras3, !layer.hasWeights { return "-" }
    return layer.config.trainable ? "Y" : "N"
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
    var length = lineLength ?? (connected ? 98 : 65)
    let fractions = connected ? [0.3, 0.6, 0.70, 1.0] : [0.45, 0.85, 1.0]
    var positions = fractions.map { Int(Double(length) * $0) }
    // show_trainable: 11 more characters, the Trainable column at the end.
    if options.showTrainable {
      length += 11
      positions.append(length)
    }
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
    let full = (connected ? 108 : 88) + (options.showTrainable ? 12 : 0)
    let length = lineLength ?? consoleColumns.map { max(40, min(full, $0 - 4)) } ?? full
    var fractions = connected ? [0.3, 0.56, 0.74, 1.0] : [0.45, 0.80, 1.0]
    var alignments: [RichTable.Alignment] = connected ? [.left, .left, .right, .left] : [.left, .left, .right]
    // show_trainable: the other columns take 90 %, a centred Trainable column the rest.
    if options.showTrainable {
      fractions = fractions.map { $0 * 0.90 } + [1.0]
      alignments.append(.center)
    }
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
