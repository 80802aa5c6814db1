import KerasModel

/// How each Keras version writes shapes, parameter counts and byte sizes in `model.summary()`.
public enum SummaryStyle: String, Sendable, CaseIterable {
  /// tf.keras / tf_keras 2.x: an ASCII table ruled with `_` and `=`.
  case keras2
  /// Keras 3: a box-drawing table (rich).
  case keras3

  /// The style of the Keras that wrote the file.
  public init(for file: KerasFile) {
    self = file.isKeras3 ? .keras3 : .keras2
  }

  /// A shape: Keras 2 prints the Python tuple `(None, 10)` / `(None,)`; Keras 3 joins the
  /// dimensions itself, `(None, 10)` / `(None)`.
  func format(_ shape: Shape) -> String {
    switch self {
    case .keras2: return pythonTuple(shape)
    case .keras3:
      // Appended in place: a summary formats a shape or more for each of hundreds of rows.
      var text = "("
      text.reserveCapacity(2 + 7 * shape.count)
      for (i, dimension) in shape.enumerated() {
        if i > 0 { text += ", " }
        if let dimension { text += String(dimension) } else { text += "None" }
      }
      text += ")"
      return text
    }
  }

  /// The "Output Shape" cell of a summary row.
  ///
  /// Keras 2 reports `layer.output_shape`: a list for an InputLayer in a functional model,
  /// `multiple` when calls disagree. Keras 3 reports the shapes of the layer's last call.
  func outputShapeText(_ layer: LayerInfo) -> String {
    func text(_ outputs: [Shape]?) -> String {
      guard let outputs, !outputs.isEmpty else { return "?" }
      if outputs.count == 1 && !(self == .keras2 && layer.className == "InputLayer") { return format(outputs[0]) }
      if self == .keras2, let groups = layer.outputGroups, groups.reduce(0, +) == outputs.count {
        var items: [String] = []
        var next = 0
        for size in groups {
          let group = outputs[next..<(next + size)].map(format)
          items.append(size == 1 ? group[0] : "[" + group.joined(separator: ", ") + "]")
          next += size
        }
        return "[" + items.joined(separator: ", ") + "]"
      }
      if self == .keras2, layer.outputsAreTuple { return "(" + outputs.map(format).joined(separator: ", ") + ")" }
      return "[" + outputs.map(format).joined(separator: ", ") + "]"
    }
    guard let last = layer.outputs.last else { return self == .keras2 ? "multiple" : "?" }
    if self == .keras2, layer.outputs.count > 1 {
      let first = layer.outputs[0]
      return layer.outputs.allSatisfy { $0 == first } ? text(first) : "multiple"
    }
    return text(last)
  }

  /// A parameter count: Keras 3 groups thousands with commas.
  func count(_ n: Int) -> String {
    guard self == .keras3 else { return String(n) }
    let digits = String(n).utf8
    var out: [UInt8] = []
    out.reserveCapacity(digits.count + digits.count / 3)
    for (i, d) in digits.enumerated() {
      if i > 0, (digits.count - i) % 3 == 0 { out.append(UInt8(ascii: ",")) }
      out.append(d)
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Keras's `readable_memory_size`: `640 (2.50 KB)`; Keras 2 says `Byte`, Keras 3 `B`.
  ///
  /// Python divides by 1024 until the value is under 1024 (every division exact: a power of
  /// two) and prints it with `{:.2f}`, the exact binary value rounded half to even. That is
  /// computed here in integers: Foundation's `String(format:)` cost a summary's start-up about
  /// half a millisecond (its first call looks up protocol conformances across the binary).
  func bytes(_ size: Int) -> String {
    let units = [self == .keras2 ? "Byte" : "B", "KB", "MB", "GB", "TB", "PB"]
    // Python's loop divides once more past its last unit: 1024 PB prints as `1.00 PB`.
    var scale = 0
    while scale < units.count, size >> (10 * (scale + 1)) > 0 { scale += 1 }
    let unit = units[min(scale, units.count - 1)]
    let (hundredths, overflow) = max(0, size).multipliedReportingOverflow(by: 100)
    guard !overflow else { return String(format: "%.2f", Double(size) / Double(1 << (10 * scale))) + " " + unit }
    let shift = 10 * scale
    var rounded = hundredths >> shift
    let remainder = hundredths - (rounded << shift)
    if shift > 0 {
      let half = 1 << (shift - 1)
      if remainder > half || (remainder == half && rounded % 2 == 1) { rounded += 1 }
    }
    let cents = rounded % 100
    return "\(rounded / 100).\(cents < 10 ? "0" : "")\(cents) \(unit)"
  }

  /// The "Connected to" cell.
  func connections(_ refs: [TensorRef]) -> String {
    if self == .keras3, refs.isEmpty { return "-" }
    // Each ref's description (Keras 2: quoted), appended in place.
    let quote = self == .keras2 ? "'" : ""
    var text = self == .keras2 ? "[" : ""
    for (i, ref) in refs.enumerated() {
      if i > 0 { text += ", " }
      text += quote
      ref.write(to: &text)
      text += quote
    }
    if self == .keras2 { text += "]" }
    return text
  }
}
