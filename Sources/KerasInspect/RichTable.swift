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
    let height = wrapped.map { $0.lines.count }.max() ?? 1
    let bar = Array(border.utf8)
    return (0..<height).map { lineIndex in
      var line: [UInt8] = []
      line.reserveCapacity(widths.reduce(bar.count, +) * 3)
      line += bar
      for (i, cell) in wrapped.enumerated() {
        let width = widths[i] - 2
        let index = bottom ? lineIndex - (height - cell.lines.count) : lineIndex
        line.append(0x20)
        if index >= 0 && index < cell.lines.count {
          let part = cell.lines[index]
          let excess = width - part.cells
          let before = Self.spacesBefore(excess, alignments[i])
          line += repeatElement(0x20, count: before)
          line += cell.bytes[part.bytes]
          if part.ellipsis { line += "…".utf8 }
          line += repeatElement(0x20, count: excess - before)
        } else {
          line += repeatElement(0x20, count: width)
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
      let before = Self.spacesBefore(excess, alignments[i])
      line.append(0x20)
      line += repeatElement(0x20, count: before)
      line += utf8
      line += repeatElement(0x20, count: excess - before + 1)
      line += border.utf8
    }
    return String(decoding: line, as: UTF8.self)
  }

  /// Of the `excess` spaces that justify a line in its cell, how many go before it.
  static func spacesBefore(_ excess: Int, _ alignment: Alignment) -> Int {
    switch alignment {
    case .left: 0
    case .right: excess
    case .center: excess / 2
    }
  }

  /// One line of a wrapped cell: its bytes (a range of the cell's UTF-8), how many cells wide it
  /// is, and whether `…` follows it (a word cut to the width).
  struct Line {
    let bytes: Range<Int>
    let cells: Int
    let ellipsis: Bool
  }

  /// rich's `Text.wrap` with `overflow="ellipsis"`: break before a word that does not fit,
  /// never inside one; then truncate to the width with `…` (justified when written). The lines
  /// come back as ranges of the text's UTF-8 bytes, not copies of them.
  static func wrap(_ text: String, width: Int, alignment: Alignment) -> (bytes: [UInt8], lines: [Line]) {
    // Layer names, classes and shapes are ASCII: their bytes are their cells, and walking bytes
    // instead of grapheme clusters made a 429-row table render in a fraction of the time.
    let utf8 = Array(text.utf8)
    if utf8.allSatisfy({ $0 < 0x80 }) {
      let lines = wrap(utf8, space: 0x20, width: width, alignment: alignment).map { range, ellipsis in
        Line(bytes: range, cells: range.count + (ellipsis ? 1 : 0), ellipsis: ellipsis)
      }
      return (utf8, lines)
    }
    let characters = Array(text)
    var bytes: [UInt8] = []
    var lines: [Line] = []
    for (range, ellipsis) in wrap(characters, space: " ", width: width, alignment: alignment) {
      let start = bytes.count
      bytes += String(characters[range]).utf8
      lines.append(Line(bytes: start..<bytes.count, cells: range.count + (ellipsis ? 1 : 0), ellipsis: ellipsis))
    }
    return (bytes, lines)
  }

  /// The lines of `chars` wrapped to `width`: each a range of `chars`, trailing spaces dropped
  /// as rich drops them, and whether it was cut to `width - 1` for a `…`.
  private static func wrap<Cell: Equatable>(_ chars: [Cell], space: Cell, width: Int, alignment: Alignment) -> [(Range<Int>, Bool)] {
    var lines: [(Range<Int>, Bool)] = []
    var start = 0
    func emit(upTo lineEnd: Int) {
      var end = lineEnd
      // rstrip_end: drop trailing spaces that overflow the width.
      while end - start > width, chars[end - 1] == space { end -= 1 }
      if alignment != .left { while end > start, chars[end - 1] == space { end -= 1 } }
      lines.append(end - start > width ? (start..<(start + max(0, width - 1)), true) : (start..<end, false))
      start = lineEnd
    }
    // Words are `\s*\S+\s*`: leading spaces only on the first, trailing spaces kept. A line breaks
    // before a word that does not fit what is left of it.
    var offset = 0
    var i = 0
    while i < chars.count {
      let wordStart = i
      while i < chars.count, chars[i] == space { i += 1 }
      let letters = i
      while i < chars.count, chars[i] != space { i += 1 }
      let trimmed = i > letters ? i - wordStart : 0
      while i < chars.count, chars[i] == space { i += 1 }
      let count = i - wordStart
      if width - offset >= trimmed {
        offset += count
      } else if trimmed > width {
        if wordStart > 0 { emit(upTo: wordStart) }
        offset = count
      } else if offset > 0, wordStart > 0 {
        emit(upTo: wordStart)
        offset = count
      }
    }
    emit(upTo: chars.count)
    return lines
  }
}
