import CKernels
import Foundation
import KerasModel

/// Keras's activation functions, by the name a config gives.
enum Activations {
  static let names: Set<String> = [
    "linear", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "hard_sigmoid", "elu", "selu", "softplus",
    "softsign", "swish", "silu", "gelu", "exponential", "leaky_relu", "relu6", "mish", "hard_silu", "hard_swish",
    "celu", "hard_tanh", "log_sigmoid", "sparse_plus", "squareplus", "tanh_shrink", "soft_shrink", "hard_shrink",
    "sparse_sigmoid", "sparsemax", "glu",
  ]

  static func isSupported(_ activation: Activation) -> Bool { names.contains(activation.name) }

  /// Why an activation cannot run, or nil.
  static func unsupported(_ activations: Activation...) -> String? {
    activations.first { !isSupported($0) }.map { "activation \($0.name) is not supported" }
  }

  /// Applies the activation. `keras3` picks the version-dependent definitions.
  static func apply(_ activation: Activation, to x: Tensor, keras3: Bool) throws(RuntimeError) -> Tensor {
    let name = activation.name
    guard name != "linear" else { return x }
    switch name {
    case "softmax": return softmax(x, log: false)
    case "log_softmax": return softmax(x, log: true)
    case "sparsemax": return sparsemax(x)
    case "glu": return try glu(x, keras3: keras3)
    default:
      guard let f = Elementwise(name, keras3: keras3) else { throw RuntimeError("activation \(name) is not supported") }
      var y = x
      y.data.withUnsafeMutableBufferPointer { f.apply($0.baseAddress!, $0.count) }
      return y
    }
  }

  /// Element-wise activations.
  static func scalar(_ name: String, keras3: Bool) -> (@Sendable (Float) -> Float)? {
    switch name {
    case "linear": return { $0 }
    case "relu": return { max($0, 0) }
    case "relu6": return { min(max($0, 0), 6) }
    case "sigmoid": return sigmoid
    case "tanh": return { Foundation.tanh($0) }
    // Keras 2: clip(0.2·x + 0.5, 0, 1). Keras 3: relu6(x + 3) / 6 = clip(x/6 + 0.5, 0, 1).
    case "hard_sigmoid": if keras3 { return { min(max($0 / 6 + 0.5, 0), 1) } } else { return { min(max(0.2 * $0 + 0.5, 0), 1) } }
    case "hard_silu", "hard_swish": return { $0 * min(max($0 / 6 + 0.5, 0), 1) }
    case "elu": return { $0 > 0 ? $0 : Foundation.expm1($0) }
    case "selu":
      let alpha: Float = 1.6732632423543772, scale: Float = 1.0507009873554805
      return { $0 > 0 ? scale * $0 : scale * alpha * Foundation.expm1($0) }
    case "softplus": return softplus
    case "softsign": return { $0 / (1 + abs($0)) }
    case "swish", "silu": return { $0 * sigmoid($0) }
    // Keras 2 and 3 both default to the exact (erf) form for the string "gelu".
    case "gelu": return { 0.5 * $0 * (1 + Foundation.erf($0 / Float(2).squareRoot())) }
    case "exponential": return { Foundation.exp($0) }
    case "leaky_relu": return { $0 >= 0 ? $0 : 0.2 * $0 }
    case "mish": return { $0 * Foundation.tanh(softplus($0)) }
    // Keras 3's defaults for the parameterised ones: celu α = 1, squareplus b = 4, the shrinks 0.5.
    case "celu": return { max($0, 0) + min(0, Foundation.expm1($0)) }
    case "hard_tanh": return { min(max($0, -1), 1) }
    case "log_sigmoid": return { -softplus(-$0) }
    case "sparse_plus": return { $0 <= -1 ? 0 : $0 >= 1 ? $0 : ($0 + 1) * ($0 + 1) / 4 }
    case "squareplus": return { ($0 + ($0 * $0 + 4).squareRoot()) / 2 }
    case "tanh_shrink": return { $0 - Foundation.tanh($0) }
    case "soft_shrink": return { $0 > 0.5 ? $0 - 0.5 : $0 < -0.5 ? $0 + 0.5 : 0 }
    case "hard_shrink": return { abs($0) > 0.5 ? $0 : 0 }
    case "sparse_sigmoid": return { $0 <= -1 ? 0 : $0 >= 1 ? 1 : ($0 + 1) / 2 }
    default: return nil
    }
  }

  /// An element-wise activation applied in bulk: sigmoid and tanh use vectorised kernels.
  struct Elementwise: Sendable {
    let name: String
    let scalar: @Sendable (Float) -> Float
    /// relu's upper bound (6 for relu6, a ReLU layer's `max_value`).
    private(set) var ceiling: Float = .infinity
    /// leaky_relu's slope below 0 (0.2 for the activation, a LeakyReLU layer's own).
    private(set) var slope: Float = 0.2

    init?(_ name: String, keras3: Bool) {
      guard let f = Activations.scalar(name, keras3: keras3) else { return nil }
      self.name = name == "relu6" ? "relu" : name
      self.scalar = f
      if name == "relu6" { ceiling = 6 }
    }

    /// x below 0 times `slope`: a LeakyReLU layer.
    init(leakyBelowZero slope: Float) {
      name = "leaky_relu"
      scalar = { $0 >= 0 ? $0 : slope * $0 }
      self.slope = slope
    }

    /// min(max(x, 0), ceiling): relu, relu6, a ReLU layer with a `max_value`.
    init(reluBelow ceiling: Float) {
      name = "relu"
      scalar = { Swift.min(Swift.max($0, 0), ceiling) }
      self.ceiling = ceiling
    }

    /// A function of a layer's own (ReLU with a threshold and a slope...), applied as written.
    init(custom scalar: @escaping @Sendable (Float) -> Float) {
      name = "custom"
      self.scalar = scalar
    }

    /// Applies the activation in place; a large tensor is split over the cores (a 112×112×96
    /// swish took 1.4 ms on one).
    func apply(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
      guard name != "linear" else { return }
      Parallel.chunks(count) { range in applySerially(p + range.lowerBound, range.count) }
    }

    /// The activation of `x` in a new tensor, `x` left as it is (the model may still read it):
    /// each block is copied and activated while it is in cache, one pass over memory.
    func applied(to x: Tensor) -> Tensor {
      let count = x.count
      guard count > 0, name != "linear" else { return x }
      return Tensor(shape: x.shape, data: x.data.withUnsafeBufferPointer { source in
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
          let (xs, os) = (source.baseAddress, out.baseAddress)
          Parallel.chunks(count) { range in
            for start in stride(from: range.lowerBound, to: range.upperBound, by: 4096) {
              let n = Swift.min(4096, range.upperBound - start)
              (os! + start).initialize(from: xs! + start, count: n)
              applySerially(os! + start, n)
            }
          }
          initialized = count
        }
      })
    }

    /// Applies the activation in place on this thread.
    func applySerially(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
      switch name {
      case "linear": return
      case "sigmoid": ckernels_sigmoid(p, count)
      case "tanh": ckernels_tanh(p, count)
      case "relu":
        // Both vectorise; NaN stays NaN, as in TensorFlow.
        if ceiling == .infinity {
          for i in 0..<count { p[i] = Swift.max(p[i], 0) }
        } else {
          let top = ceiling
          for i in 0..<count { p[i] = Swift.min(Swift.max(p[i], 0), top) }
        }
      case "leaky_relu":
        let a = slope
        for i in 0..<count { p[i] = p[i] >= 0 ? p[i] : a * p[i] }
      case "swish", "silu": ckernels_swish(p, count)  // x · sigmoid(x) in one vectorised pass
      default: for i in 0..<count { p[i] = scalar(p[i]) }
      }
    }
  }

  static func sigmoid(_ x: Float) -> Float {
    x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x))
  }

  static func softplus(_ x: Float) -> Float {
    max(x, 0) + Foundation.log1p(Foundation.exp(-abs(x)))
  }

  /// Keras 3's gated linear unit: the last axis split in halves a, b; a · sigmoid(b). The output
  /// has half the features, though Keras's summary shows the layer's own width.
  static func glu(_ x: Tensor, keras3: Bool) throws(RuntimeError) -> Tensor {
    let n = x.last
    guard n % 2 == 0, let sigmoid = scalar("sigmoid", keras3: keras3) else { throw RuntimeError("glu needs an even number of features, got \(n)") }
    let half = n / 2
    let rows = x.count / max(1, n)
    var out = [Float](repeating: 0, count: rows * half)
    for r in 0..<rows {
      for j in 0..<half { out[r * half + j] = x.data[r * n + j] * sigmoid(x.data[r * n + half + j]) }
    }
    return Tensor(shape: Array(x.shape.dropLast()) + [half], data: out)
  }

  /// Sparsemax over the last axis as Keras 3.15 computes it (`ops.sparsemax`, TensorFlow and JAX
  /// alike): with z sorted descending and c its cumulative sums, position j is in the support when
  /// z_j − (c_j − 1)/j > 0; k counts the support and τ = (Σ over the support of c_j − 1) / k, a
  /// sum of the cumulative sums where Martins & Astudillo's τ takes c_k alone; output max(z − τ, 0).
  static func sparsemax(_ x: Tensor) -> Tensor {
    var out = x.data
    let n = x.last
    for start in stride(from: 0, to: out.count, by: max(1, n)) {
      let sorted = out[start..<(start + n)].sorted(by: >)
      var cumulative: Float = 0, support: Float = 0, sums: Float = 0
      for (j, z) in sorted.enumerated() {
        cumulative += z
        if z - (cumulative - 1) / Float(j + 1) > 0 { support += 1; sums += cumulative }
      }
      let tau = (sums - 1) / support
      for i in start..<(start + n) { out[i] = max(out[i] - tau, 0) }
    }
    return Tensor(shape: x.shape, data: out)
  }

  /// Softmax (or log-softmax) over the last axis.
  static func softmax(_ x: Tensor, log: Bool) -> Tensor {
    var out = x.data
    let n = x.last
    for start in stride(from: 0, to: out.count, by: n) {
      let row = start..<(start + n)
      let top = out[row].max() ?? 0
      var sum: Float = 0
      for i in row { sum += Foundation.exp(out[i] - top) }
      for i in row { out[i] = log ? out[i] - top - Foundation.log(sum) : Foundation.exp(out[i] - top) / sum }
    }
    return Tensor(shape: x.shape, data: out)
  }
}
