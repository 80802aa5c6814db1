/// Preprocessing layers saved inside models, as Keras runs them at inference.

/// `Rescaling`: x · scale + offset (each a number, or a list broadcast over the last axes).
public struct Rescaling: LayerDefinition {
  public static let classNames = ["Rescaling"]
  public let scale: [Double]
  public let offset: [Double]
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    scale = try c.doubles("scale") ?? [1]
    offset = try c.doubles("offset") ?? [0]
    guard !scale.isEmpty, !offset.isEmpty else { throw c.error("has an empty scale or offset") }
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs)
    for v in [scale, offset] where v.count > 1 && x.last! != nil && v.count != x.last!! {
      throw label.error("has \(v.count) scale or offset values for \(x.last!!) features")
    }
    return LayerSignature(outputs: [x])
  }
}

/// The preprocessing `Normalization` layer: (x − mean) / max(√variance, 1e-7), or with
/// `invert`, mean + x · max(√variance, 1e-7). Mean and variance come from the config, or from the
/// non-trainable weights `adapt()` filled (mean, variance and a scalar count).
public struct FeatureNormalization: LayerDefinition {
  public static let classNames = ["Normalization"]
  public let axis: [Int]
  public let mean: [Double]?
  public let variance: [Double]?
  public let invert: Bool
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    // `axis=None` keeps no axis: one scalar mean and variance for every value.
    axis = c.config["axis"] != nil && c.present("axis") == nil ? [] : try c.intList("axis", default: [-1])
    mean = try c.doubles("mean")
    variance = try c.doubles("variance")
    guard (mean == nil) == (variance == nil) else { throw c.error("has a mean without a variance, or a variance without a mean") }
    invert = try c.bool("invert", default: false)
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs)
    let shape = try axisSizes(x, try resolvedAxes(axis, rank: x.count, label), label)
    guard mean == nil else { return LayerSignature(outputs: [x]) }
    let d = saturatingProduct(shape)
    return LayerSignature(
      outputs: [x],
      weights: [WeightSpec("mean", shape, trainable: false), WeightSpec("variance", shape, trainable: false), WeightSpec("count", [], trainable: false, elementSize: 8)],
      formula: "2 × \(d) + 1")
  }
}

/// An image's shape with its two spatial axes set to height × width.
func resized(_ inputs: [Shape], height: Int, width: Int, _ format: DataFormat, _ label: LayerLabel) throws(ModelError) -> Shape {
  var x = try label.single(inputs)
  guard x.count >= 3 else { throw label.error("expects an image input, got \(pythonTuple(x))") }
  let h = format == .channelsFirst ? x.count - 2 : x.count - 3
  x[h] = height
  x[h + 1] = width
  return x
}

/// The target image of a crop: `height` × `width` over the two spatial axes of `data_format`.
public struct CropTarget: Sendable {
  public let height: Int
  public let width: Int
  public let dataFormat: DataFormat
  let label: LayerLabel
  init(_ c: LayerReader) throws(ModelError) {
    height = try c.int("height")
    width = try c.int("width")
    dataFormat = try c.dataFormat()
    guard height > 0, width > 0 else { throw c.error("has an empty crop size \(height)×\(width)") }
    label = c.label
  }
  func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    LayerSignature(outputs: [try resized(inputs, height: height, width: width, dataFormat, label)])
  }
}

/// `CenterCrop(height, width)` over the two spatial axes.
public struct CenterCrop: LayerDefinition {
  public static let classNames = ["CenterCrop"]
  public let target: CropTarget
  public init(_ c: LayerReader) throws(ModelError) { target = try CropTarget(c) }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature { try target.signature(inputs) }
}

/// `Resizing(height, width)` with `interpolation` (every one TensorFlow resizes with). With
/// `crop_to_aspect_ratio` the largest centred window of the target's aspect ratio is resized; with
/// `pad_to_aspect_ratio` the image is first padded (centred, `fill_value`) to that ratio.
public struct Resizing: LayerDefinition {
  public static let classNames = ["Resizing"]
  public let height: Int
  public let width: Int
  public let interpolation: UpSampling.Interpolation
  public let cropToAspectRatio: Bool
  public let padToAspectRatio: Bool
  /// The value `pad_to_aspect_ratio` pads with.
  public let fillValue: Double
  /// Keras 3: when downsampling, the interpolation kernel widens by the factor (a low-pass filter).
  public let antialias: Bool
  public let dataFormat: DataFormat
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    height = try c.int("height")
    width = try c.int("width")
    interpolation = try c.choice("interpolation", default: .bilinear)
    cropToAspectRatio = try c.bool("crop_to_aspect_ratio", default: false)
    padToAspectRatio = try c.bool("pad_to_aspect_ratio", default: false)
    if cropToAspectRatio && padToAspectRatio { throw c.error("has both crop_to_aspect_ratio and pad_to_aspect_ratio, which Keras refuses") }
    fillValue = try c.double("fill_value", default: 0)
    antialias = try c.bool("antialias", default: false)
    dataFormat = try c.dataFormat()
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    LayerSignature(outputs: [try resized(inputs, height: height, width: width, dataFormat, label)])
  }
}

/// Image augmentation layers, which Keras runs only in training: at inference (`predict`, the
/// forward pass keras-inspect checks) each returns its input unchanged (each one's
/// `transform_images` acts only `if training`). tf_keras's `RandomHeight` and `RandomWidth`
/// report that axis as unknown (`None`).
public struct InferenceAugmentation: LayerDefinition {
  public static let classNames = [
    // tf_keras and Keras 3
    "RandomFlip", "RandomRotation", "RandomZoom", "RandomContrast", "RandomTranslation", "RandomBrightness",
    // tf_keras
    "RandomHeight", "RandomWidth",
    // Keras 3
    "RandomGrayscale", "RandomHue", "RandomSaturation", "RandomSharpness", "RandomShear", "RandomColorDegeneration",
    "RandomColorJitter", "RandomPosterization", "RandomInvert", "RandomErasing", "RandomGaussianBlur",
    "RandomElasticTransform", "RandomPerspective", "Equalization", "Solarization", "MixUp", "CutMix", "AugMix",
    "RandAugment", "MaxNumBoundingBoxes",
  ]
  /// The axis, counted from the end, whose size Keras reports as unknown.
  let unknownAxis: Int?
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    unknownAxis = c.className == "RandomHeight" ? 3 : c.className == "RandomWidth" ? 2 : nil
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    var x = try label.single(inputs)
    if let unknownAxis {
      guard x.count >= 3 else { throw label.error("expects an image input, got \(pythonTuple(x))") }
      x[x.count - unknownAxis] = nil
    }
    return LayerSignature(outputs: [x])
  }
}

/// `RandomCrop(height, width)`: at inference tf_keras crops the largest centred box of the
/// target's aspect ratio and resizes it bilinearly (`smart_resize`); Keras 3 returns the input
/// unchanged. Both report the target size as the output shape.
public struct RandomCrop: LayerDefinition {
  public static let classNames = ["RandomCrop"]
  public let target: CropTarget
  public init(_ c: LayerReader) throws(ModelError) { target = try CropTarget(c) }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature { try target.signature(inputs) }
}

/// Keras 3's `AutoContrast(value_range)`, active at inference: each image's values, mapped from
/// `value_range` to [0, 255], are stretched so that along axes 1 and 2 (height and width when
/// channels are last) they span [0, 255], clipped, and mapped back; a constant slice is kept.
public struct AutoContrast: LayerDefinition {
  public static let classNames = ["AutoContrast"]
  public let low: Double
  public let high: Double
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    let range = try c.doubles("value_range") ?? [0, 255]
    guard range.count == 2, range[0] < range[1] else { throw c.error("has value_range that is not two increasing numbers") }
    (low, high) = (range[0], range[1])
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs)
    guard x.count == 4 else { throw label.error("expects a batch of images, got \(pythonTuple(x))") }
    return LayerSignature(outputs: [x])
  }
}

/// `CategoryEncoding(num_tokens, output_mode)`: integer ids to one-hot, multi-hot or count
/// vectors of `num_tokens` (Keras 3's `compute_output_shape`: one_hot adds an axis unless the last
/// is 1; multi_hot and count replace the last).
public struct CategoryEncoding: LayerDefinition {
  public static let classNames = ["CategoryEncoding"]
  public enum Mode: String, Sendable { case oneHot = "one_hot", multiHot = "multi_hot", count }
  public let tokens: Int
  public let mode: Mode
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    tokens = try c.int("num_tokens")
    mode = try c.choice("output_mode", default: .multiHot)
    if try c.bool("sparse", default: false) { throw c.error("has sparse output, which keras-inspect does not read") }
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs)
    if mode == .oneHot, x.last! != 1 { return LayerSignature(outputs: [x + [tokens]]) }
    return LayerSignature(outputs: [x.count == 1 ? x + [tokens] : Array(x.dropLast()) + [tokens]])
  }
}

/// `Discretization(bin_boundaries)`: each value's bucket, the number of boundaries ≤ it
/// (TensorFlow's `Bucketize`), as `output_mode="int"` gives it.
public struct Discretization: LayerDefinition {
  public static let classNames = ["Discretization"]
  public let boundaries: [Double]
  public let outputMode: String
  let label: LayerLabel
  public init(_ c: LayerReader) throws(ModelError) {
    guard let boundaries = try c.doubles("bin_boundaries") else { throw c.error("has no bin_boundaries (an adapted layer saves them)") }
    self.boundaries = boundaries
    outputMode = try c.string("output_mode", default: "int")
    label = c.label
  }
  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs)
    guard outputMode == "int" else { throw label.error("has output_mode \(outputMode); keras-inspect reads \"int\"") }
    return LayerSignature(outputs: [x])
  }
}

/// `IntegerLookup` with its vocabulary in the config and `output_mode="int"`: the mask token (when
/// set) maps to 0, then come the `num_oov_indices` out-of-vocabulary indices, then the vocabulary
/// in order. With `invert`, indices map back to tokens.
public struct IntegerLookup: LayerDefinition {
  public static let classNames = ["IntegerLookup"]
  public let vocabulary: [Int]
  public let maskToken: Int?
  public let oovIndices: Int
  public let oovToken: Int
  public let invert: Bool
  let label: LayerLabel

  /// Only a vocabulary written into the config, one OOV index (several hash tokens), int output.
  public static func understands(_ config: JSONValue) -> Bool {
    config["vocabulary"]?.intList != nil && (config["output_mode"]?.string ?? "int") == "int"
      && (config["num_oov_indices"]?.int ?? 1) <= 1
  }

  public init(_ c: LayerReader) throws(ModelError) {
    guard let vocabulary = c.present("vocabulary")?.intList else { throw c.error("has no vocabulary list") }
    self.vocabulary = vocabulary
    maskToken = try c.present("mask_token") == nil ? nil : c.signedInt("mask_token", default: 0)
    oovIndices = try c.int("num_oov_indices", default: 1)
    oovToken = try c.signedInt("oov_token", default: -1)
    invert = try c.bool("invert", default: false)
    label = c.label
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    LayerSignature(outputs: [try label.single(inputs)])
  }
}
