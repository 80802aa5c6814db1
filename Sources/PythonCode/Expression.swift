/// A Python expression, as a function's bytecode computes it: what a Lambda's body is.
public indirect enum PyExpr: Sendable, Equatable {
  /// A parameter of the function.
  case parameter(String)
  /// A name looked up in the module that defined the function (`K`, `tf`, `np`).
  case global(String)
  /// A variable of the enclosing function (its value is in the Lambda's `closure`).
  case free(String)
  case constant(PyObject)
  case attribute(PyExpr, String)
  case binary(String, PyExpr, PyExpr)
  /// `-x`, `+x`, `~x`.
  case unary(String, PyExpr)
  case compare(String, PyExpr, PyExpr)
  case item(PyExpr, PyExpr)
  case slice(PyExpr, PyExpr, PyExpr?)
  case tuple([PyExpr])
  case list([PyExpr])
  case call(PyExpr, [PyExpr], [Keyword])

  public struct Keyword: Sendable, Equatable {
    public let name: String
    public let value: PyExpr
  }
}

/// A function reduced to one returned expression.
public struct PyFunction: Sendable, Equatable {
  public let parameters: [String]
  public let body: PyExpr
  /// The CPython versions whose bytecode reads this way (newest first).
  public let versions: [PythonVersion]

  /// `lambda x: x / 127.5 - 1.0`.
  public var source: String { "lambda \(parameters.joined(separator: ", ")): \(PythonSource.render(body))" }
}

/// Why a function's bytecode is not one expression keras-inspect can read.
public struct DecompileError: Error, Sendable, Equatable, CustomStringConvertible {
  public let message: String
  /// The instructions, as `dis` lists them (empty when the code object itself is unreadable).
  public let disassembly: [String]

  public var description: String { message }
}

/// Symbolic execution of straight-line bytecode over a stack of expressions. Only loading
/// values, operators, subscripts, building tuples, lists and slices, calls and one return are
/// read; anything else (a jump, a store, a loop, building a function...) is refused by name.
/// Nothing is ever executed.
public enum Decompiler {
  public static func function(_ code: CodeObject) throws(DecompileError) -> PyFunction {
    let readings = Bytecode.readings(code)
    guard let newest = readings.first else {
      let range = code.layout.versions
      throw DecompileError(message: "its bytecode is not that of CPython \(range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)")", disassembly: [])
    }
    if code.takesVariadic { throw DecompileError(message: "it takes *args or **kwargs", disassembly: newest.disassembly) }
    if !code.cellNames.isEmpty { throw DecompileError(message: "it defines variables an inner function reads", disassembly: newest.disassembly) }
    var results: [(Bytecode, PyExpr)] = []
    var firstError: DecompileError?
    for reading in readings {
      do {
        results.append((reading, try expression(reading)))
      } catch {
        if firstError == nil { firstError = error }
      }
    }
    guard let (_, body) = results.first else { throw firstError! }
    let versions = results.filter { $0.1 == body }.map(\.0.version)
    return PyFunction(parameters: code.parameters, body: body, versions: versions)
  }

  enum Slot: Equatable {
    case value(PyExpr)
    case null
  }

  static func expression(_ b: Bytecode) throws(DecompileError) -> PyExpr {
    var stack: [Slot] = []
    var keywordNames: [String]?
    let v313 = b.version >= PythonVersion(3, 13)
    let python2 = b.version.major == 2
    /// Python 2's `str` constants are bytes; ASCII ones read as the text Python 3 would hold.
    func text(_ c: PyObject) -> PyObject {
      switch c {
      case .bytes: c.text.map(PyObject.string) ?? c
      case .tuple(let items): .tuple(items.map(text))
      default: c
      }
    }
    let v311 = b.v311
    func fail(_ message: String) -> DecompileError { DecompileError(message: message, disassembly: b.disassembly) }
    func pop(_ at: Instruction) throws(DecompileError) -> Slot {
      guard let top = stack.popLast() else { throw fail("the stack is empty at \(at.name) (offset \(at.offset))") }
      return top
    }
    func popValue(_ at: Instruction) throws(DecompileError) -> PyExpr {
      guard case .value(let v) = try pop(at) else { throw fail("a NULL is used as a value at \(at.name) (offset \(at.offset))") }
      return v
    }
    func popValues(_ n: Int, _ at: Instruction) throws(DecompileError) -> [PyExpr] {
      guard n <= stack.count else { throw fail("\(at.name) takes \(n) values, the stack holds \(stack.count)") }
      var values: [PyExpr] = []
      for _ in 0..<n { values.append(try popValue(at)) }
      return values.reversed()
    }
    func call(_ callee: PyExpr, _ arguments: [PyExpr], keywords: [String]) throws(DecompileError) -> PyExpr {
      guard keywords.count <= arguments.count else { throw fail("a call names \(keywords.count) keywords for \(arguments.count) arguments") }
      let positional = Array(arguments.dropLast(keywords.count))
      let named = zip(keywords, arguments.suffix(keywords.count)).map { PyExpr.Keyword(name: $0, value: $1) }
      return .call(callee, positional, named)
    }
    func keywordTuple(_ value: PyObject?) throws(DecompileError) -> [String] {
      guard case .tuple(let items)? = value else { throw fail("keyword names that are not a tuple") }
      var names: [String] = []
      for item in items {
        guard let s = item.text else { throw fail("a keyword name that is not a str") }
        names.append(s)
      }
      return names
    }
    /// The callable and, for a method call, its object, below a call's arguments.
    func callee(_ at: Instruction) throws(DecompileError) -> PyExpr {
      let upper = try pop(at), lower = try pop(at)
      switch (lower, upper) {
      case (.null, .value(let f)), (.value(let f), .null): return f
      case (.value, .value): throw fail("a method call on a value keras-inspect cannot follow at offset \(at.offset)")
      case (.null, .null): throw fail("a call of NULL at offset \(at.offset)")
      }
    }

    for ins in b.instructions {
      let arg = ins.argument ?? 0
      switch ins.name {
      case "NOP", "RESUME", "PRECALL", "COPY_FREE_VARS", "SETUP_ANNOTATIONS":
        continue
      case "LOAD_FAST", "LOAD_FAST_CHECK":
        stack.append(.value(try variable(b.local(arg)!, b)))
      case "LOAD_FAST_LOAD_FAST":
        stack.append(.value(try variable(b.local(arg >> 4)!, b)))
        stack.append(.value(try variable(b.local(arg & 15)!, b)))
      case "LOAD_CONST":
        stack.append(.value(.constant(python2 ? text(b.constant(arg)!) : b.constant(arg)!)))
      case "LOAD_GLOBAL" where python2 && ["True", "False"].contains(b.name(arg)!):
        // Python 2's True and False are built-in names, not constants.
        stack.append(.value(.constant(.bool(b.name(arg)! == "True"))))
      case "LOAD_GLOBAL":
        let name = PyExpr.global(b.name(b.globalIndex(arg))!)
        let pushesNull = v311 && arg & 1 == 1
        if pushesNull && !v313 { stack.append(.null) }
        stack.append(.value(name))
        if pushesNull && v313 { stack.append(.null) }
      case "LOAD_NAME":
        stack.append(.value(.global(b.name(arg)!)))
      case "LOAD_DEREF":
        let name = b.free(arg)!
        guard b.code.freeNames.contains(name) else { throw fail("it reads \(name), a variable of its own that an inner function shares") }
        stack.append(.value(.free(name)))
      case "LOAD_ATTR":
        let object = try popValue(ins)
        let attribute = PyExpr.attribute(object, b.name(b.attributeIndex(arg))!)
        let method = b.version >= PythonVersion(3, 12) && arg & 1 == 1
        if method && !v313 { stack.append(.null) }
        stack.append(.value(attribute))
        if method && v313 { stack.append(.null) }
      case "LOAD_METHOD":
        let object = try popValue(ins)
        stack.append(.null)
        stack.append(.value(.attribute(object, b.name(arg)!)))
      case "PUSH_NULL":
        stack.append(.null)
      case "KW_NAMES":
        keywordNames = try keywordTuple(b.constant(arg))
      case "CALL_FUNCTION" where b.version < PythonVersion(3, 6):
        // 2.7 and 3.5: the low byte counts positional arguments, the high byte (name, value) pairs.
        let positionalCount = arg & 0xFF, keywordCount = (arg >> 8) & 0xFF
        var keywords: [PyExpr.Keyword] = []
        for _ in 0..<keywordCount {
          let value = try popValue(ins)
          guard case .constant(let key) = try popValue(ins), let name = key.text else { throw fail("a keyword argument whose name is not a constant") }
          keywords.insert(PyExpr.Keyword(name: name, value: value), at: 0)
        }
        let positional = try popValues(positionalCount, ins)
        stack.append(.value(.call(try popValue(ins), positional, keywords)))
      case "CALL_FUNCTION":
        let arguments = try popValues(arg, ins)
        stack.append(.value(try call(try popValue(ins), arguments, keywords: [])))
      case "CALL_FUNCTION_KW" where b.version >= PythonVersion(3, 6):
        guard case .constant(let names) = try popValue(ins) else { throw fail("CALL_FUNCTION_KW without constant keyword names") }
        let keywords = try keywordTuple(names)
        let arguments = try popValues(arg, ins)
        stack.append(.value(try call(try popValue(ins), arguments, keywords: keywords)))
      case "CALL_METHOD":
        let arguments = try popValues(arg, ins)
        stack.append(.value(try call(try callee(ins), arguments, keywords: [])))
      case "CALL":
        let arguments = try popValues(arg, ins)
        let keywords = keywordNames ?? []
        keywordNames = nil
        stack.append(.value(try call(try callee(ins), arguments, keywords: keywords)))
      case "CALL_KW":
        guard case .constant(let names) = try popValue(ins) else { throw fail("CALL_KW without constant keyword names") }
        let keywords = try keywordTuple(names)
        let arguments = try popValues(arg, ins)
        stack.append(.value(try call(try callee(ins), arguments, keywords: keywords)))
      case "BINARY_OP":
        let symbol = Bytecode.binaryOperators[arg]
        guard !symbol.hasSuffix("=") else { throw fail("it updates a variable in place (\(symbol))") }
        let right = try popValue(ins), left = try popValue(ins)
        stack.append(.value(.binary(symbol, left, right)))
      case _ where Self.binaryNames[ins.name] != nil:
        let right = try popValue(ins), left = try popValue(ins)
        stack.append(.value(.binary(Self.binaryNames[ins.name]!, left, right)))
      case "UNARY_NEGATIVE", "UNARY_POSITIVE", "UNARY_INVERT":
        let symbol = ins.name == "UNARY_NEGATIVE" ? "-" : ins.name == "UNARY_POSITIVE" ? "+" : "~"
        stack.append(.value(.unary(symbol, try popValue(ins))))
      case "COMPARE_OP":
        let symbol = Bytecode.comparisons[b.compareIndex(arg)]
        guard ["<", "<=", "==", "!=", ">", ">="].contains(symbol) else { throw fail("it compares with `\(symbol)`") }
        let right = try popValue(ins), left = try popValue(ins)
        stack.append(.value(.compare(symbol, left, right)))
      case "BINARY_SUBSCR":
        let index = try popValue(ins), container = try popValue(ins)
        stack.append(.value(.item(container, index)))
      case "BINARY_SLICE":
        let stop = try popValue(ins), start = try popValue(ins), container = try popValue(ins)
        stack.append(.value(.item(container, .slice(start, stop, nil))))
      case "BUILD_SLICE":
        guard arg == 2 || arg == 3 else { throw fail("BUILD_SLICE of \(arg) values") }
        let parts = try popValues(arg, ins)
        stack.append(.value(.slice(parts[0], parts[1], arg == 3 ? parts[2] : nil)))
      case "BUILD_TUPLE":
        stack.append(.value(.tuple(try popValues(arg, ins))))
      case "BUILD_LIST":
        stack.append(.value(.list(try popValues(arg, ins))))
      case "LIST_EXTEND":
        let items = try popValue(ins)
        guard arg >= 1, arg <= stack.count, case .value(.list(let list)) = stack[stack.count - arg] else { throw fail("LIST_EXTEND without a list") }
        guard case .constant(.tuple(let constants)) = items else { throw fail("a list extended by a value that is not a constant tuple") }
        stack[stack.count - arg] = .value(.list(list + constants.map { .constant($0) }))
      case "LIST_TO_TUPLE":
        guard case .list(let items) = try popValue(ins) else { throw fail("LIST_TO_TUPLE without a list") }
        stack.append(.value(.tuple(items)))
      case "RETURN_VALUE":
        let result = try popValue(ins)
        return result
      case "RETURN_CONST":
        return .constant(b.constant(arg)!)
      default:
        throw fail(Self.refusal(ins))
      }
    }
    throw fail("it never returns")
  }

  /// A parameter or a local that is not one (a local is only ever read after a store, and stores
  /// are refused).
  static func variable(_ name: String, _ b: Bytecode) throws(DecompileError) -> PyExpr {
    guard b.code.parameters.contains(name) else {
      throw DecompileError(message: "it reads the local variable \(name)", disassembly: b.disassembly)
    }
    return .parameter(name)
  }

  /// What an instruction outside the expression vocabulary means, for the reason shown.
  static func refusal(_ ins: Instruction) -> String {
    let name = ins.name
    if name == "IS_OP" || name == "CONTAINS_OP" { return "it compares with `is` or `in` (\(name) at offset \(ins.offset))" }
    if name.contains("JUMP") || name.hasPrefix("FOR_ITER") || name == "GET_ITER" || name == "SETUP_LOOP" { return "it branches or loops (\(name) at offset \(ins.offset))" }
    if name.hasPrefix("STORE_") || name.hasPrefix("DELETE_") { return "it stores a variable (\(name) at offset \(ins.offset))" }
    if name == "MAKE_FUNCTION" || name == "MAKE_CLOSURE" { return "it defines a function or a comprehension (\(name) at offset \(ins.offset))" }
    if name.hasPrefix("CALL_FUNCTION_") || name.hasSuffix("_EX") || name.hasPrefix("BUILD_MAP") || name == "DICT_MERGE" || name == "DICT_UPDATE" {
      return "it calls with *args or **kwargs (\(name) at offset \(ins.offset))"
    }
    return "it uses \(name) (offset \(ins.offset)), outside the expressions keras-inspect reads"
  }

  /// Before 3.11, one opcode per operator.
  static let binaryNames: [String: String] = [
    "BINARY_ADD": "+", "BINARY_SUBTRACT": "-", "BINARY_MULTIPLY": "*", "BINARY_TRUE_DIVIDE": "/", "BINARY_DIVIDE": "/",
    "BINARY_FLOOR_DIVIDE": "//", "BINARY_MODULO": "%", "BINARY_POWER": "**", "BINARY_MATRIX_MULTIPLY": "@",
    "BINARY_AND": "&", "BINARY_OR": "|", "BINARY_XOR": "^", "BINARY_LSHIFT": "<<", "BINARY_RSHIFT": ">>",
  ]
}

/// Python source text for expressions and constants, parenthesised only where Python needs it.
public enum PythonSource {
  public static func render(_ e: PyExpr) -> String { render(e, context: 0) }

  /// Binding strength: comparisons 1, `|` 2, `^` 3, `&` 4, shifts 5, `+ -` 6, `* / // % @` 7,
  /// unary 8, `**` 9, calls, subscripts and atoms 10.
  static func precedence(_ e: PyExpr) -> Int {
    switch e {
    case .compare: 1
    case .binary(let op, _, _): binaryPrecedence[op] ?? 7
    case .unary: 8
    case .constant(let c): isNegative(c) ? 8 : 10
    case .tuple: 0
    case .slice: 0
    default: 10
    }
  }

  static let binaryPrecedence: [String: Int] = ["|": 2, "^": 3, "&": 4, "<<": 5, ">>": 5, "+": 6, "-": 6, "*": 7, "/": 7, "//": 7, "%": 7, "@": 7, "**": 9]

  static func isNegative(_ c: PyObject) -> Bool {
    switch c {
    case .int(let i): i < 0
    case .float(let f): f.sign == .minus
    default: false
    }
  }

  static func render(_ e: PyExpr, context: Int) -> String {
    let text: String
    switch e {
    case .parameter(let n), .global(let n), .free(let n): text = n
    case .constant(let c): text = literal(c)
    case .attribute(let object, let name): text = render(object, context: 10) + "." + name
    case .binary(let op, let left, let right):
      let p = binaryPrecedence[op] ?? 7
      // Left-associative, except `**`, whose right operand may be a unary expression.
      let leftContext = op == "**" ? p + 1 : p
      let rightContext = op == "**" ? 8 : p + 1
      text = render(left, context: leftContext) + " \(op) " + render(right, context: rightContext)
    case .unary(let op, let operand): text = op + render(operand, context: 8)
    case .compare(let op, let left, let right): text = render(left, context: 2) + " \(op) " + render(right, context: 2)
    case .item(let container, let index):
      let inside: String
      if case .tuple(let items) = index, !items.isEmpty {
        inside = items.map { render($0, context: 0) }.joined(separator: ", ") + (items.count == 1 ? "," : "")
      } else if case .constant(.tuple(let items)) = index, !items.isEmpty {
        inside = items.map(literal).joined(separator: ", ") + (items.count == 1 ? "," : "")
      } else {
        inside = render(index, context: 0)
      }
      text = render(container, context: 10) + "[" + inside + "]"
    case .slice(let start, let stop, let step):
      func part(_ p: PyExpr?) -> String { p == nil || p == .constant(.none) ? "" : render(p!, context: 1) }
      text = part(start) + ":" + part(stop) + (step.map { $0 == .constant(.none) ? "" : ":" + part($0) } ?? "")
    case .tuple(let items):
      text = "(" + items.map { render($0, context: 1) }.joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
    case .list(let items):
      text = "[" + items.map { render($0, context: 1) }.joined(separator: ", ") + "]"
    case .call(let callee, let arguments, let keywords):
      let parts = arguments.map { render($0, context: 1) } + keywords.map { "\($0.name)=" + render($0.value, context: 1) }
      text = render(callee, context: 10) + "(" + parts.joined(separator: ", ") + ")"
    }
    return precedence(e) < context ? "(" + text + ")" : text
  }

  /// A constant as Python's `repr` writes it.
  public static func literal(_ c: PyObject) -> String {
    switch c {
    case .none: return "None"
    case .ellipsis: return "..."
    case .stopIteration: return "StopIteration"
    case .bool(let b): return b ? "True" : "False"
    case .int(let i): return String(i)
    case .bigInt(let digits, let negative): return (negative ? "-" : "") + "<int of \(digits) digits>"
    case .float(let f): return float(f)
    case .complex(let re, let im): return "(\(float(re))+\(float(im))j)"
    case .bytes(let b): return "b'" + escaped(b.map { Character(Unicode.Scalar($0)) }) + "'"
    case .string(let s): return "'" + escaped(Array(s)) + "'"
    case .tuple(let items): return "(" + items.map(literal).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
    case .list(let items): return "[" + items.map(literal).joined(separator: ", ") + "]"
    case .dict(let keys, let values): return "{" + zip(keys, values).map { literal($0) + ": " + literal($1) }.joined(separator: ", ") + "}"
    case .set(let items, let frozen): return (frozen ? "frozenset({" : "{") + items.map(literal).joined(separator: ", ") + (frozen ? "})" : "}")
    case .slice(let a, let b, let s): return "slice(\(literal(a)), \(literal(b)), \(literal(s)))"
    case .code(let code): return "<code object \(code.name)>"
    }
  }

  /// Python's float repr: the shortest digits that read back, `1.0`, `1e-07`, `inf`.
  static func float(_ f: Double) -> String {
    if f.isNaN { return "nan" }
    if f.isInfinite { return f < 0 ? "-inf" : "inf" }
    return f.description
  }

  static func escaped(_ characters: [Character]) -> String {
    var out = ""
    for ch in characters.prefix(200) {
      switch ch {
      case "\\": out += "\\\\"
      case "'": out += "\\'"
      case "\n": out += "\\n"
      case "\t": out += "\\t"
      default:
        if let v = ch.unicodeScalars.first?.value, ch.unicodeScalars.count == 1, v < 0x20 || v == 0x7F {
          out += "\\x" + (v < 16 ? "0" : "") + String(v, radix: 16)
        } else {
          out.append(ch)
        }
      }
    }
    return characters.count > 200 ? out + "..." : out
  }
}
