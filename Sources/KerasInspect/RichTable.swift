/// The box-drawing table Keras 3 prints through `rich`, reproduced cell for cell.
///
/// Keras 3 gives every column a fixed width from `positions × line_length`; rich then adds one
/// space of padding on each side, finds the table too wide for `line_length` minus its borders,
/// and shrinks the columns evenly (`ratio_reduce`, rounding half to even as Python does).
/// Cells wrap at spaces; a word longer than its column is cut with `…`.
struct RichTable {
  enum Alignment { case left, right, center }

  let headers: [String]
  let alignments: [Alignment]
  /// Column widths including their two padding spaces, borders excluded.
  let widths: [Int]

  init(headers: [String], alignments: [Alignment], fractions: [Double], width: Int) {
    self.headers = headers
    self.alignments = alignments
    var columns: [Int] = []
    var current = 0
    for fraction in fractions {
      let edge = Int(fraction * Double(width))
      columns.append(edge - current + 2)
      current = edge
    }
    let available = width - (columns.count + 1)
    let total = columns.reduce(0, +)
    self.widths = total > available ? Self.ratioReduce(total - available, columns) : columns
  }

  /// rich's `ratio_reduce` with equal ratios: take `excess` from the columns in turn.
  static func ratioReduce(_ excess: Int, _ values: [Int]) -> [Int] {
    var remaining = excess
    var ratioLeft = values.count
    return values.map { value in
      let share = (Double(remaining) / Double(ratioLeft)).rounded(.toNearestOrEven)
      let taken = min(value, Int(share))
      remaining -= taken
      ratioLeft -= 1
      return value - taken
    }
  }

  func render(_ rows: [[String]]) -> [String] {
    func rule(_ left: String, _ fill: String, _ join: String, _ right: String) -> String {
      left + widths.map { String(repeating: fill, count: $0) }.joined(separator: join) + right
    }
    let between = rule("├", "─", "┼", "┤")
    var lines = [rule("┏", "━", "┳", "┓")]
    lines.reserveCapacity(2 * rows.count + 4)
    // rich aligns header cells to the bottom of the header row, body cells to the top.
    lines += cells(headers, border: "┃", bottom: true)
    lines.append(rule("┡", "━", "╇", "┩"))
    for (i, row) in rows.enumerated() {
      if i > 0 { lines.append(between) }
      lines += cells(row, border: "│")
    }
    lines.append(rule("└", "─", "┴", "┘"))
    return lines
  }

  /// One table row, as many lines tall as its tallest cell; shorter cells aligned to the top,
  /// or to the `bottom`. Each line is assembled as UTF-8 bytes: a 429-row table is thousands of
  /// cells, and joining them as Strings was most of a large model's summary.
  func cells(_ fields: [String], border: String, bottom: Bool = false) -> [String] {
    if let line = singleLine(fields, border: border) { return [line] }
    let wrapped = fields.enumerated().map { i, text in Self.wrap(text, width: widths[i] - 2, alignment: alignments[i]) }
    let height = wrapped.map(\.count).max() ?? 1
    let bar = Array(border.utf8)
    return (0..<height).map { lineIndex in
      var line: [UInt8] = []
      line.reserveCapacity(widths.reduce(bar.count, +) * 3)
      line += bar
      for (i, lines) in wrapped.enumerated() {
        let index = bottom ? lineIndex - (height - lines.count) : lineIndex
        line.append(0x20)
        if index >= 0 && index < lines.count {
          line += lines[index]
        } else {
          line += repeatElement(0x20, count: widths[i] - 2)
        }
        line.append(0x20)
        line += bar
      }
      return String(decoding: line, as: UTF8.self)
    }
  }

  /// The row as one line, when every field is ASCII and fits its column: what ``wrap(_:width:alignment:)``
  /// makes of such a field is the field itself, justified (trailing spaces dropped unless it is
  /// left-aligned). Nil otherwise. Nearly every row of a summary is such a line, written here in
  /// one buffer without the wrapping's intermediate arrays.
  func singleLine(_ fields: [String], border: String) -> String? {
    var line: [UInt8] = []
    line.reserveCapacity(widths.reduce(widths.count * 3 + 3, +))
    line += border.utf8
    for (i, field) in fields.enumerated() {
      var utf8 = field.utf8[...]
      let width = widths[i] - 2
      if alignments[i] != .left { while utf8.last == 0x20 { utf8 = utf8.dropLast() } }
      guard utf8.count <= width, utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
      let excess = width - utf8.count
      let before = alignments[i] == .right ? excess : alignments[i] == .center ? excess / 2 : 0
      line.append(0x20)
      line += repeatElement(0x20, count: before)
      line += utf8
      line += repeatElement(0x20, count: excess - before + 1)
      line += border.utf8
    }
    return String(decoding: line, as: UTF8.self)
  }

  /// rich's `Text.wrap` with `overflow="ellipsis"`: break before a word that does not fit,
  /// never inside one; then truncate to the width with `…` and justify. Each line comes back as
  /// its UTF-8 bytes, `width` cells wide.
  static func wrap(_ text: String, width: Int, alignment: Alignment) -> [[UInt8]] {
    // Layer names, classes and shapes are ASCII: their bytes are their cells, and walking bytes
    // instead of grapheme clusters made a 429-row table render in a fraction of the time.
    if text.utf8.allSatisfy({ $0 < 0x80 }) {
      return wrap(Array(text.utf8), space: 0x20, width: width, alignment: alignment) { Array($0) }
    }
    return wrap(Array(text), space: " ", width: width, alignment: alignment) { Array(String($0).utf8) }
  }

  private static func wrap<Cell: Equatable>(
    _ chars: [Cell], space: Cell, width: Int, alignment: Alignment, string: (ArraySlice<Cell>) -> [UInt8]
  ) -> [[UInt8]] {
    // Words are `\s*\S+\s*`: leading spaces only on the first, trailing spaces kept.
    var words: [Range<Int>] = []
    var i = 0
    while i < chars.count {
      let start = i
      while i < chars.count, chars[i] == space { i += 1 }
      while i < chars.count, chars[i] != space { i += 1 }
      while i < chars.count, chars[i] == space { i += 1 }
      words.append(start..<i)
    }
    var breaks: [Int] = []
    var offset = 0
    for word in words {
      var trimmed = word.count
      while trimmed > 0, chars[word.lowerBound + trimmed - 1] == space { trimmed -= 1 }
      if width - offset >= trimmed {
        offset += word.count
      } else if trimmed > width {
        if word.lowerBound > 0 { breaks.append(word.lowerBound) }
        offset = word.count
      } else if offset > 0, word.lowerBound > 0 {
        breaks.append(word.lowerBound)
        offset = word.count
      }
    }
    var lines: [[UInt8]] = []
    var start = 0
    for end in breaks + [chars.count] {
      var line = chars[start..<end]
      start = end
      // rstrip_end: drop trailing spaces that overflow the width.
      while line.count > width, line.last == space { line.removeLast() }
      if alignment != .left { while line.last == space { line.removeLast() } }
      let text: [UInt8], count: Int
      if line.count > width {
        (text, count) = (string(line.prefix(max(0, width - 1))) + Array("…".utf8), max(0, width - 1) + 1)
      } else {
        (text, count) = (string(line), line.count)
      }
      let excess = width - count
      let before = alignment == .right ? excess : alignment == .center ? excess / 2 : 0
      var padded = [UInt8](repeating: 0x20, count: before)
      padded.reserveCapacity(text.count + excess)
      padded += text
      padded += repeatElement(0x20, count: excess - before)
      lines.append(padded)
    }
    return lines
  }
}
