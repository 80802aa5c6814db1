import Foundation
import HDF5

/// Keras 3's weights layout (`model.weights.h5` inside a `.keras` archive, and `.weights.h5` files).
///
/// A layer's variables are `layers/<path>/vars/0..n-1`, where the path is the snake_case class name
/// plus a counter among siblings (`dense`, `dense_1`), not the layer's name. Sub-objects nest: an RNN's
/// `cell`, Bidirectional's `forward_layer` and `backward_layer`, TimeDistributed's `layer`, a nested
/// model's `layers/...`. A Functional model lists its InputLayers too; a Sequential model does not.
///
/// The early `.keras` archives of Keras 2.13-2.15 name the container `_layer_checkpoint_dependencies`
/// and their counters can skip numbers (`dense`, `dense_2`): layers of a class take that class's
/// groups in counter order. On Windows they joined the path components with backslashes, so each
/// layer's variables sit in one root group named `_layer_checkpoint_dependencies\\dense` (holding
/// `vars`): the layout is read as a tree of path components, whichever separator wrote it.
enum Keras3Layout {
  /// One node of the layout: the `vars` group at this path, and the sub-paths below it.
  final class Node {
    var vars: Group?
    var children: [String: Node] = [:]

    func child(_ name: String) -> Node {
      if let existing = children[name] { return existing }
      let node = Node()
      children[name] = node
      return node
    }
  }

  /// Bounds the layout walked (a real model's nests a few levels, one group per layer or sub-object).
  static let maxDepth = 32
  static let maxGroups = 1 << 20

  /// The layout under `root` as a tree: a group name with backslashes is a path of several nodes.
  static func tree(_ root: Group) throws -> Node {
    let top = Node()
    var visited = 0
    // The groups on the way down, by file address: a group that contains itself through a hard
    // link would be walked without end.
    var ancestors: [UInt64: String] = [:]
    func walk(_ group: Group, _ node: Node, depth: Int) throws {
      guard depth < maxDepth else { throw ModelError(.badWeights, "\(group.path): weight groups nest too deep") }
      let address = group.address
      if let address {
        if let ancestor = ancestors[address] {
          throw ModelError(.badWeights, "\(group.path) is \(ancestor) again: a hard-link cycle in the weights groups")
        }
        ancestors[address] = group.path
      }
      defer { if let address { ancestors[address] = nil } }
      for member in try group.memberNames() where try group.kind(of: member) == .group {
        visited += 1
        guard visited <= maxGroups else { throw ModelError(.badWeights, "\(group.path): more weight groups than any model has") }
        let components = member.split(separator: "\\", omittingEmptySubsequences: true).map(String.init)
        guard let last = components.last else { continue }
        var target = node
        for c in components.dropLast() { target = target.child(c) }
        let sub = try group.group(member)
        if last == "vars" {
          target.vars = sub
        } else {
          try walk(sub, target.child(last), depth: depth + components.count)
        }
      }
    }
    try walk(root, top, depth: 0)
    return top
  }

  /// The group holding a model's layers: Keras 3's name, then Keras 2.13-2.15's.
  static let containers = ["layers", "_layer_checkpoint_dependencies"]

  static func container(in node: Node) -> (name: String, node: Node)? {
    for name in containers { if let found = node.children[name] { return (name, found) } }
    return nil
  }

  /// Each saved layer with its group among `members`: per class, the groups named after it
  /// (`dense`, `dense_1`, ... or with gaps) in counter order.
  static func assign(_ model: ModelConfig, members: [String]) -> [(LayerConfig, String)] {
    func counter(_ member: String, base: String) -> Int? {
      if member == base { return 0 }
      guard member.hasPrefix(base + "_"), let n = Int(member.dropFirst(base.count + 1)) else { return nil }
      return n
    }
    var taken: [String: Int] = [:]
    var result: [(LayerConfig, String)] = []
    for layer in savedLayers(model) {
      let base = snakeCase(LayerRegistry.pythonClassName(layer.className))
      let groups = members.compactMap { m in counter(m, base: base).map { (m, $0) } }.sorted { $0.1 < $1.1 }.map(\.0)
      let index = taken[base, default: 0]
      taken[base] = index + 1
      if index < groups.count { result.append((layer, groups[index])) }
    }
    return result
  }

  /// The groups a model's saved layers get, in layer order: each class's snake_case name with a
  /// counter (`dense`, `dense_1`).
  static func groupNames(_ model: ModelConfig) -> [String] {
    var counts: [String: Int] = [:]
    return savedLayers(model).map { layer in
      let base = snakeCase(LayerRegistry.pythonClassName(layer.className))
      let n = counts[base, default: 0]
      counts[base] = n + 1
      return n == 0 ? base : "\(base)_\(n)"
    }
  }

  /// Keras's `naming.to_snake_case`.
  static func snakeCase(_ name: String) -> String {
    var s = name.replacingOccurrences(of: "\\W+", with: "", options: .regularExpression)
    s = s.replacingOccurrences(of: "(.)([A-Z][a-z]+)", with: "$1_$2", options: .regularExpression)
    s = s.replacingOccurrences(of: "([a-z])([A-Z])", with: "$1_$2", options: .regularExpression)
    return s.lowercased()
  }

  /// The layers a model saves, in order: a Sequential model's InputLayer is not among them.
  static func savedLayers(_ model: ModelConfig) -> [LayerConfig] {
    model.layers.filter { !(model.isSequential && $0.className == "InputLayer") }
  }

  /// Stored weights per top-level layer name, in Keras's weight order.
  static func weights(root: Group, model: ModelConfig) throws(ModelError) -> [String: [StoredWeight]] {
    var result: [String: [StoredWeight]] = [:]
    do {
      guard let (container, layers) = container(in: try tree(root)) else { return [:] }
      for layer in model.layers { result[layer.name] = [] }
      for (layer, name) in assign(model, members: layers.children.keys.sorted()) {
        result[layer.name] = try collect(layers.children[name]!, path: "\(container)/\(name)", layer: layer, depth: 0)
      }
    } catch let error as ModelError {
      throw error
    } catch {
      throw ModelError(.unreadable, "\(error)")
    }
    return result
  }

  /// Every top-level group's datasets when no config says which layer is which.
  static func unmappedWeights(root: Group) throws(ModelError) -> [(String, [StoredWeight])] {
    do {
      guard let (container, layers) = container(in: try tree(root)) else { return [] }
      return try layers.children.keys.sorted().map { name in (name, try collect(layers.children[name]!, path: "\(container)/\(name)", layer: nil, depth: 0)) }
    } catch let error as ModelError {
      throw error
    } catch {
      throw ModelError(.unreadable, "\(error)")
    }
  }

  /// A layer group's variables in Keras's order: its own `vars/0..n`, then its sub-objects
  /// (Bidirectional: forward before backward; a nested model: its layers in order). `order`: the
  /// sub-object order of the enclosing layer, passed down to its sub-objects' groups.
  static func collect(_ node: Node, path: String, layer: LayerConfig?, depth: Int, order: [String]? = nil) throws -> [StoredWeight] {
    guard depth < maxDepth else { throw ModelError(.badWeights, "\(path): weight groups nest too deep") }
    var weights: [StoredWeight] = []
    if let vars = node.vars {
      let names = try vars.memberNames().compactMap(Int.init).sorted()
      for index in names {
        weights.append(try StoredWeight(dataset: try vars.dataset(String(index)), name: "\(path)/vars/\(index)"))
      }
    }
    var children = Array(node.children.keys)
    if let nested = layer?.nested, let (innerName, inner) = container(in: node) {
      for (innerLayer, name) in assign(nested, members: inner.children.keys.sorted()) {
        weights += try collect(inner.children[name]!, path: "\(path)/\(innerName)/\(name)", layer: innerLayer, depth: depth + 1)
      }
      children.removeAll { containers.contains($0) }
    }
    // Keras's weight order among sub-objects, as each family declares it (an RNN's cell,
    // Bidirectional's forward then backward, MultiHeadAttention's query, key, value, output).
    let preferred = layer.map { LayerRegistry.keras3SubObjects(of: $0) } ?? order ?? LayerRegistry.keras3SubObjects
    children.sort { a, b in
      let (ia, ib) = (preferred.firstIndex(of: a) ?? preferred.count, preferred.firstIndex(of: b) ?? preferred.count)
      return ia != ib ? ia < ib : a < b
    }
    for child in children {
      weights += try collect(node.children[child]!, path: "\(path)/\(child)", layer: nil, depth: depth + 1, order: preferred)
    }
    return weights
  }
}
