/// A tensor shape as Keras reports it: batch dimension first, `nil` where unknown.
public typealias Shape = [Int?]

/// A weight the config says a layer must have.
public struct WeightSpec: Sendable, Equatable {
  /// Keras's short name (`kernel`, `recurrent_kernel`, `moving_mean`, ...).
  public let name: String
  public let shape: [Int]
  /// Trainable as Keras counts it: false for BatchNormalization statistics and frozen layers.
  public let trainable: Bool

  public init(_ name: String, _ shape: [Int], trainable: Bool = true) {
    self.name = name
    self.shape = shape
    self.trainable = trainable
  }

  public var count: Int { shape.reduce(1, *) }
}

/// What the config says about one call of a layer: output shapes, weights, and the formula.
public struct LayerSignature: Sendable {
  public var outputs: [Shape]
  public var weights: [WeightSpec]
  /// How the parameter count follows from the config, e.g. `4 × ((5 + 10) × 10 + 10)`; nil for none.
  public var formula: String?

  public init(outputs: [Shape], weights: [WeightSpec] = [], formula: String? = nil) {
    self.outputs = outputs
    self.weights = weights
    self.formula = formula
  }
}

/// Python's repr of a shape tuple, as Keras 2 prints shapes: `(None, 10)`, `(None,)`.
public func pythonTuple(_ shape: Shape) -> String {
  let items = shape.map { $0.map(String.init) ?? "None" }
  return items.count == 1 ? "(\(items[0]),)" : "(\(items.joined(separator: ", ")))"
}
