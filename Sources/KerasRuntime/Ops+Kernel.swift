import Foundation
import KerasModel

extension TFOpLambda: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel { Operations.kernel(operation, keras3: keras3) }
}

extension KerasOperation: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel { Operations.kernel(operation, keras3: keras3) }
}

/// A recognised Lambda: its program's steps in order over the inputs and earlier results. Keras's
/// Lambda without a `mask` function returns no mask.
extension Lambda: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let program = self.program
    return Kernel { inputs, _ throws(RuntimeError) in
      guard inputs.count == program.inputCount else { throw RuntimeError("computes from \(program.inputCount) input(s), the call gives \(inputs.count)") }
      var values = inputs.map(\.tensor)
      for step in program.steps {
        values.append(try Operations.run(step.function, try Operations.operands(step, values), keras3: keras3)[0])
      }
      return [Value(tensor: values[program.output], mask: nil)]
    }
  }
}

/// The op nodes' tensor functions (``TensorFunction``), as TensorFlow and NumPy define them.
/// Booleans are 1 and 0; integer casts truncate toward zero.
enum Operations {
  static func kernel(_ op: TensorOperation, keras3: Bool) -> Kernel {
    Kernel { inputs, _ throws(RuntimeError) in
      let operands = try self.operands(op, inputs.map(\.tensor))
      let used = op.operands.compactMap { operand -> Value? in if case .tensor(let i) = operand { inputs[i] } else { nil } }
      let outputs = try run(op.function, operands, keras3: keras3)
      // Element-wise results keep their operands' mask; reshaping ones have none.
      let keepsMask: Bool
      switch op.function {
      case .unary, .binary, .clip, .cast, .softmax, .l2Normalize: keepsMask = outputs.count == 1 && outputs[0].shape == used.first?.tensor.shape
      default: keepsMask = false
      }
      return outputs.map { Value(tensor: $0, mask: keepsMask ? mergedMask(used) : nil) }
    }
  }

  /// An operation's operands: the tensors it names among `values`, and its constants.
  static func operands(_ op: TensorOperation, _ values: [Tensor]) throws(RuntimeError) -> [Tensor] {
    var operands: [Tensor] = []
    for operand in op.operands {
      switch operand {
      case .constant(let c): operands.append(Tensor(shape: [], data: [Float(c)]))
      case .array(let values, let shape): operands.append(Tensor(shape: shape, data: values.map { Float($0) }))
      case .tensor(let i):
        guard i < values.count else { throw RuntimeError("names input \(i), but the call has \(values.count)") }
        operands.append(values[i])
      }
    }
    return operands
  }

  static func run(_ function: TensorFunction, _ x: [Tensor], keras3: Bool) throws(RuntimeError) -> [Tensor] {
    guard let a = x.first else { throw RuntimeError("op has no operands") }
    func axis(_ value: Int, rank: Int) throws(RuntimeError) -> Int {
      let r = value < 0 ? value + rank : value
      guard r >= 0, r < rank else { throw RuntimeError("axis \(value) is outside a rank-\(rank) tensor") }
      return r
    }
    switch function {
    case .unary(let f):
      return [a.map(try unary(f, keras3: keras3))]
    case .binary(let f):
      guard x.count == 2 else { throw RuntimeError("op needs two operands, got \(x.count)") }
      return [try Elementwise.broadcast(x[0], x[1], binary(f))]
    case .softmax(let value, let log):
      let r = try axis(value, rank: a.rank)
      return [try Elementwise.overTrailing(a, axes: [r]) { Activations.softmax($0, log: log) }]
    case .reduce(let kind, let axes, let keepdims):
      let resolved = try axes.map { list throws(RuntimeError) in
        var set: Set<Int> = []
        for v in list { set.insert(try axis(v, rank: a.rank)) }
        return set
      } ?? Set(0..<a.rank)
      return [reduce(a, kind, axes: resolved, keepdims: keepdims)]
    case .reshape(let target):
      var shape: [Int] = []
      var unknown: Int?
      for (i, d) in target.enumerated() {
        guard let d else { throw RuntimeError("reshape to an unknown size (None) cannot run") }
        if d == -1 { unknown = i; shape.append(1) } else { shape.append(d) }
      }
      let known = saturatingProduct(shape)
      if let unknown {
        guard known > 0, a.count % known == 0 else { throw RuntimeError("cannot reshape \(a.shape) to \(target)") }
        shape[unknown] = a.count / known
      }
      guard saturatingProduct(shape) == a.count else { throw RuntimeError("cannot reshape \(a.shape) to \(target)") }
      return [a.reshaped(shape)]
    case .transpose(let perm):
      let p = perm ?? Array((0..<a.rank).reversed())
      guard p.count == a.rank, Set(p) == Set(0..<a.rank) else { throw RuntimeError("permutation \(p) does not fit \(a.shape)") }
      return [Tensor(shape: p.map { a.shape[$0] }, data: transposed(a.data, shape: a.shape, permutation: p))]
    case .expandDims(let value):
      var shape = a.shape
      shape.insert(1, at: try axis(value, rank: a.rank + 1))
      return [a.reshaped(shape)]
    case .squeeze(let axes):
      guard let axes else { return [a.reshaped(a.shape.filter { $0 != 1 })] }
      var drop: Set<Int> = []
      for v in axes {
        let r = try axis(v, rank: a.rank)
        guard a.shape[r] == 1 else { throw RuntimeError("cannot squeeze axis \(r) of \(a.shape)") }
        drop.insert(r)
      }
      return [a.reshaped(a.shape.enumerated().filter { !drop.contains($0.offset) }.map(\.element))]
    case .concatenate(let value):
      let r = try axis(value, rank: a.rank)
      for t in x where t.rank != a.rank || (0..<a.rank).contains(where: { $0 != r && t.shape[$0] != a.shape[$0] }) {
        throw RuntimeError("cannot concatenate \(x.map(\.shape)) on axis \(value)")
      }
      return [try Elementwise.concatenate(x, axis: r)]
    case .stack(let value):
      let r = try axis(value, rank: a.rank + 1)
      guard x.allSatisfy({ $0.shape == a.shape }) else { throw RuntimeError("cannot stack \(x.map(\.shape))") }
      var shape = a.shape
      shape.insert(1, at: r)
      return [try Elementwise.concatenate(x.map { $0.reshaped(shape) }, axis: r)]
    case .getItem(let items):
      return [try subscripted(a, items)]
    case .matmul(let ta, let tb):
      guard x.count == 2 else { throw RuntimeError("matmul needs two operands") }
      return [try matmul(x[0], x[1], transposeA: ta, transposeB: tb)]
    case .clip(let low, let high):
      let (lo, hi) = (Float(low), Float(high))
      return [a.map { min(max($0, lo), hi) }]
    case .cast(let dtype):
      return [a.map(try cast(dtype))]
    case .select:
      guard x.count == 3 else { throw RuntimeError("where needs a condition and two operands") }
      let shape = try Elementwise.broadcast(try Elementwise.broadcast(x[0], x[1]) { a, _ in a }, x[2]) { a, _ in a }.shape
      let zeros = Tensor(zeros: shape)
      let (c, t, f) = (try Elementwise.broadcast(x[0], zeros) { a, _ in a }, try Elementwise.broadcast(x[1], zeros) { a, _ in a }, try Elementwise.broadcast(x[2], zeros) { a, _ in a })
      return [Tensor(shape: shape, data: (0..<c.count).map { c.data[$0] != 0 ? t.data[$0] : f.data[$0] })]
    case .tile(let multiples):
      guard multiples.count >= a.rank, multiples.allSatisfy({ $0 >= 0 }) else { throw RuntimeError("cannot tile \(a.shape) by \(multiples)") }
      let source = a.reshaped(Array(repeating: 1, count: multiples.count - a.rank) + a.shape)
      let shape = zip(source.shape, multiples).map(*)
      return [try gather(source, shape: shape) { out in zip(out, source.shape).map { $0 % $1 } }]
    case .repeatElements(let count, let value):
      let r = try axis(value, rank: a.rank)
      var shape = a.shape
      shape[r] *= count
      return [try gather(a, shape: shape) { out in var i = out; i[r] /= count; return i }]
    case .take(let indices, let value):
      guard let value else {
        let flat = try indices.map { i throws(RuntimeError) -> Float in
          guard i < a.count, i >= -a.count else { throw RuntimeError("take index \(i) is outside \(a.count) elements") }
          return a.data[i < 0 ? i + a.count : i]
        }
        return [Tensor(shape: [indices.count], data: flat)]
      }
      let r = try axis(value, rank: a.rank)
      let d = a.shape[r]
      for i in indices where i >= d || i < -d { throw RuntimeError("take index \(i) is outside an axis of size \(d)") }
      var shape = a.shape
      shape[r] = indices.count
      return [try gather(a, shape: shape) { out in var i = out; let k = indices[out[r]]; i[r] = k < 0 ? k + d : k; return i }]
    case .einsum(let specs, let output):
      return [try einsum(x, specs, output)]
    case .l2Normalize(let axes, let cap):
      var resolved: Set<Int> = []
      for v in axes ?? Array(0..<a.rank) { resolved.insert(try axis(v, rank: a.rank)) }
      let sums = reduce(a.map { $0 * $0 }, .sum, axes: resolved, keepdims: true)
      let scale = sums.map { min(1 / $0.squareRoot(), Float(cap)) }
      return [try Elementwise.broadcast(a, scale, *)]
    case .split(let split, let value):
      let r = try axis(value, rank: a.rank)
      let d = a.shape[r]
      let bounds: [(Int, Int)]
      switch split {
      case .count(let n):
        guard n > 0, d % n == 0 else { throw RuntimeError("cannot split a size-\(d) axis into \(n) pieces") }
        bounds = (0..<n).map { ($0 * d / n, ($0 + 1) * d / n) }
      case .sizes(let sizes):
        guard sizes.reduce(0, +) == d, sizes.allSatisfy({ $0 >= 0 }) else { throw RuntimeError("pieces \(sizes) do not add up to \(d)") }
        var start = 0
        bounds = sizes.map { size in defer { start += size }; return (start, start + size) }
      case .indices(let indices):
        let cuts = [0] + indices.map { min(max($0, 0), d) } + [d]
        bounds = zip(cuts, cuts.dropFirst()).map { ($0, max($0, $1)) }
      }
      var pieces: [Tensor] = []
      for (lo, hi) in bounds {
        var shape = a.shape
        shape[r] = hi - lo
        pieces.append(try gather(a, shape: shape) { out in var i = out; i[r] += lo; return i })
      }
      return pieces
    }
  }

  /// `einsum` of operands, each output element summing the products over the letters the
  /// output does not name (size-1 axes broadcast).
  static func einsum(_ x: [Tensor], _ specs: [[Character]], _ output: [Character]) throws(RuntimeError) -> Tensor {
    guard specs.count == x.count else { throw RuntimeError("einsum has \(specs.count) subscripts for \(x.count) operands") }
    var size: [Character: Int] = [:]
    for (spec, t) in zip(specs, x) {
      guard spec.count == t.rank else { throw RuntimeError("einsum subscript \(String(spec)) does not fit \(t.shape)") }
      for (ch, d) in zip(spec, t.shape) {
        if let known = size[ch], known != d, known != 1, d != 1 { throw RuntimeError("einsum axis \(ch) is \(known) and \(d)") }
        size[ch] = max(size[ch] ?? d, d)
      }
    }
    let letters = Array(Set(specs.flatMap { $0 })).sorted()
    let summed = letters.filter { !output.contains($0) }
    guard output.allSatisfy({ size[$0] != nil }) else { throw RuntimeError("einsum output names an axis no operand has") }
    let outShape = output.map { size[$0]! }, sumShape = summed.map { size[$0]! }
    // Each operand's stride per letter (0 for a letter it lacks or a broadcast size-1 axis).
    let strides: [[Character: Int]] = zip(specs, x).map { spec, t in
      var result: [Character: Int] = [:]
      var acc = 1
      for i in stride(from: spec.count - 1, through: 0, by: -1) {
        result[spec[i], default: 0] += t.shape[i] == 1 ? 0 : acc
        acc *= t.shape[i]
      }
      return result
    }
    let outStrides = strides.map { s in output.map { s[$0] ?? 0 } }, sumStrides = strides.map { s in summed.map { s[$0] ?? 0 } }
    let count = outShape.reduce(1, *), inner = sumShape.reduce(1, *)
    var out = [Float](repeating: 0, count: count)
    var index = [Int](repeating: 0, count: outShape.count)
    for o in 0..<count {
      let bases = outStrides.map { st in zip(index, st).reduce(0) { $0 + $1.0 * $1.1 } }
      var inner_index = [Int](repeating: 0, count: sumShape.count)
      var total: Float = 0
      for _ in 0..<inner {
        var product: Float = 1
        for k in x.indices { product *= x[k].data[bases[k] + zip(inner_index, sumStrides[k]).reduce(0) { $0 + $1.0 * $1.1 }] }
        total += product
        advance(&inner_index, in: sumShape)
      }
      out[o] = total
      advance(&index, in: outShape)
    }
    return Tensor(shape: outShape, data: out)
  }

  /// A tensor of `shape` whose element at each index is `x`'s at `source(index)`.
  static func gather(_ x: Tensor, shape: [Int], _ source: ([Int]) -> [Int]) throws(RuntimeError) -> Tensor {
    let count = saturatingProduct(shape)
    guard count <= Runtime.maxActivationElements else { throw RuntimeError("op would produce \(pythonTuple(shape.map { Optional($0) })), more than \(Runtime.maxActivationElements) values") }
    var strides = [Int](repeating: 1, count: x.rank)
    for i in stride(from: x.rank - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * x.shape[i + 1] }
    var out = [Float](repeating: 0, count: count)
    var index = [Int](repeating: 0, count: shape.count)
    for o in 0..<count {
      let s = source(index)
      var offset = 0
      for k in 0..<s.count { offset += s[k] * strides[k] }
      out[o] = x.data[offset]
      advance(&index, in: shape)
    }
    return Tensor(shape: shape, data: out)
  }

  static func unary(_ f: UnaryFunction, keras3: Bool) throws(RuntimeError) -> (Float) -> Float {
    switch f {
    case .relu, .relu6, .sigmoid, .tanh, .elu, .selu, .softplus, .softsign, .silu, .gelu, .hardSigmoid:
      guard let g = Activations.scalar(f.rawValue, keras3: keras3) else { throw RuntimeError("\(f.rawValue) is not supported") }
      return g
    case .geluApproximate:
      let c = Float((2 / Double.pi).squareRoot())
      return { 0.5 * $0 * (1 + Foundation.tanh(c * ($0 + 0.044715 * $0 * $0 * $0))) }
    case .exp: return { Foundation.exp($0) }
    case .log: return { Foundation.log($0) }
    case .sqrt: return { $0.squareRoot() }
    case .rsqrt: return { 1 / $0.squareRoot() }
    case .square: return { $0 * $0 }
    case .abs: return { Swift.abs($0) }
    case .negative: return { -$0 }
    case .erf: return { Foundation.erf($0) }
    case .sign: return { $0 > 0 ? 1 : $0 < 0 ? -1 : $0 }
    case .floor: return { $0.rounded(.down) }
    case .ceil: return { $0.rounded(.up) }
    case .round: return { $0.rounded(.toNearestOrEven) }
    case .reciprocal: return { 1 / $0 }
    case .log1p: return { Foundation.log1p($0) }
    case .expm1: return { Foundation.expm1($0) }
    case .sin: return { Foundation.sin($0) }
    case .cos: return { Foundation.cos($0) }
    case .logicalNot: return { $0 == 0 ? 1 : 0 }
    case .zerosLike: return { _ in 0 }
    case .onesLike: return { _ in 1 }
    }
  }

  static func binary(_ f: BinaryFunction) -> (Float, Float) -> Float {
    switch f {
    case .add: return { $0 + $1 }
    case .subtract: return { $0 - $1 }
    case .multiply: return { $0 * $1 }
    case .divide: return { $0 / $1 }
    case .floorDivide: return { ($0 / $1).rounded(.down) }
    // Python's and TensorFlow's floormod: the result takes the divisor's sign.
    case .mod: return { a, b in let r = fmodf(a, b); return r != 0 && (r < 0) != (b < 0) ? r + b : r }
    case .power: return { powf($0, $1) }
    case .maximum: return { Swift.max($0, $1) }
    case .minimum: return { Swift.min($0, $1) }
    case .squaredDifference: return { ($0 - $1) * ($0 - $1) }
    case .equal: return { $0 == $1 ? 1 : 0 }
    case .notEqual: return { $0 != $1 ? 1 : 0 }
    case .greater: return { $0 > $1 ? 1 : 0 }
    case .greaterEqual: return { $0 >= $1 ? 1 : 0 }
    case .less: return { $0 < $1 ? 1 : 0 }
    case .lessEqual: return { $0 <= $1 ? 1 : 0 }
    case .logicalAnd: return { $0 != 0 && $1 != 0 ? 1 : 0 }
    case .logicalOr: return { $0 != 0 || $1 != 0 ? 1 : 0 }
    }
  }

  static func cast(_ dtype: String) throws(RuntimeError) -> (Float) -> Float {
    switch dtype {
    case "float32", "float64", "double": return { $0 }
    case "float16", "half": return { Float(Float16($0)) }
    case "bfloat16":
      // Round to nearest even on the upper 16 bits.
      return { x in
        guard x.isFinite else { return x }
        let bits = x.bitPattern
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return Float(bitPattern: rounded & 0xFFFF_0000)
      }
    case "bool": return { $0 != 0 ? 1 : 0 }
    case "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64": return { $0.isFinite ? $0.rounded(.towardZero) : 0 }
    default: throw RuntimeError("cast to \(dtype) is not supported")
    }
  }

  static func reduce(_ x: Tensor, _ kind: Reduction, axes: Set<Int>, keepdims: Bool) -> Tensor {
    let outShape = x.shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
    let outCount = outShape.reduce(1, *)
    let n = max(1, x.count / max(outCount, 1))
    var outStrides = [Int](repeating: 0, count: x.rank)
    var acc = 1
    for i in stride(from: x.rank - 1, through: 0, by: -1) { outStrides[i] = axes.contains(i) ? 0 : acc; acc *= outShape[i] }
    let initial: Float
    switch kind {
    case .mean, .sum, .any: initial = 0
    case .prod, .all: initial = 1
    case .max: initial = -.infinity
    case .min: initial = .infinity
    }
    var out = [Float](repeating: initial, count: outCount)
    var index = [Int](repeating: 0, count: x.rank)
    for i in 0..<x.count {
      var o = 0
      for k in 0..<x.rank { o += index[k] * outStrides[k] }
      let v = x.data[i]
      switch kind {
      case .mean, .sum: out[o] += v
      case .prod: out[o] *= v
      case .max: out[o] = Swift.max(out[o], v)
      case .min: out[o] = Swift.min(out[o], v)
      case .any: if v != 0 { out[o] = 1 }
      case .all: if v == 0 { out[o] = 0 }
      }
      advance(&index, in: x.shape)
    }
    if kind == .mean { for i in out.indices { out[i] /= Float(n) } }
    let shape = keepdims ? outShape : x.shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
    return Tensor(shape: shape, data: out)
  }

  /// Python subscripting of a tensor.
  static func subscripted(_ x: Tensor, _ items: [SliceItem]) throws(RuntimeError) -> Tensor {
    let named = items.filter { if case .newAxis = $0 { false } else if case .ellipsis = $0 { false } else { true } }.count
    guard named <= x.rank else { throw RuntimeError("subscript names \(named) axes of a rank-\(x.rank) tensor") }
    // Per input axis: the indices kept, and whether the axis stays in the output.
    var picks: [[Int]] = []
    var kept: [Bool] = []
    // Output axes in order: an input axis, or a new axis of size 1.
    var layout: [Int?] = []
    var axis = 0
    func keep(_ indices: [Int]) { picks.append(indices); kept.append(true); layout.append(axis); axis += 1 }
    for item in items {
      switch item {
      case .newAxis: layout.append(nil)
      case .ellipsis:
        for _ in 0..<(x.rank - named) { keep(Array(0..<x.shape[axis])) }
      case .index(let i):
        let d = x.shape[axis]
        guard i < d, i >= -d else { throw RuntimeError("index \(i) is outside an axis of size \(d)") }
        picks.append([i < 0 ? i + d : i])
        kept.append(false)
        axis += 1
      case .range(let start, let stop, let step):
        keep(TensorOperation.sliceIndices(x.shape[axis], start, stop, step ?? 1))
      }
    }
    while axis < x.rank { keep(Array(0..<x.shape[axis])) }
    let shape = layout.map { $0.map { picks[$0].count } ?? 1 }
    return try gather(x, shape: shape) { out in
      var source = picks.map { $0.first ?? 0 }
      for (o, a) in layout.enumerated() { if let a { source[a] = picks[a][out[o]] } }
      return source
    }
  }

  /// NumPy's matmul: the last two axes multiplied, the others broadcast; a vector operand
  /// gains an axis for the product and loses it after.
  static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool) throws(RuntimeError) -> Tensor {
    var (a, b) = (a, b)
    guard a.rank >= 1, b.rank >= 1 else { throw RuntimeError("matmul of a scalar") }
    let vectorA = a.rank == 1, vectorB = b.rank == 1
    if vectorA { a = a.reshaped([1] + a.shape) }
    if vectorB { b = b.reshaped(b.shape + [1]) }
    func swapLast(_ t: Tensor) -> Tensor {
      var p = Array(0..<t.rank)
      p.swapAt(t.rank - 1, t.rank - 2)
      return Tensor(shape: p.map { t.shape[$0] }, data: transposed(t.data, shape: t.shape, permutation: p))
    }
    if transposeA { a = swapLast(a) }
    if transposeB { b = swapLast(b) }
    let (m, k, n) = (a.shape[a.rank - 2], a.shape[a.rank - 1], b.shape[b.rank - 1])
    guard b.shape[b.rank - 2] == k else { throw RuntimeError("matmul of \(a.shape) by \(b.shape)") }
    let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
    let rank = max(batchA.count, batchB.count)
    let pa = Array(repeating: 1, count: rank - batchA.count) + batchA, pb = Array(repeating: 1, count: rank - batchB.count) + batchB
    var batch: [Int] = []
    for (p, q) in zip(pa, pb) {
      guard p == q || p == 1 || q == 1 else { throw RuntimeError("matmul cannot broadcast \(a.shape) with \(b.shape)") }
      batch.append(max(p, q))
    }
    let count = batch.reduce(1, *)
    var out = [Float](repeating: 0, count: count * m * n)
    var index = [Int](repeating: 0, count: rank)
    func offset(_ index: [Int], _ shape: [Int]) -> Int {
      var o = 0
      for (i, d) in zip(index, shape) { o = o * d + (d == 1 ? 0 : i) }
      return o
    }
    a.data.withUnsafeBufferPointer { ap in
      b.data.withUnsafeBufferPointer { bp in
        out.withUnsafeMutableBufferPointer { op in
          for i in 0..<count {
            let (oa, ob) = (offset(index, pa), offset(index, pb))
            Linear.matmul(ap.baseAddress! + oa * m * k, bp.baseAddress! + ob * k * n, op.baseAddress! + i * m * n, m: m, k: k, n: n)
            advance(&index, in: batch)
          }
        }
      }
    }
    var shape = batch
    if !vectorA { shape.append(m) }
    if !vectorB { shape.append(n) }
    return Tensor(shape: shape, data: out)
  }
}
