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

  /// The table's lines, each ending in a newline, appended to `out` as UTF-8. The whole table is
  /// written into that one buffer: a 429-row table is thousands of cells and over a thousand
  /// lines, and making each line a String of its own, then joining them, was most of its time.
  func render(_ rows: [[String]], into out: inout [UInt8]) {
    func rule(_ left: String, _ fill: String, _ join: String, _ right: String) -> [UInt8] {
      Array((left + widths.map { String(repeating: fill, count: $0) }.joined(separator: join) + right + "\n").utf8)
    }
    let between = rule("├", "─", "┼", "┤")
    out += rule("┏", "━", "┳", "┓")
    var scratch = Scratch()
    // rich aligns header cells to the bottom of the header row, body cells to the top.
    cells(headers, border: Array("┃".utf8), bottom: true, into: &out, scratch: &scratch)
    out += rule("┡", "━", "╇", "┩")
    let bar = Array("│".utf8)
    for (i, row) in rows.enumerated() {
      if i > 0 { out += between }
      cells(row, border: bar, into: &out, scratch: &scratch)
    }
    out += rule("└", "─", "┴", "┘")
  }

  /// Buffers one row's wrapping reuses from the row before.
  struct Scratch {
    /// Each cell's text as wrapped: ASCII cells their own bytes, others re-encoded.
    var bytes: [[UInt8]] = []
    /// Each cell's lines.
    var lines: [[Line]] = []
  }

  /// One table row, as many lines tall as its tallest cell, appended to `out` with a newline
  /// after each line; shorter cells aligned to the top, or to the `bottom`.
  func cells(_ fields: [String], border: [UInt8], bottom: Bool = false, into out: inout [UInt8], scratch: inout Scratch) {
    if singleLine(fields, border: border, into: &out) { return }
    while scratch.lines.count < fields.count {
      scratch.bytes.append([])
      scratch.lines.append([])
    }
    var height = 1
    for (i, text) in fields.enumerated() {
      scratch.bytes[i].removeAll(keepingCapacity: true)
      scratch.lines[i].removeAll(keepingCapacity: true)
      Self.wrap(text, width: widths[i] - 2, alignment: alignments[i], bytes: &scratch.bytes[i], lines: &scratch.lines[i])
      height = max(height, scratch.lines[i].count)
    }
    for lineIndex in 0..<height {
      out += border
      for i in fields.indices {
        let width = widths[i] - 2
        let lines = scratch.lines[i]
        let index = bottom ? lineIndex - (height - lines.count) : lineIndex
        out.append(0x20)
        if index >= 0 && index < lines.count {
          let part = lines[index]
          let excess = width - part.cells
          let before = Self.spacesBefore(excess, alignments[i])
          out += repeatElement(0x20, count: before)
          out += scratch.bytes[i][part.bytes]
          if part.ellipsis { out += "…".utf8 }
          out += repeatElement(0x20, count: excess - before)
        } else {
          out += repeatElement(0x20, count: width)
        }
        out.append(0x20)
        out += border
      }
      out.append(0x0A)
    }
  }

  /// The row as one line with its newline, appended to `out`, when every field is ASCII and
  /// fits its column: what ``wrap(_:width:alignment:)`` makes of such a field is the field itself,
  /// justified (trailing spaces dropped unless it is left-aligned). False, and nothing written,
  /// otherwise. Many rows of a summary are such a line, written without the wrapping's arrays.
  func singleLine(_ fields: [String], border: [UInt8], into out: inout [UInt8]) -> Bool {
    // Whether every field fits, before anything is written: most rows of a large model's table
    // have a field that does not.
    func trimmed(_ i: Int) -> Substring.UTF8View {
      var utf8 = fields[i].utf8[...]
      if alignments[i] != .left { while utf8.last == 0x20 { utf8 = utf8.dropLast() } }
      return utf8
    }
    for i in fields.indices {
      let utf8 = trimmed(i)
      guard utf8.count <= widths[i] - 2, utf8.allSatisfy({ $0 < 0x80 }) else { return false }
    }
    out += border
    for i in fields.indices {
      let utf8 = trimmed(i)
      let excess = widths[i] - 2 - utf8.count
      let before = Self.spacesBefore(excess, alignments[i])
      out.append(0x20)
      out += repeatElement(0x20, count: before)
      out += utf8
      out += repeatElement(0x20, count: excess - before + 1)
      out += border
    }
    out.append(0x0A)
    return true
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
    var bytes: [UInt8] = [], lines: [Line] = []
    wrap(text, width: width, alignment: alignment, bytes: &bytes, lines: &lines)
    return (bytes, lines)
  }

  /// ``wrap(_:width:alignment:)`` into buffers the caller keeps (empty on entry).
  static func wrap(_ text: String, width: Int, alignment: Alignment, bytes: inout [UInt8], lines: inout [Line]) {
    // Layer names, classes and shapes are ASCII: their bytes are their cells, and walking bytes
    // instead of grapheme clusters made a 429-row table render in a fraction of the time.
    bytes += text.utf8
    if bytes.allSatisfy({ $0 < 0x80 }) {
      wrap(bytes, space: 0x20, width: width, alignment: alignment) { range, ellipsis in
        lines.append(Line(bytes: range, cells: range.count + (ellipsis ? 1 : 0), ellipsis: ellipsis))
      }
      return
    }
    bytes.removeAll(keepingCapacity: true)
    let characters = Array(text)
    wrap(characters, space: " ", width: width, alignment: alignment) { range, ellipsis in
      let start = bytes.count
      bytes += String(characters[range]).utf8
      lines.append(Line(bytes: start..<bytes.count, cells: range.count + (ellipsis ? 1 : 0), ellipsis: ellipsis))
    }
  }

  /// The lines of `chars` wrapped to `width`, each given to `emitLine` in turn: a range of
  /// `chars`, trailing spaces dropped as rich drops them, and whether it was cut to `width - 1`
  /// for a `…`.
  private static func wrap<Cell: Equatable>(
    _ chars: [Cell], space: Cell, width: Int, alignment: Alignment, _ emitLine: (Range<Int>, Bool) -> Void
  ) {
    var start = 0
    func emit(upTo lineEnd: Int) {
      var end = lineEnd
      // rstrip_end: drop trailing spaces that overflow the width.
      while end - start > width, chars[end - 1] == space { end -= 1 }
      if alignment != .left { while end > start, chars[end - 1] == space { end -= 1 } }
      if end - start > width { emitLine(start..<(start + max(0, width - 1)), true) } else { emitLine(start..<end, false) }
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
  }
}
