import Foundation
import Testing

@testable import PythonCode

/// `Fixtures/python/code-X.Y.json`: the same functions marshalled by CPython 2.7 and 3.6-3.13
/// (Fixtures/python/make_code.py), as Keras's `func_dump` writes them.
let pythonFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent().appendingPathComponent("Fixtures/python")

struct CodeCorpus {
  struct Entry: Decodable {
    let source: String
    let base64: String
    let raw_unicode_escape: String
    let recognisable: Bool
  }
  let python: String
  let functions: [String: Entry]

  static let versions = ["2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]

  static func load(_ version: String) throws -> CodeCorpus {
    let data = try Data(contentsOf: pythonFixtures.appendingPathComponent("code-\(version).json"))
    let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    let functions = try JSONDecoder().decode([String: Entry].self, from: JSONSerialization.data(withJSONObject: object["functions"]!))
    return CodeCorpus(python: object["python"] as! String, functions: functions)
  }

  static func bytes(_ entry: Entry) -> [UInt8] {
    Array(Data(base64Encoded: entry.base64.filter { !$0.isWhitespace })!)
  }
}

/// Python's `str.encode("raw_unicode_escape")` of the Keras 1.2/2.0 text form.
func rawUnicodeEscape(_ text: String) -> [UInt8] {
  text.unicodeScalars.flatMap { s -> [UInt8] in
    s.value < 256 ? [UInt8(s.value)] : Array(String(format: s.value < 0x10000 ? "\\u%04x" : "\\U%08x", s.value).utf8)
  }
}

@Suite("Python code objects: every CPython from 2.7 to 3.13 reads to the same expression")
struct CodeCorpusTests {
  @Test("each version's code objects decode, in both of Keras's text forms, to the layout of that version", arguments: CodeCorpus.versions)
  func decodes(version: String) throws {
    let corpus = try CodeCorpus.load(version)
    #expect(corpus.python.hasPrefix(version + "."))
    #expect(corpus.functions.count >= 40)
    for (name, entry) in corpus.functions {
      let code = try CodeObject.decode(CodeCorpus.bytes(entry))
      #expect(code.layout.versions.contains(PythonVersion(Int(version.prefix(1))!, Int(version.dropFirst(2))!)), "\(version) \(name): \(code.layout)")
      #expect(try CodeObject.decode(rawUnicodeEscape(entry.raw_unicode_escape)) == code, "\(version) \(name)")
      let readings = Bytecode.readings(code)
      #expect(readings.contains { "\($0.version)" == version }, "\(version) \(name): read as \(readings.map(\.version))")
    }
  }

  @Test("a recognisable function reads to one expression, the same in every version", arguments: CodeCorpus.versions)
  func sameExpression(version: String) throws {
    let reference = try CodeCorpus.load("3.11")
    let corpus = try CodeCorpus.load(version)
    for (name, entry) in corpus.functions where entry.recognisable {
      let function = try Decompiler.function(try CodeObject.decode(CodeCorpus.bytes(entry)))
      let expected = try Decompiler.function(try CodeObject.decode(CodeCorpus.bytes(reference.functions[name]!)))
      #expect(function.body == expected.body, "\(version) \(name): \(function.source) vs \(expected.source)")
      #expect(function.parameters == expected.parameters)
      #expect(function.versions.contains { "\($0)" == version })
    }
  }

  @Test("the expressions print as their source")
  func rendering() throws {
    let corpus = try CodeCorpus.load("3.11")
    let expected: [String: String] = [
      "normalize": "x / 127.5 - 1.0",
      "negate": "-x",
      "scale_shift": "(x - 0.5) * 2 + 1",
      "power": "x ** 2",
      "last_step": "x[:, -1, :]",
      "ellipsis_index": "x[..., 0]",
      "new_axis_slice": "x[:, None, 1:3]",
      "step_slice": "x[:, ::2]",
      "list_inputs": "t[0] * t[1] + t[0]",
      "k_mean": "K.mean(x, axis=1)",
      "k_reshape": "K.reshape(x, (-1, 4, 3))",
      "k_concatenate": "K.concatenate([t[0], t[1]], axis=-1)",
      "k_cast_compare": "K.cast(x > 0, 'float32') * x",
      "nested_calls": "K.mean(K.square(x - K.mean(x, axis=1, keepdims=True)), axis=1)",
      "keras_backend_path": "keras.backend.mean(x, axis=1)",
      "tf_matmul": "tf.matmul(t[0], t[1], transpose_b=True)",
      "closure_scale": "x * s",
      "default_power": "x ** c",
      "def_function": "(x - 1.0) / 2.0",
      "user_call": "helper(x)",
      "method_numpy": "x.numpy()",
      "attribute_shape": "x.shape[1]",
    ]
    for (name, text) in expected {
      let entry = try #require(corpus.functions[name], "\(name) is in the corpus")
      let function = try Decompiler.function(try CodeObject.decode(CodeCorpus.bytes(entry)))
      #expect(PythonSource.render(function.body) == text, "\(name)")
    }
  }

  @Test("code that is not one expression is refused with the reason, in every version", arguments: CodeCorpus.versions)
  func refusals(version: String) throws {
    let corpus = try CodeCorpus.load(version)
    for name in ["conditional", "comprehension", "kwargs_call"] {
      guard let entry = corpus.functions[name] else { continue }
      #expect(throws: DecompileError.self, "\(version) \(name)") { try Decompiler.function(try CodeObject.decode(CodeCorpus.bytes(entry))) }
      do {
        _ = try Decompiler.function(try CodeObject.decode(CodeCorpus.bytes(entry)))
      } catch let error as DecompileError {
        #expect(!error.disassembly.isEmpty)
      }
    }
  }
}

@Suite("Python code objects: hostile marshalled blobs get clear errors")
struct HostileMarshalTests {
  static func sample() throws -> [UInt8] {
    CodeCorpus.bytes(try CodeCorpus.load("3.11").functions["nested_calls"]!)
  }

  @Test("every truncation of a real code object is an error, never a crash")
  func truncations() throws {
    for version in CodeCorpus.versions {
      let bytes = CodeCorpus.bytes(try CodeCorpus.load(version).functions["nested_calls"]!)
      for n in 0..<bytes.count {
        #expect(throws: MarshalError.self) { try CodeObject.decode(Array(bytes.prefix(n))) }
      }
    }
  }

  @Test("every single-byte change of a real code object decodes or fails cleanly")
  func mutations() throws {
    let bytes = try Self.sample()
    for i in bytes.indices {
      for value: UInt8 in [0x00, 0x28, 0x29, 0x5B, 0x63, 0x72, 0x7F, 0xE3, 0xFF] {
        var copy = bytes
        copy[i] = value
        if let code = try? CodeObject.decode(copy) { _ = try? Decompiler.function(code) }
      }
    }
  }

  @Test("wrong type codes, huge counts, deep nesting and bad references are named")
  func namedErrors() throws {
    func message(_ bytes: [UInt8]) -> String {
      do {
        _ = try CodeObject.decode(bytes)
        return "decoded"
      } catch {
        return error.message
      }
    }
    #expect(message([]) == "no data")
    #expect(message([0x28, 0, 0, 0, 0]).contains("not a marshalled code object"))
    var code: [UInt8] = [0xE3] + Array(repeating: 0, count: 20)
    // co_code: a string whose length is 2^31 - 1.
    code += [0x73, 0xFF, 0xFF, 0xFF, 0x7F]
    #expect(message(code).contains("runs past the end") || message(code).contains("exceeds"))
    // A tuple of 2^31 - 1 items as co_consts.
    var consts: [UInt8] = [0xE3] + Array(repeating: 0, count: 20) + [0x73, 0, 0, 0, 0] + [0x28, 0xFF, 0xFF, 0xFF, 0x7F]
    #expect(message(consts).contains("exceeds"))
    // Nesting deeper than the bound: tuples of one tuple.
    consts = [0xE3] + Array(repeating: 0, count: 20) + [0x73, 0, 0, 0, 0] + Array(repeating: [0x29, 1], count: 500).flatMap { $0 }
    #expect(message(consts).contains("nested more than"))
    // A reference to an object not read yet, and one to the object containing it.
    consts = [0xE3] + Array(repeating: 0, count: 20) + [0x73, 0, 0, 0, 0] + [0x72, 9, 0, 0, 0]
    #expect(message(consts).contains("a reference to object 9"))
    consts = [0xE3] + Array(repeating: 0, count: 20) + [0x73, 0, 0, 0, 0] + [0xA9, 1, 0x72, 0, 0, 0, 0]
    #expect(message(consts).contains("which contains it"))
    // An unknown type code, and a negative count.
    consts = [0xE3] + Array(repeating: 0, count: 20) + [0x73, 0, 0, 0, 0] + [0x21]
    #expect(message(consts).contains("unknown type code 0x21"))
    consts = [0xE3] + Array(repeating: 0, count: 20) + [0x73, 0xFF, 0xFF, 0xFF, 0xFF]
    #expect(message(consts).contains("negative count"))
    // More than the size bound.
    #expect(message([0xE3] + Array(repeating: 0, count: CodeObject.maxBytes)).contains("more than"))
  }

  @Test("bytecode that no CPython version reads is refused, with its version range")
  func badBytecode() throws {
    let good = try CodeObject.decode(try Self.sample())
    // Replace co_code by bytes no 3.11-3.13 table reads (opcode 0xFE is unassigned in each).
    var code = good
    code.bytecode = [0xFE, 0, 0xFE, 0]
    #expect(throws: DecompileError(message: "its bytecode is not that of CPython 3.11 to 3.13", disassembly: [])) { try Decompiler.function(code) }
  }
}
