import KerasModel

/// A summary as printed: Keras's `model.summary()` text (Keras 2 or Keras 3 layout) or
/// keras-inspect's own JSON summary, read back into rows and totals.
public struct PrintedSummary: Sendable, Equatable {
  public struct Row: Sendable, Equatable {
    public let name: String
    public let className: String
    /// The "Output Shape" cell with whitespace removed (`(None,10)`), so wrapping does not matter.
    public let outputShape: String
    public let params: Int?
  }

  public let style: SummaryStyle?
  /// The table's width (its rule), to render another summary the same way.
  public let lineLength: Int?
  public let rows: [Row]
  public let total: Int?
  public let trainable: Int?
  public let nonTrainable: Int?

  /// Parses summary text, or keras-inspect's JSON summary.
  public static func parse(_ text: String) throws(InspectionError) -> PrintedSummary {
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    if trimmed.hasPrefix("{") { return try parseJSON(trimmed) }
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.contains(where: { $0.hasPrefix("┏") }) { return try parseKeras3(lines) }
    return try parseKeras2(lines)
  }

  static func fail(_ message: String) -> InspectionError {
    InspectionError(path: "expected summary", message: message)
  }

  static func number(_ text: Substring) -> Int? {
    Int(text.filter { $0.isNumber })
  }

  /// `Total params: 1,234 (4.82 KB)` and its siblings.
  static func totals(_ lines: [String]) -> (Int?, Int?, Int?) {
    func find(_ label: String) -> Int? {
      for line in lines {
        let t = line.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix(label) {
          let rest = t.dropFirst(label.count)
          return number(rest.prefix { $0 != "(" })
        }
      }
      return nil
    }
    return (find("Total params:"), find("Trainable params:"), find("Non-trainable params:"))
  }

  /// `lstm (LSTM)` → (`lstm`, `LSTM`). A Keras 2 name that fills its column exactly continues
  /// on the next line with the space first, so the joined cell reads `name(Class)`.
  static func splitNameType(_ cell: String) -> (String, String) {
    let compact = cell.trimmingCharacters(in: .whitespaces)
    guard compact.hasSuffix(")"),
      let open = compact.range(of: " (", options: .backwards) ?? compact.range(of: "(", options: .backwards)
    else { return (compact, "") }
    return (String(compact[..<open.lowerBound]), String(compact[open.upperBound..<compact.index(before: compact.endIndex)]))
  }

  static func row(_ cells: [String]) -> Row {
    let (name, className) = splitNameType(cells[0])
    let shape = cells.count > 1 ? cells[1].filter { !$0.isWhitespace } : ""
    return Row(name: name, className: className, outputShape: shape, params: cells.count > 2 ? number(Substring(cells[2])) : nil)
  }

  /// Keras 2: columns start where the header's titles start; a row may continue on following
  /// lines; rows are separated by blank lines between the two `=` rules.
  static func parseKeras2(_ lines: [String]) throws(InspectionError) -> PrintedSummary {
    guard let header = lines.first(where: { $0.contains("Layer (type)") && $0.contains("Output Shape") }) else {
      throw fail("no summary table (no \"Layer (type)\" header)")
    }
    func start(_ title: String) -> Int? {
      guard let range = header.range(of: title) else { return nil }
      return header.distance(from: header.startIndex, to: range.lowerBound)
    }
    var starts = [0]
    for title in ["Output Shape", "Param #", "Connected to"] { if let s = start(title) { starts.append(s) } }
    let rules = lines.indices.filter { lines[$0].hasPrefix("=") && lines[$0].allSatisfy { $0 == "=" } }
    guard rules.count >= 2 else { throw fail("summary table has no closing rule") }
    var rows: [Row] = []
    var cells: [String]? = nil
    for line in lines[(rules[0] + 1)..<rules[1]] {
      if line.trimmingCharacters(in: .whitespaces).isEmpty {
        if let c = cells { rows.append(row(c)) }
        cells = nil
        continue
      }
      let l = Array(line)
      var pieces: [String] = []
      for (i, s) in starts.enumerated() {
        let e = i + 1 < starts.count ? starts[i + 1] : l.count
        pieces.append(s < l.count ? String(l[s..<min(max(s, e), l.count)]).trimmingCharacters(in: .whitespaces) : "")
      }
      if var c = cells {
        for i in pieces.indices { c[i] += pieces[i] }
        cells = c
      } else {
        cells = pieces
      }
    }
    if let c = cells { rows.append(row(c)) }
    let (total, trainable, nonTrainable) = totals(lines)
    let length = lines.first { $0.hasPrefix("_") && $0.allSatisfy { $0 == "_" } }?.count
    return PrintedSummary(style: .keras2, lineLength: length, rows: rows, total: total, trainable: trainable, nonTrainable: nonTrainable)
  }

  /// Keras 3 (rich): cells between `│`; a row's cell lines joined with spaces; rows separated by `├` rules.
  static func parseKeras3(_ lines: [String]) throws(InspectionError) -> PrintedSummary {
    guard let top = lines.firstIndex(where: { $0.hasPrefix("┡") }), let bottom = lines.lastIndex(where: { $0.hasPrefix("└") }), top < bottom else {
      throw fail("summary table has no header rule or bottom rule")
    }
    var rows: [Row] = []
    var cells: [String]? = nil
    for line in lines[(top + 1)..<bottom] {
      if line.hasPrefix("├") {
        if let c = cells { rows.append(row(c)) }
        cells = nil
        continue
      }
      guard line.hasPrefix("│") else { continue }
      let pieces = line.split(separator: "│", omittingEmptySubsequences: false).dropFirst().dropLast().map {
        $0.trimmingCharacters(in: .whitespaces)
      }
      if var c = cells {
        for i in pieces.indices where i < c.count && !pieces[i].isEmpty { c[i] += c[i].isEmpty ? pieces[i] : " " + pieces[i] }
        cells = c
      } else {
        cells = Array(pieces)
      }
    }
    if let c = cells { rows.append(row(c)) }
    let (total, trainable, nonTrainable) = totals(lines)
    let length = lines.first { $0.hasPrefix("┏") }?.count
    return PrintedSummary(style: .keras3, lineLength: length, rows: rows, total: total, trainable: trainable, nonTrainable: nonTrainable)
  }

  /// keras-inspect's own `summary --format json`.
  static func parseJSON(_ text: String) throws(InspectionError) -> PrintedSummary {
    let json: JSONValue
    do {
      json = try JSONValue.parse(text)
    } catch {
      throw fail("not valid JSON")
    }
    return try parse(json: json)
  }

  /// A summary in keras-inspect's JSON form (`summary --format json`, or a lockfile's entry).
  public static func parse(json text: String) throws(InspectionError) -> PrintedSummary { try parseJSON(text) }

  /// A summary in keras-inspect's JSON form, parsed.
  public static func parse(json: JSONValue) throws(InspectionError) -> PrintedSummary {
    guard let layers = json["layers"]?.array else { throw fail("JSON summary has no layers") }
    let rows = layers.map { layer in
      Row(name: layer["name"]?.string ?? "", className: layer["class_name"]?.string ?? "",
        outputShape: shapeText(layer["output_shape"]), params: layer["params"]?.int)
    }
    return PrintedSummary(style: nil, lineLength: nil, rows: rows, total: json["total_params"]?.int,
      trainable: json["trainable_params"]?.int, nonTrainable: json["non_trainable_params"]?.int)
  }

  /// A JSON output shape as compact text: `[null, 10]` → `(None,10)`, several → `[(None,4),(None,4)]`.
  static func shapeText(_ value: JSONValue?) -> String {
    guard let value, let items = value.array else { return "?" }
    func one(_ dims: [JSONValue]) -> String {
      "(" + dims.map { $0.int.map(String.init) ?? "None" }.joined(separator: ",") + ")"
    }
    if items.allSatisfy({ $0.array != nil }) { return "[" + items.compactMap(\.array).map(one).joined(separator: ",") + "]" }
    return one(items)
  }
}

extension Inspection {
  /// This model's summary read as `expected` was printed: same layout and width, or JSON.
  public func printedSummary(like expected: PrintedSummary) -> PrintedSummary {
    let text: String
    if expected.style == nil {
      text = SummaryJSON(inspection: self).render()
    } else {
      text = summary(style: expected.style, lineLength: expected.lineLength).render()
    }
    // Our own rendering always parses; an empty summary means a bug, reported by the comparison.
    return (try? PrintedSummary.parse(text)) ?? PrintedSummary(style: nil, lineLength: nil, rows: [], total: nil, trainable: nil, nonTrainable: nil)
  }

  /// The differences between this model's summary and an expected one, one line each.
  public func summaryDifferences(from expected: PrintedSummary) -> [String] {
    let actual = printedSummary(like: expected)
    var differences: [String] = []
    let count = max(actual.rows.count, expected.rows.count)
    for i in 0..<count {
      guard i < actual.rows.count else {
        let row = expected.rows[i]
        differences.append("row \(i + 1): expected \(row.name) (\(row.className)), the model has no such row")
        continue
      }
      let row = actual.rows[i]
      guard i < expected.rows.count else {
        differences.append("row \(i + 1): \(row.name) (\(row.className)) is not in the expected summary")
        continue
      }
      let want = expected.rows[i]
      let label = "row \(i + 1) \(row.name) (\(row.className))"
      if row.name != want.name { differences.append("\(label): name is \(row.name), expected \(want.name)") }
      if row.className != want.className { differences.append("\(label): type is \(row.className), expected \(want.className)") }
      if row.outputShape != want.outputShape { differences.append("\(label): output shape is \(row.outputShape), expected \(want.outputShape)") }
      if row.params != want.params {
        differences.append("\(label): params are \(row.params.map(String.init) ?? "?"), expected \(want.params.map(String.init) ?? "?")")
      }
    }
    for (what, mine, theirs) in [("total params", actual.total, expected.total), ("trainable params", actual.trainable, expected.trainable), ("non-trainable params", actual.nonTrainable, expected.nonTrainable)] {
      if let theirs, mine != theirs { differences.append("\(what) are \(mine.map(String.init) ?? "?"), expected \(theirs)") }
    }
    return differences
  }
}
