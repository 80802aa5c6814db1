import Foundation
import Testing

@testable import KerasModel
@testable import PythonCode

/// The code objects CPython 2.7 and 3.6-3.13 marshalled (Fixtures/python/make_code.py).
private let pythonFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent().appendingPathComponent("Fixtures/python")

private func corpus(_ version: String) throws -> [String: [String: Any]] {
  let data = try Data(contentsOf: pythonFixtures.appendingPathComponent("code-\(version).json"))
  let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
  return object["functions"] as! [String: [String: Any]]
}

/// A Lambda config as Keras 3 writes it (`base64`) or as Keras 1.2/2.0 did (the latin-1 text).
private func config(_ entry: [String: Any], keras3: Bool = true) throws -> JSONValue {
  func json(_ value: Any?) throws -> String {
    guard let value, !(value is NSNull) else { return "null" }
    return String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]), as: UTF8.self)
  }
  let code = keras3 ? entry["base64"] as! String : entry["raw_unicode_escape"] as! String
  let function = keras3
    ? "{\"class_name\": \"__lambda__\", \"config\": {\"code\": \(try json(code)), \"defaults\": \(try json(entry["defaults"])), \"closure\": \(try json(entry["closure"]))}}"
    : "[\(try json(code)), \(try json(entry["defaults"])), \(try json(entry["closure"]))]"
  let text = "{\"name\": \"l\", \"function\": \(function), \"function_type\": \"lambda\", \"arguments\": \(try json(entry["arguments"] ?? [String: Any]()))}"
  return try JSONValue.parse(text)
}

/// The layer as called: one tensor, or a list of two for the functions of `t`.
private func lambda(_ entry: [String: Any], keras3: Bool = true) throws -> Lambda {
  let list = (entry["source"] as! String).hasPrefix("lambda t")
  let call = CallStructure(args: [list ? .list([.tensor(0), .tensor(1)]) : .tensor(0)])
  return try Lambda(LayerReader(name: "l", className: "Lambda", config: try config(entry, keras3: keras3), keras3: false, call: call))
}

@Suite("Lambda layers: functions read from bytecode, compiled to ops, never run")
struct LambdaTests {
  static let versions = ["2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]

  @Test("every recognisable function of every CPython compiles, to the same program, from either text form", arguments: versions)
  func recognised(version: String) throws {
    let reference = try corpus("3.11")
    for (name, entry) in try corpus(version) where entry["recognisable"] as? Bool == true {
      let layer = try lambda(entry)
      #expect(try lambda(entry, keras3: false).program == layer.program, "\(version) \(name)")
      #expect(layer.program == (try lambda(reference[name]!)).program, "\(version) \(name)")
      #expect(LayerRegistry.understands("Lambda", config: try config(entry)), "\(version) \(name)")
    }
  }

  @Test("functions outside the vocabulary are not understood, each with its reason", arguments: versions)
  func refused(version: String) throws {
    let expected: [String: String] = [
      "user_call": "it calls helper, which is not a function keras-inspect knows",
      "method_numpy": "it calls x.numpy, which is not a function keras-inspect knows",
      "attribute_shape": "it reads the attribute x.shape",
      "shape_call": "it calls K.int_shape, which is not a function keras-inspect knows",
      "string_format": "it applies % to '%s', which is not a number",
      "conditional": "it compares with `is|it branches or loops",
      "comprehension": "it branches or loops|it defines a function or a comprehension",
      "kwargs_call": "it calls with *args or **kwargs",
    ]
    let functions = try corpus(version)
    for (name, reason) in expected {
      guard let entry = functions[name] else { continue }
      let c = try config(entry)
      #expect(!LayerRegistry.understands("Lambda", config: c), "\(version) \(name)")
      guard case .failure(let refusal) = Lambda.recognise(c) else { Issue.record("\(version) \(name) was recognised"); continue }
      #expect(reason.split(separator: "|").contains { refusal.reason.hasPrefix($0) }, "\(version) \(name): \(refusal.reason)")
      #expect(!refusal.disassembly.isEmpty, "\(version) \(name)")
    }
  }

  @Test("the shapes of each form follow Keras's functions")
  func shapes() throws {
    let functions = try corpus("3.11")
    let cases: [(String, [Shape], Shape)] = [
      ("normalize", [[nil, 8, 8, 3]], [nil, 8, 8, 3]),
      ("last_step", [[nil, 6, 4]], [nil, 4]),
      ("ellipsis_index", [[nil, 6, 4]], [nil, 6]),
      ("new_axis_slice", [[nil, 6, 4]], [nil, 1, 2, 4]),
      ("step_slice", [[nil, 6, 4]], [nil, 3, 4]),
      ("k_mean", [[nil, 6, 4]], [nil, 4]),
      ("k_sum_keepdims", [[nil, 6, 4]], [nil, 6, 1]),
      ("k_expand_dims", [[nil, 6, 4]], [nil, 1, 6, 4]),
      ("k_reshape", [[nil, 6, 2]], [nil, 4, 3]),
      ("k_permute", [[nil, 6, 4]], [nil, 4, 6]),
      ("k_concatenate", [[nil, 6, 4], [nil, 6, 2]], [nil, 6, 6]),
      ("k_stack", [[nil, 6, 4], [nil, 6, 4]], [nil, 2, 6, 4]),
      ("k_repeat_elements", [[nil, 6, 4]], [nil, 12, 4]),
      ("k_tile", [[nil, 6, 4]], [nil, 12, 4]),
      ("k_batch_dot", [[nil, 6, 4], [nil, 5, 4]], [nil, 6, 5]),
      ("tf_reshape", [[nil, 3, 4]], [nil, 12]),
      ("tf_matmul", [[nil, 6, 4], [nil, 5, 4]], [nil, 6, 5]),
      ("nested_calls", [[nil, 6, 4]], [nil, 4]),
      ("arguments_scale", [[nil, 3]], [nil, 3]),
    ]
    for (name, inputs, output) in cases {
      let layer = try lambda(try #require(functions[name], "\(name)"))
      #expect(try layer.signature(inputs).outputs == [output], "\(name)")
    }
  }

  @Test("a wrong input shape or rank is a clear error")
  func shapeErrors() throws {
    let functions = try corpus("3.11")
    #expect(throws: ModelError.self) { try lambda(functions["k_batch_dot"]!).signature([[nil, 6], [nil, 6]]) }
    #expect(throws: ModelError.self) { try lambda(functions["k_reshape"]!).signature([[2, 5, 2]]) }
    #expect(throws: ModelError.self) { try lambda(functions["last_step"]!).signature([[nil]]) }
  }

  @Test("the marshalled text of Keras 1.2 and 2.0 is read back as raw_unicode_escape encodes it")
  func rawText() {
    #expect(LambdaSource.bytes("\u{e3}\u{01}\u{00}") == [0xE3, 0x01, 0x00])
    #expect(LambdaSource.bytes("\u{0100}") == Array("\\u0100".utf8))
    #expect(LambdaSource.bytes("4wEAAA==\n") == [0xE3, 0x01, 0x00, 0x00])
  }

  @Test("a comparison's booleans enter arithmetic in Keras 3 only; NumPy's reductions refuse dtype and out")
  func booleansAndReductions() throws {
    // lambda x: x * (x > 0), marshalled by CPython 3.11.
    let code = "4wEAAAAAAAAAAAAAAAMAAAADAAAA8xQAAACXAHwAfABkAWsEAAAAAHoFAABTACkCTukAAAAAqQApAdoBeHMBAAAAIPoaRml4dHVyZXMvbGFtYmRhX3B5dGhvbnMucHn6CDxsYW1iZGE+cgYAAAABAAAAcw4AAACAAIghiHGQMYp1iSuAAPMAAAAA"
    let config = try JSONValue.parse(#"{"function": {"class_name": "__lambda__", "config": {"code": "\#(code)", "defaults": null, "closure": null}}}"#)
    let keras3 = try Lambda(LayerReader(name: "l", className: "Lambda", config: config, keras3: true, call: CallStructure(args: [.tensor(0)])))
    #expect(keras3.program.steps == [
      TensorOperation(.binary(.greater), [.tensor(0), .constant(0)]),
      TensorOperation(.binary(.multiply), [.tensor(0), .tensor(1)]),
    ])
    #expect(throws: ModelError.self) { try Lambda(LayerReader(name: "l", className: "Lambda", config: config, keras3: false, call: CallStructure(args: [.tensor(0)]))) }
    let max = LambdaBuiltins.function(["np", "max"])!
    #expect(max.parameters.map(\.name) == ["a", "axis", "out", "keepdims"])
    #expect(LambdaBuiltins.function(["numpy", "mean"])!.parameters.map(\.name) == ["a", "axis", "dtype", "out", "keepdims"])
  }

  @Test("a named function (not a lambda) is refused with its name")
  func namedFunction() throws {
    let keras3 = try JSONValue.parse(#"{"function": {"module": "builtins", "class_name": "function", "config": "helper", "registered_name": "function"}}"#)
    guard case .failure(let refusal) = Lambda.recognise(keras3) else { Issue.record("recognised"); return }
    #expect(refusal.reason.contains("helper"))
    let keras2 = try JSONValue.parse(#"{"function": "relu", "function_type": "function", "module": "tensorflow.python.ops.gen_nn_ops"}"#)
    guard case .failure(let refusal2) = Lambda.recognise(keras2) else { Issue.record("recognised"); return }
    #expect(refusal2.reason.contains("relu"))
  }
}

@Suite("Lambda layers: the README lists every function a Lambda may call")
struct LambdaReadmeTests {
  @Test("each function of the table is in the README's Lambda section")
  func listed() throws {
    let readme = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("README.md"), encoding: .utf8)
    guard let start = readme.range(of: "<!-- lambda-list -->"), let end = readme.range(of: "<!-- /lambda-list -->") else {
      Issue.record("the README has no lambda-list section")
      return
    }
    let section = readme[start.upperBound..<end.lowerBound]
    // Listed per module: `K.` mean, sum, ...; each name appears as `name` after its module's line.
    var listed: Set<String> = []
    for line in section.replacingOccurrences(of: "\n  ", with: " ").split(separator: "\n") {
      guard let colon = line.firstIndex(of: ":"), let module = line[..<colon].split(separator: "`").last else { continue }
      for part in line[line.index(after: colon)...].split(separator: "`").enumerated() where part.offset % 2 == 1 {
        listed.insert("\(module).\(part.element)")
      }
    }
    #expect(Set(LambdaBuiltins.names) == listed, "missing: \(Set(LambdaBuiltins.names).subtracting(listed).sorted()); extra: \(listed.subtracting(LambdaBuiltins.names).sorted())")
  }
}
