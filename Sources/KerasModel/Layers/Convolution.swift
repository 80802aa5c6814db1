/// The window of a convolution or pooling over `rank` spatial axes, as the config gives it.
public struct Window: Sendable, Equatable {
  public let kernel: [Int]
  public let strides: [Int]
  public let dilation: [Int]
  public let padding: Padding

  public init(kernel: [Int], strides: [Int], dilation: [Int], padding: Padding) {
    self.kernel = kernel
    self.strides = strides
    self.dilation = dilation
    self.padding = padding
  }

  /// Keras's `conv_utils.conv_output_length` for axis `i`.
  public func outputLength(_ length: Int?, axis i: Int) -> Int? {
    guard let length else { return nil }
    let span = (kernel[i] - 1) * dilation[i] + 1
    let out: Int
    switch padding {
    case .same, .causal: out = length
    case .full: out = length + span - 1
    case .valid: out = length - span + 1
    }
    return max(0, (out + strides[i] - 1) / strides[i])
  }

  /// Output length of a transposed convolution (Keras's `deconv_output_length`).
  public func transposedLength(_ length: Int?, axis i: Int, outputPadding: Int?) -> Int? {
    guard let length else { return nil }
    let span = (kernel[i] - 1) * dilation[i] + 1
    let s = strides[i]
    guard let outputPadding else {
      switch padding {
      case .valid, .causal: return length * s + max(span - s, 0)
      case .full: return length * s - (s + span - 2)
      case .same: return length * s
      }
    }
    let pad: Int
    switch padding {
    case .same: pad = span / 2
    case .full: pad = span - 1
    case .valid, .causal: pad = 0
    }
    return (length - 1) * s + span - 2 * pad + outputPadding
  }
}

/// Decodes the window keys shared by convolutions (`kernel_size`, `strides`, `dilation_rate`, `padding`).
func convolutionWindow(_ c: LayerReader, rank: Int) throws(ModelError) -> Window {
  let window = Window(
    kernel: try c.ints("kernel_size", count: rank),
    strides: try c.ints("strides", count: rank, default: 1),
    dilation: try c.ints("dilation_rate", count: rank, default: 1),
    padding: try c.choice("padding", default: .valid))
  // Keras refuses strides > 1 with dilation > 1 for every convolution.
  if window.strides.contains(where: { $0 > 1 }) && window.dilation.contains(where: { $0 > 1 }) {
    throw c.error("has both strides and dilation_rate above 1, which Keras does not allow")
  }
  if window.padding == .causal && rank != 1 { throw c.error("has causal padding, which only 1-D convolutions take") }
  return window
}

/// The spatial dimensions and channel count of a rank-(r + 2) input.
func spatial(_ x: Shape, rank r: Int, _ format: DataFormat) -> (dims: Shape, channels: Int?) {
  format == .channelsFirst ? (Array(x[2...]), x[1]) : (Array(x[1...r]), x[r + 1])
}

func assemble(_ batch: Int?, _ dims: Shape, channels: Int?, _ format: DataFormat) -> Shape {
  format == .channelsFirst ? [batch, channels] + dims : [batch] + dims + [channels]
}

/// `Conv1D/2D/3D`: kernel (k₁, …, C/groups, filters), bias (filters).
public struct Convolution: LayerDefinition {
  public static let classNames = ["Conv1D", "Conv2D", "Conv3D"]
  public static let keras1ClassNames = [
    "Convolution1D": "Conv1D", "Convolution2D": "Conv2D", "Convolution3D": "Conv3D",
    "AtrousConvolution1D": "Conv1D", "AtrousConvolution2D": "Conv2D",
  ]
  public let rank: Int
  public let filters: Int
  public let window: Window
  public let groups: Int
  public let dataFormat: DataFormat
  public let useBias: Bool
  public let activation: Activation
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    rank = spatialRank(c.className)
    filters = try c.int("filters")
    window = try convolutionWindow(c, rank: rank)
    groups = try c.int("groups", default: 1)
    dataFormat = try c.dataFormat()
    useBias = try c.bool("use_bias", default: true)
    activation = try c.activation()
    guard groups >= 1, filters % groups == 0 else { throw c.error("has \(filters) filters, not divisible by groups=\(groups)") }
    label = c.label
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs, rank: rank + 2)
    let (dims, ch) = spatial(x, rank: rank, dataFormat)
    let channels = try label.known(ch, "input channels")
    guard channels % groups == 0 else { throw label.error("has \(channels) input channels, not divisible by groups=\(groups)") }
    let out = (0..<rank).map { window.outputLength(dims[$0], axis: $0) }
    var weights = [WeightSpec("kernel", window.kernel + [channels / groups, filters])]
    if useBias { weights.append(WeightSpec("bias", [filters])) }
    let k = window.kernel.map(String.init).joined(separator: " × ")
    let taps = saturatingProduct(window.kernel + [channels / groups, filters])
    return LayerSignature(
      outputs: [assemble(x[0], out, channels: filters, dataFormat)], weights: weights,
      formula: "\(k) × \(channels / groups) × \(filters)" + (useBias ? " + \(filters)" : ""),
      flops: saturatingProduct([2, taps] + out.map { $0 ?? 1 }))
  }
}

// MARK: Older files

extension Convolution {
  public static func upgradeKeras1(_ c: inout Keras1Config) {
    if c.className == "Conv1D" {
      c.move("filter_length", "kernel_size")
      c.move("subsample_length", "strides")
    } else {
      if let rows = c.keys.removeValue(forKey: "nb_row"), let cols = c.keys.removeValue(forKey: "nb_col") {
        c.keys["kernel_size"] = .array([rows, cols])
      }
      c.move("subsample", "strides")
    }
    c.move("atrous_rate", "dilation_rate")
  }

  /// Keras 1's kernels in Keras 2's axis order, as Keras 2's loader converts them: a
  /// `Convolution1D` kernel is 4-D, (length, 1, in, filters), or in Keras 1.1 (filters, in,
  /// length, 1); a `dim_ordering: th` `Convolution2D` kernel is (filters, in, rows, cols). Then
  /// the kernels of a Theano-backend file, and the `th`-ordered ones of a Keras 1 file (which
  /// records no backend; `th` was Keras 1's ordering for Theano), are marked to be read flipped.
  public static func storedLayout(_ weights: [StoredWeight], _ file: WeightLayoutContext) -> [StoredWeight] {
    guard var kernel = weights.first else { return weights }
    let c = file.config
    let channelsFirst = c["data_format"]?.string == "channels_first"
    if file.keras1ClassName != nil, kernel.shape.count == 4 {
      let filters = c["filters"]?.int
      let size = c["kernel_size"]?.intList ?? []
      let s = kernel.shape
      var target: [Int]?
      var permutation: [Int]?
      if file.className == "Conv1D" {
        if s[1] == 1, s[3] == filters {
          target = [s[0], s[2], s[3]]
        } else if s[0] == filters, s[3] == 1 {
          (target, permutation) = ([s[2], s[1], s[0]], [2, 3, 1, 0])
        }
      } else if file.className == "Conv2D", channelsFirst, s[0] == filters, size.count == 2, Array(s[2...]) == size {
        (target, permutation) = ([s[2], s[3], s[1], s[0]], [2, 3, 1, 0])
      }
      if let target {
        kernel = StoredWeight(
          name: kernel.name, path: kernel.path, shape: target, dtype: kernel.dtype, elementSize: kernel.elementSize,
          storedShape: kernel.shape, permutation: permutation)
      }
    }
    let theano = file.backend == "theano" || (file.backend == nil && file.keras1ClassName != nil && channelsFirst)
    if theano, kernel.shape.count >= 3 { kernel.flipSpatial = true }
    return [kernel] + weights.dropFirst()
  }
}

/// `DepthwiseConv1D/2D`: each input channel convolved with its own `depth_multiplier` kernels;
/// output channel c·M + m is channel c's m-th. depthwise_kernel (k₁, …, C, M), bias (C·M).
public struct DepthwiseConvolution: LayerDefinition {
  public static let classNames = ["DepthwiseConv1D", "DepthwiseConv2D"]
  public let rank: Int
  public let depthMultiplier: Int
  public let window: Window
  public let dataFormat: DataFormat
  public let useBias: Bool
  public let activation: Activation
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    rank = spatialRank(c.className)
    depthMultiplier = try c.int("depth_multiplier", default: 1)
    guard depthMultiplier >= 1 else { throw c.error("has depth_multiplier 0") }
    window = try convolutionWindow(c, rank: rank)
    dataFormat = try c.dataFormat()
    useBias = try c.bool("use_bias", default: true)
    activation = try c.activation()
    label = c.label
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs, rank: rank + 2)
    let (dims, ch) = spatial(x, rank: rank, dataFormat)
    let channels = try label.known(ch, "input channels")
    let outChannels = channels * depthMultiplier
    let out = (0..<rank).map { window.outputLength(dims[$0], axis: $0) }
    var weights = [WeightSpec("depthwise_kernel", window.kernel + [channels, depthMultiplier])]
    if useBias { weights.append(WeightSpec("bias", [outChannels])) }
    let k = window.kernel.map(String.init).joined(separator: " × ")
    return LayerSignature(
      outputs: [assemble(x[0], out, channels: outChannels, dataFormat)], weights: weights,
      formula: "\(k) × \(channels) × \(depthMultiplier)" + (useBias ? " + \(outChannels)" : ""),
      flops: saturatingProduct([2, outChannels] + window.kernel + out.map { $0 ?? 1 }))
  }
}

/// `SeparableConv1D/2D`: a depthwise convolution then a 1×1 one. depthwise_kernel
/// (k₁, …, C, M), pointwise_kernel (1, …, C·M, filters), bias (filters).
public struct SeparableConvolution: LayerDefinition {
  public static let classNames = ["SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D", "SeparableConvolution2D"]
  public let filters: Int
  /// The depthwise step's window, multiplier and format; its `useBias` and `activation` are the
  /// separable layer's, applied after the pointwise step.
  public let depthwise: DepthwiseConvolution
  public var rank: Int { depthwise.rank }
  public var useBias: Bool { depthwise.useBias }
  public var activation: Activation { depthwise.activation }
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    filters = try c.int("filters")
    depthwise = try DepthwiseConvolution(c)
    label = c.label
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs, rank: rank + 2)
    let (dims, ch) = spatial(x, rank: rank, depthwise.dataFormat)
    let channels = try label.known(ch, "input channels")
    let (window, m) = (depthwise.window, depthwise.depthMultiplier)
    let middle = channels * m
    let out = (0..<rank).map { window.outputLength(dims[$0], axis: $0) }
    var weights = [
      WeightSpec("depthwise_kernel", window.kernel + [channels, m]),
      WeightSpec("pointwise_kernel", Array(repeating: 1, count: rank) + [middle, filters]),
    ]
    if useBias { weights.append(WeightSpec("bias", [filters])) }
    let k = window.kernel.map(String.init).joined(separator: " × ")
    let positions = saturatingProduct(out.map { $0 ?? 1 })
    return LayerSignature(
      outputs: [assemble(x[0], out, channels: filters, depthwise.dataFormat)], weights: weights,
      formula: "\(k) × \(channels) × \(m) + \(middle) × \(filters)" + (useBias ? " + \(filters)" : ""),
      flops: saturatingProduct([2, positions, saturatingSum(saturatingProduct(window.kernel + [middle]), middle * filters)]))
  }
}

/// `Conv1DTranspose/Conv2DTranspose/Conv3DTranspose`: the gradient of a convolution.
/// kernel (k₁, …, filters, C) — filters before input channels —, bias (filters).
public struct TransposedConvolution: LayerDefinition {
  public static let classNames = [
    "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
    "Convolution1DTranspose", "Convolution2DTranspose", "Convolution3DTranspose",
  ]
  public let rank: Int
  public let filters: Int
  public let window: Window
  public let outputPadding: [Int]?
  public let dataFormat: DataFormat
  public let useBias: Bool
  public let activation: Activation
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    rank = c.className.contains("3D") ? 3 : c.className.contains("2D") ? 2 : 1
    filters = try c.int("filters")
    window = try convolutionWindow(c, rank: rank)
    outputPadding = c.present("output_padding") == nil ? nil : try c.ints("output_padding", count: rank, allowZero: true)
    if let outputPadding {
      for i in 0..<rank where outputPadding[i] >= window.strides[i] {
        throw c.error("has output_padding \(outputPadding[i]), not smaller than its stride \(window.strides[i])")
      }
    }
    dataFormat = try c.dataFormat()
    useBias = try c.bool("use_bias", default: true)
    activation = try c.activation()
    label = c.label
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs, rank: rank + 2)
    let (dims, ch) = spatial(x, rank: rank, dataFormat)
    let channels = try label.known(ch, "input channels")
    let out = (0..<rank).map { window.transposedLength(dims[$0], axis: $0, outputPadding: outputPadding?[$0]) }
    var weights = [WeightSpec("kernel", window.kernel + [filters, channels])]
    if useBias { weights.append(WeightSpec("bias", [filters])) }
    let k = window.kernel.map(String.init).joined(separator: " × ")
    return LayerSignature(
      outputs: [assemble(x[0], out, channels: filters, dataFormat)], weights: weights,
      formula: "\(k) × \(filters) × \(channels)" + (useBias ? " + \(filters)" : ""),
      flops: saturatingProduct([2, filters, channels] + window.kernel + dims.map { $0 ?? 1 }))
  }
}

// MARK: Pooling

/// `MaxPooling1D/2D/3D` and `AveragePooling1D/2D/3D` (and their `MaxPool`/`AvgPool` aliases):
/// padding positions are left out of both the maximum and the average.
public struct Pooling: LayerDefinition {
  public static let classNames = [
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D",
  ]
  public let rank: Int
  public let average: Bool
  public let window: Window
  public let dataFormat: DataFormat
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    rank = spatialRank(c.className)
    average = c.className.hasPrefix("Av")
    let pool = try c.ints("pool_size", count: rank, default: 2)
    let strides = c.present("strides") == nil ? pool : try c.ints("strides", count: rank)
    let padding: Padding = try c.choice("padding", default: .valid)
    guard padding == .valid || padding == .same else { throw c.error("has padding \(padding.rawValue), which pooling does not take") }
    window = Window(kernel: pool, strides: strides, dilation: Array(repeating: 1, count: rank), padding: padding)
    dataFormat = try c.dataFormat()
    label = c.label
  }

  public static func upgradeKeras1(_ c: inout Keras1Config) {
    c.move("pool_length", "pool_size")
    c.move("stride", "strides")
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    var x = try label.single(inputs, rank: rank + 2)
    let o = spatialOffset(dataFormat)
    for i in 0..<rank { x[o + i] = window.outputLength(x[o + i], axis: i) }
    return LayerSignature(outputs: [x])
  }
}

/// `GlobalAveragePooling1D/2D/3D` and `GlobalMaxPooling1D/2D/3D` (and `Global*Pool*` aliases).
public struct GlobalPooling: LayerDefinition {
  public static let classNames = [
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
  ]
  public let rank: Int
  public let average: Bool
  public let keepdims: Bool
  public let dataFormat: DataFormat
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    rank = spatialRank(c.className)
    average = c.className.hasPrefix("GlobalAv")
    keepdims = try c.bool("keepdims", default: false)
    dataFormat = try c.dataFormat()
    label = c.label
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs, rank: rank + 2)
    let channels = spatial(x, rank: rank, dataFormat).channels
    guard keepdims else { return LayerSignature(outputs: [[x[0], channels]]) }
    return LayerSignature(outputs: [assemble(x[0], Array(repeating: 1, count: rank), channels: channels, dataFormat)])
  }
}

/// tf_keras's `LocallyConnected1D/2D`: a convolution whose kernel differs at every output
/// position; bias (outputs…, filters) in either data format. Implementation 1 (the default)
/// reads each window in (k₁, …, C) order, channels first in (C, k₁, …) order, and takes `valid`
/// padding only.
public struct LocallyConnected: LayerDefinition {
  public static let classNames = ["LocallyConnected1D", "LocallyConnected2D"]
  public let rank: Int
  public let filters: Int
  public let window: Window
  public let dataFormat: DataFormat
  public let useBias: Bool
  public let activation: Activation
  /// How tf_keras stores the kernel: 1, one (k₁·…·C, filters) matrix per output position;
  /// 2, a dense (in…, C, out…, filters) tensor that a 0/1 mask restricts to each window
  /// ((C, in…, filters, out…) channels first); 3, the window's entries only, a flat vector in
  /// the sorted order of their (output index, input index) pairs.
  public let implementation: Int
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    rank = spatialRank(c.className)
    filters = try c.int("filters")
    window = try convolutionWindow(c, rank: rank)
    implementation = try c.int("implementation", default: 1)
    guard (1...3).contains(implementation) else { throw c.error("has implementation \(implementation), which Keras does not define") }
    guard window.padding == .valid || (window.padding == .same && implementation > 1) else {
      throw c.error("has padding \(window.padding.rawValue); implementation \(implementation) takes \(implementation == 1 ? "valid only" : "valid or same")")
    }
    guard window.dilation.allSatisfy({ $0 == 1 }) else { throw c.error("has a dilation rate, which locally connected layers do not take") }
    dataFormat = try c.dataFormat()
    useBias = try c.bool("use_bias", default: true)
    activation = try c.activation()
    label = c.label
  }

  /// The input positions along `axis` that output position `position` reads, as tf_keras's
  /// `conv_connected_inputs` gives them: the window, clipped to the input (with `same` padding
  /// the window is centred on `position · stride`).
  public func connected(axis: Int, position: Int, inputLength: Int) -> Range<Int> {
    let k = window.kernel[axis]
    let left = k / 2
    var center = position * window.strides[axis]
    if window.padding == .valid { center += left }
    let start = max(0, center - left)
    return start..<max(start, min(inputLength, center + k - left))
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs, rank: rank + 2)
    let (dims, ch) = spatial(x, rank: rank, dataFormat)
    let channels = try label.known(ch, "input channels")
    var out: [Int] = [], input: [Int] = []
    var windowEntries = 1
    for i in 0..<rank {
      let n = try label.known(dims[i], "input length")
      guard let o = window.outputLength(n, axis: i), o > 0 else { throw label.error("has no output position on an axis of \(n)") }
      out.append(o)
      input.append(n)
      windowEntries = saturatingProduct([windowEntries, (0..<o).reduce(0) { $0 + connected(axis: i, position: $1, inputLength: n).count }])
    }
    let positions = saturatingProduct(out)
    let patch = saturatingProduct(window.kernel + [channels])
    let kernel: [Int]
    let formula: String
    switch implementation {
    case 1:
      kernel = [positions, patch, filters]
      formula = "\(positions) × \(patch) × \(filters)"
    case 2:
      kernel = dataFormat == .channelsFirst ? [channels] + input + [filters] + out : input + [channels] + out + [filters]
      formula = "\(saturatingProduct(input)) × \(channels) × \(positions) × \(filters)"
    default:
      kernel = [saturatingProduct([windowEntries, channels, filters])]
      formula = "\(windowEntries) × \(channels) × \(filters)"
    }
    var weights = [WeightSpec("kernel", kernel)]
    if useBias { weights.append(WeightSpec("bias", out + [filters])) }
    return LayerSignature(
      outputs: [assemble(x[0], out, channels: filters, dataFormat)], weights: weights,
      formula: formula + (useBias ? " + \(positions) × \(filters)" : ""),
      flops: saturatingProduct([2, windowEntries, channels, filters]))
  }
}
