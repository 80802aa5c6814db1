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
  /// `expand_nested=True`: a nested model's layers under its row (Keras 2 boxes them in `|¯¯|`
  /// borders, Keras 3 indents them with `└`).
  public var expandNested = false

  public init(showTrainable: Bool = false, layerRange: (first: String, last: String)? = nil, expandNested: Bool = false) {
    self.showTrainable = showTrainable
    self.layerRange = layerRange
    self.expandNested = expandNested
  }

  public static func == (a: Self, b: Self) -> Bool {
    a.showTrainable == b.showTrainable && a.layerRange?.first == b.layerRange?.first && a.layerRange?.last == b.layerRange?.last
      && a.expandNested == b.expandNested
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
  public func render() -> String { String(decoding: renderedUTF8(), as: UTF8.self) }

  /// ``render()``'s text as UTF-8 bytes, never made a String: what the CLI writes out (a large
  /// model's Keras 3 table is over 100 KB, much of it box-drawing characters, and checking it as
  /// a String's UTF-8 took a tenth of its rendering).
  public func renderedUTF8() -> [UInt8] {
    let shown = (try? Self.rows(analysis.summaryRows, range: options.layerRange)) ?? analysis.summaryRows[...]
    let rows = shown.map { row($0, level: 0) }
    if style == .keras3 { return keras3Table(rows.flatMap(\.flattened).map(\.fields)) }
    let lines = keras2Table(rows)
    var text: [UInt8] = []
    text.reserveCapacity(lines.reduce(0) { $0 + $1.utf8.count + 1 })
    for line in lines {
      text += line.utf8
      text.append(0x0A)
    }
    return text
  }

  /// One printed row, with the rows of a nested model expanded under it.
  struct Row {
    var fields: [String]
    var children: [Row]

    var flattened: [Row] { [self] + children.flatMap(\.flattened) }
  }

  func row(_ layer: LayerInfo, level: Int) -> Row {
    // Keras 3 indents an expanded nested model's layers with `└`.
    let prefix = style == .keras3 && level > 0 ? String(repeating: "   ", count: level) + "└ " : ""
    var fields = ["\(prefix)\(layer.name) (\(layer.displayClassName))", style.outputShapeText(layer), style.count(layer.params)]
    // A nested model's layers have no node in the outer graph: nothing connects them there.
    if connected { fields.append(style.connections(level == 0 ? analysis.displayedConnections(layer) : [])) }
    if options.showTrainable { fields.append(trainableMark(layer)) }
    var children: [Row] = []
    if options.expandNested, let nested = layer.nested {
      // Keras's `layer.layers`: a Sequential's without its InputLayer, never op nodes.
      let inner = nested.layers.filter { !($0.className == "InputLayer" && nested.config.isSequential) && !$0.config.isOperation }
      children = inner.map { row($0, level: level + 1) }
    }
    return Row(fields: fields, children: children)
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

  func keras2Table(_ rows: [Row]) -> [String] {
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
    // tf_keras's `print_layer`: a nested model's rows boxed in `|¯¯|` borders, one more `|` a side
    // per level, a blank line after every row but a box's last and a box itself.
    func emit(_ row: Row, level: Int, last: Bool) {
      var last = last
      lines += keras2Row(row.fields, positions, nestedLevel: level)
      if !row.children.isEmpty {
        // tf_keras reuses `is_nested_last` for the box's rows: after a box, no blank line.
        last = true
        let bars = String(repeating: "|", count: level + 1)
        lines.append(bars + String(repeating: "¯", count: max(0, length - 2 * level - 2)) + bars)
        for (i, child) in row.children.enumerated() { emit(child, level: level + 1, last: i == row.children.count - 1) }
        let outer = String(repeating: "|", count: level)
        lines.append(outer + String(repeating: "¯", count: max(0, length - 2 * level)) + outer)
      }
      if !last {
        let outer = String(repeating: "|", count: level)
        lines.append(outer + String(repeating: " ", count: max(0, length - 2 * level)) + outer)
      }
    }
    for row in rows { emit(row, level: 0, last: false) }
    lines.append(String(repeating: "=", count: length))
    lines += totalsLines(prefix: "")
    lines.append(String(repeating: "_", count: length))
    return lines
  }

  /// tf_keras's `print_row`: each field cut to its column, breaking after `),` `},` `],` `',`
  /// when one occurs in the part that fits, and continued on the next line.
  /// Inside an expanded nested model (`nestedLevel` > 0) the first column gives up a character
  /// per level and the line is framed by as many `|`.
  func keras2Row(_ fields: [String], _ positions: [Int], nestedLevel: Int = 0) -> [String] {
    // Names, classes and shapes are nearly always ASCII, whose bytes are its characters: the
    // rows are cut as bytes then, thousands of cells of a large model much faster than as Characters.
    if fields.allSatisfy({ $0.utf8.allSatisfy { $0 < 0x80 } }) {
      return Self.printRow(fields.map { Array($0.utf8) }, positions, nestedLevel: nestedLevel, bar: UInt8(ascii: "|"), space: 0x20, breaks: Array("),},],',".utf8)) {
        String(decoding: $0, as: UTF8.self)
      }
    }
    return Self.printRow(fields.map { Array($0) }, positions, nestedLevel: nestedLevel, bar: "|", space: " ", breaks: Array("),},],',")) { String($0) }
  }

  /// ``keras2Row(_:_:nestedLevel:)`` over the fields' characters (bytes or Characters).
  /// `breaks`: the two-character sequences a field may break after, one after another.
  static func printRow<Cell: Equatable>(
    _ fields: [[Cell]], _ positions: [Int], nestedLevel: Int, bar: Cell, space: Cell, breaks: [Cell], string: ([Cell]) -> String
  ) -> [String] {
    // Where a field may break: after the first `),` `},` `],` or `',` in the part that fits.
    func firstBreak(_ fit: ArraySlice<Cell>) -> Int? {
      var shortest: Int?
      for pair in stride(from: 0, to: breaks.count - 1, by: 2) {
        var i = fit.startIndex
        while i + 1 < fit.endIndex {
          if fit[i] == breaks[pair] && fit[i + 1] == breaks[pair + 1] {
            let end = i + 2 - fit.startIndex
            shortest = min(shortest ?? end, end)
            break
          }
          i += 1
        }
      }
      return shortest
    }
    var left = fields.map { $0[...] }
    var lines: [String] = []
    while left.contains(where: { !$0.isEmpty }) {
      var line: [Cell] = []
      for col in 0..<left.count {
        let start = col > 0 ? positions[col - 1] : 0
        let last = col == positions.count - 1
        let gap = last ? 0 : 2
        var cutoff = positions[col] - start - gap - (last ? 0 : 1) - (col == 0 ? nestedLevel : 0)
        cutoff = max(0, cutoff)
        var fit = left[col].prefix(cutoff)
        if let shortest = firstBreak(fit) {
          cutoff = shortest
          fit = fit.prefix(cutoff)
        }
        if col == 0 { line += repeatElement(bar, count: nestedLevel); line.append(space) }
        line += fit
        line += repeatElement(space, count: gap)
        left[col] = left[col].dropFirst(min(cutoff, left[col].count))
        let end = nestedLevel > 0 && last ? positions[col] - nestedLevel : positions[col]
        line += repeatElement(space, count: max(0, end - line.count))
      }
      line += repeatElement(bar, count: nestedLevel)
      lines.append(string(line))
    }
    return lines
  }

  // MARK: Keras 3 (`summary_utils.print_summary`, rendered by rich)

  /// The table and its totals, each line ending in a newline.
  func keras3Table(_ rows: [[String]]) -> [UInt8] {
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
    var out = Array("Model: \"\(analysis.config.name)\"\n".utf8)
    out.reserveCapacity((2 * rows.count + 8) * (length + 16))  // rows are mostly two lines high
    table.render(rows, into: &out)
    for line in totalsLines(prefix: " ") { out += line.utf8; out.append(0x0A) }
    return out
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
