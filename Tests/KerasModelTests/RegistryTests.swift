import Foundation
import KerasModel
import Testing

@Suite("Layer registry")
struct RegistryTests {
  @Test("every class name is claimed by exactly one family")
  func claimedOnce() {
    #expect(LayerRegistry.claimedTwice.isEmpty, "claimed twice: \(LayerRegistry.claimedTwice)")
    let total = LayerRegistry.families.reduce(0) { $0 + $1.classNames.count + $1.keras1ClassNames.count }
    #expect(total == LayerRegistry.classNames.count)
    #expect(LayerRegistry.understands("MaxPool2D") && LayerRegistry.understands("MaxPooling2D"))
    #expect(!LayerRegistry.understands("MyCustomLayer"))
    #expect(!LayerRegistry.understands("Lambda", config: .object([:])), "a Lambda is understood only with a function read")
  }

  static func readme() throws -> String {
    let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("README.md")
    return try String(contentsOf: readme, encoding: .utf8)
  }

  /// Every `ClassName` in backticks between two markers (options such as `groups` are lower case).
  static func classNames(in text: String, between open: String, and close: String) throws -> [String] {
    let start = try #require(text.range(of: open))
    let end = try #require(text.range(of: close))
    var names: [String] = []
    var rest = text[start.upperBound..<end.lowerBound]
    while let open = rest.firstIndex(of: "`") {
      let after = rest.index(after: open)
      guard let close = rest[after...].firstIndex(of: "`") else { break }
      let token = String(rest[after..<close])
      if token.first?.isUppercase == true, token.allSatisfy({ $0.isLetter || $0.isNumber }) { names.append(token) }
      rest = rest[rest.index(after: close)...]
    }
    return names
  }

  @Test("the README's layer list is exactly what the registry knows")
  func readmeList() throws {
    let names = try Self.classNames(in: try Self.readme(), between: "<!-- layer-list -->", and: "<!-- /layer-list -->")
    #expect(Set(names).count == names.count, "listed twice: \(names.filter { n in names.filter { $0 == n }.count > 1 })")
    #expect(Set(names) == Set(LayerRegistry.classNames),
      "missing from README: \(Set(LayerRegistry.classNames).subtracting(names).sorted()); not in the registry: \(Set(names).subtracting(LayerRegistry.classNames).sorted())")
  }

  @Test("the README lists every Keras 3 op class and every tf.keras function read")
  func readmeOps() throws {
    let text = try Self.readme()
    let names = try Self.classNames(in: text, between: "<!-- op-list -->", and: "<!-- /op-list -->")
    let ops = Set(LayerRegistry.byOperationName.keys)
    #expect(Set(names).count == names.count)
    #expect(Set(names) == ops, "missing from README: \(ops.subtracting(names).sorted()); not in the registry: \(Set(names).subtracting(ops).sorted())")
    let missing = TFOpLambda.functions.filter { !text.contains("`tf.\($0)`") }
    #expect(missing.isEmpty, "tf functions missing from README: \(missing)")
  }

  @Test("a family claims only the configs it defines: other TFOpLambda functions stay not understood")
  func partialClaims() throws {
    #expect(LayerRegistry.understands("TFOpLambda", config: .object(["function": .string("math.multiply")])))
    #expect(!LayerRegistry.understands("TFOpLambda", config: .object(["function": .string("math.bessel_i0")])))
    #expect(try LayerRegistry.definition(name: "t", className: "TFOpLambda", config: .object(["function": .string("math.bessel_i0")])) == nil)
    #expect(LayerRegistry.understands("LocallyConnected1D", config: .object(["implementation": .number(2)])))
  }

  @Test("an implementation Keras does not define is an error naming the layer")
  func unknownImplementation() {
    #expect {
      _ = try LayerRegistry.definition(name: "lc", className: "LocallyConnected2D", config: .object(["filters": .number(2), "kernel_size": .number(2), "implementation": .number(4)]))
    } throws: { error in
      "\(error)".contains("lc") && "\(error)".contains("implementation 4")
    }
  }

  @Test("a config that does not decode is an error naming the layer and the key")
  func typedErrors() {
    #expect {
      _ = try LayerRegistry.definition(name: "c", className: "Conv2D", config: .object(["filters": .number(4), "kernel_size": .number(3), "padding": .string("full-ish")]))
    } throws: { error in
      (error as? ModelError)?.message == #"layer c (Conv2D) has padding "full-ish", which Keras does not define"#
    }
    #expect {
      _ = try LayerRegistry.definition(name: "d", className: "Dense", config: .object(["units": .string("ten")]))
    } throws: { error in
      (error as? ModelError)?.message == "layer d (Dense) has units that is not an integer"
    }
  }

  @Test("the schedule orders a shared layer's second call after what it consumes, in linear time")
  func schedule() throws {
    // b is listed before a, but its only call consumes a's output.
    let config = try ConfigParser.parse("""
      {"class_name": "Functional", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_input_shape": [null, 3]}, "inbound_nodes": []},
        {"class_name": "Dense", "name": "b", "config": {"name": "b", "units": 2}, "inbound_nodes": [[["a", 0, 0, {}]]]},
        {"class_name": "Dense", "name": "a", "config": {"name": "a", "units": 3}, "inbound_nodes": [[["x", 0, 0, {}]]]}],
        "input_layers": [["x", 0, 0]], "output_layers": [["b", 0, 0]]}}
      """)
    let order = config.schedule(keras3: false).map { config.layers[$0.layer].name }
    #expect(order == ["a", "b"])
    let analysis = ModelAnalysis(config: config, keras3: false)
    #expect(analysis.outputShapes == [[nil, 2]])
  }

  @Test("a call of many inputs (one of them twice) waits for all of them; one of a layer no model has never runs")
  func scheduleManyInputs() throws {
    let producers = (0..<20).map { #"{"class_name": "Dense", "name": "d\#($0)", "config": {"name": "d\#($0)", "units": 2}, "inbound_nodes": [[["x", 0, 0, {}]]]}"# }
    let sumInputs = ((0..<20).map { #"["d\#($0)", 0, 0, {}]"# } + [#"["d0", 0, 0, {}]"#]).joined(separator: ", ")
    let config = try ConfigParser.parse("""
      {"class_name": "Functional", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_input_shape": [null, 3]}, "inbound_nodes": []},
        {"class_name": "Add", "name": "sum", "config": {"name": "sum"}, "inbound_nodes": [[\(sumInputs)]]},
        \(producers.joined(separator: ",\n")),
        {"class_name": "Dense", "name": "orphan", "config": {"name": "orphan", "units": 2}, "inbound_nodes": [[["ghost", 0, 0, {}]]]}],
        "input_layers": [["x", 0, 0]], "output_layers": [["sum", 0, 0]]}}
      """)
    let order = config.schedule(keras3: false).map { config.layers[$0.layer].name }
    #expect(order == (0..<20).map { "d\($0)" } + ["sum"])
  }
}
