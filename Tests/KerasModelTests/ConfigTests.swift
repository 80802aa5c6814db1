@testable import KerasModel
import Foundation
import Testing

@Suite("Model configs")
struct ConfigTests {
  @Test("Keras 2 functional inbound_nodes lists")
  func keras2Functional() throws {
    let config = try ConfigParser.parse("""
      {"class_name": "Functional", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "name": "a", "config": {"name": "a", "batch_input_shape": [null, 6]}, "inbound_nodes": []},
        {"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 3}, "inbound_nodes": [[["a", 0, 0, {}]]]},
        {"class_name": "Add", "name": "s", "config": {"name": "s"}, "inbound_nodes": [[["d", 0, 0, {}], ["d", 0, 0, {}]]]}],
        "input_layers": [["a", 0, 0]], "output_layers": [["s", 0, 0]]}}
      """)
    #expect(config.layers.map(\.name) == ["a", "d", "s"])
    #expect(config.layers[2].calls.map(\.inputs) == [[TensorRef(layer: "d", node: 0, tensor: 0), TensorRef(layer: "d", node: 0, tensor: 0)]])
    #expect(config.layers[2].calls[0].structure.args == [.list([.tensor(0), .tensor(1)])])
    let analysis = ModelAnalysis(config: config, keras3: false)
    #expect(analysis.layers[1].expectedParams == 21)
    #expect(analysis.outputShapes == [[nil, 3]])
    #expect(!analysis.isSequentialLike)
  }

  @Test("Keras 3 functional inbound_nodes objects, single input_layers entry")
  func keras3Functional() throws {
    let config = try ConfigParser.parse("""
      {"class_name": "Functional", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_shape": [null, 13, 5]}, "inbound_nodes": []},
        {"class_name": "LSTM", "name": "lstm", "config": {"name": "lstm", "units": 10},
         "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 13, 5], "keras_history": ["x", 0, 0]}}], "kwargs": {"training": false}}]}],
        "input_layers": ["x", 0, 0], "output_layers": ["lstm", 0, 0]}}
      """)
    #expect(config.inputs == [TensorRef(layer: "x", node: 0, tensor: 0)])
    let lstm = ModelAnalysis(config: config, keras3: true).layers[1]
    #expect(lstm.expectedParams == 640)
    #expect(lstm.expected?.map(\.shape) == [[5, 40], [10, 40], [40]])
  }

  @Test("NUL escapes (Keras 2 marshalled Lambda code) and Python's NaN both parse")
  func escapesAndNaN() throws {
    #expect(try JSONValue.parse(#"["a\u0000b"]"#) == .array([.string("a\u{0}b")]))
    #expect(try JSONValue.parse(#"{"mask_value": NaN}"#)["mask_value"]?.double?.isNaN == true)
  }

  @Test("JSON as Python writes it: escapes, surrogate pairs, numbers, non-finite floats")
  func pythonJSON() throws {
    let text = #" {"a": [1, -2.5e-3, 0, 1E2, Infinity, -Infinity, true, false, null], "s": "\"\/\b\f\n\r\t\u00e9\ud83d\ude00é", "": {}} "#
    let value = try JSONValue.parse(text)
    #expect(value["a"] == .array([.number(1), .number(-0.0025), .number(0), .number(100), .number(.infinity), .number(-.infinity), .bool(true), .bool(false), .null]))
    #expect(value["s"]?.string == "\"/\u{8}\u{C}\n\r\té😀é")
    #expect(value[""] == .object([:]))
    #expect(try JSONValue.parse("0.1").double == 0.1)
    #expect(try JSONValue.parse("[1e400]") == .array([.number(.infinity)]))
  }

  @Test("objects keep the text's order; a repeated key, also written with escapes, keeps its last value at its first place, as Python's dict")
  func objectMembers() throws {
    let value = try JSONValue.parse(#"{"b": 1, "a": 2, "b": 3, "\u0061": 4, "c": {"x": 1, "x": 2}}"#)
    let object = try #require(value.object)
    #expect(object.keys == ["b", "a", "c"])
    #expect(object["b"] == .number(3) && object["a"] == .number(4) && value["c"]?["x"] == .number(2))
    #expect(value["c"]?.object?.count == 1)
    // Equal whatever the order, as JSON objects are; not equal with a value or a key apart.
    #expect(try JSONValue.parse(#"{"a": 1, "b": [2]}"#) == JSONValue.parse(#"{"b": [2], "a": 1}"#))
    #expect(try JSONValue.parse(#"{"a": 1, "b": [2]}"#) != JSONValue.parse(#"{"b": [3], "a": 1}"#))
    #expect(try JSONValue.parse(#"{"a": 1}"#) != JSONValue.parse(#"{"a": 1, "b": 1}"#))
    var edited = object
    edited["a"] = nil
    edited["d"] = .null
    #expect(edited.keys == ["b", "c", "d"] && edited.removeValue(forKey: "b") == .number(3) && edited.keys == ["c", "d"])
  }

  @Test("a large object (past the indexed count) and many repeats of few strings read the same")
  func largeObjects() throws {
    // 5,000 members, each key twice (the second value wins), then the same short strings over
    // and over: what the parser keeps of strings it made must never hand back another one.
    let count = 5_000
    let members = (0..<count).map { #""key\#($0)": "v\#($0 % 7)""# } + (0..<count).map { #""key\#($0)": \#($0)"# }
    let value = try JSONValue.parse("{" + members.joined(separator: ", ") + "}")
    let object = try #require(value.object)
    #expect(object.count == count)
    #expect(object.keys.first == "key0" && object.keys.last == "key\(count - 1)")
    #expect((0..<count).allSatisfy { object["key\($0)"] == .number(Double($0)) })
    let words = ["a", "ab", "abcdefg", "abcdefgh", "abcdefghijklmnop", "abcdefghijklmnoq", "bbcdefghijklmnop", "abcdefghijklmnopq", "é", "\u{0}"]
    let text = "[" + (0..<50).flatMap { _ in words }.map { "\"" + $0.replacingOccurrences(of: "\u{0}", with: #"\u0000"#) + "\"" }.joined(separator: ",") + "]"
    let strings = try #require(JSONValue.parse(text).array).map(\.string)
    #expect(strings == (0..<50).flatMap { _ in words })
  }

  @Test("a string's end, escape or control character is found at every offset from a word boundary, past non-ASCII too")
  func stringScan() throws {
    for lead in 0..<20 {
      for prefix in ["", "é", "\u{7F}"] {
        let plain = prefix + String(repeating: "x", count: lead)
        // Quoted in a list that puts the string at each alignment; an escape ends the fast scan.
        for pad in 0..<8 {
          let padding = String(repeating: " ", count: pad)
          #expect(try JSONValue.parse("[" + padding + "\"" + plain + "\"]") == .array([.string(plain)]), "\(lead) \(pad)")
          #expect(try JSONValue.parse("[" + padding + "\"" + plain + #"\n\"y"# + "\"]") == .array([.string(plain + "\n\"y")]))
          #expect(throws: JSONError.self) { try JSONValue.parse("[" + padding + "\"" + plain + "\u{1F}" + "\"]") }
          #expect(throws: JSONError.self) { try JSONValue.parse(padding + "\"" + plain) }
        }
      }
    }
  }

  @Test("malformed JSON is an error naming the byte", arguments: [
    "", "{", "[1,]", "{\"a\" 1}", "{\"a\": 1,}", "[1 2]", "\"abc", #""a\u12""#, #""\x""#, "01x", "-", "1.", "1e",
    "nul", "[Infinit]", "{} {}", "\"tab\tinside\"", "{1: 2}",
    String(repeating: "[", count: JSONParser.maxDepth + 1) + String(repeating: "]", count: JSONParser.maxDepth + 1),
  ])
  func malformed(_ text: String) {
    #expect(throws: JSONError.self) { try JSONValue.parse(text) }
  }

  @Test("nesting up to the limit parses")
  func deepButAllowed() throws {
    let depth = JSONParser.maxDepth
    let value = try JSONValue.parse(String(repeating: "[", count: depth) + String(repeating: "]", count: depth))
    var level = 0
    var current = value
    while case .array(let items) = current, let first = items.first { current = first; level += 1 }
    #expect(level == depth - 1)
  }

  @Test("bad configs are errors, not crashes", arguments: [
    "not json", "[]", "{\"class_name\": \"Sequential\"}", "{\"class_name\": \"Dense\", \"config\": {}}",
    "{\"class_name\": \"Functional\", \"config\": {\"layers\": [{\"config\": {}}]}}",
    String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000),
  ])
  func badConfigs(_ text: String) {
    #expect(throws: ModelError.self) { try ConfigParser.parse(text) }
  }
}

@Suite("Parameter formulas")
struct FormulaTests {
  func analyse(_ layer: String, input: String) throws -> LayerInfo {
    let config = try ConfigParser.parse("""
      {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"name": "in", "batch_shape": \(input)}}, \(layer)]}}
      """)
    return ModelAnalysis(config: config, keras3: true).layers[1]
  }

  @Test("recurrent layers", arguments: [
    (#"{"class_name": "LSTM", "config": {"name": "l", "units": 10}}"#, 640),
    (#"{"class_name": "LSTM", "config": {"name": "l", "units": 10, "use_bias": false}}"#, 600),
    (#"{"class_name": "GRU", "config": {"name": "l", "units": 10}}"#, 510),
    (#"{"class_name": "GRU", "config": {"name": "l", "units": 10, "reset_after": false}}"#, 480),
    (#"{"class_name": "SimpleRNN", "config": {"name": "l", "units": 10}}"#, 160),
    (#"{"class_name": "Bidirectional", "config": {"name": "b", "layer": {"class_name": "LSTM", "config": {"name": "l", "units": 10}}}}"#, 1280),
  ])
  func recurrent(_ layer: String, _ params: Int) throws {
    #expect(try analyse(layer, input: "[null, 13, 5]").expectedParams == params)
  }

  @Test("GRU reset_after keeps a (2, 3u) bias")
  func gruBias() throws {
    let gru = try analyse(#"{"class_name": "GRU", "config": {"name": "g", "units": 4}}"#, input: "[null, 7, 3]")
    #expect(gru.expected?.map(\.shape) == [[3, 12], [4, 12], [2, 12]])
    #expect(gru.formula == "3 × ((3 + 4) × 4 + 2 × 4)")
  }

  @Test("convolution output lengths follow Keras's padding rules", arguments: [
    ("valid", 1, 1, 18), ("same", 1, 1, 20), ("causal", 1, 2, 20), ("valid", 2, 1, 9), ("same", 2, 1, 10), ("valid", 1, 2, 16),
  ])
  func convolution(_ padding: String, _ strides: Int, _ dilation: Int, _ length: Int) throws {
    let conv = try analyse("""
      {"class_name": "Conv1D", "config": {"name": "c", "filters": 4, "kernel_size": [3], "padding": "\(padding)", "strides": [\(strides)], "dilation_rate": [\(dilation)]}}
      """, input: "[null, 20, 2]")
    #expect(conv.outputs == [[[nil, length, 4]]])
    #expect(conv.expectedParams == 3 * 2 * 4 + 4)
  }

  @Test("absurd sizes in a config saturate or fail, never trap")
  func absurdSizes() throws {
    let dense = try analyse(#"{"class_name": "Dense", "config": {"name": "d", "units": 1099511627775}}"#, input: "[null, 400000000000000]")
    #expect(dense.expectedParams == Int.max)
    let upsample = try analyse(#"{"class_name": "UpSampling1D", "config": {"name": "u", "size": 1099511627775}}"#, input: "[null, 400000000000000, 2]")
    #expect(upsample.problem?.contains("has size that is not 1 positive integers") == true)
    let reshape = try analyse(#"{"class_name": "Reshape", "config": {"name": "r", "target_shape": [-1, 400000000000000, 400000000000000]}}"#, input: "[null, 4]")
    #expect(reshape.problem?.contains("overflows") == true)
  }

  @Test("a layer keras-inspect does not know is flagged, not fatal")
  func unknownLayer() throws {
    let lambda = try analyse(#"{"class_name": "Lambda", "config": {"name": "f"}}"#, input: "[null, 3]")
    #expect(!lambda.understood)
    #expect(lambda.expected == nil)
  }
}

@Suite("Keras 1 configs")
struct Keras1ConfigTests {
  @Test("Keras 1 arguments are read under their Keras 2 names, and Merge by its mode")
  func upgraded() throws {
    let config = try ConfigParser.parse("""
      {"class_name": "Model", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_input_shape": [null, 10, 8, 3], "input_dtype": "float32"}, "inbound_nodes": []},
        {"class_name": "Convolution2D", "name": "c", "config": {"name": "c", "nb_filter": 4, "nb_row": 3, "nb_col": 2, "subsample": [1, 1], "border_mode": "same", "dim_ordering": "tf", "activation": "relu", "bias": true}, "inbound_nodes": [[["x", 0, 0]]]},
        {"class_name": "Convolution2D", "name": "d", "config": {"name": "d", "nb_filter": 2, "nb_row": 1, "nb_col": 1, "subsample": [1, 1], "border_mode": "valid", "dim_ordering": "tf", "activation": "linear", "bias": false}, "inbound_nodes": [[["x", 0, 0]]]},
        {"class_name": "Merge", "name": "m", "config": {"name": "m", "mode": "concat", "concat_axis": -1, "layers": null}, "inbound_nodes": [[["c", 0, 0], ["d", 0, 0]]]},
        {"class_name": "Reshape", "name": "r", "config": {"name": "r", "target_shape": [80, 6]}, "inbound_nodes": [[["m", 0, 0]]]},
        {"class_name": "LSTM", "name": "l", "config": {"name": "l", "output_dim": 5, "inner_activation": "hard_sigmoid", "activation": "tanh", "return_sequences": false}, "inbound_nodes": [[["r", 0, 0]]]}],
        "input_layers": [["x", 0, 0]], "output_layers": [["l", 0, 0]]}}
      """)
    let analysis = ModelAnalysis(config: config, keras3: false)
    let byName = Dictionary(uniqueKeysWithValues: analysis.layers.map { ($0.name, $0) })
    #expect(byName["c"]?.className == "Conv2D")
    #expect(byName["c"]?.expectedParams == 3 * 2 * 3 * 4 + 4)
    #expect(byName["d"]?.expectedParams == 3 * 2)
    #expect(byName["m"]?.className == "Concatenate")
    #expect(byName["m"]?.outputs.first ?? nil == [[nil, 10, 8, 6]])
    #expect(byName["l"]?.expectedParams == 4 * ((6 + 5) * 5 + 5))
    #expect(byName["l"]?.config.config["recurrent_activation"]?.string == "hard_sigmoid")
  }

  @Test("a Merge Keras 2 has no layer for (dot, cos) stays unread rather than guessed")
  func unknownMerge() throws {
    let (className, _) = Keras1.upgrade(className: "Merge", config: .object(["name": .string("m"), "mode": .string("cos")]))
    #expect(className == "Merge")
  }
}

@Suite("Legacy kernel layouts")
struct LegacyKernelTests {
  @Test("transpose follows NumPy's: (2, 3, 1, 0) of a (F, C, kh, kw) kernel gives (kh, kw, C, F)")
  func transpose() {
    let shape = [2, 3, 2, 1]  // F, C, kh, kw
    let values = (0..<12).map(Float.init)
    let out = transposed(values, shape: shape, permutation: [2, 3, 1, 0])
    // out[h][w][c][f] == in[f][c][h][w]
    for h in 0..<2 { for c in 0..<3 { for f in 0..<2 {
      #expect(out[((h * 1 + 0) * 3 + c) * 2 + f] == values[((f * 3 + c) * 2 + h) * 1 + 0])
    } } }
  }

  @Test("Theano's flip reverses the spatial axes only, and twice is the identity")
  func flip() {
    let shape = [2, 3, 1, 2]  // kh, kw, in, out
    let values = (0..<12).map(Float.init)
    var flipped = values
    Theano.flip(&flipped, shape: shape)
    for h in 0..<2 { for w in 0..<3 { for o in 0..<2 {
      #expect(flipped[(h * 3 + w) * 2 + o] == values[((1 - h) * 3 + (2 - w)) * 2 + o])
    } } }
    Theano.flip(&flipped, shape: shape)
    #expect(flipped == values)
  }
}

@Suite("Op nodes from hostile configs")
struct HostileOpTests {
  /// A Keras 3 functional model of one op node on an (None, 4, 6) input.
  static func keras3Op(_ className: String, config: String, args: String = "") throws -> ModelAnalysis {
    let tensor = #"{"class_name": "__keras_tensor__", "config": {"shape": [null, 4, 6], "keras_history": ["x", 0, 0]}}"#
    let text = """
      {"class_name": "Functional", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_shape": [null, 4, 6]}, "inbound_nodes": []},
        {"module": "keras.src.ops.numpy", "class_name": "\(className)", "name": "op", "config": \(config),
         "inbound_nodes": [{"args": [\(tensor)\(args)], "kwargs": {}}]}],
        "input_layers": ["x", 0, 0], "output_layers": ["op", 0, 0]}}
      """
    return ModelAnalysis(config: try ConfigParser.parse(text), keras3: true)
  }

  @Test("sizes that overflow or slices with absurd steps are problems of the layer, never a trap")
  func absurdSizes() throws {
    let tile = try Self.keras3Op("Tile", config: #"{"name": "op", "repeats": [1, 4000000000000000000, 4]}"#)
    #expect(tile.layers[1].problem != nil)
    let huge = try Self.keras3Op("Tile", config: #"{"name": "op", "repeats": [1, 3000000000, 3000000000]}"#)
    #expect(huge.outputShapes == [[nil, 12_000_000_000, 18_000_000_000]])
    let reshape = try Self.keras3Op("Reshape", config: #"{"name": "op", "newshape": [1099511627775, 1099511627775, -1]}"#)
    #expect(reshape.outputShapes == [[1_099_511_627_775, 1_099_511_627_775, nil]])
    let slice = try Self.keras3Op("GetItem", config: #"{"name": "op"}"#,
      args: #", [{"class_name": "__slice__", "config": {"start": null, "stop": null, "step": 1125899906842624}}, {"class_name": "__slice__", "config": {"start": -1000000000000000, "stop": 1000000000000000, "step": -3}}]"#)
    #expect(slice.layers[1].problem == nil)
    #expect(slice.outputShapes == [[nil, 0, 6]])
  }

  @Test("call arguments nested deeper than any real file are cut off, not recursed into")
  func deepArguments() throws {
    let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
    let analysis = try Self.keras3Op("Add", config: #"{"name": "op"}"#, args: ", " + deep)
    #expect(analysis.layers[1].problem != nil)
  }
}

@Suite("Work on a thread of its own")
struct BackgroundWorkTests {
  @Test("the result is the work's, run once, on a thread of its own or here when asked")
  func result() {
    for onThread in [true, false] {
      let runs = Counter()
      let work = BackgroundWork(onThread: onThread) { () -> (Int, Bool) in
        runs.add()
        return ((1...1000).reduce(0, +), Thread.isMainThread)
      }
      let (sum, onMain) = work.result()
      #expect(sum == 500500)
      #expect(work.result().0 == 500500)
      #expect(runs.value == 1)
      // The test itself may not run on the main thread; on a thread of its own, never.
      if onThread { #expect(!onMain) }
    }
  }
}

private final class Counter: @unchecked Sendable {
  private let lock = NSLock()
  private var count = 0
  var value: Int { lock.withLock { count } }
  func add() { lock.withLock { count += 1 } }
}
