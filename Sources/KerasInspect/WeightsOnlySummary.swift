import KerasModel

/// What can be known of a weights-only file opened without an architecture: its weight groups
/// (one per layer that had weights), their tensors, and the parameter counts. Layer classes,
/// output shapes and the forward pass need the architecture (`--config`).
public struct WeightsOnlySummary: Sendable {
  public struct Group: Sendable {
    public let name: String
    public let weights: [StoredWeight]
    public var params: Int { weights.reduce(0) { saturatingSum($0, $1.count) } }
  }

  public let path: String
  public let formatDescription: String
  public let groups: [Group]

  public init(file: KerasFile) {
    path = file.path
    formatDescription = file.format.description + (file.kerasVersion.map { " written by Keras \($0)" } ?? "")
    groups = file.weightLayers.map { Group(name: $0, weights: file.weights[$0] ?? []) }
  }

  public var totalParams: Int { groups.reduce(0) { saturatingSum($0, $1.params) } }
  /// Bytes of the stored tensors, at their stored element sizes.
  public var totalBytes: Int {
    groups.flatMap(\.weights).reduce(0) { total, w in
      let (bytes, overflow) = w.count.multipliedReportingOverflow(by: w.elementSize)
      return saturatingSum(total, overflow ? Int.max : bytes)
    }
  }

  /// A Keras 2 style table of the groups, their tensors' shapes and parameter counts.
  public func render() -> String {
    let length = 65
    let positions = [28, 56]
    func row(_ fields: [String]) -> String {
      var line = ""
      for (i, field) in fields.enumerated() {
        line += field
        if i < positions.count { line = line.padding(toLength: max(positions[i], line.count + 1), withPad: " ", startingAt: 0) }
      }
      return String(line.reversed().drop { $0 == " " }.reversed())
    }
    var lines = [
      "Weights: \(formatDescription).",
      "No architecture is stored: layer classes and output shapes are unknown (give --config).",
      String(repeating: "_", count: length),
      row([" Weight group", "Tensors", "Param #"]),
      String(repeating: "=", count: length),
    ]
    for group in groups {
      let shapes = group.weights.map { pythonTuple($0.shape.map { $0 }) }
      lines.append(row([" " + group.name, shapes.first ?? "(none)", String(group.params)]))
      for shape in shapes.dropFirst() { lines.append(row(["", shape, ""])) }
      lines.append("")
    }
    if groups.isEmpty { lines.append(" no weights stored") }
    lines.append(String(repeating: "=", count: length))
    lines.append("Total params: \(totalParams) (\(SummaryStyle.keras2.bytes(totalBytes)))")
    lines.append(String(repeating: "_", count: length))
    return lines.map { $0 + "\n" }.joined()
  }

  /// The checks that apply without an architecture: the file opens and every tensor is finite;
  /// the rest are skipped, saying what would enable them.
  public func runChecks(file: KerasFile, maxTensorBytes: Int = 4 << 30) -> [CheckResult] {
    var results = [CheckResult(id: "opens", passed: true, summary: "file opens: \(formatDescription)", details: [])]
    results.append(CheckResult(
      id: "config", passed: true,
      summary: "config: none in a weights-only file; layer classes, the params formula and the forward pass need --config",
      details: [], skipped: true))
    results.append(Inspection.finiteWeightsCheck(groups.flatMap { group in group.weights.map { ("group \(group.name)", $0) } }) { weight throws(ModelError) in
      try file.values(of: weight, maxBytes: maxTensorBytes)
    })
    return results
  }

  /// The JSON of `summary --format json` for a weights-only file.
  public func value() -> OrderedJSON {
    .object([
      ("file", .string(path)),
      ("weights_only", .bool(true)),
      ("format", .string(formatDescription)),
      ("groups", .array(groups.map { group in
        .object([
          ("name", .string(group.name)),
          ("weights", .array(group.weights.map { w in
            .object([("name", .string(w.name)), ("shape", .array(w.shape.map(OrderedJSON.int))), ("dtype", .string(w.dtype))])
          })),
          ("params", .int(group.params)),
        ])
      })),
      ("total_params", .int(totalParams)),
    ])
  }
}
