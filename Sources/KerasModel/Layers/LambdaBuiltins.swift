/// The functions a Lambda may call, by the module it reaches them through, with each one's
/// parameters as its library declares them and what it computes in the op vocabulary.
///
/// The module is known only by its conventional name, since the file does not say what a global
/// was bound to: `K`, `backend`, `keras.backend` and `tf.keras.backend` are the Keras backend
/// (tf.keras's functions: `K.concatenate(tensors, axis=-1)`, `K.sqrt` clipping at 0, ...);
/// `tf`/`tensorflow` TensorFlow; `ops`/`keras.ops` Keras 3's ops; `np`/`numpy` NumPy.
enum LambdaBuiltins {
  enum Kind: Equatable, Sendable {
    case reduce(Reduction)
    case unary(UnaryFunction)
    case binary(BinaryFunction)
    case expandDims, squeeze, reshape, transpose, concatenate, stack, repeatElements, tile
    /// The backend's clip raises `max_value` to `min_value` when it is smaller.
    case clip(backend: Bool)
    case softmax(log: Bool)
    /// `tf.math.l2_normalize(x, axis, epsilon=1e-12)` floors the squared norm; Keras 3's
    /// `ops.normalize(x, axis=-1, order=2, epsilon=None)` caps the inverse norm at 1/epsilon.
    case l2Normalize(keras3: Bool)
    case cast
    case matmul
    case batchDot
    /// `K.relu(x, alpha=0.0, max_value=None, threshold=0.0)`.
    case backendRelu
    /// `K.sqrt`: `tf.sqrt(tf.maximum(x, 0))`.
    case backendSqrt
  }

  struct Parameter: Equatable, Sendable {
    let name: String
    /// nil: required.
    let fallback: LambdaValue?
  }

  struct Function: Equatable, Sendable {
    let kind: Kind
    let parameters: [Parameter]

    /// Python's binding of positional and keyword arguments to the parameters.
    func bind(_ positional: [LambdaValue], _ named: [(String, LambdaValue)], name: String) throws(LambdaCompileError) -> [LambdaValue] {
      guard positional.count <= parameters.count else { throw LambdaCompileError(reason: "it calls \(name) with \(positional.count) positional arguments") }
      var values: [LambdaValue?] = positional.map { $0 } + Array(repeating: nil, count: parameters.count - positional.count)
      for (key, value) in named {
        guard let i = parameters.firstIndex(where: { $0.name == key }) else {
          throw LambdaCompileError(reason: "it calls \(name) with the argument \(key)=, which keras-inspect does not read")
        }
        guard values[i] == nil else { throw LambdaCompileError(reason: "it gives \(name) the argument \(key) twice") }
        values[i] = value
      }
      var result: [LambdaValue] = []
      for (i, p) in parameters.enumerated() {
        guard let v = values[i] ?? p.fallback else { throw LambdaCompileError(reason: "it calls \(name) without \(p.name)") }
        result.append(v)
      }
      return result
    }
  }

  /// The function a module path names, after its module's aliases are read.
  static func function(_ path: [String]) -> Function? {
    guard path.count >= 2 else { return nil }
    var module = Array(path.dropLast())
    let name = path.last!
    if module.first == "tensorflow" { module[0] = "tf" }
    if module.first == "numpy" { module[0] = "np" }
    if module == ["keras", "backend"] || module == ["tf", "keras", "backend"] || module == ["backend"] { module = ["K"] }
    if module == ["keras", "ops"] { module = ["ops"] }
    return table[(module + [name]).joined(separator: ".")]
  }

  static func p(_ name: String, _ fallback: LambdaValue? = nil) -> Parameter { Parameter(name: name, fallback: fallback) }

  static let table: [String: Function] = {
    var t: [String: Function] = [:]
    func add(_ names: [String], _ kind: Kind, _ parameters: [Parameter]) {
      for name in names { t[name] = Function(kind: kind, parameters: parameters) }
    }
    let none = LambdaValue.none
    let no = LambdaValue.boolean(false)
    func int(_ n: Int) -> LambdaValue { .number(Double(n), integer: true) }
    for (reduction, name) in [(Reduction.mean, "mean"), (.sum, "sum"), (.max, "max"), (.min, "min"), (.prod, "prod")] {
      add(["K.\(name)"], .reduce(reduction), [p("x"), p("axis", none), p("keepdims", no)])
      add(["tf.reduce_\(name)", "tf.math.reduce_\(name)"], .reduce(reduction), [p("input_tensor"), p("axis", none), p("keepdims", no)])
      add(["ops.\(name)"], .reduce(reduction), [p("x"), p("axis", none), p("keepdims", no)])
      // NumPy's max and min take no dtype: their third parameter is `out`.
      let npMiddle = reduction == .max || reduction == .min ? [p("out", none)] : [p("dtype", none), p("out", none)]
      add(["np.\(name)"], .reduce(reduction), [p("a"), p("axis", none)] + npMiddle + [p("keepdims", no)])
    }
    // Element-wise functions of one tensor.
    let unary: [(String, UnaryFunction)] = [
      ("square", .square), ("abs", .abs), ("exp", .exp), ("log", .log), ("sigmoid", .sigmoid), ("tanh", .tanh),
      ("sign", .sign), ("softplus", .softplus), ("softsign", .softsign), ("round", .round),
    ]
    for (name, f) in unary { add(["K.\(name)"], .unary(f), [p("x")]) }
    add(["K.sqrt"], .backendSqrt, [p("x")])
    add(["K.relu"], .backendRelu, [p("x"), p("alpha", .number(0, integer: false)), p("max_value", none), p("threshold", .number(0, integer: false))])
    for (name, f) in TFOpLambda.unary { add(["tf." + name], .unary(f), [p("x")]) }
    let tfTopLevel: [(String, UnaryFunction)] = [
      ("square", .square), ("sqrt", .sqrt), ("rsqrt", .rsqrt), ("abs", .abs), ("exp", .exp), ("sigmoid", .sigmoid), ("tanh", .tanh),
      ("sign", .sign), ("negative", .negative), ("floor", .floor), ("ceil", .ceil), ("round", .round), ("sin", .sin), ("cos", .cos),
    ]
    for (name, f) in tfTopLevel { add(["tf." + name], .unary(f), [p("x")]) }
    let opsUnary: [(String, UnaryFunction)] = [
      ("square", .square), ("sqrt", .sqrt), ("rsqrt", .rsqrt), ("abs", .abs), ("absolute", .abs), ("exp", .exp), ("log", .log),
      ("sigmoid", .sigmoid), ("tanh", .tanh), ("relu", .relu), ("relu6", .relu6), ("softplus", .softplus), ("softsign", .softsign),
      ("silu", .silu), ("swish", .silu), ("sign", .sign), ("negative", .negative), ("floor", .floor), ("ceil", .ceil),
      ("sin", .sin), ("cos", .cos), ("log1p", .log1p), ("expm1", .expm1), ("erf", .erf), ("reciprocal", .reciprocal),
    ]
    for (name, f) in opsUnary { add(["ops.\(name)"], .unary(f), [p("x")]) }
    let npUnary: [(String, UnaryFunction)] = [
      ("square", .square), ("sqrt", .sqrt), ("abs", .abs), ("absolute", .abs), ("exp", .exp), ("log", .log), ("tanh", .tanh),
      ("sign", .sign), ("negative", .negative), ("floor", .floor), ("ceil", .ceil), ("sin", .sin), ("cos", .cos),
      ("log1p", .log1p), ("expm1", .expm1),
    ]
    for (name, f) in npUnary { add(["np.\(name)"], .unary(f), [p("x")]) }
    // Element-wise functions of two operands.
    for (name, f) in TFOpLambda.binary where !name.hasPrefix("__") && !name.hasPrefix("compat") {
      add(["tf." + name], .binary(f), [p("x"), p("y")])
    }
    for (name, f) in [("add", BinaryFunction.add), ("subtract", .subtract), ("multiply", .multiply), ("divide", .divide), ("maximum", .maximum), ("minimum", .minimum), ("pow", .power)] {
      add(["tf.\(name)"], .binary(f), [p("x"), p("y")])
    }
    add(["K.maximum"], .binary(.maximum), [p("x"), p("y")])
    add(["K.minimum"], .binary(.minimum), [p("x"), p("y")])
    add(["K.pow"], .binary(.power), [p("x"), p("a")])
    for (name, f) in [("add", BinaryFunction.add), ("subtract", .subtract), ("multiply", .multiply), ("divide", .divide), ("true_divide", .divide),
      ("floor_divide", .floorDivide), ("mod", .mod), ("power", .power), ("maximum", .maximum), ("minimum", .minimum)] {
      add(["ops.\(name)", "np.\(name)"], .binary(f), [p("x1"), p("x2")])
    }
    // Shapes.
    add(["K.expand_dims"], .expandDims, [p("x"), p("axis", int(-1))])
    add(["tf.expand_dims"], .expandDims, [p("input"), p("axis")])
    add(["ops.expand_dims", "np.expand_dims"], .expandDims, [p("x"), p("axis")])
    add(["K.squeeze"], .squeeze, [p("x"), p("axis")])
    add(["tf.squeeze"], .squeeze, [p("input"), p("axis", none)])
    add(["ops.squeeze", "np.squeeze"], .squeeze, [p("x"), p("axis", none)])
    add(["K.reshape"], .reshape, [p("x"), p("shape")])
    add(["tf.reshape"], .reshape, [p("tensor"), p("shape")])
    add(["ops.reshape", "np.reshape"], .reshape, [p("x"), p("newshape")])
    add(["K.permute_dimensions"], .transpose, [p("x"), p("pattern")])
    add(["K.transpose"], .transpose, [p("x"), p("perm", none)])
    add(["tf.transpose"], .transpose, [p("a"), p("perm", none)])
    add(["ops.transpose", "np.transpose"], .transpose, [p("x"), p("axes", none)])
    add(["K.concatenate"], .concatenate, [p("tensors"), p("axis", int(-1))])
    add(["tf.concat"], .concatenate, [p("values"), p("axis")])
    add(["ops.concatenate", "np.concatenate"], .concatenate, [p("xs"), p("axis", int(0))])
    add(["K.stack"], .stack, [p("x"), p("axis", int(0))])
    add(["tf.stack"], .stack, [p("values"), p("axis", int(0))])
    add(["ops.stack", "np.stack"], .stack, [p("x"), p("axis", int(0))])
    add(["K.repeat_elements"], .repeatElements, [p("x"), p("rep"), p("axis")])
    add(["tf.repeat"], .repeatElements, [p("input"), p("repeats"), p("axis", none)])
    add(["ops.repeat", "np.repeat"], .repeatElements, [p("x"), p("repeats"), p("axis", none)])
    add(["K.tile"], .tile, [p("x"), p("n")])
    add(["tf.tile"], .tile, [p("input"), p("multiples")])
    add(["ops.tile", "np.tile"], .tile, [p("x"), p("repeats")])
    // Values.
    add(["K.clip"], .clip(backend: true), [p("x"), p("min_value"), p("max_value")])
    add(["tf.clip_by_value"], .clip(backend: false), [p("t"), p("clip_value_min"), p("clip_value_max")])
    add(["ops.clip"], .clip(backend: false), [p("x"), p("x_min"), p("x_max")])
    add(["np.clip"], .clip(backend: false), [p("a"), p("a_min"), p("a_max")])
    add(["K.softmax"], .softmax(log: false), [p("x"), p("axis", int(-1))])
    add(["tf.nn.softmax", "tf.math.softmax"], .softmax(log: false), [p("logits"), p("axis", none)])
    add(["tf.nn.log_softmax", "tf.math.log_softmax"], .softmax(log: true), [p("logits"), p("axis", none)])
    add(["ops.softmax"], .softmax(log: false), [p("x"), p("axis", int(-1))])
    add(["ops.log_softmax"], .softmax(log: true), [p("x"), p("axis", int(-1))])
    add(["K.l2_normalize"], .l2Normalize(keras3: false), [p("x"), p("axis", none)])
    add(["tf.math.l2_normalize", "tf.nn.l2_normalize", "tf.linalg.l2_normalize"], .l2Normalize(keras3: false), [p("x"), p("axis", none), p("epsilon", .number(1e-12, integer: false))])
    add(["ops.normalize"], .l2Normalize(keras3: true), [p("x"), p("axis", int(-1)), p("order", int(2)), p("epsilon", none)])
    add(["K.cast"], .cast, [p("x"), p("dtype")])
    add(["tf.cast"], .cast, [p("x"), p("dtype")])
    add(["ops.cast"], .cast, [p("x"), p("dtype")])
    // Products.
    add(["tf.matmul", "tf.linalg.matmul"], .matmul, [p("a"), p("b"), p("transpose_a", no), p("transpose_b", no)])
    add(["ops.matmul", "np.matmul"], .matmul, [p("x1"), p("x2")])
    add(["K.batch_dot"], .batchDot, [p("x"), p("y"), p("axes", none)])
    return t
  }()

  /// Every function path a Lambda may call, sorted (the README lists them).
  static var names: [String] { table.keys.sorted() }

  static func apply(_ f: Function, _ a: [LambdaValue], _ b: inout LambdaBuilder) throws(LambdaCompileError) -> LambdaValue {
    func fail(_ reason: String) -> LambdaCompileError { LambdaCompileError(reason: reason) }
    func axes(_ v: LambdaValue) throws(LambdaCompileError) -> [Int]? {
      if v == .none { return nil }
      guard let list = v.ints else { throw fail("an axis is \(v.kind)") }
      return list
    }
    func axis(_ v: LambdaValue) throws(LambdaCompileError) -> Int {
      guard let n = v.int else { throw fail("an axis is \(v.kind)") }
      return n
    }
    func flag(_ v: LambdaValue) throws(LambdaCompileError) -> Bool {
      guard case .boolean(let x) = v else {
        if let n = v.int { return n != 0 }
        throw fail("a flag is \(v.kind)")
      }
      return x
    }
    func tensors(_ v: LambdaValue) throws(LambdaCompileError) -> [LambdaValue] {
      guard case .sequence(let items) = v, !items.isEmpty else { throw fail("a list of tensors is \(v.kind)") }
      var result: [LambdaValue] = []
      for item in items { result.append(try b.tensor(item, "a listed value")) }
      return result
    }
    func x() throws(LambdaCompileError) -> LambdaValue { try b.tensor(a[0], "the first argument") }
    /// A bound argument by its parameter's name.
    func named(_ name: String) -> LambdaValue { f.parameters.firstIndex { $0.name == name }.map { a[$0] } ?? .none }
    switch f.kind {
    case .reduce(let r):
      for extra in ["dtype", "out"] where named(extra) != .none { throw fail("it reduces with \(extra)=\(named(extra).kind)") }
      return try b.emit(.reduce(r, axes: try axes(named("axis")), keepdims: try flag(named("keepdims"))), [try x()])
    case .unary(let u):
      return try b.emit(.unary(u), [try x()])
    case .backendSqrt:
      let clipped = try b.emit(.binary(.maximum), [try x(), .number(0, integer: false)])
      return try b.emit(.unary(.sqrt), [clipped])
    case .backendRelu:
      guard a[1].number == 0, a[3].number == 0 else { throw fail("it calls K.relu with alpha or threshold") }
      if a[2] == .none { return try b.emit(.unary(.relu), [try x()]) }
      guard let high = a[2].number else { throw fail("K.relu's max_value is \(a[2].kind)") }
      if high == 6 { return try b.emit(.unary(.relu6), [try x()]) }
      let relu = try b.emit(.unary(.relu), [try x()])
      return try b.emit(.clip(low: 0, high: high), [relu])
    case .binary(let g):
      for v in a.prefix(2) where v.number == nil {
        _ = try b.tensor(v, "an operand")
      }
      guard a.prefix(2).contains(where: { if case .tensor = $0 { true } else { false } }) else { throw fail("it applies a tensor function to two numbers") }
      return try b.emit(.binary(g), Array(a.prefix(2)), boolean: g.isComparison)
    case .expandDims:
      return try b.emit(.expandDims(axis: try axis(a[1])), [try x()])
    case .squeeze:
      return try b.emit(.squeeze(try axes(a[1])), [try x()])
    case .reshape:
      guard let shape = a[1].ints else { throw fail("a reshape's shape is \(a[1].kind), not integers") }
      return try b.emit(.reshape(shape.map { $0 }), [try x()])
    case .transpose:
      return try b.emit(.transpose(try axes(a[1])), [try x()])
    case .concatenate:
      let items = try tensors(a[0])
      if items.count == 1 { return items[0] }
      return try b.emit(.concatenate(axis: try axis(a[1])), items)
    case .stack:
      return try b.emit(.stack(axis: try axis(a[1])), try tensors(a[0]))
    case .repeatElements:
      guard let count = a[1].int, count >= 0 else { throw fail("a repeat count is \(a[1].kind)") }
      guard a[2] != .none else { throw fail("it repeats the flattened tensor (no axis)") }
      return try b.emit(.repeatElements(count: count, axis: try axis(a[2])), [try x()])
    case .tile:
      guard let multiples = a[1].ints else { throw fail("tile multiples are \(a[1].kind)") }
      return try b.emit(.tile(multiples), [try x()])
    case .clip(let backend):
      func bound(_ v: LambdaValue, _ fallback: Double) throws(LambdaCompileError) -> Double {
        if v == .none { return fallback }
        guard let n = v.number else { throw fail("a clip bound is \(v.kind)") }
        return n
      }
      let low = try bound(a[1], -.infinity)
      var high = try bound(a[2], .infinity)
      if backend, high < low { high = low }
      return try b.emit(.clip(low: low, high: high), [try x()])
    case .softmax(let log):
      return try b.emit(.softmax(axis: a[1] == .none ? -1 : try axis(a[1]), log: log), [try x()])
    case .l2Normalize(let keras3):
      if keras3 {
        guard a[2].int == 2 else { throw fail("it normalizes with an order other than 2") }
        let epsilon = a[3] == .none ? 1e-7 : (a[3].number ?? 0)
        guard epsilon > 0 else { throw fail("a normalization epsilon is \(a[3].kind)") }
        return try b.emit(.l2Normalize(axes: try axes(a[1]), cap: 1 / epsilon), [try x()])
      }
      let epsilon = a.count > 2 ? (a[2].number ?? 0) : 1e-12
      guard epsilon > 0 else { throw fail("a normalization epsilon is not a positive number") }
      return try b.emit(.l2Normalize(axes: try axes(a[1]), cap: 1 / epsilon.squareRoot()), [try x()])
    case .cast:
      guard case .string(let dtype) = a[1] else { throw fail("a cast's dtype is \(a[1].kind)") }
      guard case .tensor(let i) = a[0] else { throw fail("it casts \(a[0].kind)") }
      let result = try b.emit(.cast(dtype), [.tensor(i)])
      if dtype == "bool", case .tensor(let j) = result { b.booleans.insert(j) }
      return result
    case .matmul:
      let ta = a.count > 2 ? try flag(a[2]) : false, tb = a.count > 3 ? try flag(a[3]) : false
      return try b.emit(.matmul(transposeA: ta, transposeB: tb), [try x(), try b.tensor(a[1], "the second argument")])
    case .batchDot:
      // Rank-3 operands (a batch of matrices), the axes summed over given as Keras does:
      // None is (2, 1), an int the same axis of both.
      let y = try b.tensor(a[1], "the second argument")
      var pair: [Int]
      if a[2] == .none { pair = [2, 1] } else if let n = a[2].int { pair = [n, n] } else if let list = a[2].ints, list.count == 2 { pair = list } else { throw fail("batch_dot's axes are \(a[2].kind)") }
      pair = pair.map { $0 < 0 ? $0 + 3 : $0 }
      guard pair.allSatisfy({ $0 == 1 || $0 == 2 }) else { throw fail("batch_dot sums over axes \(pair) of rank-3 tensors") }
      let operands = [try x(), y]
      if case .tensor(let i) = operands[0] { b.rankChecks.append(.init(value: i, rank: 3, function: "K.batch_dot")) }
      if case .tensor(let j) = y { b.rankChecks.append(.init(value: j, rank: 3, function: "K.batch_dot")) }
      return try b.emit(.matmul(transposeA: pair[0] == 1, transposeB: pair[1] == 2), operands)
    }
  }
}
