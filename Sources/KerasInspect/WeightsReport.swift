import KerasModel

/// Summary statistics of a tensor's finite values, with its NaN and Inf counts.
public struct TensorStats: Sendable, Equatable {
  public let count: Int
  public let min: Double
  public let max: Double
  public let mean: Double
  /// Population standard deviation (NumPy's default, ddof=0).
  public let std: Double
  public let nan: Int
  public let inf: Int

  init<S: Sequence>(_ values: S) where S.Element == Float {
    var n = 0, nan = 0, inf = 0
    var lo = Double.infinity, hi = -Double.infinity, sum = 0.0, sumSquares = 0.0
    for v in values {
      if v.isNaN { nan += 1; continue }
      if v.isInfinite { inf += 1; continue }
      let d = Double(v)
      n += 1
      lo = Swift.min(lo, d); hi = Swift.max(hi, d)
      sum += d; sumSquares += d * d
    }
    count = n + nan + inf
    self.nan = nan
    self.inf = inf
    mean = n > 0 ? sum / Double(n) : .nan
    std = n > 0 ? (Swift.max(0, sumSquares / Double(n) - mean * mean)).squareRoot() : .nan
    min = n > 0 ? lo : .nan
    max = n > 0 ? hi : .nan
  }
}

/// `keras-inspect weights`: every stored tensor with statistics, and LSTM/GRU gate slices.
public struct WeightsReport {
  public struct Gate: Sendable {
    /// Keras's gate name: i, f, c, o (LSTM) or z, r, h (GRU).
    public let name: String
    /// Columns of the last axis this gate occupies.
    public let columns: Range<Int>
    public let stats: TensorStats
  }

  public struct Entry: Sendable {
    public let layer: String
    public let className: String
    public let weight: StoredWeight
    /// Keras's name for the variable (`kernel`, `moving_mean`) where the file names it by position.
    public let kerasName: String?
    public let trainable: Bool
    public let stats: TensorStats
    public let gates: [Gate]
  }

  public let file: String
  public let entries: [Entry]

  /// Reads every weight (or those of `layer`) of an analysed model.
  public init(inspection: Inspection, layer name: String? = nil, maxTensorBytes: Int = 4 << 30) throws(InspectionError) {
    try self.init(file: inspection.file, analysis: inspection.analysis, layer: name, maxTensorBytes: maxTensorBytes)
  }

  /// Reads every weight (or those of `layer`); without an architecture (a weights-only file) the
  /// weights are listed by the file's own layer groups.
  public init(file: KerasFile, analysis: ModelAnalysis?, layer name: String? = nil, maxTensorBytes: Int = 4 << 30) throws(InspectionError) {
    self.file = file.path
    typealias Group = (name: String, className: String, definition: (any LayerDefinition)?, weights: [(StoredWeight, Bool)], names: [String]?)
    var groups: [Group]
    if let analysis {
      groups = analysis.layers.map { layer in
        let aligned = layer.expected.flatMap { expected in expected.map(\.shape) == layer.stored.map(\.shape) ? expected.map(\.name) : nil }
        return (layer.name, layer.className, layer.definition, Array(zip(layer.stored, layer.storedTrainable)), aligned)
      }
    } else {
      groups = file.weightLayers.map { ($0, "?", nil, (file.weights[$0] ?? []).map { ($0, true) }, nil) }
    }
    if let name {
      groups = groups.filter { $0.name == name }
      if groups.isEmpty { throw InspectionError(path: file.path, message: "no layer named \(name)") }
    }
    var entries: [Entry] = []
    for group in groups {
      let gateNames = group.definition.flatMap(Self.gateNames)
      for (index, (weight, trainable)) in group.weights.enumerated() {
        let kerasName = group.names.map { $0[index] }.flatMap { $0 == weight.shortName ? nil : $0 }
        let values: [Float]
        do {
          values = try file.values(of: weight, maxBytes: maxTensorBytes)
        } catch {
          throw InspectionError(path: file.path, message: error.message)
        }
        var gates: [Gate] = []
        if let gateNames, let last = weight.shape.last, last % gateNames.count == 0, last > 0 {
          let units = last / gateNames.count
          for (g, gate) in gateNames.enumerated() {
            let columns = (g * units)..<((g + 1) * units)
            let slice = values.indices.lazy.filter { columns.contains($0 % last) }.map { values[$0] }
            gates.append(Gate(name: gate, columns: columns, stats: TensorStats(slice)))
          }
        }
        entries.append(Entry(layer: group.name, className: group.className, weight: weight, kerasName: kerasName, trainable: trainable, stats: TensorStats(values), gates: gates))
      }
    }
    self.entries = entries
  }

  /// Keras's gate order along the last axis of LSTM and GRU weights (also inside Bidirectional).
  static func gateNames(_ definition: any LayerDefinition) -> [String]? {
    let inner: any LayerDefinition
    switch definition {
    case let wrapper as Bidirectional: inner = wrapper.forward.definition
    case let wrapper as TimeDistributed: inner = wrapper.inner.definition
    default: inner = definition
    }
    switch (inner as? Recurrent)?.kind {
    case .lstm: return ["i", "f", "c", "o"]
    case .gru: return ["z", "r", "h"]
    default: return nil
    }
  }

  static func number(_ x: Double) -> String {
    x.isNaN ? "nan" : String(format: "%.6g", x)
  }

  static func statsText(_ s: TensorStats) -> String {
    "min \(number(s.min))  max \(number(s.max))  mean \(number(s.mean))  std \(number(s.std))  nan \(s.nan)  inf \(s.inf)"
  }

  public func renderText() -> String {
    var lines: [String] = []
    var currentLayer: String?
    for entry in entries {
      if entry.layer != currentLayer {
        // Without an architecture a weights-only file's groups have no known class.
        lines.append(entry.className == "?" ? entry.layer : "\(entry.layer) (\(entry.className))")
        currentLayer = entry.layer
      }
      let shape = pythonTuple(entry.weight.shape.map { $0 })
      let label = entry.kerasName.map { "\(entry.weight.name) (\($0))" } ?? entry.weight.name
      lines.append("  \(label)  \(shape)  \(entry.weight.dtype)\(entry.trainable ? "" : "  non-trainable")")
      if entry.weight.flipSpatial {
        lines.append("    read with its spatial axes reversed: saved with the Theano backend (the file says so, or it is a Keras 1 file in th ordering), which convolves with the flipped kernel")
      }
      if !entry.weight.parts.isEmpty {
        lines.append("    fused from Keras 1's per-gate arrays " + entry.weight.parts.map(\.name).joined(separator: ", ") + ", as Keras 2 loads them")
      }
      lines.append("    \(Self.statsText(entry.stats))")
      for gate in entry.gates {
        lines.append("    gate \(gate.name) [..., \(gate.columns.lowerBound):\(gate.columns.upperBound)]  \(Self.statsText(gate.stats))")
      }
    }
    if entries.isEmpty { lines.append("no weights stored") }
    return lines.map { $0 + "\n" }.joined()
  }

  public func value() -> OrderedJSON {
    func stats(_ s: TensorStats) -> [(String, OrderedJSON)] {
      [("min", .double(s.min)), ("max", .double(s.max)), ("mean", .double(s.mean)), ("std", .double(s.std)), ("nan", .int(s.nan)), ("inf", .int(s.inf))]
    }
    return .object([
      ("file", .string(file)),
      ("weights", .array(entries.map { entry in
        .object([
          ("layer", .string(entry.layer)),
          ("class_name", entry.className == "?" ? .null : .string(entry.className)),
          ("name", .string(entry.weight.name)),
          ("keras_name", entry.kerasName.map(OrderedJSON.string) ?? .null),
          ("shape", .array(entry.weight.shape.map(OrderedJSON.int))),
          ("dtype", .string(entry.weight.dtype)),
          ("trainable", .bool(entry.trainable)),
          ("fused_from", entry.weight.parts.isEmpty ? .null : .array(entry.weight.parts.map { .string($0.name) })),
          ("theano_flipped", .bool(entry.weight.flipSpatial)),
        ] + stats(entry.stats) + [
          ("gates", .array(entry.gates.map { gate in
            .object([("gate", .string(gate.name)), ("columns", .array([.int(gate.columns.lowerBound), .int(gate.columns.upperBound)]))] + stats(gate.stats))
          })),
        ])
      })),
    ])
  }
}
