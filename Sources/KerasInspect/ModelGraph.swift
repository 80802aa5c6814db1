import KerasModel

/// `keras-inspect graph`: the model's layers and connections as people draw them with
/// `keras.utils.plot_model`: one node per layer (name, class, output shape, params), one edge per
/// distinct (producer, consumer) pair of every call, a shared layer once with an edge per call's
/// producer. With `expandNested`, a nested model is a cluster of its own layers, entered at its
/// input layers and left from its output layers; else it is one node.
public struct ModelGraph: Sendable {
  public struct Node: Sendable, Equatable {
    /// Unique: the layer's name, under its nested models' names (`encoder/dense`).
    public let id: String
    public let name: String
    public let className: String
    public let outputShape: String
    public let params: Int
  }

  public struct Cluster: Sendable {
    public let id: String
    public let label: String
    public let nodes: [Node]
    public let clusters: [Cluster]
  }

  public let name: String
  public let nodes: [Node]
  public let clusters: [Cluster]
  /// (from, to) node ids, in the order the calls name them.
  public let edges: [(from: String, to: String)]

  public init(analysis: ModelAnalysis, expandNested: Bool = false) {
    var edges: [(from: String, to: String)] = []
    var seen: Set<String> = []
    func add(_ from: String, _ to: String) {
      if seen.insert(from + "\u{0}" + to).inserted { edges.append((from, to)) }
    }
    /// Each model's layers by name (a graph of thousands of layers looks each edge up once).
    func byName(_ model: ModelAnalysis) -> [String: LayerInfo] {
      Dictionary(model.layers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }
    /// The node a tensor of `model` (under `prefix`) comes from. Each step goes one nested model
    /// deeper, so it ends.
    func source(_ ref: TensorRef, in model: ModelAnalysis, prefix: String) -> String {
      if expandNested, let nested = byName(model)[ref.layer]?.nested, ref.tensor < nested.config.outputs.count {
        return source(nested.config.outputs[ref.tensor], in: nested, prefix: prefix + ref.layer + "/")
      }
      return prefix + ref.layer
    }
    /// The node the `position`-th input of `layer` enters: a nested model's input layer (deeper
    /// at each step), or the layer's own node when its config names no such input.
    func target(_ layer: LayerInfo, position: Int, prefix: String) -> String {
      if expandNested, let nested = layer.nested, !nested.config.inputs.isEmpty {
        let input = nested.config.inputs[min(position, nested.config.inputs.count - 1)]
        if let inner = byName(nested)[input.layer] { return target(inner, position: 0, prefix: prefix + layer.name + "/") }
      }
      return prefix + layer.name
    }
    func walk(_ model: ModelAnalysis, prefix: String) -> (nodes: [Node], clusters: [Cluster]) {
      var nodes: [Node] = []
      var clusters: [Cluster] = []
      for layer in model.layers {
        if expandNested, let nested = layer.nested {
          let inner = walk(nested, prefix: prefix + layer.name + "/")
          clusters.append(Cluster(id: prefix + layer.name, label: "\(layer.name) (\(layer.displayClassName))", nodes: inner.nodes, clusters: inner.clusters))
        } else {
          nodes.append(Node(id: prefix + layer.name, name: layer.name, className: layer.displayClassName, outputShape: Self.shapeText(layer), params: layer.params))
        }
        for call in layer.config.calls {
          // Every tensor of the call, masks passed by keyword too, as plot_model draws them.
          for (position, ref) in call.connections.enumerated() {
            add(source(ref, in: model, prefix: prefix), target(layer, position: position, prefix: prefix))
          }
        }
      }
      return (nodes, clusters)
    }
    let top = walk(analysis, prefix: "")
    name = analysis.config.name
    nodes = top.nodes
    clusters = top.clusters
    self.edges = edges
  }

  /// The output shape as Keras's summary writes it: `(None, 10)`, several as a list.
  static func shapeText(_ layer: LayerInfo) -> String {
    guard let outputs = layer.outputs.last ?? nil, !outputs.isEmpty else { return "?" }
    let shapes = outputs.map { "(" + $0.map { $0.map(String.init) ?? "None" }.joined(separator: ", ") + ($0.count == 1 ? ",)" : ")") }
    return shapes.count == 1 ? shapes[0] : "[" + shapes.joined(separator: ", ") + "]"
  }

  /// Graphviz source: records top to bottom, nested models as `cluster_` subgraphs.
  public func dot() -> String {
    // In DOT's quoted strings only \" is an escape; a backslash is kept for the label's own
    // syntax. An id doubles its backslashes (so none ends the string), alike wherever it appears.
    func quote(_ s: String) -> String {
      "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
    func quoteLabel(_ s: String) -> String { "\"" + s + "\"" }
    func label(_ node: Node) -> String {
      // A record's fields: braces, bars and angle brackets are its syntax.
      func field(_ s: String) -> String {
        var out = ""
        for c in s {
          if "{}|<>\"\\".contains(c) { out.append("\\") }
          out.append(c)
        }
        return out
      }
      return "{" + field("\(node.name) (\(node.className))") + "|" + field(node.outputShape) + "|" + field("\(node.params) params") + "}"
    }
    var lines = ["digraph \(quote(name)) {", "  rankdir=TB;", "  node [shape=record, fontname=\"Helvetica\", fontsize=10];"]
    func emit(_ nodes: [Node], _ clusters: [Cluster], indent: String) {
      for node in nodes { lines.append("\(indent)\(quote(node.id)) [label=\(quoteLabel(label(node)))];") }
      for cluster in clusters {
        lines.append("\(indent)subgraph \(quote("cluster_" + cluster.id)) {")
        lines.append("\(indent)  label=\(quote(cluster.label));")
        emit(cluster.nodes, cluster.clusters, indent: indent + "  ")
        lines.append("\(indent)}")
      }
    }
    emit(nodes, clusters, indent: "  ")
    for edge in edges { lines.append("  \(quote(edge.from)) -> \(quote(edge.to));") }
    lines.append("}")
    return lines.joined(separator: "\n") + "\n"
  }

  /// A Mermaid flowchart (it renders in GitHub Markdown): nested models as subgraphs.
  public func mermaid() -> String {
    var ids: [String: String] = [:]
    func id(_ node: String) -> String {
      if let known = ids[node] { return known }
      let made = "n\(ids.count)"
      ids[node] = made
      return made
    }
    func text(_ s: String) -> String {
      // Mermaid's entity codes for the characters its labels cannot hold.
      s.replacingOccurrences(of: "&", with: "#amp;").replacingOccurrences(of: "\"", with: "#quot;")
        .replacingOccurrences(of: "<", with: "#lt;").replacingOccurrences(of: ">", with: "#gt;")
    }
    var lines = ["flowchart TD"]
    var clusterCount = 0
    func emit(_ nodes: [Node], _ clusters: [Cluster], indent: String) {
      for node in nodes {
        lines.append("\(indent)\(id(node.id))[\"\(text("\(node.name) (\(node.className))"))<br/>\(text(node.outputShape))<br/>\(node.params) params\"]")
      }
      for cluster in clusters {
        lines.append("\(indent)subgraph c\(clusterCount) [\"\(text(cluster.label))\"]")
        clusterCount += 1
        emit(cluster.nodes, cluster.clusters, indent: indent + "  ")
        lines.append("\(indent)end")
      }
    }
    emit(nodes, clusters, indent: "  ")
    for edge in edges { lines.append("  \(id(edge.from)) --> \(id(edge.to))") }
    return lines.joined(separator: "\n") + "\n"
  }
}
