import KerasModel

extension Convolution: EpilogueFusable {
  func unsupportedReason(keras3: Bool) -> String? {
    if rank == 3 && groups > 1 { return "grouped 3-D convolutions are not supported" }
    return Activations.unsupported(activation)
  }

  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel { try kernel(weights: weights, keras3: keras3, epilogue: nil) }

  func kernel(weights: [Tensor], keras3: Bool, epilogue: Activations.Elementwise?) throws(RuntimeError) -> Kernel {
    try requireWeights(weights, 1, "a kernel")
    return kernel(weights[0], bias: optionalBias(weights, after: 1, useBias), keras3: keras3, epilogue: epilogue)
  }

  func kernel(_ w: Tensor, bias b: Tensor?, keras3: Bool) -> Kernel { kernel(w, bias: b, keras3: keras3, epilogue: nil) }

  /// With `epilogue`, an activation applied after the layer's own: by the product itself, block
  /// by block, when the layer's own is linear and the kernel packed.
  func kernel(_ w: Tensor, bias b: Tensor?, keras3: Bool, epilogue: Activations.Elementwise?) -> Kernel {
    let (window, groups, rank, format, activation) = (window, groups, rank, dataFormat, activation)
    // An ungrouped 1-D or 2-D kernel is packed for the matrix product once, here.
    let packed = rank < 3 && groups == 1 ? PackedMatrix(w.data, k: w.count / filters, n: filters) : nil
    let inProduct = packed != nil && activation.name == "linear" ? epilogue : nil
    let size = rank == 1 ? (1, window.kernel[0]) : (window.kernel[0], window.kernel.count > 1 ? window.kernel[1] : 1)
    // The kernel keeps only the copy it computes with: the packed one, or else the plain weights.
    let plain = packed == nil ? w : Tensor(shape: [0], data: [])
    return .unary(keepMask: false) { x throws(RuntimeError) in
      let y = try inChannelsLast(x, format) { input in
        if let packed {
          return ConvolutionKernels.conv(input, packed: packed, kernelSize: size, bias: b, geometry: ConvolutionKernels.planar(window), epilogue: inProduct)
        }
        let w = plain
        return rank == 3
          ? VolumeKernels.conv(input, kernel: w, bias: b, window: window)
          : ConvolutionKernels.conv(input, kernel: w, bias: b, geometry: ConvolutionKernels.planar(window), groups: groups)
      }
      var z = try Activations.apply(activation, to: y, keras3: keras3)
      if let epilogue, inProduct == nil, z.count > 0 { z.data.withUnsafeMutableBufferPointer { epilogue.apply($0.baseAddress!, $0.count) } }
      return z
    }
  }
}

extension DepthwiseConvolution: RunnableLayer {
  func unsupportedReason(keras3: Bool) -> String? { Activations.unsupported(activation) }

  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    try requireWeights(weights, 1, "a depthwise kernel")
    return kernel(weights[0], bias: optionalBias(weights, after: 1, useBias), keras3: keras3)
  }

  func kernel(_ w: Tensor, bias b: Tensor?, keras3: Bool) -> Kernel {
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
    let (window, average, format) = (window, average, dataFormat)
    return .unary(keepMask: false) { x throws(RuntimeError) in
      try inChannelsLast(x, format) { VolumeKernels.pool($0, window: window, average: average) }
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
  func unsupportedReason(keras3: Bool) -> String? { Activations.unsupported(activation) }

  /// Every implementation's kernel regrouped as one (window entries, C, filters) block per
  /// output position, then each position's window times its block, channels last.
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    try requireWeights(weights, 1, "a kernel")
    let (w, b) = (weights[0], optionalBias(weights, after: 1, useBias))
    let (format, filters, activation) = (dataFormat, filters, activation)
    let channelsFirst = format == .channelsFirst
    return .unary(keepMask: false) { x throws(RuntimeError) in
      try inChannelsLast(x, format) { y throws(RuntimeError) in
        let plan = try self.plan(w, input: Array(y.shape.dropFirst().dropLast()), channels: y.shape.last!)
        let (positions, channels, batch) = (plan.starts.count - 1, y.shape.last!, y.shape[0])
        let inputPositions = y.count / max(1, batch * channels)
        if let b, b.count != positions * filters { throw RuntimeError("bias \(b.shape) does not fit \(positions) output positions") }
        var result = [Float](repeating: 0, count: batch * positions * filters)
        for bi in 0..<batch {
          for p in 0..<positions {
            let o = (bi * positions + p) * filters
            // tf_keras adds a channels-first bias reshaped, not transposed, to (filters, out…).
            if let b { for f in 0..<filters { result[o + f] = b.data[channelsFirst ? f * positions + p : p * filters + f] } }
            for j in plan.starts[p]..<plan.starts[p + 1] {
              let source = (bi * inputPositions + plan.inputs[j]) * channels
              for c in 0..<channels {
                let xv = y.data[source + c]
                let row = (j * channels + c) * filters
                for f in 0..<filters { result[o + f] += xv * plan.weights[row + f] }
              }
            }
          }
        }
        let shape = [batch] + plan.outputDims + [filters]
        return try Activations.apply(activation, to: Tensor(shape: shape, data: result), keras3: keras3)
      }
    }
  }

  /// Each output position's connected input positions (flattened, row-major) and their
  /// (C, filters) weights.
  struct Plan {
    var outputDims: [Int]
    /// Output position p reads entries starts[p]..<starts[p + 1] of `inputs`.
    var starts: [Int]
    var inputs: [Int]
    /// (entry, C, filters), entries in the order of `inputs`.
    var weights: [Float]
  }

  func plan(_ w: Tensor, input dims: [Int], channels: Int) throws(RuntimeError) -> Plan {
    let outDims = dims.indices.map { window.outputLength(dims[$0], axis: $0) ?? 0 }
    let (positions, inputPositions) = (outDims.reduce(1, *), dims.reduce(1, *))
    let F = filters
    // Row-major multi-indices, and each output position's window as Keras enumerates it.
    func unravel(_ flat: Int, _ shape: [Int]) -> [Int] {
      var rest = flat
      var index = [Int](repeating: 0, count: shape.count)
      for a in stride(from: shape.count - 1, through: 0, by: -1) { index[a] = rest % shape[a]; rest /= shape[a] }
      return index
    }
    var starts = [0], inputs: [Int] = []
    for p in 0..<positions {
      let position = unravel(p, outDims)
      let ranges = dims.indices.map { connected(axis: $0, position: position[$0], inputLength: dims[$0]) }
      let count = ranges.reduce(1) { $0 * $1.count }
      for k in 0..<count {
        var rest = k, flat = 0, step = 1
        var offsets = [Int](repeating: 0, count: ranges.count)
        for a in stride(from: ranges.count - 1, through: 0, by: -1) { offsets[a] = rest % ranges[a].count; rest /= ranges[a].count }
        for a in stride(from: ranges.count - 1, through: 0, by: -1) { flat += (ranges[a].lowerBound + offsets[a]) * step; step *= dims[a] }
        inputs.append(flat)
      }
      starts.append(inputs.count)
    }
    var weights = [Float](repeating: 0, count: inputs.count * channels * F)
    let channelsFirst = dataFormat == .channelsFirst
    switch implementation {
    case 1:
      let patch = window.kernel.reduce(1, *)
      guard w.shape == [positions, patch * channels, F], inputs.count == positions * patch else {
        throw RuntimeError("kernel \(w.shape) does not fit an input of \(dims) × \(channels)")
      }
      for p in 0..<positions {
        for j in 0..<patch {
          for c in 0..<channels {
            let k = channelsFirst ? c * patch + j : j * channels + c
            for f in 0..<F { weights[((p * patch + j) * channels + c) * F + f] = w.data[(p * patch * channels + k) * F + f] }
          }
        }
      }
    case 2:
      guard w.count == inputPositions * channels * positions * F else {
        throw RuntimeError("kernel \(w.shape) does not fit an input of \(dims) × \(channels)")
      }
      for p in 0..<positions {
        for j in starts[p]..<starts[p + 1] {
          let q = inputs[j]
          for c in 0..<channels {
            for f in 0..<F {
              let source = channelsFirst
                ? ((c * inputPositions + q) * F + f) * positions + p
                : ((q * channels + c) * positions + p) * F + f
              weights[(j * channels + c) * F + f] = w.data[source]
            }
          }
        }
      }
    default:
      // The stored order: (output index, input index) pairs sorted, each index flattened over
      // (spatial…, channel) channels last or (channel, spatial…) channels first.
      guard w.count == weights.count else { throw RuntimeError("kernel \(w.shape) does not fit an input of \(dims) × \(channels)") }
      var entries: [(key: Int, destination: Int)] = []
      entries.reserveCapacity(weights.count)
      let inputSize = inputPositions * channels
      for p in 0..<positions {
        for j in starts[p]..<starts[p + 1] {
          for c in 0..<channels {
            let inIndex = channelsFirst ? c * inputPositions + inputs[j] : inputs[j] * channels + c
            for f in 0..<F {
              let outIndex = channelsFirst ? f * positions + p : p * F + f
              entries.append((outIndex * inputSize + inIndex, (j * channels + c) * F + f))
            }
          }
        }
      }
      entries.sort { $0.key < $1.key }
      for (t, entry) in entries.enumerated() { weights[entry.destination] = w.data[t] }
    }
    return Plan(outputDims: outDims, starts: starts, inputs: inputs, weights: weights)
  }
}
