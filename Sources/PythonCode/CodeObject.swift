/// A CPython version, `major.minor`.
public struct PythonVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
  public let major: Int
  public let minor: Int

  public init(_ major: Int, _ minor: Int) {
    self.major = major
    self.minor = minor
  }

  public static func < (a: Self, b: Self) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
  public var description: String { "\(major).\(minor)" }
}

/// How a version of CPython lays out a marshalled code object's fields. The layout is not written
/// in the data: it is found by reading with each in turn (``CodeObject/decode(_:)``).
public enum CodeLayout: String, Sendable, CaseIterable {
  /// co_argcount, co_nlocals, co_stacksize, co_flags, co_code, ... (no keyword-only arguments).
  case python27 = "2.7"
  /// co_kwonlyargcount after co_argcount.
  case python35to37 = "3.5-3.7"
  /// co_posonlyargcount after co_argcount.
  case python38to310 = "3.8-3.10"
  /// No co_nlocals; locals, cells and free variables in one co_localsplusnames with their kinds;
  /// co_qualname, co_exceptiontable.
  case python311 = "3.11+"

  /// The CPython versions whose code objects have this layout.
  var versions: ClosedRange<PythonVersion> {
    switch self {
    case .python27: PythonVersion(2, 7)...PythonVersion(2, 7)
    case .python35to37: PythonVersion(3, 5)...PythonVersion(3, 7)
    case .python38to310: PythonVersion(3, 8)...PythonVersion(3, 10)
    case .python311: PythonVersion(3, 11)...PythonVersion(3, 13)
    }
  }
}

/// A CPython code object: the compiled body of a function (a Lambda layer's `function`).
public struct CodeObject: Sendable, Equatable {
  public let layout: CodeLayout
  public let argumentCount: Int
  public let positionalOnlyCount: Int
  public let keywordOnlyCount: Int
  public let flags: Int
  public internal(set) var bytecode: [UInt8]
  public let constants: [PyObject]
  /// Global and attribute names (co_names).
  public let names: [String]
  /// Local variables, parameters first (co_varnames; 3.11+: the locals of co_localsplusnames).
  public let localNames: [String]
  /// Variables of the enclosing function this one reads (co_freevars), in closure order.
  public let freeNames: [String]
  /// Locals that inner functions read (co_cellvars).
  public let cellNames: [String]
  /// 3.11+: every local, cell and free variable, the index space of LOAD_FAST and LOAD_DEREF.
  public let localsPlusNames: [String]
  public let filename: String
  public let name: String
  public let firstLine: Int

  /// Whether the function takes `*args` or `**kwargs`.
  public var takesVariadic: Bool { flags & 0x0C != 0 }

  /// The parameters, positional first, then keyword-only.
  public var parameters: [String] { Array(localNames.prefix(argumentCount + keywordOnlyCount)) }

  /// The largest marshalled code object decoded (a Lambda's function is a few hundred bytes).
  public static let maxBytes = 1 << 20

  /// Decodes `marshal.dumps(function.__code__)` of CPython 2.7 or 3.5 to 3.13.
  public static func decode(_ bytes: [UInt8]) throws(MarshalError) -> CodeObject {
    guard bytes.count <= maxBytes else { throw MarshalError(0, "\(bytes.count) bytes, more than the \(maxBytes) a function's code takes") }
    guard let first = bytes.first else { throw MarshalError(0, "no data") }
    let layouts: [CodeLayout]
    switch first {
    case UInt8(ascii: "c"): layouts = [.python27]
    case UInt8(ascii: "c") | 0x80: layouts = [.python311, .python38to310, .python35to37]
    default: throw MarshalError(0, "not a marshalled code object (type code 0x\(String(first, radix: 16)))")
    }
    var furthest: MarshalError?
    for layout in layouts {
      var reader = MarshalReader(bytes, python2: layout == .python27, layout: layout)
      do throws(MarshalError) {
        guard case .code(let code) = try reader.object() else { throw reader.error("not a code object") }
        guard reader.remaining == 0 else { throw reader.error("\(reader.remaining) bytes after the code object") }
        return code
      } catch {
        if furthest == nil || error.offset > furthest!.offset { furthest = error }
      }
    }
    throw furthest!
  }

  init(reading r: inout MarshalReader) throws(MarshalError) {
    layout = r.layout
    func count(_ field: String) throws(MarshalError) -> Int {
      let n = Int(try r.int32())
      guard n >= 0, n <= 1 << 16 else { throw r.error("\(field) is \(n)") }
      return n
    }
    func bytes(_ field: String) throws(MarshalError) -> [UInt8] {
      guard case .bytes(let b) = try r.object() else { throw r.error("\(field) is not bytes") }
      return b
    }
    func tuple(_ field: String) throws(MarshalError) -> [PyObject] {
      guard case .tuple(let items) = try r.object() else { throw r.error("\(field) is not a tuple") }
      return items
    }
    func strings(_ field: String) throws(MarshalError) -> [String] {
      var result: [String] = []
      for item in try tuple(field) {
        guard let s = item.text else { throw r.error("\(field) holds a \(item.typeName), not a name") }
        result.append(s)
      }
      return result
    }
    func string(_ field: String) throws(MarshalError) -> String {
      let value = try r.object()
      guard let s = value.text ?? (value == .none ? "" : nil) else { throw r.error("\(field) is a \(value.typeName), not a str") }
      return s
    }
    argumentCount = try count("co_argcount")
    switch layout {
    case .python27:
      positionalOnlyCount = 0
      keywordOnlyCount = 0
      _ = try r.int32()  // co_nlocals
    case .python35to37:
      positionalOnlyCount = 0
      keywordOnlyCount = try count("co_kwonlyargcount")
      _ = try r.int32()
    case .python38to310:
      positionalOnlyCount = try count("co_posonlyargcount")
      keywordOnlyCount = try count("co_kwonlyargcount")
      _ = try r.int32()
    case .python311:
      positionalOnlyCount = try count("co_posonlyargcount")
      keywordOnlyCount = try count("co_kwonlyargcount")
    }
    _ = try r.int32()  // co_stacksize
    flags = Int(try r.int32())
    bytecode = try bytes("co_code")
    constants = try tuple("co_consts")
    names = try strings("co_names")
    if layout == .python311 {
      localsPlusNames = try strings("co_localsplusnames")
      let kinds = try bytes("co_localspluskinds")
      guard kinds.count == localsPlusNames.count else { throw r.error("co_localspluskinds has \(kinds.count) kinds for \(localsPlusNames.count) names") }
      // CO_FAST_LOCAL 0x20, CO_FAST_CELL 0x40, CO_FAST_FREE 0x80 (a parameter read by an inner
      // function is a local and a cell).
      let pairs = Array(zip(localsPlusNames, kinds))
      localNames = pairs.filter { $0.1 & 0x20 != 0 }.map(\.0)
      cellNames = pairs.filter { $0.1 & 0x40 != 0 }.map(\.0)
      freeNames = pairs.filter { $0.1 & 0x80 != 0 }.map(\.0)
      filename = try string("co_filename")
      name = try string("co_name")
      _ = try string("co_qualname")
      firstLine = Int(try r.int32())
      _ = try r.object()  // co_linetable
      _ = try r.object()  // co_exceptiontable
    } else {
      localNames = try strings("co_varnames")
      freeNames = try strings("co_freevars")
      cellNames = try strings("co_cellvars")
      localsPlusNames = []
      filename = try string("co_filename")
      name = try string("co_name")
      firstLine = Int(try r.int32())
      _ = try r.object()  // co_lnotab / co_linetable
    }
    guard argumentCount + keywordOnlyCount <= localNames.count else {
      throw r.error("\(argumentCount + keywordOnlyCount) parameters but \(localNames.count) local names")
    }
  }
}
