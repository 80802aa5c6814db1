import KerasModel

/// `summary --format json`: the documented, stable JSON form of the summary.
///
/// `{"file", "format", "keras_version", "backend", "model": {"name", "class_name"}, "layers": [...],
/// "total_params", "trainable_params", "non_trainable_params"}`; each layer is `{"name", "class_name",
/// "output_shape", "params", "trainable_params", "non_trainable_params", "weights": [{"name", "shape",
/// "dtype", "trainable"}]}`. `output_shape` is a list with null for unknown dimensions, a list of
/// such lists for a layer with several outputs, or null when it cannot be derived. A Lambda layer
/// also has `"function"`: `{"recognised": true, "expression", "parameters", "python"}` or
/// `{"recognised": false, "reason", "disassembly"}`.
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
    ] + (LambdaDescription(layer).map { [("function", $0.json)] } ?? []) + [
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
      if let lambda = LambdaDescription(layer) {
        switch lambda.recognition {
        case .success(let function):
          lines.append(head + function.source + " (CPython \(LambdaDescription.versions(function)) bytecode); " + (layer.problem ?? "no weights = \(layer.params)"))
        case .failure(let refusal):
          lines.append(head + "not understood: \(refusal.reason); \(layer.params) stored")
          lines += refusal.disassembly.map { "      " + $0 }
        }
      } else if !layer.understood {
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

/// What a Lambda layer's function is: the expression keras-inspect read from its bytecode, or
/// why it could not, for `--explain`, the JSON summary and the checks.
struct LambdaDescription {
  let recognition: Result<PyFunction, LambdaRefusal>

  init?(_ layer: LayerInfo) {
    guard layer.className == "Lambda", layer.nested == nil else { return nil }
    if let lambda = layer.definition as? Lambda {
      recognition = .success(lambda.function)
    } else {
      recognition = Lambda.recognise(layer.config.config)
    }
  }

  /// `3.11`, or `3.8-3.10` when the bytecode reads the same in several versions.
  static func versions(_ function: PyFunction) -> String {
    let sorted = function.versions.sorted()
    guard let first = sorted.first, let last = sorted.last else { return "?" }
    return first == last ? "\(first)" : "\(first)-\(last)"
  }

  var json: OrderedJSON {
    switch recognition {
    case .success(let function):
      return .object([
        ("recognised", .bool(true)),
        ("expression", .string(PythonSource.render(function.body))),
        ("parameters", .array(function.parameters.map(OrderedJSON.string))),
        ("python", .array(function.versions.sorted().map { .string("\($0)") })),
      ])
    case .failure(let refusal):
      return .object([
        ("recognised", .bool(false)),
        ("reason", .string(refusal.reason)),
        ("disassembly", .array(refusal.disassembly.map(OrderedJSON.string))),
      ])
    }
  }
}
