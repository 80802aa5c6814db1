import KerasModel

extension Convolution: RunnableLayer {
  func unsupportedReason(keras3: Bool) -> String? {
    if rank == 3 && groups > 1 { return "grouped 3-D convolutions are not supported" }
    return Activations.unsupported(activation)
  }

  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    try requireWeights(weights, 1, "a kernel")
    let (w, b) = (weights[0], optionalBias(weights, after: 1, useBias))
    let (window, groups, rank, format, activation) = (window, groups, rank, dataFormat, activation)
    return .unary(keepMask: false) { x throws(RuntimeError) in
      let y = try inChannelsLast(x, format) { input in
        rank == 3
          ? VolumeKernels.conv(input, kernel: w, bias: b, window: window)
          : ConvolutionKernels.conv(input, kernel: w, bias: b, geometry: ConvolutionKernels.planar(window), groups: groups)
      }
      return try Activations.apply(activation, to: y, keras3: keras3)
    }
  }
}

extension DepthwiseConvolution: RunnableLayer {
  func unsupportedReason(keras3: Bool) -> String? { Activations.unsupported(activation) }

  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    try requireWeights(weights, 1, "a depthwise kernel")
    let (w, b) = (weights[0], optionalBias(weights, after: 1, useBias))
    let (window, m, format, activation) = (window, depthMultiplier, dataFormat, activation)
    return .unary(keepMask: false) { x throws(RuntimeError) in
      let y = try inChannelsLast(x, format) { VolumeKernels.depthwise($0, kernel: w, bias: b, window: window, multiplier: m) }
      return try Activations.apply(activation, to: y, keras3: keras3)
    }
  }
}

extension SeparableConvolution: RunnableLayer {
  func unsupportedReason(keras3: Bool) -> String? { Activations.unsupported(activation) }

  /// The depthwise convolution (no bias), then the pointwise one as a product over channels.
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    try requireWeights(weights, 2, "depthwise and pointwise kernels")
    let (dw, pw, b) = (weights[0], weights[1], optionalBias(weights, after: 2, useBias))
    let pointwise = pw.reshaped([pw.count / filters, filters])
    let (window, m, format, activation) = (depthwise.window, depthwise.depthMultiplier, depthwise.dataFormat, activation)
    return .unary(keepMask: false) { x throws(RuntimeError) in
      let y = try inChannelsLast(x, format) { input in
        let d = VolumeKernels.depthwise(input, kernel: dw, bias: nil, window: window, multiplier: m)
        return Linear.dense(d, kernel: pointwise, bias: b)
      }
      return try Activations.apply(activation, to: y, keras3: keras3)
    }
  }
}

extension TransposedConvolution: RunnableLayer {
  func unsupportedReason(keras3: Bool) -> String? { Activations.unsupported(activation) }

  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    try requireWeights(weights, 1, "a kernel")
    let (w, b) = (weights[0], optionalBias(weights, after: 1, useBias))
    let (window, rank, format, activation, outputPadding) = (window, rank, dataFormat, activation, outputPadding)
    return .unary(keepMask: false) { x throws(RuntimeError) in
      let y = try inChannelsLast(x, format) { input in
        let sizes = (0..<rank).map { window.transposedLength(input.shape[1 + $0], axis: $0, outputPadding: outputPadding?[$0])! }
        return VolumeKernels.transposed(input, kernel: w, bias: b, window: window, outSizes: sizes)
      }
      return try Activations.apply(activation, to: y, keras3: keras3)
    }
  }
}

extension Pooling: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let (window, average, format, rank) = (window, average, dataFormat, rank)
    return .unary(keepMask: false) { x throws(RuntimeError) in
      try inChannelsLast(x, format) { input in
        rank == 3
          ? VolumeKernels.pool(input, window: window, average: average)
          : ConvolutionKernels.pool(input, geometry: ConvolutionKernels.planar(window), average: average)
      }
    }
  }
}

extension GlobalPooling: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let (average, keepdims, format) = (average, keepdims, dataFormat)
    return Kernel { inputs, _ in
      let x = inputs[0]
      // A mask (1-D sequences) leaves masked steps out of the average.
      let input = format == .channelsFirst ? Elementwise.channelsLast(x.tensor) : x.tensor
      let y = ConvolutionKernels.globalPool(input, average: average, keepdims: keepdims, mask: average && format == .channelsLast ? x.mask : nil)
      return [Value(tensor: keepdims && format == .channelsFirst ? Elementwise.channelsFirst(y) : y, mask: nil)]
    }
  }
}

extension LocallyConnected: RunnableLayer {
  func unsupportedReason(keras3: Bool) -> String? {
    // tf_keras reads a channels-first window in (C, k₁, …) order.
    if dataFormat == .channelsFirst { return "channels_first locally connected layers are not supported" }
    return Activations.unsupported(activation)
  }

  /// Each output position's window, in (k₁, …, C) order, times that position's own kernel.
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    try requireWeights(weights, 1, "a kernel")
    let (w, b) = (weights[0], optionalBias(weights, after: 1, useBias))
    let (window, filters, activation) = (VolumeKernels.window3(window), filters, activation)
    return .unary(keepMask: false) { x throws(RuntimeError) in
      let v = VolumeKernels.volume(x)
      let (out, _) = VolumeKernels.geometry(v, window)
      let positions = out.reduce(1, *)
      let patch = window.kernel.reduce(1, *) * v.channels
      guard w.shape == [positions, patch, filters] else { throw RuntimeError("kernel \(w.shape) does not fit input \(x.shape)") }
      var result = [Float](repeating: 0, count: v.batch * positions * filters)
      var window3 = [Float](repeating: 0, count: patch)
      for bi in 0..<v.batch {
        for p in 0..<positions {
          let (od, oh, ow) = (p / (out[1] * out[2]), (p / out[2]) % out[1], p % out[2])
          var k = 0
          for kd in 0..<window.kernel[0] {
            for kh in 0..<window.kernel[1] {
              for kw in 0..<window.kernel[2] {
                let (z, y, xx) = (od * window.strides[0] + kd, oh * window.strides[1] + kh, ow * window.strides[2] + kw)
                let s = (((bi * v.depth + z) * v.height + y) * v.width + xx) * v.channels
                for c in 0..<v.channels { window3[k] = x.data[s + c]; k += 1 }
              }
            }
          }
          let o = (bi * positions + p) * filters
          for f in 0..<filters { result[o + f] = b?.data[p * filters + f] ?? 0 }
          for j in 0..<patch {
            let xv = window3[j]
            let row = (p * patch + j) * filters
            for f in 0..<filters { result[o + f] += xv * w.data[row + f] }
          }
        }
      }
      let y = Tensor(shape: VolumeKernels.shape(x.rank, batch: v.batch, out, channels: filters), data: result)
      return try Activations.apply(activation, to: y, keras3: keras3)
    }
  }
}
