import KerasModel

/// `keras-inspect diff A B`: what differs between two models' architectures and weights.
public struct ModelDiff {
  /// One difference per line, in a stable order: layers, then per-layer changes, then tensors.
  public let differences: [String]
  /// For tensors present in both models with the same shape: name and max absolute difference.
  public let tensorDifferences: [(name: String, maxAbsoluteDifference: Double)]

  public var identical: Bool { differences.isEmpty }

  public init(_ a: Inspection, _ b: Inspection, maxTensorBytes: Int = 4 << 30) throws(InspectionError) {
    var differences: [String] = []
    let layersA = a.analysis.layers, layersB = b.analysis.layers
    let namesA = layersA.map(\.name), namesB = layersB.map(\.name)
    for name in namesA where !namesB.contains(name) { differences.append("layer \(name) removed") }
    for name in namesB where !namesA.contains(name) { differences.append("layer \(name) added") }
    if a.analysis.config.className != b.analysis.config.className {
      differences.append("model class \(a.analysis.config.className) → \(b.analysis.config.className)")
    }
    let common = namesA.filter(namesB.contains)
    if common != namesB.filter(namesA.contains) { differences.append("layers are in a different order") }
    let styleA = SummaryStyle(for: a.file)
    var tensors: [(String, Double)] = []
    for name in common {
      let la = layersA.first { $0.name == name }!, lb = layersB.first { $0.name == name }!
      let label = "layer \(name)"
      if la.className != lb.className { differences.append("\(label): class \(la.className) → \(lb.className)") }
      let configA = Self.normalized(la.config.config), configB = Self.normalized(lb.config.config)
      if configA != configB {
        let keys = Set((configA.object ?? [:]).keys).union((configB.object ?? [:]).keys).sorted()
        let changed = keys.filter { configA[$0] != configB[$0] }
        differences.append("\(label): config changed (\(changed.joined(separator: ", ")))")
      }
      let shapeA = styleA.outputShapeText(la), shapeB = styleA.outputShapeText(lb)
      if shapeA != shapeB { differences.append("\(label): output shape \(shapeA) → \(shapeB)") }
      if la.params != lb.params { differences.append("\(label): params \(la.params) → \(lb.params)") }
      if la.connections != lb.connections { differences.append("\(label): inputs changed") }
      if la.stored.count != lb.stored.count {
        differences.append("\(label): \(la.stored.count) → \(lb.stored.count) stored weights")
        continue
      }
      for (wa, wb) in zip(la.stored, lb.stored) {
        let tensor = "\(name)/\(wa.shortName == wb.shortName ? wa.name : "\(wa.name) | \(wb.name)")"
        guard wa.shape == wb.shape else {
          differences.append("tensor \(tensor): shape \(pythonTuple(wa.shape.map { $0 })) → \(pythonTuple(wb.shape.map { $0 }))")
          continue
        }
        let va: [Float], vb: [Float]
        do {
          va = try a.file.values(of: wa, maxBytes: maxTensorBytes)
          vb = try b.file.values(of: wb, maxBytes: maxTensorBytes)
        } catch {
          throw InspectionError(path: "\(a.file.path) / \(b.file.path)", message: error.message)
        }
        var worst = 0.0
        var nanMismatch = false
        for (x, y) in zip(va, vb) {
          if x.isNaN || y.isNaN { nanMismatch = nanMismatch || x.isNaN != y.isNaN; continue }
          worst = max(worst, abs(Double(x) - Double(y)))
        }
        tensors.append((tensor, worst))
        if worst > 0 || nanMismatch {
          differences.append("tensor \(tensor): max absolute difference \(worst)" + (nanMismatch ? ", NaN in one only" : ""))
        }
      }
    }
    self.differences = differences
    self.tensorDifferences = tensors
  }

  /// A layer config as it bears on inference, at every depth: without initializers, regularizers
  /// and constraints (training-only, and serialized differently by .h5 and .keras) or serialization
  /// metadata, with a DTypePolicy reduced to its name.
  static func normalized(_ config: JSONValue) -> JSONValue {
    switch config {
    case .array(let items):
      return .array(items.map(normalized))
    case .object(var dict):
      for key in dict.keys where key.hasSuffix("_initializer") || key.hasSuffix("_regularizer") || key.hasSuffix("_constraint")
        || ["seed", "module", "registered_name", "build_config", "compile_config"].contains(key) {
        dict[key] = nil
      }
      if let dtype = dict["dtype"], dtype.object != nil, let name = dtype["config"]?["name"] {
        dict["dtype"] = name
      }
      return .object(dict.mapValues(normalized))
    default:
      return config
    }
  }
}
