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
    public let trainable: Bool
    public let stats: TensorStats
    public let gates: [Gate]
  }

  public let file: String
  public let entries: [Entry]

  /// Reads every weight (or those of `layer`). Throws when `layer` names no layer.
  public init(inspection: Inspection, layer name: String? = nil, maxTensorBytes: Int = 4 << 30) throws(InspectionError) {
    file = inspection.file.path
    let layers = inspection.analysis.layers.filter { name == nil || $0.name == name }
    if let name, layers.isEmpty {
      throw InspectionError(path: file, message: "no layer named \(name); layers: " + inspection.analysis.layers.map(\.name).joined(separator: ", "))
    }
    var entries: [Entry] = []
    for layer in layers {
      let gateNames = Self.gateNames(layer.config)
      for (weight, trainable) in zip(layer.stored, layer.storedTrainable) {
        let values: [Float]
        do {
          values = try inspection.file.values(of: weight, maxBytes: maxTensorBytes)
        } catch {
          throw InspectionError(path: file, message: error.message)
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
        entries.append(Entry(layer: layer.name, className: layer.className, weight: weight, trainable: trainable, stats: TensorStats(values), gates: gates))
      }
    }
    self.entries = entries
  }

  /// Keras's gate order along the last axis of LSTM and GRU weights (also inside Bidirectional).
  static func gateNames(_ layer: LayerConfig) -> [String]? {
    var className = layer.className
    if className == "Bidirectional" || className == "TimeDistributed" {
      className = layer.config["layer"]?["class_name"]?.string ?? className
    }
    switch className {
    case "LSTM": return ["i", "f", "c", "o"]
    case "GRU": return ["z", "r", "h"]
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
        lines.append("\(entry.layer) (\(entry.className))")
        currentLayer = entry.layer
      }
      let shape = pythonTuple(entry.weight.shape.map { $0 })
      lines.append("  \(entry.weight.name)  \(shape)  \(entry.weight.dtype)\(entry.trainable ? "" : "  non-trainable")")
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
          ("class_name", .string(entry.className)),
          ("name", .string(entry.weight.name)),
          ("shape", .array(entry.weight.shape.map(OrderedJSON.int))),
          ("dtype", .string(entry.weight.dtype)),
          ("trainable", .bool(entry.trainable)),
        ] + stats(entry.stats) + [
          ("gates", .array(entry.gates.map { gate in
            .object([("gate", .string(gate.name)), ("columns", .array([.int(gate.columns.lowerBound), .int(gate.columns.upperBound)]))] + stats(gate.stats))
          })),
        ])
      })),
    ])
  }
}
