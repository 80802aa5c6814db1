import Foundation
import Testing

/// `keras-inspect graph`, its DOT read back by Graphviz itself and compared with the connections
/// Keras printed ("Connected to" in tf_keras's summary of the same file).
@Suite("graph")
struct GraphTests {
  static let graphviz = ["/usr/bin/dot", "/usr/local/bin/dot", "/opt/homebrew/bin/dot"].first { FileManager.default.isExecutableFile(atPath: $0) }

  /// Node names (with their label's first field) and `from->to` edges of DOT, as Graphviz parses it.
  static func parsed(_ dot: String) throws -> (nodes: Set<String>, edges: Set<String>, clusters: Set<String>) {
    let tool = try #require(graphviz, "Graphviz's dot is not installed (make test installs it)")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = ["-Tjson"]
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    input.fileHandleForWriting.write(Data(dot.utf8))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "Graphviz could not read the DOT")
    let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let objects = json["objects"] as? [[String: Any]] ?? []
    var names: [Int: String] = [:]
    var nodes: Set<String> = [], clusters: Set<String> = []
    for object in objects {
      guard let name = object["name"] as? String, let id = object["_gvid"] as? Int else { continue }
      if object["nodes"] != nil || name.hasPrefix("cluster_") {
        clusters.insert(name)
      } else {
        names[id] = name
        nodes.insert(name)
      }
    }
    let edges = (json["edges"] as? [[String: Any]] ?? []).compactMap { edge -> String? in
      guard let tail = edge["tail"] as? Int, let head = edge["head"] as? Int, let a = names[tail], let b = names[head] else { return nil }
      return "\(a)->\(b)"
    }
    return (nodes, Set(edges), clusters)
  }

  /// The rows and "Connected to" entries of tf_keras's printed summary.
  static func keras(_ name: String) throws -> (nodes: Set<String>, edges: Set<String>) {
    let text = try String(contentsOfFile: fixture(name + ".summary.txt"), encoding: .utf8)
    var nodes: Set<String> = [], edges: Set<String> = []
    var current: String?
    let entry = try Regex(#"'([^'\[]+)\[\d+\]\[\d+\]'"#)
    // A row starts with its layer's name and "(" its class; a wrapped class name continues below.
    let row = try Regex(#"^ ([^ ()]+) \("#)
    for line in text.split(separator: "\n").map(String.init) where !line.hasPrefix("=") && !line.hasPrefix("_") {
      if let match = line.firstMatch(of: row), let name = match.output[1].substring, name != "Layer" {
        current = String(name)
        nodes.insert(String(name))
      }
      guard let current else { continue }
      for match in line.matches(of: entry) { edges.insert("\(match.output[1].substring!)->\(current)") }
    }
    return (nodes, edges)
  }

  @Test("each layer is a node and each connection an edge, as tf_keras printed them (functional, multi-IO, shared, keyword inputs)",
        arguments: ["keras2/multi_io", "keras2/shared_layer", "keras2/attention_cross", "keras2/seq2seq_attention", "keras2/attention_masked"])
  func matchesKeras(_ name: String) throws {
    let result = try run(["graph", fixture(name + ".h5")])
    #expect(result.status == 0, "\(result.stderr)")
    let graph = try Self.parsed(result.stdout)
    let expected = try Self.keras(name)
    #expect(graph.nodes == expected.nodes)
    #expect(graph.edges == expected.edges)
    let mermaid = try run(["graph", fixture(name + ".h5"), "--format", "mermaid"])
    #expect(mermaid.stdout.hasPrefix("flowchart TD\n"))
    #expect(mermaid.stdout.components(separatedBy: " --> ").count - 1 == expected.edges.count)
  }

  @Test("--expand-nested draws a nested model as a cluster, entered at its input and left from its output")
  func nested() throws {
    let plain = try Self.parsed(try run(["graph", fixture("keras2/nested_functional.h5")]).stdout)
    #expect(plain.nodes == ["outer_in", "encoder", "dense"] && plain.edges == ["outer_in->encoder", "encoder->dense"])
    let expanded = try Self.parsed(try run(["graph", fixture("keras2/nested_functional.h5"), "--expand-nested"]).stdout)
    #expect(expanded.clusters.contains("cluster_encoder"))
    #expect(expanded.nodes == ["outer_in", "encoder/input_1", "encoder/lstm", "dense"])
    #expect(expanded.edges == ["outer_in->encoder/input_1", "encoder/input_1->encoder/lstm", "encoder/lstm->dense"])
  }

  @Test("--format svg is Graphviz's drawing of the DOT, made outside the sandboxed reader")
  func svg() throws {
    let result = try run(["graph", fixture("keras3/multi_io.keras"), "--format", "svg"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("<svg") && result.stdout.contains("enc (LSTM)"), "\(result.stdout.prefix(300))")
    let unreadable = try run(["graph", fixture("broken/not_keras.h5"), "--format", "svg"])
    #expect(unreadable.status == 2 && unreadable.stderr.split(separator: "\n").count == 1, "\(unreadable.stderr)")
  }
}
