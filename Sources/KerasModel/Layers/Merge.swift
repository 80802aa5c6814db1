/// `Concatenate` along `axis` (default -1).
public struct Concatenate: LayerDefinition {
  public static let classNames = ["Concatenate"]
  public let axis: Int
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    axis = try c.int("axis", default: -1)
    label = c.label
  }

  /// The axis for inputs of `rank`.
  public func axis(rank: Int) -> Int { axis < 0 ? axis + rank : axis }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    guard let first = inputs.first else { throw label.error("has no inputs") }
    let rank = first.count
    let a = axis(rank: rank)
    guard a >= 1, a < rank, inputs.allSatisfy({ $0.count == rank }) else {
      throw label.error("cannot concatenate \(inputs.map(format).joined(separator: ", ")) on axis \(axis)")
    }
    var out = first
    out[a] = inputs.dropFirst().reduce(first[a]) { sum($0, $1[a]) }
    return LayerSignature(outputs: [out])
  }
}

/// `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`, with NumPy broadcasting; the
/// output takes each known dimension.
public struct ElementwiseMerge: LayerDefinition {
  public static let classNames = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]

  /// Keras 1's `Merge` is one class for every mode; Keras 2 has a layer per mode.
  public static let keras1ClassNames = ["Merge": "Merge"]
  static let keras1Modes = ["sum": "Add", "mul": "Multiply", "concat": "Concatenate", "ave": "Average", "max": "Maximum"]

  /// A functional `Merge` becomes the Keras 2 merge layer of its mode. One merging Sequential
  /// branches (it holds "layers") and the `dot`, `cos` and custom modes stay `Merge`, not understood.
  public static func upgradeKeras1(_ c: inout Keras1Config) {
    guard c.keys["layers"] == nil || c.keys["layers"]?.isNull == true, let mode = c.keys["mode"]?.string, let merged = keras1Modes[mode] else { return }
    c.className = merged
    if merged == "Concatenate" { c.keys["axis"] = c.keys["concat_axis"] ?? .number(-1) }
  }
  public enum Operation: Sendable { case add, subtract, multiply, average, maximum, minimum }
  public let operation: Operation
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    switch c.className {
    case "Subtract": operation = .subtract
    case "Multiply": operation = .multiply
    case "Average": operation = .average
    case "Maximum": operation = .maximum
    case "Minimum": operation = .minimum
    default: operation = .add
    }
    label = c.label
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    // A Keras 3 op node (`x - 1.0`) has one tensor and a number.
    if operation == .subtract, inputs.count > 2 { throw label.error("subtracts two inputs, got \(inputs.count)") }
    return LayerSignature(outputs: [try Self.broadcastShape(inputs, label)])
  }

  /// NumPy broadcasting of shapes: each known dimension other than 1 wins.
  static func broadcastShape(_ inputs: [Shape], _ label: LayerLabel) throws(ModelError) -> Shape {
    guard let longest = inputs.max(by: { $0.count < $1.count }) else { throw label.error("has no inputs") }
    var out = longest
    for shape in inputs {
      let offset = longest.count - shape.count
      for (i, d) in shape.enumerated() {
        let j = i + offset
        if let d, d != 1 {
          if let existing = out[j], existing != 1, existing != d {
            throw label.error("cannot merge shapes \(inputs.map(format).joined(separator: ", "))")
          }
          out[j] = d
        }
      }
    }
    return out
  }
}

/// `Dot(axes, normalize)` of two tensors: Keras's `batch_dot`, which contracts `axes[0]` of the
/// first with `axes[1]` of the second per sample; the result is the first's other axes, then the
/// second's (a lone batch axis gains a 1). `normalize` L2-normalizes both along those axes first
/// (the cosine similarity).
public struct Dot: LayerDefinition {
  public static let classNames = ["Dot"]
  public let axes: [Int]
  public let normalize: Bool
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    guard let value = c.present("axes") else { throw c.error("has no axes") }
    if let n = value.int {
      axes = [n]
    } else if let list = value.intList, list.count == 2 {
      axes = list
    } else {
      throw c.error("has axes that are not an integer or two integers")
    }
    normalize = try c.bool("normalize", default: false)
    label = c.label
  }

  /// The contracted axis of each input, as Keras resolves them (a negative axis counts from the
  /// end of each input's own rank).
  public func axes(ranks: (Int, Int)) throws(ModelError) -> (Int, Int) {
    let (a, b) = axes.count == 1 ? (axes[0], axes[0]) : (axes[0], axes[1])
    let resolved = (a < 0 ? a + ranks.0 : a, b < 0 ? b + ranks.1 : b)
    guard resolved.0 >= 1, resolved.0 < ranks.0, resolved.1 >= 1, resolved.1 < ranks.1 else {
      throw label.error("has axes \(axes), outside inputs of ranks \(ranks.0) and \(ranks.1) (the batch axis cannot be contracted)")
    }
    return resolved
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    guard inputs.count == 2 else { throw label.error("takes the dot product of 2 inputs, got \(inputs.count)") }
    var (x, y) = (inputs[0], inputs[1])
    guard x.count >= 2, y.count >= 2 else { throw label.error("needs inputs of rank 2 or more, got \(inputs.map(format).joined(separator: ", "))") }
    let (a, b) = try axes(ranks: (x.count, y.count))
    if let m = x[a], let n = y[b], m != n { throw label.error("contracts axes of sizes \(m) and \(n) (\(format(x)), \(format(y)))") }
    let contracted = x[a] ?? y[b] ?? 1
    x.remove(at: a)
    y.remove(at: b)
    var out = x + y.dropFirst()
    if out.count == 1 { out.append(1) }
    let positions = saturatingProduct(out.dropFirst().map { $0 ?? 1 })
    return LayerSignature(outputs: [out], flops: saturatingProduct([2, positions, contracted]))
  }
}
