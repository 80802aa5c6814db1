/// What one op node of a functional graph computes: a tensor function called on Keras tensors,
/// as tf.keras 2.4-2.15 saves it (`TFOpLambda`, `SlicingOpLambda`) and as Keras 3 saves its
/// `keras.ops` nodes. Both decode into this one vocabulary, with one shape rule per function
/// here and one kernel in the runtime.
public enum TensorFunction: Sendable, Equatable {
  /// Element-wise on one operand.
  case unary(UnaryFunction)
  /// Element-wise on two operands, NumPy broadcasting.
  case binary(BinaryFunction)
  /// Softmax (or log-softmax) along one axis.
  case softmax(axis: Int, log: Bool)
  /// A reduction over `axes` (nil: every axis, the batch's too).
  case reduce(Reduction, axes: [Int]?, keepdims: Bool)
  /// `reshape` to a shape that includes the batch axis; -1 is inferred, nil unknown.
  case reshape([Int?])
  /// `transpose` by a permutation of every axis (nil: reversed).
  case transpose([Int]?)
  case expandDims(axis: Int)
  /// `squeeze` of the given axes (nil: every axis of size 1).
  case squeeze([Int]?)
  /// Operands joined along an existing axis.
  case concatenate(axis: Int)
  /// Operands stacked along a new axis.
  case stack(axis: Int)
  /// Python subscripting, `x[:, -1, ...]`.
  case getItem([SliceItem])
  /// Matrix product of the last two axes, batch axes broadcast.
  case matmul(transposeA: Bool, transposeB: Bool)
  /// Values clipped to [low, high].
  case clip(low: Double, high: Double)
  /// A cast to a dtype (floats round, integers truncate, bool is 0 or 1).
  case cast(String)
  /// `where(condition, x, y)`, broadcasting all three.
  case select
  /// Each axis repeated `multiples` times.
  case tile([Int])
  /// Each element repeated along an axis.
  case repeatElements(count: Int, axis: Int)
  /// Pieces along an axis: several outputs.
  case split(Split, axis: Int)
  /// Elements at constant indices along an axis (nil: of the flattened operand).
  case take(indices: [Int], axis: Int?)
  /// `einsum` of the operands: one letter per axis, no ellipsis (`bij,bjk->bik`).
  case einsum(inputs: [[Character]], output: [Character])
  /// L2 normalization along axes: `x · min(1/‖x‖, cap)` (tf's `l2_normalize` floors the squared
  /// norm at epsilon, Keras 3's `normalize` caps the inverse norm at 1/epsilon).
  case l2Normalize(axes: [Int]?, cap: Double)

  public enum Split: Sendable, Equatable {
    /// This many equal pieces.
    case count(Int)
    /// Pieces of these sizes (TensorFlow's `num_or_size_splits` list).
    case sizes([Int])
    /// Pieces between these indices (NumPy's `indices_or_sections` list).
    case indices([Int])
  }
}

/// The element-wise functions of one operand. Keras activation names keep their meaning.
public enum UnaryFunction: String, Sendable, CaseIterable {
  case relu, relu6, sigmoid, tanh, elu, selu, softplus, softsign, silu, gelu, hardSigmoid = "hard_sigmoid"
  case geluApproximate = "gelu_approximate"
  case exp, log, sqrt, rsqrt, square, abs, negative, erf, sign, floor, ceil, round, reciprocal, log1p, expm1
  case sin, cos, logicalNot = "logical_not"
  /// A tensor of the operand's shape, all 0 or all 1 (Keras 3 writes them into a graph to
  /// broadcast masks).
  case zerosLike = "zeros_like", onesLike = "ones_like"
}

/// The element-wise functions of two operands.
public enum BinaryFunction: String, Sendable, CaseIterable {
  case add, subtract, multiply, divide, floorDivide = "floor_divide", mod, power, maximum, minimum
  case squaredDifference = "squared_difference"
  case equal, notEqual = "not_equal", greater, greaterEqual = "greater_equal", less, lessEqual = "less_equal"
  case logicalAnd = "logical_and", logicalOr = "logical_or"

  /// Whether the result is a boolean (1 or 0).
  public var isComparison: Bool {
    switch self {
    case .equal, .notEqual, .greater, .greaterEqual, .less, .lessEqual, .logicalAnd, .logicalOr: true
    default: false
    }
  }
}

public enum Reduction: String, Sendable { case mean, sum, max, min, prod, any, all }

/// One item of a subscript.
public enum SliceItem: Sendable, Equatable {
  case index(Int)
  case range(start: Int?, stop: Int?, step: Int?)
  case newAxis
  case ellipsis
}

/// One operand of an op: an input tensor of the call (by position) or a number.
public enum Operand: Sendable, Equatable {
  case tensor(Int)
  case constant(Double)
  /// A constant array (`x + np.array([...])`, tf.keras's `y=[1.0, 2.0]`), flattened, with its shape.
  case array([Double], shape: [Int])
}

/// An op node's function with its operands, decoded from its call.
public struct TensorOperation: Sendable, Equatable {
  public let function: TensorFunction
  public let operands: [Operand]

  public init(_ function: TensorFunction, _ operands: [Operand]) {
    self.function = function
    self.operands = operands
  }

  /// The operand for a call value: a tensor or a number; nil for anything else.
  static func operand(_ value: CallValue?) -> Operand? {
    switch value {
    case .tensor(let i): .tensor(i)
    case .number(let n): .constant(n)
    case .bool(let b): .constant(b ? 1 : 0)
    case .array(let values, let shape): .array(values, shape: shape)
    case .list: numberArray(value!).map { .array($0.values, shape: $0.shape) }
    default: nil
    }
  }

  /// Nested lists of numbers, as the constant array TensorFlow converts them to; nil when
  /// they are ragged or hold anything else.
  static func numberArray(_ value: CallValue) -> (values: [Double], shape: [Int])? {
    switch value {
    case .number(let n): return ([n], [])
    case .bool(let b): return ([b ? 1 : 0], [])
    case .list(let items):
      guard !items.isEmpty else { return ([], [0]) }
      var values: [Double] = []
      var inner: [Int]?
      for item in items {
        guard let (v, s) = numberArray(item), inner == nil || inner == s else { return nil }
        inner = s
        values += v
      }
      return (values, [items.count] + inner!)
    default: return nil
    }
  }

  /// The operands of a list argument (`tf.concat([a, b])`, `ops.stack([a, b])`); nil when it
  /// is not a list or holds something else than tensors and numbers.
  static func operands(_ value: CallValue?) -> [Operand]? {
    guard case .list(let items) = value else { return nil }
    var result: [Operand] = []
    for item in items {
      guard let o = operand(item) else { return nil }
      result.append(o)
    }
    return result
  }

  /// Subscript items from a call value (`x[0]` is one bare item, `x[:, 1]` a list).
  static func sliceItems(_ value: CallValue?) -> [SliceItem]? {
    guard let value else { return nil }
    let items: [CallValue]
    if case .list(let list) = value { items = list } else { items = [value] }
    var result: [SliceItem] = []
    for item in items {
      switch item {
      case .number: guard let n = item.int else { return nil }; result.append(.index(n))
      case .none: result.append(.newAxis)
      case .ellipsis: result.append(.ellipsis)
      case .slice(let start, let stop, let step):
        func bound(_ v: CallValue) -> Int?? { v.isNone ? .some(nil) : v.int.map { .some($0) } }
        guard let a = bound(start), let b = bound(stop), let c = bound(step), c != 0 else { return nil }
        result.append(.range(start: a, stop: b, step: c))
      default: return nil
      }
    }
    return result
  }

  /// The output shapes of the operation for its operands' shapes (constants are scalars).
  public func outputShapes(_ inputs: [Shape], _ label: LayerLabel) throws(ModelError) -> [Shape] {
    var shapes: [Shape] = []
    for operand in operands {
      switch operand {
      case .constant: shapes.append([])
      case .array(_, let shape): shapes.append(shape.map { Optional($0) })
      case .tensor(let i):
        guard i < inputs.count else { throw label.error("names input \(i), but the call has \(inputs.count)") }
        shapes.append(inputs[i])
      }
    }
    guard let x = shapes.first else { throw label.error("has no operands") }
    func axis(_ a: Int, rank: Int) throws(ModelError) -> Int {
      let r = a < 0 ? a + rank : a
      guard r >= 0, r < rank else { throw label.error("has axis \(a), outside a rank-\(rank) operand") }
      return r
    }
    switch function {
    case .unary, .clip, .cast, .l2Normalize:
      return [x]
    case .softmax(let a, _):
      _ = try axis(a, rank: x.count)
      return [x]
    case .binary, .select:
      return [try ElementwiseMerge.broadcastShape(shapes, label)]
    case .reduce(_, let axes, let keepdims):
      guard let axes else { return [keepdims ? x.map { _ in 1 } : []] }
      var resolved: Set<Int> = []
      for a in axes { resolved.insert(try axis(a, rank: x.count)) }
      return [x.enumerated().compactMap { i, d in resolved.contains(i) ? (keepdims ? .some(1) : nil) : .some(d) }]
    case .reshape(let target):
      var out: Shape = target.map { $0 == -1 ? nil : $0 }
      if let unknown = target.firstIndex(of: -1), x.allSatisfy({ $0 != nil }) {
        let total = try label.checkedProduct(x.map { $0! })
        let known = target.enumerated().filter { $0.offset != unknown }.map(\.element)
        if known.allSatisfy({ $0 != nil }) {
          let rest = try label.checkedProduct(known.map { $0! })
          guard rest > 0, total % rest == 0 else { throw label.error("cannot reshape \(format(x)) to \(target)") }
          out[unknown] = total / rest
        }
      }
      return [out]
    case .transpose(let perm):
      let p = perm ?? Array((0..<x.count).reversed())
      guard p.count == x.count, Set(p) == Set(0..<x.count) else { throw label.error("has permutation \(p) for a rank-\(x.count) operand") }
      return [p.map { x[$0] }]
    case .expandDims(let a):
      var out = x
      out.insert(1, at: try axis(a, rank: x.count + 1))
      return [out]
    case .squeeze(let axes):
      guard let axes else { return [x.filter { $0 != 1 }] }
      var resolved: Set<Int> = []
      for a in axes { resolved.insert(try axis(a, rank: x.count)) }
      for a in resolved where x[a] != 1 && x[a] != nil { throw label.error("squeezes axis \(a) of size \(x[a]!)") }
      return [x.enumerated().filter { !resolved.contains($0.offset) }.map(\.element)]
    case .concatenate(let a):
      let r = try axis(a, rank: x.count)
      guard shapes.allSatisfy({ $0.count == x.count }) else { throw label.error("concatenates operands of different ranks") }
      var out = try ElementwiseMerge.broadcastShape(shapes.map { s in s.enumerated().map { $0.offset == r ? 1 : $0.element } }, label)
      out[r] = shapes.dropFirst().reduce(x[r]) { sum($0, $1[r]) }
      return [out]
    case .stack(let a):
      var out = try ElementwiseMerge.broadcastShape(shapes, label)
      out.insert(shapes.count, at: try axis(a, rank: x.count + 1))
      return [out]
    case .getItem(let items):
      return [try Self.subscriptShape(x, items, label)]
    case .matmul(let ta, let tb):
      guard shapes.count == 2 else { throw label.error("multiplies two operands, got \(shapes.count)") }
      var (a, b) = (shapes[0], shapes[1])
      guard !a.isEmpty, !b.isEmpty else { throw label.error("cannot multiply scalars as matrices") }
      let vectorA = a.count == 1, vectorB = b.count == 1
      if vectorA { a.insert(1, at: 0) }
      if vectorB { b.append(1) }
      if ta { a.swapAt(a.count - 1, a.count - 2) }
      if tb { b.swapAt(b.count - 1, b.count - 2) }
      if let k1 = a.last!, let k2 = b[b.count - 2], k1 != k2 { throw label.error("multiplies \(format(shapes[0])) by \(format(shapes[1]))") }
      var out = try ElementwiseMerge.broadcastShape([Array(a.dropLast(2)), Array(b.dropLast(2))], label)
      if !vectorA { out.append(a[a.count - 2]) }
      if !vectorB { out.append(b.last!) }
      return [out]
    case .tile(let multiples):
      guard multiples.count >= x.count else { throw label.error("tiles a rank-\(x.count) operand by \(multiples)") }
      let padded = Array(repeating: 1, count: multiples.count - x.count) + x
      var out: Shape = []
      for (d, m) in zip(padded, multiples) {
        guard m >= 0 else { throw label.error("tiles by a negative multiple \(m)") }
        out.append(try d.map { d throws(ModelError) in try label.checkedProduct([d, m]) })
      }
      return [out]
    case .repeatElements(let count, let a):
      var out = x
      let r = try axis(a, rank: x.count)
      guard count >= 0 else { throw label.error("repeats \(count) times") }
      out[r] = try out[r].map { d throws(ModelError) in try label.checkedProduct([d, count]) }
      return [out]
    case .take(let indices, let a):
      guard let a else { return [[indices.count]] }
      var out = x
      let r = try axis(a, rank: x.count)
      if let d = x[r], let bad = indices.first(where: { $0 >= d || $0 < -d }) { throw label.error("takes index \(bad) of an axis of size \(d)") }
      out[r] = indices.count
      return [out]
    case .einsum(let specs, let output):
      guard specs.count == shapes.count else { throw label.error("has \(specs.count) einsum operands, the call \(shapes.count)") }
      var size: [Character: Int?] = [:]
      for (spec, shape) in zip(specs, shapes) {
        guard spec.count == shape.count else { throw label.error("has einsum operand \(String(spec)) for a rank-\(shape.count) tensor") }
        for (ch, d) in zip(spec, shape) {
          if let known = size[ch] ?? nil, let d, known != d, known != 1, d != 1 { throw label.error("has einsum axis \(ch) of sizes \(known) and \(d)") }
          if size[ch] == nil || size[ch]! == nil || size[ch]! == 1 { size[ch] = d }
        }
      }
      var out: Shape = []
      for ch in output {
        guard let d = size[ch] else { throw label.error("has einsum output axis \(ch) in no operand") }
        out.append(d)
      }
      return [out]
    case .split(let split, let a):
      let r = try axis(a, rank: x.count)
      switch split {
      case .count(let n):
        guard n > 0, n <= 1 << 16 else { throw label.error("splits into \(n) pieces") }
        if let d = x[r], d % n != 0 { throw label.error("splits a size-\(d) axis into \(n) equal pieces") }
        return Array(repeating: x.enumerated().map { $0.offset == r ? x[r].map { $0 / n } : $0.element }, count: n)
      case .sizes(let sizes):
        guard sizes.count <= 1 << 16, sizes.allSatisfy({ $0 >= 0 }) else { throw label.error("splits into pieces \(sizes.prefix(8))") }
        return sizes.map { size in x.enumerated().map { $0.offset == r ? size : $0.element } }
      case .indices(let indices):
        guard let d = x[r] else { throw label.error("splits an axis of unknown size at indices") }
        let bounds = [0] + indices.map { min(max($0, 0), d) } + [d]
        return zip(bounds, bounds.dropFirst()).map { lo, hi in x.enumerated().map { $0.offset == r ? max(0, hi - lo) : $0.element } }
      }
    }
  }

  /// Python's subscript of a shape: integers drop an axis, ranges keep it (its length when
  /// known), None adds one, `...` stands for the axes not named.
  static func subscriptShape(_ x: Shape, _ items: [SliceItem], _ label: LayerLabel) throws(ModelError) -> Shape {
    let named = items.filter { if case .newAxis = $0 { false } else if case .ellipsis = $0 { false } else { true } }.count
    guard named <= x.count, items.filter({ $0 == .ellipsis }).count <= 1 else { throw label.error("indexes \(named) axes of a rank-\(x.count) operand") }
    var out: Shape = []
    var axis = 0
    for item in items {
      switch item {
      case .newAxis: out.append(1)
      case .ellipsis:
        let skip = x.count - named
        out += x[axis..<(axis + skip)]
        axis += skip
      case .index(let i):
        if let d = x[axis], i >= d || i < -d { throw label.error("indexes \(i) on an axis of size \(d)") }
        axis += 1
      case .range(let start, let stop, let step):
        out.append(x[axis].map { sliceLength($0, start, stop, step ?? 1) })
        axis += 1
      }
    }
    return out + x[axis...]
  }

  /// The length of `range(d)[start:stop:step]`, as Python computes it (without listing them).
  public static func sliceLength(_ d: Int, _ start: Int?, _ stop: Int?, _ step: Int) -> Int {
    let (a, b) = sliceBounds(d, start, stop, step)
    return step > 0 ? (a < b ? (b - a - 1) / step + 1 : 0) : (a > b ? (a - b - 1) / -step + 1 : 0)
  }

  /// The indices `range(d)[start:stop:step]` selects, as Python's `slice.indices` does.
  public static func sliceIndices(_ d: Int, _ start: Int?, _ stop: Int?, _ step: Int) -> [Int] {
    let (a, b) = sliceBounds(d, start, stop, step)
    if step > 0 { return a < b ? Array(stride(from: a, to: b, by: step)) : [] }
    return a > b ? Array(stride(from: a, to: b, by: step)) : []
  }

  /// Python's `slice.indices` start and stop for an axis of size `d`.
  static func sliceBounds(_ d: Int, _ start: Int?, _ stop: Int?, _ step: Int) -> (Int, Int) {
    func clamp(_ v: Int?, _ fallback: Int, low: Int, high: Int) -> Int {
      guard var v else { return fallback }
      if v < 0 { v += d }
      return min(max(v, low), high)
    }
    if step > 0 { return (clamp(start, 0, low: 0, high: d), clamp(stop, d, low: 0, high: d)) }
    return (clamp(start, d - 1, low: -1, high: d - 1), clamp(stop, -1, low: -1, high: d - 1))
  }
}

/// A family that runs one tensor function: the op-node families below.
public protocol TensorOperationLayer: LayerDefinition {
  var operation: TensorOperation { get }
  var label: LayerLabel { get }
}

extension TensorOperationLayer {
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    LayerSignature(outputs: try operation.outputShapes(inputs, label))
  }
}

/// tf.keras 2.4-2.15's `TFOpLambda` and `SlicingOpLambda`: a TensorFlow function called on Keras
/// tensors (`x + 3.0` is `tf.__operators__.add`, `x[:, -1]` is `tf.__operators__.getitem`). The
/// first positional argument is the node's entry (a tensor, a list of them, or a number); every
/// other argument is a keyword named after the function's parameter (`y`, `axis`, `shape`...).
public struct TFOpLambda: TensorOperationLayer {
  public static let classNames = ["TFOpLambda", "SlicingOpLambda"]
  public let function: String
  public let operation: TensorOperation
  public let label: LayerLabel

  /// The TensorFlow functions understood, by the name the config writes (without `tf.`).
  static let unary: [String: UnaryFunction] = [
    "nn.relu": .relu, "nn.relu6": .relu6, "math.sigmoid": .sigmoid, "nn.sigmoid": .sigmoid, "math.tanh": .tanh, "nn.tanh": .tanh,
    "nn.elu": .elu, "nn.selu": .selu, "math.softplus": .softplus, "nn.softplus": .softplus, "math.softsign": .softsign,
    "nn.softsign": .softsign, "nn.silu": .silu, "nn.swish": .silu, "math.exp": .exp, "math.log": .log, "math.sqrt": .sqrt,
    "math.rsqrt": .rsqrt, "math.square": .square, "math.abs": .abs, "math.negative": .negative, "math.erf": .erf,
    "zeros_like": .zerosLike, "ones_like": .onesLike,
    "math.sign": .sign, "math.floor": .floor, "math.ceil": .ceil, "math.round": .round, "math.reciprocal": .reciprocal,
    "math.log1p": .log1p, "math.expm1": .expm1, "math.sin": .sin, "math.cos": .cos, "math.logical_not": .logicalNot,
  ]
  static let binary: [String: BinaryFunction] = [
    "__operators__.add": .add, "math.add": .add, "math.subtract": .subtract, "math.multiply": .multiply,
    "math.truediv": .divide, "math.divide": .divide, "math.floordiv": .floorDivide, "compat.v1.floor_div": .floorDivide, "math.floormod": .mod, "math.pow": .power,
    "math.maximum": .maximum, "math.minimum": .minimum, "math.squared_difference": .squaredDifference,
    "math.equal": .equal, "math.not_equal": .notEqual, "math.greater": .greater, "math.greater_equal": .greaterEqual,
    "math.less": .less, "math.less_equal": .lessEqual, "math.logical_and": .logicalAnd, "math.logical_or": .logicalOr,
  ]
  static let reductions: [String: Reduction] = [
    "math.reduce_mean": .mean, "math.reduce_sum": .sum, "math.reduce_max": .max, "math.reduce_min": .min,
    "math.reduce_prod": .prod, "math.reduce_any": .any, "math.reduce_all": .all,
  ]
  static let others: Set<String> = [
    "__operators__.getitem", "nn.softmax", "math.softmax", "nn.log_softmax", "math.log_softmax", "nn.gelu", "reshape",
    "compat.v1.transpose", "transpose", "expand_dims", "compat.v1.squeeze", "squeeze", "concat", "stack", "linalg.matmul",
    "cast", "clip_by_value", "where", "tile", "split", "repeat", "compat.v1.gather", "gather",
    "math.l2_normalize", "nn.l2_normalize", "linalg.l2_normalize",
  ]
  public static var functions: [String] { (Array(unary.keys) + Array(binary.keys) + Array(reductions.keys) + Array(others)).sorted() }

  public static func understands(_ config: JSONValue) -> Bool {
    guard let f = config["function"]?.string else { return false }
    return unary[f] != nil || binary[f] != nil || reductions[f] != nil || others.contains(f)
  }

  public init(_ c: LayerReader) throws(ModelError) {
    function = try c.string("function")
    label = c.label
    operation = try Self.decode(c, function: function)
  }

  /// The function and operands of the layer's call.
  static func decode(_ c: LayerReader, function: String) throws(ModelError) -> TensorOperation {
    let call = c.call ?? CallStructure()
    func unreadable(_ what: String) -> ModelError { c.error("calls tf.\(function) with \(what) keras-inspect cannot read") }
    let x = call.args.first
    guard let first = x else { throw c.error("calls tf.\(function) without arguments") }
    func operand(_ v: CallValue?, _ name: String) throws(ModelError) -> Operand {
      guard let o = TensorOperation.operand(v) else { throw unreadable("a \(name)") }
      return o
    }
    func int(_ key: String, _ fallback: Int) throws(ModelError) -> Int {
      guard let v = call.kwargs[key], !v.isNone else { return fallback }
      guard let n = v.int else { throw unreadable("\(key)") }
      return n
    }
    func bool(_ key: String) -> Bool {
      if case .bool(let b) = call.kwargs[key] { return b }
      return false
    }
    func list() throws(ModelError) -> [Operand] {
      guard case .list = first else { return [try operand(first, "first argument")] }
      guard let operands = TensorOperation.operands(first) else { throw unreadable("a list element") }
      return operands
    }
    if let u = Self.unary[function] {
      return TensorOperation(.unary(u), [try operand(first, "operand")])
    } else if let b = Self.binary[function] {
      return TensorOperation(.binary(b), [try operand(first, "operand"), try operand(call.kwargs["y"], "y")])
    } else if let r = Self.reductions[function] {
      let axes: [Int]?
      if let v = call.kwargs["axis"], !v.isNone {
        guard let a = v.ints else { throw unreadable("an axis") }
        axes = a
      } else {
        axes = nil
      }
      return TensorOperation(.reduce(r, axes: axes, keepdims: bool("keepdims")), [try operand(first, "operand")])
    } else if function == "concat" || function == "stack" {
      let axis = try int("axis", 0)
      return TensorOperation(function == "concat" ? .concatenate(axis: axis) : .stack(axis: axis), try list())
    } else {
      let x = try operand(first, "operand")
      switch function {
      case "__operators__.getitem":
        guard let items = TensorOperation.sliceItems(call.kwargs["slice_spec"]) else { throw unreadable("a slice") }
        return TensorOperation(.getItem(items), [x])
      case "nn.softmax", "math.softmax", "nn.log_softmax", "math.log_softmax":
        return TensorOperation(.softmax(axis: try int("axis", -1), log: function.hasSuffix("log_softmax")), [x])
      case "nn.gelu":
        return TensorOperation(.unary(bool("approximate") ? .geluApproximate : .gelu), [x])
      case "reshape":
        guard case .list(let items) = call.kwargs["shape"] else { throw unreadable("a shape") }
        var target: [Int?] = []
        for item in items {
          guard let n = item.int, n >= -1 else { throw unreadable("a shape") }
          target.append(n)
        }
        return TensorOperation(.reshape(target), [x])
      case "compat.v1.transpose", "transpose":
        let perm = call.kwargs["perm"].flatMap { $0.isNone ? nil : $0 }
        guard perm == nil || perm?.ints != nil else { throw unreadable("a permutation") }
        return TensorOperation(.transpose(perm?.ints), [x])
      case "expand_dims":
        return TensorOperation(.expandDims(axis: try int("axis", 0)), [x])
      case "compat.v1.squeeze", "squeeze":
        let axis = call.kwargs["axis"].flatMap { $0.isNone ? nil : $0 } ?? call.kwargs["squeeze_dims"].flatMap { $0.isNone ? nil : $0 }
        guard axis == nil || axis?.ints != nil else { throw unreadable("an axis") }
        return TensorOperation(.squeeze(axis?.ints), [x])
      case "linalg.matmul":
        let ta = bool("transpose_a") || bool("adjoint_a"), tb = bool("transpose_b") || bool("adjoint_b")
        return TensorOperation(.matmul(transposeA: ta, transposeB: tb), [x, try operand(call.kwargs["b"], "b")])
      case "cast":
        guard case .string(let dtype) = call.kwargs["dtype"] else { throw unreadable("a dtype") }
        return TensorOperation(.cast(dtype), [x])
      case "clip_by_value":
        guard case .number(let low) = call.kwargs["clip_value_min"], case .number(let high) = call.kwargs["clip_value_max"] else { throw unreadable("clip bounds") }
        return TensorOperation(.clip(low: low, high: high), [x])
      case "where":
        return TensorOperation(.select, [x, try operand(call.kwargs["x"], "x"), try operand(call.kwargs["y"], "y")])
      case "tile":
        guard let multiples = call.kwargs["multiples"]?.ints else { throw unreadable("multiples") }
        return TensorOperation(.tile(multiples), [x])
      case "repeat":
        guard let count = call.kwargs["repeats"]?.int, let axis = call.kwargs["axis"]?.int else { throw unreadable("repeats and an axis") }
        return TensorOperation(.repeatElements(count: count, axis: axis), [x])
      case "math.l2_normalize", "nn.l2_normalize", "linalg.l2_normalize":
        let axis = call.kwargs["axis"].flatMap { $0.isNone ? nil : $0 }
        guard axis == nil || axis?.ints != nil else { throw unreadable("an axis") }
        var epsilon = 1e-12
        if let e = call.kwargs["epsilon"], !e.isNone { guard case .number(let v) = e, v > 0 else { throw unreadable("an epsilon") }; epsilon = v }
        return TensorOperation(.l2Normalize(axes: axis?.ints, cap: 1 / epsilon.squareRoot()), [x])
      case "compat.v1.gather", "gather":
        guard let indices = call.kwargs["indices"]?.ints else { throw unreadable("indices that are not constant integers") }
        if let batchDims = call.kwargs["batch_dims"]?.int, batchDims != 0 { throw unreadable("batch_dims") }
        return TensorOperation(.take(indices: indices, axis: try int("axis", 0)), [x])
      case "split":
        let pieces = call.kwargs["num_or_size_splits"]
        let split: TensorFunction.Split
        if let n = pieces?.int { split = .count(n) } else if let sizes = pieces?.ints { split = .sizes(sizes) } else { throw unreadable("pieces") }
        return TensorOperation(.split(split, axis: try int("axis", 0)), [x])
      default:
        throw c.error("calls tf.\(function), which keras-inspect does not read")
      }
    }
  }
}

/// Keras 3's op nodes: `keras.ops` functions called on symbolic tensors in a functional model
/// (`ops.add`, `x + 3.0`, `x[:, -1]`, `ops.reshape`, `ops.mean`...), each an Operation saved with
/// its constructor arguments in the config and its operands in the call.
public struct KerasOperation: TensorOperationLayer {
  public static let classNames: [String] = []
  static let unary: [String: UnaryFunction] = [
    "Relu": .relu, "Relu6": .relu6, "Sigmoid": .sigmoid, "Tanh": .tanh, "Selu": .selu, "Softplus": .softplus,
    "Softsign": .softsign, "Silu": .silu, "Swish": .silu, "HardSigmoid": .hardSigmoid, "Exp": .exp, "Log": .log, "Sqrt": .sqrt,
    "Rsqrt": .rsqrt, "Square": .square, "Absolute": .abs, "Abs": .abs, "Negative": .negative, "Erf": .erf, "Sign": .sign,
    "Floor": .floor, "Ceil": .ceil, "Round": .round, "Reciprocal": .reciprocal, "Log1p": .log1p, "Expm1": .expm1,
    "Sin": .sin, "Cos": .cos, "LogicalNot": .logicalNot, "ZerosLike": .zerosLike, "OnesLike": .onesLike,
  ]
  static let binary: [String: BinaryFunction] = [
    "Add": .add, "Subtract": .subtract, "Multiply": .multiply, "Divide": .divide, "TrueDivide": .divide,
    "FloorDivide": .floorDivide, "Mod": .mod, "Power": .power, "Maximum": .maximum, "Minimum": .minimum,
    "Equal": .equal, "NotEqual": .notEqual, "Greater": .greater, "GreaterEqual": .greaterEqual, "Less": .less,
    "LessEqual": .lessEqual, "LogicalAnd": .logicalAnd, "LogicalOr": .logicalOr,
  ]
  static let reductions: [String: Reduction] = ["Mean": .mean, "Sum": .sum, "Max": .max, "Min": .min, "Prod": .prod, "Any": .any, "All": .all]
  static let others = [
    "Softmax", "LogSoftmax", "Gelu", "Elu", "Reshape", "Transpose", "ExpandDims", "Squeeze", "Concatenate", "Stack", "GetItem",
    "Matmul", "Cast", "Clip", "Where", "Tile", "Repeat", "Split", "Take", "Einsum", "ConvertToTensor", "Normalize",
  ]
  public static let operationNames = (Array(unary.keys) + Array(binary.keys) + Array(reductions.keys) + others).sorted()
  public let operation: TensorOperation
  public let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    label = c.label
    operation = try Self.decode(c)
  }

  /// The function of the op's class and config, with the operands of its call.
  static func decode(_ c: LayerReader) throws(ModelError) -> TensorOperation {
    let call = c.call ?? CallStructure()
    let name = c.className
    func unreadable(_ what: String) -> ModelError { c.error("has \(what) keras-inspect cannot read") }
    func operand(_ i: Int) throws(ModelError) -> Operand {
      guard let o = TensorOperation.operand(i < call.args.count ? call.args[i] : nil) else { throw unreadable("an operand") }
      return o
    }
    func axes(_ key: String) throws(ModelError) -> [Int]? {
      guard let v = c.present(key) else { return nil }
      guard let list = v.int.map({ [$0] }) ?? v.intList else { throw unreadable("an \(key)") }
      return list
    }
    if let u = Self.unary[name] {
      return TensorOperation(.unary(u), [try operand(0)])
    } else if let b = Self.binary[name] {
      return TensorOperation(.binary(b), [try operand(0), try operand(1)])
    } else if let r = Self.reductions[name] {
      if c.present("initial") != nil { throw unreadable("an initial value") }
      return TensorOperation(.reduce(r, axes: try axes("axis"), keepdims: try c.bool("keepdims", default: false)), [try operand(0)])
    } else if name == "Einsum" {
      let subscripts = try c.string("subscripts").filter { $0 != " " }
      let sides = subscripts.components(separatedBy: "->")
      guard sides.count == 2, !subscripts.contains(".") else { throw unreadable("einsum subscripts \"\(subscripts)\" (an ellipsis, or no output)") }
      let specs = sides[0].split(separator: ",", omittingEmptySubsequences: false).map(Array.init)
      guard specs.allSatisfy({ $0.allSatisfy(\.isLetter) }), sides[1].allSatisfy(\.isLetter), specs.count == call.args.count else {
        throw unreadable("einsum subscripts \"\(subscripts)\"")
      }
      var operands: [Operand] = []
      for i in specs.indices { operands.append(try operand(i)) }
      return TensorOperation(.einsum(inputs: specs, output: Array(sides[1])), operands)
    } else if name == "Concatenate" || name == "Stack" {
      guard case .list = call.args.first else { throw unreadable("operands") }
      guard let operands = TensorOperation.operands(call.args.first) else { throw unreadable("an operand") }
      let axis = try c.int("axis", default: 0)
      return TensorOperation(name == "Stack" ? .stack(axis: axis) : .concatenate(axis: axis), operands)
    } else {
      let x = try operand(0)
      switch name {
      case "Softmax", "LogSoftmax":
        let a = try axes("axis") ?? [-1]
        guard a.count == 1 else { throw unreadable("a softmax over several axes") }
        return TensorOperation(.softmax(axis: a[0], log: name == "LogSoftmax"), [x])
      case "Gelu":
        return TensorOperation(.unary(try c.bool("approximate", default: true) ? .geluApproximate : .gelu), [x])
      case "Elu":
        guard try c.double("alpha", default: 1) == 1 else { throw unreadable("an alpha other than 1") }
        return TensorOperation(.unary(.elu), [x])
      case "Reshape":
        guard let shape = c.present("newshape")?.array else { throw unreadable("a newshape") }
        var target: [Int?] = []
        for item in shape {
          if item.isNull { target.append(nil); continue }
          guard let n = item.int, n >= -1 else { throw unreadable("a newshape") }
          target.append(n)
        }
        return TensorOperation(.reshape(target), [x])
      case "Transpose":
        return TensorOperation(.transpose(try axes("axes")), [x])
      case "ExpandDims":
        guard let a = try axes("axis"), a.count == 1 else { throw unreadable("an axis") }
        return TensorOperation(.expandDims(axis: a[0]), [x])
      case "Squeeze":
        return TensorOperation(.squeeze(try axes("axis")), [x])
      case "GetItem":
        guard let items = TensorOperation.sliceItems(call.args.count > 1 ? call.args[1] : nil) else { throw unreadable("a subscript") }
        return TensorOperation(.getItem(items), [x])
      case "Matmul":
        return TensorOperation(.matmul(transposeA: false, transposeB: false), [x, try operand(1)])
      case "Cast":
        return TensorOperation(.cast(try c.string("dtype")), [x])
      case "Clip":
        return TensorOperation(.clip(low: try c.double("x_min"), high: try c.double("x_max")), [x])
      case "Where":
        return TensorOperation(.select, [x, try operand(1), try operand(2)])
      case "Tile":
        guard let repeats = try axes("repeats") else { throw unreadable("repeats") }
        return TensorOperation(.tile(repeats), [x])
      case "Repeat":
        guard let axis = try axes("axis"), axis.count == 1 else { throw unreadable("a Repeat without an axis") }
        return TensorOperation(.repeatElements(count: try c.int("repeats"), axis: axis[0]), [x])
      case "ConvertToTensor":
        // Keras 3 inserts it where a symbolic value becomes a tensor (a mask built from tokens).
        let sparse = try c.bool("sparse", default: false), ragged = try c.bool("ragged", default: false)
        if sparse || ragged { throw unreadable("a sparse or ragged conversion") }
        return TensorOperation(.cast(try c.string("dtype", default: "float32")), [x])
      case "Normalize":
        guard try c.int("order", default: 2) == 2 else { throw unreadable("a norm order other than 2") }
        let epsilon = try c.double("epsilon", default: 1e-7)
        guard epsilon > 0 else { throw unreadable("an epsilon") }
        return TensorOperation(.l2Normalize(axes: try axes("axis") ?? [-1], cap: 1 / epsilon), [x])
      case "Take":
        guard call.args.count > 1, let indices = call.args[1].ints ?? call.args[1].arrayInts else { throw unreadable("indices that are not constant integers") }
        return TensorOperation(.take(indices: indices, axis: try axes("axis")?.first), [x])
      case "Split":
        guard let v = c.present("indices_or_sections") else { throw unreadable("no indices_or_sections") }
        let split: TensorFunction.Split
        if let n = v.int { split = .count(n) } else if let indices = v.intList { split = .indices(indices) } else { throw unreadable("indices_or_sections") }
        return TensorOperation(.split(split, axis: try c.int("axis", default: 0)), [x])
      default:
        throw c.error("is a Keras 3 op keras-inspect does not read")
      }
    }
  }
}
