/// Keras 3 op layers of a functional model, as masking code leaves them: `ops.not_equal(x, c)`,
/// the constant `c` arriving as the call's positional argument.
public struct NotEqualOp: LayerDefinition {
  public static let classNames = ["NotEqual"]
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) { label = c.label }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    LayerSignature(outputs: [try label.single(inputs)])
  }
}

/// `ops.any(x, axis, keepdims)`.
public struct AnyOp: LayerDefinition {
  public static let classNames = ["Any"]
  public let axis: Int
  public let keepdims: Bool
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    axis = try c.int("axis", default: -1)
    keepdims = try c.bool("keepdims", default: false)
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs)
    let a = try label.resolve(axis: axis, rank: x.count)
    var out = x
    if keepdims { out[a] = 1 } else { out.remove(at: a) }
    return LayerSignature(outputs: [out])
  }
}

/// tf.keras 2.4-2.15's `TFOpLambda`: a TensorFlow function called on Keras tensors (`x + 3.0`
/// is `tf.__operators__.add`, `x * y` is `tf.math.multiply`). The element-wise functions with
/// NumPy broadcasting are understood; the other operand is a number or a second tensor.
public struct TFOpLambda: LayerDefinition {
  public static let classNames = ["TFOpLambda"]
  public enum Function: String, Sendable, CaseIterable {
    case add = "__operators__.add", mathAdd = "math.add", subtract = "math.subtract", multiply = "math.multiply"
    case divide = "math.truediv", maximum = "math.maximum", minimum = "math.minimum"
    case relu = "nn.relu", relu6 = "nn.relu6", sigmoid = "math.sigmoid", tanh = "math.tanh"

    /// The element-wise merge of a binary function; nil for an activation.
    public var merge: ElementwiseMerge.Operation? {
      switch self {
      case .add, .mathAdd: .add
      case .subtract: .subtract
      case .multiply: .multiply
      case .maximum: .maximum
      case .minimum: .minimum
      case .divide, .relu, .relu6, .sigmoid, .tanh: nil
      }
    }
  }
  public let function: Function
  let label: LayerLabel

  public static func understands(_ config: JSONValue) -> Bool {
    config["function"]?.string.flatMap(Function.init(rawValue:)) != nil
  }

  public init(_ c: LayerReader) throws(ModelError) {
    let name = try c.string("function")
    guard let function = Function(rawValue: name) else { throw c.error("calls tf.\(name), which keras-inspect does not read") }
    self.function = function
    label = c.label
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    guard !inputs.isEmpty, inputs.count <= 2 else { throw label.error("expects one or two tensors, got \(inputs.count)") }
    let merged = try ElementwiseMerge.broadcastShape(inputs, label)
    return LayerSignature(outputs: [merged])
  }
}
