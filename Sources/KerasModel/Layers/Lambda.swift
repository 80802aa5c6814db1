import Foundation
import PythonCode

/// Keras's `Lambda` layer, read without running Python: its function is a marshalled CPython
/// code object in the config, decoded (``CodeObject``), reduced to the one expression it returns
/// by symbolic execution (``Decompiler``), and compiled here into the op vocabulary
/// (``TensorFunction``) when every part of it is plain tensor arithmetic: the argument, numbers,
/// operators, subscripts, and calls of the backend, TensorFlow, `keras.ops` and NumPy functions
/// of ``LambdaBuiltins``. Anything else leaves the layer not understood, with the reason and the
/// disassembly. Nothing from the file is ever executed.
public struct Lambda: LayerDefinition {
  public static let classNames = ["Lambda"]
  public let function: PyFunction
  public let program: LambdaProgram
  /// Keras 3 takes the output shape from `output_shape` (without the batch axis) when the config
  /// gives one; tf.keras shows the shape its call traced.
  public let declaredOutputShape: Shape?
  let label: LayerLabel

  /// What the layer's function is, read from the config: recognised, or why not.
  public static func recognise(_ config: JSONValue) -> Result<PyFunction, LambdaRefusal> {
    let source: LambdaSource
    do {
      source = try LambdaSource(config)
    } catch {
      return .failure(error)
    }
    let function: PyFunction
    do {
      function = try Decompiler.function(source.code)
    } catch {
      return .failure(LambdaRefusal(reason: error.message, disassembly: error.disassembly))
    }
    do {
      try LambdaCompiler.check(function, source)
    } catch {
      return .failure(LambdaRefusal(reason: error.reason, disassembly: disassembly(source.code)))
    }
    return .success(function)
  }

  static func disassembly(_ code: CodeObject) -> [String] { Bytecode.readings(code).first?.disassembly ?? [] }

  public static func understands(_ config: JSONValue) -> Bool {
    if case .success = recognise(config) { return true }
    return false
  }

  public init(_ c: LayerReader) throws(ModelError) {
    label = c.label
    let source: LambdaSource
    do {
      source = try LambdaSource(c.config)
      function = try Decompiler.function(source.code)
    } catch let error as LambdaRefusal {
      throw c.error("has a function keras-inspect cannot read: \(error.reason)")
    } catch let error as DecompileError {
      throw c.error("has a function keras-inspect cannot read: \(error.message)")
    } catch {
      throw c.error("has a function keras-inspect cannot read")
    }
    // The function's argument: the call's input, a list of tensors when it was called on one
    // (Keras 2 writes several inbound tensors, Keras 3 a list argument).
    let input: LambdaInput
    switch c.call?.args.first {
    case .list(let items)?: input = .list(items.count)
    default: input = .tensor
    }
    do {
      program = try LambdaCompiler.compile(function, source, input: input, keras3: c.keras3)
    } catch {
      throw c.error("computes \(function.source), which keras-inspect cannot run: \(error.reason)")
    }
    declaredOutputShape = c.keras3 ? source.outputShape : nil
  }

  /// An unread function's `output_shape`, after the batch of the first input (as Keras 3 takes
  /// it, and as tf.keras traces it when the declaration is right).
  public static func declaredOutputs(_ config: JSONValue, inputs: [Shape]) -> [Shape]? {
    guard let declared = LambdaSource.declaredShape(config) else { return nil }
    return [[inputs.first?.first ?? nil] + declared]
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let computed = try program.outputShape(inputs, label)
    if let declared = declaredOutputShape {
      // Keras 3: `(batch_size,) + output_shape`, the batch of the first input.
      let batch = inputs.first?.first ?? nil
      return LayerSignature(outputs: [[batch] + declared], flops: program.flops(inputs))
    }
    return LayerSignature(outputs: [computed], flops: program.flops(inputs))
  }
}

/// Why a Lambda is not understood, with its code's disassembly when it could be read.
public struct LambdaRefusal: Error, Sendable, Equatable {
  public let reason: String
  public let disassembly: [String]
}

/// What the function's single argument is when the layer is called.
enum LambdaInput: Equatable {
  case tensor
  case list(Int)
}

/// A Lambda's config as each Keras writes it: Keras 3
/// `{"class_name": "__lambda__", "config": {"code", "defaults", "closure"}}`; tf.keras and
/// Keras 2 `[code, defaults, closure]` with `function_type: "lambda"` (Keras 1.2 and 2.0 the
/// marshalled bytes as a latin-1 string, later Keras base64); `arguments` passed by name.
struct LambdaSource {
  let code: CodeObject
  let defaults: [JSONValue]
  let closure: [JSONValue]
  let arguments: JSONObject
  /// `output_shape` without the batch axis, when the config gives a tuple.
  let outputShape: Shape?

  init(_ config: JSONValue) throws(LambdaRefusal) {
    func refuse(_ reason: String) -> LambdaRefusal { LambdaRefusal(reason: reason, disassembly: []) }
    guard let function = config["function"] else { throw refuse("the config has no function") }
    var codeText: String
    var defaults: JSONValue = .null, closure: JSONValue = .null
    if let object = function.object {
      guard object["class_name"]?.string == "__lambda__", let inner = function["config"] else {
        let name = function["config"]?.string ?? function["class_name"]?.string ?? "an object"
        throw refuse("its function is the named Python function \(name), not a lambda whose code the file holds")
      }
      guard let code = inner["code"]?.string else { throw refuse("its lambda has no code") }
      codeText = code
      defaults = inner["defaults"] ?? .null
      closure = inner["closure"] ?? .null
    } else {
      let type = config["function_type"]?.string ?? "lambda"
      guard type == "lambda" else { throw refuse("its function is the named function \(function.string ?? "?") (function_type \(type)), whose code the file does not hold") }
      if let list = function.array {
        guard let code = list.first?.string else { throw refuse("its function holds no code") }
        codeText = code
        if list.count > 1 { defaults = list[1] }
        if list.count > 2 { closure = list[2] }
      } else if let code = function.string {
        codeText = code
      } else {
        throw refuse("its function is neither code nor a list holding code")
      }
    }
    guard codeText.utf8.count <= 4 * CodeObject.maxBytes else { throw refuse("its code is \(codeText.utf8.count) bytes long") }
    let bytes = Self.bytes(codeText)
    do {
      code = try CodeObject.decode(bytes)
    } catch {
      throw refuse(error.description)
    }
    self.defaults = Self.items(defaults)
    self.closure = Self.items(closure)
    arguments = Self.unwrapped(config["arguments"] ?? .null).object ?? [:]
    outputShape = Self.declaredShape(config)
  }

  /// `output_shape` when the config gives it as a tuple of sizes (not a function).
  static func declaredShape(_ config: JSONValue) -> Shape? {
    guard let shape = unwrapped(config["output_shape"] ?? .null).array else { return nil }
    var dims: Shape = []
    for d in shape {
      if d.isNull { dims.append(nil) } else if let n = d.int, n >= 0 { dims.append(n) } else { return nil }
    }
    return dims
  }

  /// The marshalled bytes: base64 (tf.keras 2.x, Keras 3), else the latin-1 text of Keras 1.2
  /// and 2.0, encoded back as Python's `raw_unicode_escape` does (as Keras's `func_load` does).
  static func bytes(_ text: String) -> [UInt8] {
    let base64Alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n\r ".utf8)
    if !text.isEmpty, text.utf8.allSatisfy({ base64Alphabet.contains($0) }),
      let data = Data(base64Encoded: text.filter { !$0.isWhitespace }) {
      return Array(data)
    }
    var out: [UInt8] = []
    for scalar in text.unicodeScalars {
      let v = scalar.value
      if v < 256 {
        out.append(UInt8(v))
      } else if v < 0x10000 {
        out += Array(("\\u" + String(format: "%04x", v)).utf8)
      } else {
        out += Array(("\\U" + String(format: "%08x", v)).utf8)
      }
    }
    return out
  }

  /// Keras 3 wraps tuples as `{"class_name": "__tuple__", "config": {"value": [...]}}`.
  static func unwrapped(_ value: JSONValue) -> JSONValue {
    if value["class_name"]?.string == "__tuple__", let items = value["config"]?["value"] { return items }
    return value
  }

  static func items(_ value: JSONValue) -> [JSONValue] { unwrapped(value).array?.map(unwrapped) ?? [] }
}

/// A recognised Lambda's computation: op steps in order, each reading the layer's inputs or
/// earlier steps' results.
public struct LambdaProgram: Sendable, Equatable {
  /// The layer's input tensors: value indices 0..<inputCount; step i's result is inputCount + i.
  public let inputCount: Int
  public let steps: [TensorOperation]
  /// The value the function returns.
  public let output: Int
  /// Operands a function needs of a given rank (`K.batch_dot` as a matrix product).
  public let rankChecks: [RankCheck]

  public struct RankCheck: Sendable, Equatable {
    public let value: Int
    public let rank: Int
    public let function: String
  }

  /// The shapes of every value for inputs of these shapes.
  public func shapes(_ inputs: [Shape], _ label: LayerLabel) throws(ModelError) -> [Shape] {
    guard inputs.count == inputCount else { throw label.error("computes from \(inputCount) input(s), the call gives \(inputs.count)") }
    var values = inputs
    for step in steps {
      values.append(try step.outputShapes(values, label)[0])
    }
    for check in rankChecks where values[check.value].count != check.rank {
      throw label.error("calls \(check.function) on a rank-\(values[check.value].count) tensor; keras-inspect reads it for rank \(check.rank)")
    }
    return values
  }

  public func outputShape(_ inputs: [Shape], _ label: LayerLabel) throws(ModelError) -> Shape {
    try shapes(inputs, label)[output]
  }

  /// One floating-point operation per element each step produces (element-wise arithmetic).
  func flops(_ inputs: [Shape]) -> Int? {
    guard let values = try? shapes(inputs, LayerLabel(name: "", className: "Lambda")) else { return nil }
    var total = 0
    for shape in values.dropFirst(inputCount) {
      let count = shape.dropFirst().reduce(1) { saturatingProduct([$0, $1 ?? 1]) }
      total = saturatingSum(total, count)
    }
    return total
  }
}

/// Why a recognised expression cannot be compiled.
struct LambdaCompileError: Error {
  let reason: String
}

/// A value while compiling: a tensor (an input or a step's result), or what Python would hold.
indirect enum LambdaValue: Equatable, Sendable {
  case tensor(Int)
  case number(Double, integer: Bool)
  case boolean(Bool)
  case string(String)
  case none
  case ellipsis
  case sequence([LambdaValue])
  case slice(LambdaValue, LambdaValue, LambdaValue)
  /// A global name and the attributes read from it: `K`, `tf.math`, `K.mean`.
  case module([String])

  var int: Int? {
    guard case .number(let n, _) = self, n == n.rounded(), abs(n) < 1e15 else { return nil }
    return Int(n)
  }

  var ints: [Int]? {
    if let n = int { return [n] }
    guard case .sequence(let items) = self else { return nil }
    var result: [Int] = []
    for item in items {
      guard let n = item.int else { return nil }
      result.append(n)
    }
    return result
  }

  var number: Double? {
    switch self {
    case .number(let n, _): n
    case .boolean(let b): b ? 1 : 0
    default: nil
    }
  }

  var kind: String {
    switch self {
    case .tensor: "a tensor"
    case .number: "a number"
    case .boolean: "a bool"
    case .string: "a string"
    case .none: "None"
    case .ellipsis: "..."
    case .sequence: "a tuple or list"
    case .slice: "a slice"
    case .module(let path): path.joined(separator: ".")
    }
  }

  /// A constant from the code object.
  init?(_ c: PyObject) {
    switch c {
    case .none: self = .none
    case .ellipsis: self = .ellipsis
    case .bool(let b): self = .boolean(b)
    case .int(let i): self = .number(Double(i), integer: true)
    case .float(let f): self = .number(f, integer: false)
    case .string(let s): self = .string(s)
    case .bytes: guard let s = c.text else { return nil }; self = .string(s)
    case .tuple(let items), .list(let items):
      var values: [LambdaValue] = []
      for item in items {
        guard let v = LambdaValue(item) else { return nil }
        values.append(v)
      }
      self = .sequence(values)
    default: return nil
    }
  }

  /// A number, bool, string or list of them from the config (`arguments`, defaults, closure).
  init?(_ json: JSONValue) {
    switch json {
    case .null: self = .none
    case .bool(let b): self = .boolean(b)
    case .number(let n): self = .number(n, integer: n == n.rounded() && abs(n) < 1e15)
    case .string(let s): self = .string(s)
    case .array(let items):
      var values: [LambdaValue] = []
      for item in items {
        guard let v = LambdaValue(LambdaSource.unwrapped(item)) else { return nil }
        values.append(v)
      }
      self = .sequence(values)
    case .object: return nil
    }
  }
}

/// Compiles a recognised function's expression into a ``LambdaProgram``.
enum LambdaCompiler {
  /// The names the function can read, with their values: the argument is filled in by `compile`.
  static func environment(_ function: PyFunction, _ source: LambdaSource) throws(LambdaCompileError) -> (parameters: [String: LambdaValue], free: [String: LambdaValue]) {
    var parameters: [String: LambdaValue] = [:]
    let rest = Array(function.parameters.dropFirst())
    // Defaults belong to the last positional parameters.
    let positional = Array(function.parameters.prefix(source.code.argumentCount))
    let defaultsStart = positional.count - source.defaults.count
    for (i, name) in rest.enumerated() {
      let index = i + 1
      if name == "mask" || name == "training" {
        throw LambdaCompileError(reason: "it takes `\(name)`, which Keras fills in at run time")
      }
      var value: JSONValue?
      if let given = source.arguments[name] {
        value = given
      } else if index >= defaultsStart, index < positional.count, index - defaultsStart < source.defaults.count {
        value = source.defaults[index - defaultsStart]
      }
      guard let value else { throw LambdaCompileError(reason: "its parameter \(name) has no value in the config's arguments or defaults") }
      guard let v = LambdaValue(value), v != .none else { throw LambdaCompileError(reason: "its parameter \(name) is not a number (\(value))") }
      parameters[name] = v
    }
    guard function.parameters.first != nil else { throw LambdaCompileError(reason: "it takes no argument") }
    var free: [String: LambdaValue] = [:]
    for (i, name) in source.code.freeNames.enumerated() {
      guard i < source.closure.count else { throw LambdaCompileError(reason: "it reads \(name) from its closure, which the config does not hold") }
      guard let v = LambdaValue(source.closure[i]) else { throw LambdaCompileError(reason: "it reads \(name) from its closure, and that is not a number (\(source.closure[i]))") }
      free[name] = v
    }
    return (parameters, free)
  }

  /// Whether the expression reads only what can be compiled, whatever the input.
  static func check(_ function: PyFunction, _ source: LambdaSource) throws(LambdaCompileError) {
    let env = try environment(function, source)
    func walk(_ e: PyExpr) throws(LambdaCompileError) {
      switch e {
      case .parameter, .constant: return
      case .free(let name):
        guard env.free[name] != nil else { throw LambdaCompileError(reason: "it reads \(name), which is not in its closure") }
      case .global(let name):
        throw LambdaCompileError(reason: "it reads the global \(name) as a value")
      case .attribute:
        throw LambdaCompileError(reason: "it reads the attribute \(PythonSource.render(e))")
      case .call(let callee, let arguments, let keywords):
        guard let path = modulePath(callee) else {
          throw LambdaCompileError(reason: "it calls \(PythonSource.render(callee)), which is not a function keras-inspect knows")
        }
        guard LambdaBuiltins.function(path) != nil else {
          throw LambdaCompileError(reason: "it calls \(path.joined(separator: ".")), which is not a function keras-inspect knows")
        }
        for a in arguments { try walk(a) }
        for k in keywords { try walk(k.value) }
      case .binary(let op, let a, let b):
        guard ["+", "-", "*", "/", "//", "%", "**", "@"].contains(op) else { throw LambdaCompileError(reason: "it uses the operator \(op)") }
        for side in [a, b] {
          if case .constant(let c) = side, LambdaValue(c)?.number == nil {
            throw LambdaCompileError(reason: "it applies \(op) to \(PythonSource.literal(c)), which is not a number")
          }
        }
        try walk(a)
        try walk(b)
      case .unary(let op, let a):
        guard op != "~" else { throw LambdaCompileError(reason: "it uses the operator ~") }
        try walk(a)
      case .compare(_, let a, let b):
        try walk(a)
        try walk(b)
      case .item(let a, let b):
        try walk(a)
        try walk(b)
      case .slice(let a, let b, let c):
        try walk(a)
        try walk(b)
        if let c { try walk(c) }
      case .tuple(let items), .list(let items):
        for item in items { try walk(item) }
      }
    }
    try walk(function.body)
  }

  /// `K.mean` as ["K", "mean"]; nil for anything but a global and its attributes.
  static func modulePath(_ e: PyExpr) -> [String]? {
    switch e {
    case .global(let name): [name]
    case .attribute(let object, let name): modulePath(object).map { $0 + [name] }
    default: nil
    }
  }

  /// Keras 3's operators promote a comparison's booleans to the other operand's float type;
  /// tf.keras's refuse them (TensorFlow does not mix bool and float tensors).
  static func compile(_ function: PyFunction, _ source: LambdaSource, input: LambdaInput, keras3: Bool = false) throws(LambdaCompileError) -> LambdaProgram {
    try check(function, source)
    var env = try environment(function, source)
    let inputCount: Int
    switch input {
    case .tensor:
      inputCount = 1
      env.parameters[function.parameters[0]] = .tensor(0)
    case .list(let n):
      inputCount = n
      env.parameters[function.parameters[0]] = .sequence((0..<n).map { .tensor($0) })
    }
    var builder = LambdaBuilder(inputCount: inputCount, parameters: env.parameters, free: env.free, promotesBooleans: keras3)
    let result = try builder.evaluate(function.body)
    guard case .tensor(let output) = result else {
      if case .sequence(let items) = result, items.allSatisfy({ if case .tensor = $0 { true } else { false } }) {
        throw LambdaCompileError(reason: "it returns \(items.count) tensors; keras-inspect runs Lambdas with one output")
      }
      throw LambdaCompileError(reason: "it returns \(result.kind), not a tensor")
    }
    guard keras3 || !builder.booleans.contains(output) else { throw LambdaCompileError(reason: "it returns a comparison's booleans without a cast") }
    return LambdaProgram(inputCount: inputCount, steps: builder.steps, output: output, rankChecks: builder.rankChecks)
  }
}

/// Evaluates an expression over compile-time values, emitting a step per tensor operation.
struct LambdaBuilder {
  let inputCount: Int
  let parameters: [String: LambdaValue]
  let free: [String: LambdaValue]
  /// Booleans may enter arithmetic as 1 and 0 (Keras 3).
  let promotesBooleans: Bool
  var steps: [TensorOperation] = []
  var rankChecks: [LambdaProgram.RankCheck] = []
  /// Values that are a comparison's booleans (they must be cast before arithmetic).
  var booleans: Set<Int> = []
  static let maxSteps = 4096

  func fail(_ reason: String) -> LambdaCompileError { LambdaCompileError(reason: reason) }

  mutating func emit(_ function: TensorFunction, _ operands: [LambdaValue], boolean: Bool = false) throws(LambdaCompileError) -> LambdaValue {
    var converted: [Operand] = []
    for operand in operands {
      switch operand {
      case .tensor(let i): converted.append(.tensor(i))
      case .number(let n, _): converted.append(.constant(n))
      case .boolean(let b): converted.append(.constant(b ? 1 : 0))
      default: throw fail("an operand of \(function) is \(operand.kind)")
      }
    }
    guard steps.count < Self.maxSteps else { throw fail("it has more than \(Self.maxSteps) operations") }
    steps.append(TensorOperation(function, converted))
    let index = inputCount + steps.count - 1
    if boolean { booleans.insert(index) }
    return .tensor(index)
  }

  func tensor(_ v: LambdaValue, _ what: String) throws(LambdaCompileError) -> LambdaValue {
    guard case .tensor(let i) = v else { throw fail("\(what) is \(v.kind), not a tensor") }
    guard promotesBooleans || !booleans.contains(i) else { throw fail("\(what) is a comparison's booleans; cast them first") }
    return v
  }

  mutating func evaluate(_ e: PyExpr) throws(LambdaCompileError) -> LambdaValue {
    switch e {
    case .parameter(let name):
      guard let v = parameters[name] else { throw fail("it reads the parameter \(name), which has no value") }
      return v
    case .free(let name):
      guard let v = free[name] else { throw fail("it reads \(name), which is not in its closure") }
      return v
    case .global(let name): return .module([name])
    case .constant(let c):
      guard let v = LambdaValue(c) else { throw fail("it uses the constant \(PythonSource.literal(c))") }
      return v
    case .attribute(let object, let name):
      guard case .module(let path) = try evaluate(object) else { throw fail("it reads the attribute .\(name) of a value") }
      return .module(path + [name])
    case .tuple(let items), .list(let items):
      var values: [LambdaValue] = []
      for item in items { values.append(try evaluate(item)) }
      return .sequence(values)
    case .slice(let a, let b, let c):
      return .slice(try evaluate(a), try evaluate(b), try c.map { x throws(LambdaCompileError) in try evaluate(x) } ?? .none)
    case .unary(let op, let operand):
      let x = try evaluate(operand)
      if op == "+" { return x }
      if case .number(let n, let integer) = x { return .number(-n, integer: integer) }
      return try emit(.unary(.negative), [try tensor(x, "the operand of -")])
    case .binary(let op, let left, let right):
      return try binary(op, try evaluate(left), try evaluate(right))
    case .compare(let op, let left, let right):
      let a = try evaluate(left), b = try evaluate(right)
      let functions: [String: BinaryFunction] = ["<": .less, "<=": .lessEqual, "==": .equal, "!=": .notEqual, ">": .greater, ">=": .greaterEqual]
      guard case .tensor = a, b.number != nil || { if case .tensor = b { true } else { false } }() else {
        throw fail("it compares \(a.kind) with \(b.kind)")
      }
      return try emit(.binary(functions[op]!), [try tensor(a, "a compared value"), b], boolean: true)
    case .item(let container, let index):
      return try subscriptValue(try evaluate(container), try evaluate(index))
    case .call(let callee, let arguments, let keywords):
      guard let path = LambdaCompiler.modulePath(callee), let builtin = LambdaBuiltins.function(path) else {
        throw fail("it calls \(PythonSource.render(callee)), which is not a function keras-inspect knows")
      }
      var positional: [LambdaValue] = []
      for a in arguments { positional.append(try evaluate(a)) }
      var named: [(String, LambdaValue)] = []
      for k in keywords { named.append((k.name, try evaluate(k.value))) }
      let bound = try builtin.bind(positional, named, name: path.joined(separator: "."))
      return try LambdaBuiltins.apply(builtin, bound, &self)
    }
  }

  /// Python's arithmetic: numbers fold, a tensor on either side emits an element-wise step.
  mutating func binary(_ op: String, _ a: LambdaValue, _ b: LambdaValue) throws(LambdaCompileError) -> LambdaValue {
    if case .number(let x, let xi) = a, case .number(let y, let yi) = b {
      let integers = xi && yi
      switch op {
      case "+": return .number(x + y, integer: integers)
      case "-": return .number(x - y, integer: integers)
      case "*": return .number(x * y, integer: integers)
      case "/":
        guard y != 0 else { throw fail("it divides by zero") }
        return .number(x / y, integer: false)
      case "//":
        guard y != 0 else { throw fail("it divides by zero") }
        return .number((x / y).rounded(.down), integer: integers)
      case "%":
        guard y != 0 else { throw fail("it divides by zero") }
        let r = x - y * (x / y).rounded(.down)
        return .number(r, integer: integers)
      case "**": return .number(Foundation.pow(x, y), integer: integers && y >= 0)
      default: throw fail("it applies \(op) to two numbers")
      }
    }
    let functions: [String: BinaryFunction] = ["+": .add, "-": .subtract, "*": .multiply, "/": .divide, "//": .floorDivide, "%": .mod, "**": .power]
    if op == "@" {
      return try emit(.matmul(transposeA: false, transposeB: false), [try tensor(a, "an operand of @"), try tensor(b, "an operand of @")])
    }
    guard let f = functions[op] else { throw fail("it uses the operator \(op)") }
    for v in [a, b] {
      switch v {
      case .tensor: _ = try tensor(v, "an operand of \(op)")
      case .number: break
      default: throw fail("it applies \(op) to \(v.kind)")
      }
    }
    return try emit(.binary(f), [a, b])
  }

  /// `x[:, -1]` on a tensor; `t[0]` on the list of the layer's inputs.
  mutating func subscriptValue(_ container: LambdaValue, _ index: LambdaValue) throws(LambdaCompileError) -> LambdaValue {
    if case .sequence(let items) = container {
      if let i = index.int {
        let j = i < 0 ? i + items.count : i
        guard j >= 0, j < items.count else { throw fail("it takes item \(i) of \(items.count)") }
        return items[j]
      }
      if case .slice(let a, let b, let c) = index {
        let (start, stop, step) = try sliceBounds(a, b, c)
        guard step != 0 else { throw fail("it slices with step 0") }
        return .sequence(TensorOperation.sliceIndices(items.count, start, stop, step).map { items[$0] })
      }
      throw fail("it indexes a list with \(index.kind)")
    }
    let x = try tensor(container, "the subscripted value")
    var items: [SliceItem] = []
    let parts: [LambdaValue]
    if case .sequence(let list) = index { parts = list } else { parts = [index] }
    for part in parts {
      switch part {
      case .none: items.append(.newAxis)
      case .ellipsis: items.append(.ellipsis)
      case .slice(let a, let b, let c):
        let (start, stop, step) = try sliceBounds(a, b, c)
        guard step != 0 else { throw fail("it slices with step 0") }
        items.append(.range(start: start, stop: stop, step: step == 1 && c == .none ? nil : step))
      default:
        guard let i = part.int, part != .boolean(true), part != .boolean(false) else { throw fail("it indexes a tensor with \(part.kind)") }
        items.append(.index(i))
      }
    }
    return try emit(.getItem(items), [x])
  }

  func sliceBounds(_ a: LambdaValue, _ b: LambdaValue, _ c: LambdaValue) throws(LambdaCompileError) -> (Int?, Int?, Int) {
    func bound(_ v: LambdaValue) throws(LambdaCompileError) -> Int? {
      if v == .none { return nil }
      guard let n = v.int else { throw fail("a slice bound is \(v.kind)") }
      return n
    }
    return (try bound(a), try bound(b), try bound(c) ?? 1)
  }
}
