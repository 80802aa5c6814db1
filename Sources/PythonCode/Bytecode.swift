/// One CPython version's opcodes (generated into Opcodes.swift from the interpreter itself).
struct OpcodeTable: Sendable {
  let version: PythonVersion
  /// Opcodes from here on take an argument.
  let haveArgument: Int
  let names: [Int: String]
  /// 3.11+: the inline cache entries (two bytes each) that follow an instruction.
  let caches: [String: Int]

  /// Before 3.6 an instruction is one byte, or three with its argument; since, two.
  var wordcode: Bool { version >= PythonVersion(3, 6) }

  static func tables(for layout: CodeLayout) -> [OpcodeTable] {
    all.filter { layout.versions.contains($0.version) }.reversed()
  }
}

/// One decoded instruction.
public struct Instruction: Sendable, Equatable {
  /// Byte offset in co_code.
  public let offset: Int
  public let opcode: Int
  public let name: String
  /// The argument, with EXTENDED_ARG prefixes applied; nil for opcodes that take none.
  public let argument: Int?
}

/// A code object's instructions as one CPython version reads them.
public struct Bytecode: Sendable {
  public let code: CodeObject
  public let version: PythonVersion
  public let instructions: [Instruction]

  /// Reads the code with one version's table; nil when the bytes are not that version's
  /// (an opcode it does not have, an argument out of range, a cache slot that is not empty).
  init?(_ code: CodeObject, table: OpcodeTable) {
    self.code = code
    self.version = table.version
    let bytes = code.bytecode
    var result: [Instruction] = []
    var i = 0
    var extended = 0
    while i < bytes.count {
      let start = i
      let op = Int(bytes[i])
      guard let name = table.names[op] else { return nil }
      var argument: Int?
      if table.wordcode {
        guard i + 1 < bytes.count else { return nil }
        let arg = extended | Int(bytes[i + 1])
        i += 2
        if name == "EXTENDED_ARG" {
          guard extended < 1 << 24 else { return nil }
          extended = arg << 8
          continue
        }
        extended = 0
        if op >= table.haveArgument { argument = arg }
        for _ in 0..<(table.caches[name] ?? 0) {
          guard i + 1 < bytes.count, bytes[i] == 0, bytes[i + 1] == 0 else { return nil }
          i += 2
        }
      } else {
        i += 1
        if op >= table.haveArgument {
          guard i + 1 < bytes.count else { return nil }
          let arg = extended | Int(bytes[i]) | Int(bytes[i + 1]) << 8
          i += 2
          if name == "EXTENDED_ARG" {
            guard extended == 0 else { return nil }
            extended = arg << 16
            continue
          }
          argument = arg
        }
        extended = 0
      }
      if name == "CACHE" { return nil }
      result.append(Instruction(offset: start, opcode: op, name: name, argument: argument))
    }
    guard extended == 0 else { return nil }
    self.instructions = result
    guard result.allSatisfy({ argumentInRange($0) }) else { return nil }
  }

  /// Every reading of the code by the versions its layout allows, newest first.
  public static func readings(_ code: CodeObject) -> [Bytecode] {
    OpcodeTable.tables(for: code.layout).compactMap { Bytecode(code, table: $0) }
  }

  var v311: Bool { version >= PythonVersion(3, 11) }

  /// The name an index argument points at: nil when out of range.
  func constant(_ i: Int) -> PyObject? { code.constants.indices.contains(i) ? code.constants[i] : nil }
  func name(_ i: Int) -> String? { code.names.indices.contains(i) ? code.names[i] : nil }
  func local(_ i: Int) -> String? {
    let all = v311 ? code.localsPlusNames : code.localNames
    return all.indices.contains(i) ? all[i] : nil
  }
  func free(_ i: Int) -> String? {
    let all = v311 ? code.localsPlusNames : code.cellNames + code.freeNames
    return all.indices.contains(i) ? all[i] : nil
  }

  /// The name index of LOAD_GLOBAL (3.11+: shifted past the push-NULL bit) and LOAD_ATTR (3.12+).
  func globalIndex(_ arg: Int) -> Int { v311 ? arg >> 1 : arg }
  func attributeIndex(_ arg: Int) -> Int { version >= PythonVersion(3, 12) ? arg >> 1 : arg }
  /// COMPARE_OP's operator index (3.12 and 3.13 keep flags in the low bits).
  func compareIndex(_ arg: Int) -> Int {
    version >= PythonVersion(3, 13) ? arg >> 5 : version >= PythonVersion(3, 12) ? arg >> 4 : arg
  }

  func argumentInRange(_ instruction: Instruction) -> Bool {
    guard let arg = instruction.argument else { return true }
    switch instruction.name {
    case "LOAD_CONST", "RETURN_CONST", "KW_NAMES": return constant(arg) != nil
    case "LOAD_FAST", "LOAD_FAST_CHECK", "STORE_FAST", "DELETE_FAST": return local(arg) != nil
    case "LOAD_FAST_LOAD_FAST": return local(arg >> 4) != nil && local(arg & 15) != nil
    case "LOAD_GLOBAL": return name(globalIndex(arg)) != nil
    case "LOAD_ATTR": return name(attributeIndex(arg)) != nil
    case "LOAD_NAME", "LOAD_METHOD", "STORE_NAME", "STORE_GLOBAL", "STORE_ATTR": return name(arg) != nil
    case "LOAD_DEREF", "LOAD_CLOSURE": return free(arg) != nil
    case "COMPARE_OP": return compareIndex(arg) < Self.comparisons.count
    case "BINARY_OP": return arg < Self.binaryOperators.count
    default: return true
    }
  }

  static let comparisons = ["<", "<=", "==", "!=", ">", ">=", "in", "not in", "is", "is not", "exception match", "BAD"]
  /// BINARY_OP's operators (3.11+), in-place forms after the plain ones.
  static let binaryOperators = ["+", "&", "//", "<<", "@", "*", "%", "|", "**", ">>", "-", "/", "^", "+=", "&=", "//=", "<<=", "@=", "*=", "%=", "|=", "**=", ">>=", "-=", "/=", "^="]

  /// `dis`-style lines: offset, name, argument and what it means.
  public var disassembly: [String] {
    instructions.map { ins in
      var line = String(repeating: " ", count: max(0, 4 - String(ins.offset).count)) + "\(ins.offset) \(ins.name)"
      if let arg = ins.argument {
        line += " \(arg)"
        if let meaning = meaning(ins, arg) { line += " (\(meaning))" }
      }
      return line
    }
  }

  func meaning(_ ins: Instruction, _ arg: Int) -> String? {
    switch ins.name {
    case "LOAD_CONST", "RETURN_CONST", "KW_NAMES": return constant(arg).map(PythonSource.literal)
    case "LOAD_FAST", "LOAD_FAST_CHECK", "STORE_FAST": return local(arg)
    case "LOAD_FAST_LOAD_FAST": return "\(local(arg >> 4) ?? "?"), \(local(arg & 15) ?? "?")"
    case "LOAD_GLOBAL": return name(globalIndex(arg)).map { v311 && arg & 1 == 1 ? "NULL + \($0)" : $0 }
    case "LOAD_ATTR": return name(attributeIndex(arg))
    case "LOAD_NAME", "LOAD_METHOD", "STORE_NAME", "STORE_GLOBAL", "STORE_ATTR": return name(arg)
    case "LOAD_DEREF", "LOAD_CLOSURE": return free(arg)
    case "COMPARE_OP": return Self.comparisons[compareIndex(arg)]
    case "BINARY_OP": return Self.binaryOperators[arg]
    default: return nil
    }
  }
}
