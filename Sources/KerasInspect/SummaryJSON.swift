import KerasModel

/// `summary --format json`: the documented, stable JSON form of the summary.
///
/// `{"file", "format", "keras_version", "backend", "model": {"name", "class_name"}, "layers": [...],
/// "total_params", "trainable_params", "non_trainable_params"}`; each layer is `{"name", "class_name",
/// "output_shape", "params", "trainable_params", "non_trainable_params", "weights": [{"name", "shape",
/// "dtype", "trainable"}]}`. `output_shape` is a list with null for unknown dimensions, a list of
/// such lists for a layer with several outputs, or null when it cannot be derived.
public struct SummaryJSON {
  public let inspection: Inspection

  public init(inspection: Inspection) {
    self.inspection = inspection
  }

  public func value() -> OrderedJSON {
    let analysis = inspection.analysis
    let file = inspection.file
    let totals = Totals(analysis.summaryRows)
    return .object([
      ("file", .string(file.path)),
      ("format", .string(file.format.rawValue)),
      ("keras_version", file.kerasVersion.map(OrderedJSON.string) ?? .null),
      ("backend", file.backend.map(OrderedJSON.string) ?? .null),
      ("model", .object([("name", .string(analysis.config.name)), ("class_name", .string(analysis.config.className))])),
      ("layers", .array(analysis.summaryRows.map(layer))),
      ("total_params", .int(totals.total)),
      ("trainable_params", .int(totals.trainable)),
      ("non_trainable_params", .int(totals.nonTrainable)),
    ])
  }

  public func render() -> String { value().render() }

  func layer(_ layer: LayerInfo) -> OrderedJSON {
    .object([
      ("name", .string(layer.name)),
      ("class_name", .string(layer.displayClassName)),
      ("output_shape", Self.outputShape(layer)),
      ("params", .int(layer.params)),
      ("trainable_params", .int(layer.trainableParams)),
      ("non_trainable_params", .int(layer.nonTrainableParams)),
      ("understood", .bool(layer.understood)),
      ("weights", .array(zip(layer.stored, layer.storedTrainable).map { weight, trainable in
        .object([
          ("name", .string(weight.name)),
          ("shape", .array(weight.shape.map(OrderedJSON.int))),
          ("dtype", .string(weight.dtype)),
          ("trainable", .bool(trainable)),
        ])
      })),
    ])
  }

  /// The shapes of the layer's last call (Keras 3's convention; Keras 2 agrees whenever calls agree).
  static func outputShape(_ layer: LayerInfo) -> OrderedJSON {
    guard let outputs = layer.outputs.last ?? nil, !outputs.isEmpty else { return .null }
    let shapes = outputs.map { OrderedJSON.array($0.map { $0.map(OrderedJSON.int) ?? .null }) }
    return shapes.count == 1 ? shapes[0] : .array(shapes)
  }
}

/// `summary --explain`: how each layer's parameter count follows from its config.
public struct Explanation {
  public let analysis: ModelAnalysis

  public init(analysis: ModelAnalysis) {
    self.analysis = analysis
  }

  public func render() -> String {
    var lines = ["", "Parameter formulas (from the config):"]
    for layer in analysis.summaryRows {
      let head = "  \(layer.name) (\(layer.displayClassName)): "
      if !layer.understood {
        lines.append(head + "not understood; \(layer.params) stored")
      } else if let expected = layer.expectedParams {
        if let formula = layer.formula, expected > 0 {
          lines.append(head + "\(formula) = \(expected)")
        } else {
          lines.append(head + "no weights = \(expected)")
        }
      } else {
        lines.append(head + (layer.problem ?? "unknown"))
      }
    }
    return lines.map { $0 + "\n" }.joined()
  }
}
