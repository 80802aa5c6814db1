/// A tensor shape as Keras reports it: batch dimension first, `nil` where unknown.
public typealias Shape = [Int?]

/// A weight the config says a layer must have.
public struct WeightSpec: Sendable, Equatable {
  /// Keras's short name (`kernel`, `recurrent_kernel`, `moving_mean`, ...).
  public let name: String
  public let shape: [Int]
  /// Trainable as Keras counts it: false for BatchNormalization statistics and frozen layers.
  public let trainable: Bool
  /// Bytes per element when the layer creates this weight in a dtype of its own, whatever the
  /// layer's dtype policy (Normalization's int64 `count`); nil for the layer's variable dtype.
  public let elementSize: Int?

  public init(_ name: String, _ shape: [Int], trainable: Bool = true, elementSize: Int? = nil) {
    self.name = name
    self.shape = shape
    self.trainable = trainable
    self.elementSize = elementSize
  }

  /// Element count, saturating at Int.max for absurd shapes (a config can declare any size).
  public var count: Int { saturatingProduct(shape) }
}

/// What the config says about one call of a layer: output shapes, weights, and the formula.
public struct LayerSignature: Sendable {
  public var outputs: [Shape]
  public var weights: [WeightSpec]
  /// How the parameter count follows from the config, e.g. `4 × ((5 + 10) × 10 + 10)`; nil for none.
  public var formula: String?
  /// Floating-point operations of one call for one sample (a multiply-add counts two), where the
  /// family counts them; nil otherwise.
  public var flops: Int?
  /// How tf.keras nests the outputs in its summary, when it does: the number of tensors in
  /// each top-level item (1 a tensor, more a list of them), e.g. `[1, 1, 2]` for
  /// `[(None, 6, 2), (None, 3), [(None, 2), (None, 2)]]`. Keras 3 prints every list flat.
  public var outputGroups: [Int]?
  /// The layer returns its outputs as a Python tuple (attention with its scores), which tf.keras
  /// prints in parentheses; a list (an RNN's states) in brackets.
  public var outputsAreTuple = false

  public init(outputs: [Shape], weights: [WeightSpec] = [], formula: String? = nil, flops: Int? = nil) {
    self.outputs = outputs
    self.weights = weights
    self.formula = formula
    self.flops = flops
  }
}

/// Python's repr of a shape tuple, as Keras 2 prints shapes: `(None, 10)`, `(None,)`.
public func pythonTuple(_ shape: Shape) -> String {
  let items = shape.map { $0.map(String.init) ?? "None" }
  return items.count == 1 ? "(\(items[0]),)" : "(\(items.joined(separator: ", ")))"
}

/// The product of `values`, saturating at Int.max instead of trapping: sizes read from a file or a
/// config can be absurd, and a count must never crash the tool.
public func saturatingProduct(_ values: [Int]) -> Int {
  var product = 1
  for v in values {
    let (p, overflow) = product.multipliedReportingOverflow(by: v)
    if overflow { return Int.max }
    product = p
  }
  return product
}

/// `a + b`, saturating at Int.max.
public func saturatingSum(_ a: Int, _ b: Int) -> Int {
  let (s, overflow) = a.addingReportingOverflow(b)
  return overflow ? Int.max : s
}

/// Row-major `values` of `shape` with their axes reordered: axis `i` of the result is axis
/// `permutation[i]` of the input (NumPy's `transpose`). Keras 1 kernels and `Permute` use it.
public func transposed(_ values: [Float], shape: [Int], permutation: [Int]) -> [Float] {
  let outShape = permutation.map { shape[$0] }
  var strides = [Int](repeating: 1, count: shape.count)
  for axis in stride(from: shape.count - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * shape[axis + 1] }
  var out = [Float](repeating: 0, count: values.count)
  var index = [Int](repeating: 0, count: outShape.count)
  for o in 0..<values.count {
    var source = 0
    for (axis, i) in index.enumerated() { source += i * strides[permutation[axis]] }
    out[o] = values[source]
    advance(&index, in: outShape)
  }
  return out
}

/// Steps a multi-index to the next element of `shape` in row-major order.
public func advance(_ index: inout [Int], in shape: [Int]) {
  var axis = shape.count - 1
  while axis >= 0 {
    index[axis] += 1
    if index[axis] < shape[axis] { return }
    index[axis] = 0
    axis -= 1
  }
}
