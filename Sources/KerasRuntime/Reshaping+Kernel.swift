import KerasModel

extension Flatten: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let format = dataFormat
    return .unary(keepMask: false) { x in
      // Keras flattens channels-first inputs in channels-last order.
      let y = format == .channelsFirst ? Elementwise.channelsLast(x) : x
      return y.reshaped([y.shape[0], y.count / max(1, y.shape[0])])
    }
  }
}

extension Reshape: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let definition = self
    return .unary(keepMask: false) { x throws(RuntimeError) in
      let batch = x.shape[0]
      let target = definition.resolved(elements: x.count / max(1, batch)).map { $0 ?? 0 }
      guard saturatingProduct(target + [batch]) == x.count else { throw RuntimeError("cannot reshape \(x.shape) to \(target)") }
      return x.reshaped([batch] + target)
    }
  }
}

extension Permute: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let dims = dims
    return .unary(keepMask: false) { x in Elementwise.permute(x, dims: dims) }
  }
}

extension RepeatVector: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let n = n
    return .unary(keepMask: false) { x in
      let (batch, features) = (x.shape[0], x.last)
      var out: [Float] = []
      out.reserveCapacity(batch * n * features)
      for b in 0..<batch { for _ in 0..<n { out += x.data[(b * features)..<((b + 1) * features)] } }
      return Tensor(shape: [batch, n, features], data: out)
    }
  }
}

extension ZeroPadding: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let (padding, format) = (padding, dataFormat)
    return .unary(keepMask: false) { x throws(RuntimeError) in
      try inChannelsLast(x, format) { VolumeKernels.pad($0, padding, sign: 1) }
    }
  }
}

extension Cropping: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let (cropping, format) = (cropping, dataFormat)
    return .unary(keepMask: false) { x throws(RuntimeError) in
      try inChannelsLast(x, format) { VolumeKernels.pad($0, cropping, sign: -1) }
    }
  }
}

extension UpSampling: RunnableLayer {
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel {
    let (size, format, interpolation) = (size, dataFormat, interpolation)
    return .unary(keepMask: false) { x throws(RuntimeError) in
      try inChannelsLast(x, format) { y in
        interpolation == .nearest
          ? VolumeKernels.repeatPositions(y, size: size)
          : Resampling.resize(y, height: y.shape[1] * size[0], width: y.shape[2] * size[1], method: interpolation, antialias: false)
      }
    }
  }
}
