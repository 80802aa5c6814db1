import Foundation
import HDF5

/// Keras 3's weights layout (`model.weights.h5` inside a `.keras` archive, and `.weights.h5` files).
///
/// A layer's variables are `layers/<path>/vars/0..n-1`, where the path is the snake_case class name
/// plus a counter among siblings (`dense`, `dense_1`), not the layer's name. Sub-objects nest: an RNN's
/// `cell`, Bidirectional's `forward_layer` and `backward_layer`, TimeDistributed's `layer`, a nested
/// model's `layers/...`. A Functional model lists its InputLayers too; a Sequential model does not.
enum Keras3Layout {
  /// Keras's `naming.to_snake_case`.
  static func snakeCase(_ name: String) -> String {
    var s = name.replacingOccurrences(of: "\\W+", with: "", options: .regularExpression)
    s = s.replacingOccurrences(of: "(.)([A-Z][a-z]+)", with: "$1_$2", options: .regularExpression)
    s = s.replacingOccurrences(of: "([a-z])([A-Z])", with: "$1_$2", options: .regularExpression)
    return s.lowercased()
  }

  /// The group name of each layer a model saves, in order: `dense`, `dense_1`, ...
  static func groupNames(_ model: ModelConfig) -> [(LayerConfig, String)] {
    var used: [String: Int] = [:]
    var result: [(LayerConfig, String)] = []
    for layer in model.layers {
      if model.isSequential && layer.className == "InputLayer" { continue }
      let base = snakeCase(layer.className)
      var name = base
      if let n = used[base] {
        used[base] = n + 1
        name = "\(base)_\(n + 1)"
      } else {
        used[base] = 0
      }
      result.append((layer, name))
    }
    return result
  }

  /// Stored weights per top-level layer name, in Keras's weight order.
  static func weights(root: Group, model: ModelConfig) throws(ModelError) -> [String: [StoredWeight]] {
    var result: [String: [StoredWeight]] = [:]
    do {
      guard try root.kind(of: "layers") == .group else { return [:] }
      let layers = try root.group("layers")
      for (layer, name) in groupNames(model) {
        guard try layers.kind(of: name) == .group else {
          result[layer.name] = []
          continue
        }
        result[layer.name] = try collect(try layers.group(name), layer: layer, depth: 0)
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
      guard try root.kind(of: "layers") == .group else { return [] }
      let layers = try root.group("layers")
      return try layers.memberNames().map { name in (name, try collect(try layers.group(name), layer: nil, depth: 0)) }
    } catch let error as ModelError {
      throw error
    } catch {
      throw ModelError(.unreadable, "\(error)")
    }
  }

  /// A layer group's variables in Keras's order: its own `vars/0..n`, then its sub-objects
  /// (Bidirectional: forward before backward; a nested model: its layers in order).
  static func collect(_ group: Group, layer: LayerConfig?, depth: Int) throws -> [StoredWeight] {
    guard depth < 32 else { throw ModelError(.badWeights, "\(group.path): weight groups nest too deep") }
    var weights: [StoredWeight] = []
    if try group.kind(of: "vars") == .group {
      let vars = try group.group("vars")
      let names = try vars.memberNames().compactMap(Int.init).sorted()
      for index in names {
        weights.append(try StoredWeight(dataset: try vars.dataset(String(index)), name: String(vars.path.dropFirst()) + "/\(index)"))
      }
    }
    var children = try group.memberNames().filter { $0 != "vars" }
    if let nested = layer?.nested, children.contains("layers") {
      let inner = try group.group("layers")
      for (innerLayer, name) in groupNames(nested) where try inner.kind(of: name) == .group {
        weights += try collect(try inner.group(name), layer: innerLayer, depth: depth + 1)
      }
      children.removeAll { $0 == "layers" }
    }
    let preferred = ["cell", "forward_layer", "backward_layer", "layer"]
    children.sort { a, b in
      let (ia, ib) = (preferred.firstIndex(of: a) ?? preferred.count, preferred.firstIndex(of: b) ?? preferred.count)
      return ia != ib ? ia < ib : a < b
    }
    for child in children where try group.kind(of: child) == .group {
      weights += try collect(try group.group(child), layer: nil, depth: depth + 1)
    }
    return weights
  }
}
