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
