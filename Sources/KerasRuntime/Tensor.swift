/// A dense float32 tensor in row-major (C) order. The first dimension is the batch.
public struct Tensor: Sendable, Equatable {
  public var shape: [Int]
  public var data: [Float]

  public init(shape: [Int], data: [Float]) {
    precondition(shape.reduce(1, *) == data.count, "shape \(shape) does not hold \(data.count) values")
    self.shape = shape
    self.data = data
  }

  public init(zeros shape: [Int]) {
    self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
  }

  public var count: Int { data.count }
  public var rank: Int { shape.count }

  /// The size of the last dimension (features / channels).
  var last: Int { shape.last ?? 1 }

  /// Same data, another shape with as many elements.
  func reshaped(_ newShape: [Int]) -> Tensor {
    Tensor(shape: newShape, data: data)
  }

  /// Applies `f` to every element (a loop over raw storage, which the compiler vectorises when
  /// `f` is simple: `Array.map` through a closure does not).
  @inline(__always)
  func map(_ f: (Float) -> Float) -> Tensor {
    let count = data.count
    guard count > 0 else { return self }
    let out = data.withUnsafeBufferPointer { x in
      [Float](unsafeUninitializedCapacity: count) { o, initialized in
        let (xs, os) = (x.baseAddress!, o.baseAddress!)
        for i in 0..<count { os[i] = f(xs[i]) }
        initialized = count
      }
    }
    return Tensor(shape: shape, data: out)
  }
}

/// A tensor flowing between layers, with Keras's mask: one flag per (batch, time step),
/// false where the step is masked out.
struct Value {
  var tensor: Tensor
  var mask: [Bool]?
}

/// Why the runtime cannot run a model or an input.
public struct RuntimeError: Error, CustomStringConvertible, Sendable {
  public let message: String
  public var description: String { message }

  public init(_ message: String) {
    self.message = message
  }
}
