import Foundation
import KerasModel

/// Image resizing as TensorFlow's `tf.image.resize` computes it (the backend of tf_keras and of
/// Keras 3 on TensorFlow), over channels-last batches: nearest and bilinear with half-pixel
/// centres, bicubic (Keys, a = −0.5, weights from TensorFlow's 1024-step table), area (each
/// output pixel the mean of the input area it covers), and the kernels of `scale_and_translate`
/// (lanczos3/5, gaussian, mitchellcubic, and bilinear / bicubic when antialiased), whose kernel
/// widens by the downsampling factor when `antialias` is set.
enum Resampling {
  static func resize(_ x: Tensor, height: Int, width: Int, method: UpSampling.Interpolation, antialias: Bool) -> Tensor {
    let (h, w) = (x.shape[1], x.shape[2])
    // Nearest ignores antialias; an empty image resizes to zeros.
    guard h > 0, w > 0, method != .nearest else { return VolumeKernels.resize(x, height: height, width: width, bilinear: false) }
    switch (method, antialias) {
    case (.bilinear, false): return VolumeKernels.resize(x, height: height, width: width, bilinear: true)
    case (.bicubic, false):
      return separable(x, rows: (0..<height).map { bicubic($0, Float(h) / Float(height), h) },
                       cols: (0..<width).map { bicubic($0, Float(w) / Float(width), w) }, height: height, width: width)
    case (.area, _): return area(x, height: height, width: width)
    default:
      let kernel = SamplingKernel(method)
      return separable(x, rows: spans(kernel, output: height, input: h, antialias: antialias),
                       cols: spans(kernel, output: width, input: w, antialias: antialias), height: height, width: width)
    }
  }

  /// The input positions and weights of one output position along one axis.
  struct Span {
    var start: Int
    var weights: [Float]
  }

  /// Rows first (into an (out height, in width) image), then columns, as TensorFlow sums them.
  static func separable(_ x: Tensor, rows: [Span], cols: [Span], height: Int, width: Int) -> Tensor {
    let (batch, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    var middle = [Float](repeating: 0, count: batch * height * w * c)
    for b in 0..<batch {
      for (i, span) in rows.enumerated() {
        let o = (b * height + i) * w * c
        for (t, weight) in span.weights.enumerated() {
          let s = (b * h + span.start + t) * w * c
          for k in 0..<(w * c) { middle[o + k] += weight * x.data[s + k] }
        }
      }
    }
    var out = [Float](repeating: 0, count: batch * height * width * c)
    for r in 0..<(batch * height) {
      for (j, span) in cols.enumerated() {
        let o = (r * width + j) * c
        for (t, weight) in span.weights.enumerated() {
          let s = (r * w + span.start + t) * c
          for k in 0..<c { out[o + k] += weight * middle[s + k] }
        }
      }
    }
    return Tensor(shape: [batch, height, width, c], data: out)
  }

  /// `resize_bicubic` with half-pixel centres: four taps from the Keys table (a = −0.5); taps
  /// outside the image get weight 0 and the rest are renormalised.
  static func bicubic(_ o: Int, _ scale: Float, _ n: Int) -> Span {
    let table = keysTable
    let position = (Float(o) + 0.5) * scale - 0.5
    let base = Int(position.rounded(.down))
    let offset = Int((( position - Float(base)) * Float(tableSize)).rounded(.toNearestOrEven))
    let taps: [Float] = [table[offset * 2 + 1], table[offset * 2], table[(tableSize - offset) * 2], table[(tableSize - offset) * 2 + 1]]
    var weights: [Float] = [], start = -1
    var sum: Float = 0
    for t in 0..<4 {
      let i = base - 1 + t
      guard i >= 0, i < n else { continue }
      if start < 0 { start = i }
      weights.append(taps[t])
      sum += taps[t]
    }
    if abs(sum) >= 1000 * Float.leastNormalMagnitude { weights = weights.map { $0 * (1 / sum) } }
    return Span(start: max(start, 0), weights: weights)
  }

  static let tableSize = 1024
  /// TensorFlow's table of Keys cubic weights (a = −0.5) at x and x + 1, x in steps of 1/1024.
  static let keysTable: [Float] = {
    let a: Float = -0.5
    var table = [Float](repeating: 0, count: (tableSize + 1) * 2)
    for i in 0...tableSize {
      var x = Float(Double(i) * 1.0 / Double(tableSize))
      table[i * 2] = ((a + 2) * x - (a + 3)) * x * x + 1
      x += 1
      table[i * 2 + 1] = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    }
    return table
  }()

  /// `resize_area`: each output pixel is the mean of the input pixels it covers, each weighted
  /// by the fraction of it that is covered.
  static func area(_ x: Tensor, height: Int, width: Int) -> Tensor {
    let (h, w) = (x.shape[1], x.shape[2])
    func cover(_ o: Int, _ scale: Float, _ n: Int) -> Span {
      let (from, to) = (Float(o) * scale, Float(o + 1) * scale)
      let start = Int(from.rounded(.down))
      let end = Int(to.rounded(.up))
      // An index past the edge (float rounding of the last edge) reads the edge pixel, as
      // TensorFlow bounds it.
      let last = min(start, n - 1)
      var weights = [Float](repeating: 0, count: max(1, min(end, n) - last))
      for i in start..<max(start, end) { weights[min(i, n - 1) - last] += min(Float(i + 1), to) - max(Float(i), from) }
      return Span(start: last, weights: weights)
    }
    let (sy, sx) = (Float(h) / Float(height), Float(w) / Float(width))
    let norm = 1 / (sy * sx)
    let rows = (0..<height).map { cover($0, sy, h) }
    let cols = (0..<width).map { cover($0, sx, w) }
    var y = separable(x, rows: rows, cols: cols, height: height, width: width)
    for i in y.data.indices { y.data[i] *= norm }
    return y
  }

  /// The sampling kernels of `scale_and_translate`.
  struct SamplingKernel {
    let radius: Float
    let value: @Sendable (Float) -> Float

    init(_ method: UpSampling.Interpolation) {
      switch method {
      case .lanczos3, .lanczos5:
        let r: Float = method == .lanczos3 ? 3 : 5
        radius = r
        value = { x in
          let pi: Float = 3.14159265359
          if x > r { return 0 }
          if x <= 1e-3 { return 1 }
          return r * sin(pi * x) * sin(pi * x / r) / (pi * pi * x * x)
        }
      case .gaussian:
        radius = 1.5
        value = { x in x >= 1.5 ? 0 : Float(exp(Double(-x * x) / (2.0 * 0.5 * 0.5))) }
      case .mitchellcubic:
        radius = 2
        value = { x in
          if x >= 2 { return 0 }
          if x >= 1 { return (((-7.0 / 18.0) * x + 2.0) * x - 10.0 / 3.0) * x + 16.0 / 9.0 }
          return (((7.0 / 6.0) * x - 2.0) * x) * x + 8.0 / 9.0
        }
      case .bicubic:
        radius = 2
        value = { x in
          if x >= 2 { return 0 }
          if x >= 1 { return ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0 }
          return ((1.5 * x - 2.5) * x) * x + 1.0
        }
      default:  // triangle: antialiased bilinear
        radius = 1
        value = { x in x < 1 ? 1 - x : 0 }
      }
    }
  }

  /// `ComputeSpansCore` of `scale_and_translate` (no translation).
  static func spans(_ kernel: SamplingKernel, output: Int, input: Int, antialias: Bool) -> [Span] {
    let scale = Float(output) / Float(input)
    let inverse = 1 / scale
    let kernelScale = antialias ? max(inverse, 1) : 1
    let reach = kernel.radius * kernelScale
    return (0..<output).map { x in
      let sample = (Float(x) + 0.5) * inverse
      guard sample >= 0, sample <= Float(input) else { return Span(start: 0, weights: []) }
      let start = min(max(Int((sample - reach - 0.5).rounded(.up)), 0), input - 1)
      let end = min(max(Int((sample + reach - 0.5).rounded(.down)), 0), input - 1) + 1
      var weights: [Float] = []
      var total: Float = 0
      for source in start..<end {
        let weight = kernel.value(abs((Float(source) + 0.5 - sample) * (1 / kernelScale)))
        weights.append(weight)
        total += weight
      }
      if abs(total) >= 1000 * Float.leastNormalMagnitude { weights = weights.map { $0 * (1 / total) } }
      else { weights = weights.map { _ in 0 } }
      return Span(start: start, weights: weights)
    }
  }
}
