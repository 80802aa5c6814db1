/// `Flatten`: (batch, ...) to (batch, product). With `channels_first` Keras moves the channels
/// last before flattening, so the element order is the channels-last one.
public struct Flatten: LayerDefinition {
  public static let classNames = ["Flatten"]
  public let dataFormat: DataFormat
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    dataFormat = try c.dataFormat()
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs)
    let rest = x.dropFirst()
    let product = rest.contains(where: { $0 == nil }) ? nil : try label.checkedProduct(rest.map { $0! })
    return LayerSignature(outputs: [[x[0], product]])
  }
}

/// `Reshape(target_shape)`, one entry of which may be -1 (inferred).
public struct Reshape: LayerDefinition {
  public static let classNames = ["Reshape"]
  public let targetShape: [Int]
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    guard let target = c.present("target_shape")?.intList, target.allSatisfy({ $0 >= -1 }),
      target.filter({ $0 == -1 }).count <= 1
    else { throw c.error("has no target_shape of sizes (one of them may be -1)") }
    targetShape = target
    label = c.label
  }

  /// The target shape with its -1 resolved for `elements` values per sample (nil if unknown).
  public func resolved(elements: Int?) -> Shape {
    var out: Shape = targetShape.map { $0 }
    if let unknown = targetShape.firstIndex(of: -1) {
      let known = saturatingProduct(targetShape.filter { $0 != -1 })
      out[unknown] = elements.flatMap { known > 0 ? $0 / known : nil }
    }
    return out
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs)
    let rest = x.dropFirst()
    let elements = rest.contains(where: { $0 == nil }) ? nil : try label.checkedProduct(rest.map { $0! })
    _ = try label.checkedProduct(targetShape.filter { $0 != -1 })
    let out = resolved(elements: elements)
    if let elements, !out.contains(where: { $0 == nil }), saturatingProduct(out.map { $0! }) != elements {
      throw label.error("cannot reshape \(format(x)) to \(format([nil] + out))")
    }
    return LayerSignature(outputs: [[x[0]] + out])
  }
}

/// `Permute(dims)`: 1-based positions of the non-batch axes.
public struct Permute: LayerDefinition {
  public static let classNames = ["Permute"]
  public let dims: [Int]
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    guard let dims = c.present("dims")?.intList, Set(dims) == Set(1...max(1, dims.count)), dims.count >= 1 else {
      throw c.error("has dims that are not a permutation of 1...n")
    }
    self.dims = dims
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs)
    guard dims.count == x.count - 1 else { throw label.error("has dims that are not a permutation of 1...\(x.count - 1)") }
    return LayerSignature(outputs: [[x[0]] + dims.map { x[$0] }])
  }
}

/// `RepeatVector(n)`: (batch, features) to (batch, n, features).
public struct RepeatVector: LayerDefinition {
  public static let classNames = ["RepeatVector"]
  public let n: Int
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    n = try c.int("n")
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs, rank: 2)
    return LayerSignature(outputs: [[x[0], n, x[1]]])
  }
}

/// The spatial rank a 1D/2D/3D class name gives (`ZeroPadding3D` → 3).
func spatialRank(_ className: String) -> Int {
  className.hasSuffix("3D") ? 3 : className.hasSuffix("2D") ? 2 : 1
}

/// Spatial axes of a rank-(r + 2) input in a data format.
func spatialOffset(_ format: DataFormat) -> Int { format == .channelsFirst ? 2 : 1 }

/// `ZeroPadding1D/2D/3D`: zeros before and after each spatial axis (default 1 each).
public struct ZeroPadding: LayerDefinition {
  public static let classNames = ["ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D"]
  public let rank: Int
  public let padding: [Pair]
  public let dataFormat: DataFormat
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    rank = spatialRank(c.className)
    padding = try c.pairs("padding", count: rank, default: 1)
    dataFormat = rank == 1 ? .channelsLast : try c.dataFormat()
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    var x = try label.single(inputs, rank: rank + 2)
    let o = spatialOffset(dataFormat)
    for i in 0..<rank { x[o + i] = x[o + i].map { $0 + padding[i].total } }
    return LayerSignature(outputs: [x])
  }
}

/// `Cropping1D/2D/3D`: positions removed before and after each spatial axis. Keras's defaults:
/// (1, 1) for 1-D, none for 2-D, (1, 1) per axis for 3-D.
public struct Cropping: LayerDefinition {
  public static let classNames = ["Cropping1D", "Cropping2D", "Cropping3D"]
  public let rank: Int
  public let cropping: [Pair]
  public let dataFormat: DataFormat
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    rank = spatialRank(c.className)
    cropping = try c.pairs("cropping", count: rank, default: rank == 2 ? 0 : 1)
    dataFormat = rank == 1 ? .channelsLast : try c.dataFormat()
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    var x = try label.single(inputs, rank: rank + 2)
    let o = spatialOffset(dataFormat)
    for i in 0..<rank {
      if let n = x[o + i], n - cropping[i].total < 0 {
        throw label.error("crops \(cropping[i].total) positions from an axis of \(n)")
      }
      x[o + i] = x[o + i].map { $0 - cropping[i].total }
    }
    return LayerSignature(outputs: [x])
  }
}

/// `UpSampling1D/2D/3D`: each position repeated `size` times per axis (2-D may interpolate
/// bilinearly instead, as `tf.image.resize` does with half-pixel centres).
public struct UpSampling: LayerDefinition {
  public static let classNames = ["UpSampling1D", "UpSampling2D", "UpSampling3D"]
  public enum Interpolation: String, Sendable { case nearest, bilinear, bicubic, area, lanczos3, lanczos5, gaussian, mitchellcubic }
  public let rank: Int
  public let size: [Int]
  public let dataFormat: DataFormat
  public let interpolation: Interpolation
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    rank = spatialRank(c.className)
    size = try c.ints(c.config["size"] == nil && rank == 1 ? "length" : "size", count: rank, default: 2)
    dataFormat = rank == 1 ? .channelsLast : try c.dataFormat()
    interpolation = rank == 2 ? try c.choice("interpolation", default: .nearest) : .nearest
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    var x = try label.single(inputs, rank: rank + 2)
    let o = spatialOffset(dataFormat)
    for i in 0..<rank {
      if let n = x[o + i] { x[o + i] = try label.checkedProduct([n, size[i]]) }
    }
    return LayerSignature(outputs: [x])
  }
}
