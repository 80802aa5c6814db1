import KerasModel

extension Rescaling: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let (scale, offset) = (scale.map(Float.init), offset.map(Float.init))
    return .unary { x in
      let n = x.last
      var out = x.data
      for i in out.indices {
        let c = i % n
        out[i] = out[i] * scale[scale.count == 1 ? 0 : c] + offset[offset.count == 1 ? 0 : c]
      }
      return Tensor(shape: x.shape, data: out)
    }
  }
}

extension FeatureNormalization: RunnableLayer {
  /// (x − mean) / max(√variance, ε), ε = 1e-7 (Keras's backend epsilon); inverted: mean + x · max(√variance, ε).
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let mean: [Float], variance: [Float]
    if let m = self.mean, let v = self.variance {
      (mean, variance) = (m.map(Float.init), v.map(Float.init))
    } else {
      try requireWeights(weights, 2, "mean and variance")
      (mean, variance) = (weights[0].data, weights[1].data)
    }
    let (axis, invert) = (axis, invert)
    let deviation = variance.map { max($0.squareRoot(), 1e-7) }
    return .unary { x throws(RuntimeError) in
      let axes = resolve(axis, x.rank)
      let size = axes.reduce(1) { $0 * x.shape[$1] }
      func spread(_ v: [Float]) throws(RuntimeError) -> [Float] {
        if v.count == size { return v }
        guard v.count == 1 else { throw RuntimeError("has \(v.count) mean or variance values for \(size) features") }
        return Array(repeating: v[0], count: size)
      }
      let (m, d) = (try spread(mean), try spread(deviation))
      if invert { return Elementwise.affine(x, axes: axes, scale: d, shift: m) }
      return Elementwise.affine(x, axes: axes, scale: d.map { 1 / $0 }, shift: zip(m, d).map { -$0 / $1 })
    }
  }
}

extension CenterCrop: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let (height, width, format) = (target.height, target.width, target.dataFormat)
    return .unary(keepMask: false) { x throws(RuntimeError) in
      try inChannelsLast(x, format) { y throws(RuntimeError) in
        guard y.rank == 4 else { throw RuntimeError("CenterCrop of a rank-\(y.rank) input is not supported") }
        let (h, w) = (y.shape[1], y.shape[2])
        guard h >= height, w >= width else { throw RuntimeError("CenterCrop to \(height)×\(width) of a smaller \(h)×\(w) image is not supported") }
        let top = (h - height) / 2, left = (w - width) / 2
        return VolumeKernels.pad(y, [Pair(top, h - height - top), Pair(left, w - width - left)], sign: -1)
      }
    }
  }
}

extension Resizing: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let (height, width, format, method, antialias) = (height, width, dataFormat, interpolation, antialias)
    let (crop, pad, fill) = (cropToAspectRatio, padToAspectRatio, Float(fillValue))
    return .unary(keepMask: false) { x throws(RuntimeError) in
      try inChannelsLast(x, format) { y throws(RuntimeError) in
        try Self.resize(y, height: height, width: width, method: method, antialias: antialias, crop: crop, pad: pad, fill: fill)
      }
    }
  }

  /// A channels-last batch of images resized as Keras resizes it, first cropped or padded to the
  /// target's aspect ratio when asked.
  static func resize(
    _ y: Tensor, height: Int, width: Int, method: UpSampling.Interpolation, antialias: Bool = false,
    crop: Bool, pad: Bool = false, fill: Float = 0
  ) throws(RuntimeError) -> Tensor {
    guard y.rank == 4 else { throw RuntimeError("Resizing of a rank-\(y.rank) input is not supported") }
    var image = y
    let (h, w) = (y.shape[1], y.shape[2])
    // Keras 3's (and tf_keras's smart_resize) integer arithmetic: truncated, centred.
    if crop {
      let ch = max(min(h, Int(Float(w * height) / Float(width))), 1)
      let cw = max(min(w, Int(Float(h * width) / Float(height))), 1)
      let (top, left) = (Int(Float(h - ch) / 2), Int(Float(w - cw) / 2))
      image = VolumeKernels.pad(y, [Pair(top, h - ch - top), Pair(left, w - cw - left)], sign: -1)
    } else if pad {
      // Keras 3.15 pads the same amount, half the difference rounded down, on both sides
      // (an odd difference leaves the image one row or column short of the ratio).
      let top = Int(Float(max(h, Int(Float(w * height) / Float(width))) - h) / 2)
      let left = Int(Float(max(w, Int(Float(h * width) / Float(height))) - w) / 2)
      let (ph, pw) = (h + 2 * top, w + 2 * left)
      image = VolumeKernels.pad(y, [Pair(top, top), Pair(left, left)], sign: 1)
      if fill != 0 {
        let c = y.shape[3]
        for b in 0..<y.shape[0] {
          for i in 0..<ph {
            for j in 0..<pw where i < top || i >= top + h || j < left || j >= left + w {
              for k in 0..<c { image.data[((b * ph + i) * pw + j) * c + k] = fill }
            }
          }
        }
      }
    }
    return Resampling.resize(image, height: height, width: width, method: method, antialias: antialias)
  }
}

extension RandomCrop: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    if keras3 { return Kernel { inputs, _ in Array(inputs.prefix(1)) } }
    let (height, width, format) = (target.height, target.width, target.dataFormat)
    return .unary(keepMask: false) { x throws(RuntimeError) in
      try inChannelsLast(x, format) { y throws(RuntimeError) in
        try Resizing.resize(y, height: height, width: width, method: .bilinear, crop: true)
      }
    }
  }
}

extension AutoContrast: RunnableLayer {
  /// As Keras 3 computes it in float32: to [0, 255], stretched by the minimum and maximum over
  /// axes 1 and 2, clipped, back to the value range; where the stretch is not a number (a
  /// constant slice: 0 · ∞), the input value.
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let (lo, hi) = (Float(low), Float(high))
    let identityRange = lo == 0 && hi == 255
    return .unary { x throws(RuntimeError) in
      guard x.rank == 4 else { throw RuntimeError("AutoContrast of a rank-\(x.rank) input is not supported") }
      let (batch, a, b, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
      let toPixels = identityRange ? x.data : x.data.map { ($0 - lo) / (hi - lo) * 255 + 0 }
      var out = x.data
      for n in 0..<batch {
        for k in 0..<c {
          var (least, most) = (Float.infinity, -Float.infinity)
          for i in 0..<(a * b) {
            let v = toPixels[(n * a * b + i) * c + k]
            least = min(least, v)
            most = max(most, v)
          }
          let scale = 255 / (most - least)
          let offset = -least * scale
          for i in 0..<(a * b) {
            let index = (n * a * b + i) * c + k
            let stretched = min(max(toPixels[index] * scale + offset, 0), 255)
            let back = identityRange ? stretched : (stretched - 0) / (255 - 0) * (hi - lo) + lo
            out[index] = back.isNaN ? x.data[index] : back
          }
        }
      }
      return Tensor(shape: x.shape, data: out)
    }
  }
}

extension InferenceAugmentation: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel { Kernel { inputs, _ in Array(inputs.prefix(1)) } }
}

extension CategoryEncoding: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let (tokens, mode) = (tokens, mode)
    return .unary(keepMask: false) { x throws(RuntimeError) in
      func id(_ v: Float) throws(RuntimeError) -> Int {
        guard let i = Int(exactly: v), i >= 0, i < tokens else { throw RuntimeError("input \(v) is not a token id in 0..<\(tokens)") }
        return i
      }
      if mode == .oneHot, x.shape.last != 1 || x.rank == 1 {
        var out = [Float](repeating: 0, count: x.count * tokens)
        for (i, v) in x.data.enumerated() { out[i * tokens + (try id(v))] = 1 }
        return Tensor(shape: x.shape + [tokens], data: out)
      }
      // multi_hot and count (and one_hot of a trailing axis of 1) over the last axis.
      let width = x.rank == 1 ? 1 : x.last
      let rows = x.count / max(1, width)
      var out = [Float](repeating: 0, count: rows * tokens)
      for r in 0..<rows {
        for j in 0..<width {
          let k = r * tokens + (try id(x.data[r * width + j]))
          out[k] = mode == .count ? out[k] + 1 : 1
        }
      }
      return Tensor(shape: (x.rank == 1 ? x.shape : Array(x.shape.dropLast())) + [tokens], data: out)
    }
  }
}

extension Discretization: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let boundaries = boundaries.map(Float.init)
    return .unary(keepMask: false) { x in
      x.map { v in Float(boundaries.reduce(0) { $0 + (v >= $1 ? 1 : 0) }) }
    }
  }
}

extension IntegerLookup: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let offset = (maskToken == nil ? 0 : 1) + oovIndices
    var index: [Int: Int] = [:]
    for (i, token) in vocabulary.enumerated() where index[token] == nil { index[token] = i + offset }
    let (mask, oov, invert, vocabulary, oovToken) = (maskToken, maskToken == nil ? 0 : 1, invert, vocabulary, oovToken)
    return .unary(keepMask: false) { x throws(RuntimeError) in
      try Tensor(shape: x.shape, data: x.data.map { v throws(RuntimeError) -> Float in
        guard let token = Int(exactly: v) else { throw RuntimeError("input \(v) is not an integer token") }
        if invert {
          if let mask, token == 0 { return Float(mask) }
          let i = token - offset
          return i >= 0 && i < vocabulary.count ? Float(vocabulary[i]) : Float(oovToken)
        }
        if let mask, token == mask { return 0 }
        return Float(index[token] ?? oov)
      })
    }
  }
}
