import Dispatch
import KerasModel

/// Conv1D/Conv2D and pooling over channels-last inputs. A 1-D layer runs as 2-D with height 1.
enum Convolution {
  struct Geometry {
    let kernel: [Int]
    let strides: [Int]
    let dilation: [Int]
    let padding: String

    /// Output length and padding before the first element, as TensorFlow computes them.
    func axis(_ i: Int, length: Int) -> (out: Int, before: Int) {
      let span = (kernel[i] - 1) * dilation[i] + 1
      switch padding {
      case "same":
        let out = (length + strides[i] - 1) / strides[i]
        let total = max((out - 1) * strides[i] + span - length, 0)
        return (out, total / 2)
      case "causal":
        return ((length + strides[i] - 1) / strides[i], span - 1)
      default:
        return (max(0, (length - span) / strides[i] + 1), 0)
      }
    }
  }

  /// Views (batch, L, C) as (batch, 1, L, C) and back.
  static func as2D(_ x: Tensor) -> Tensor { x.rank == 3 ? x.reshaped([x.shape[0], 1, x.shape[1], x.shape[2]]) : x }

  static func geometry(_ config: JSONValue, rank: Int, key: String, defaultSize: Int? = nil) throws(RuntimeError) -> Geometry {
    func ints(_ k: String, _ fallback: Int?) throws(RuntimeError) -> [Int] {
      guard let list = config[k]?.intList, !list.isEmpty else {
        guard let fallback else { throw RuntimeError("config has no \(k)") }
        return Array(repeating: fallback, count: rank)
      }
      return list.count == rank ? list : Array(repeating: list[0], count: rank)
    }
    let kernel = try ints(key, defaultSize)
    let strides = (config["strides"]?.isNull ?? true) && key == "pool_size" ? kernel : try ints("strides", 1)
    let dilation = try ints("dilation_rate", 1)
    let g = Geometry(kernel: kernel, strides: strides, dilation: dilation, padding: config["padding"]?.string ?? "valid")
    // Pad height-1 views: a 1-D layer's geometry applies to the width axis.
    if rank == 1 {
      return Geometry(kernel: [1] + kernel, strides: [1] + strides, dilation: [1] + dilation, padding: g.padding)
    }
    return g
  }

  /// Convolution with kernel (kh, kw, C/groups, F) and optional bias.
  ///
  /// Ungrouped convolutions run as matrix products: each output position's window, (kh·kw·C)
  /// values in the kernel's own order, times the kernel viewed as (kh·kw·C, F). A 1-D window with
  /// dilation 1 is already contiguous in the (zero-padded) input, so its rows are read in place
  /// (`lda` = stride·C, rows overlapping); other windows are gathered a block of rows at a time.
  static func conv(_ input: Tensor, kernel: Tensor, bias: Tensor?, geometry g: Geometry, groups: Int) -> Tensor {
    guard groups == 1 else { return groupedConv(input, kernel: kernel, bias: bias, geometry: g, groups: groups) }
    let oneD = input.rank == 3
    let x = as2D(input)
    let (batch, height, width, channels) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let filters = kernel.shape.last!
    let (kh, kw) = (oneD ? 1 : kernel.shape[0], oneD ? kernel.shape[0] : kernel.shape[1])
    let (oh, padTop) = oneD ? (1, 0) : g.axis(0, length: height)
    let (ow, padLeft) = g.axis(1, length: width)
    let depth = kh * kw * channels
    var out = [Float](repeating: 0, count: batch * oh * ow * filters)
    guard !out.isEmpty else { return Tensor(shape: oneD ? [batch, ow, filters] : [batch, oh, ow, filters], data: out) }
    if let bias {
      fillRows(&out, rows: batch * oh * ow, with: bias.data)
    }
    let weights = PackedMatrix(kernel.data, k: depth, n: filters)
    x.data.withUnsafeBufferPointer { xp in
    out.withUnsafeMutableBufferPointer { op in
      let (xs, os) = (xp.baseAddress!, op.baseAddress!)
      if oneD && g.dilation[1] == 1 {
        // The input of one sample, zero-padded to cover every window: (padded length, C).
        let step = g.strides[1]
        let padded = max(width + padLeft, (ow - 1) * step + kw)
        // A batch splits over the cores by sample (each core keeps the whole packed kernel in
        // its cache, one dispatch per call); a single sample splits its product by columns.
        let cores = batch > 1 && ow * depth * filters * batch >= Linear.parallelThreshold ? min(ProcessInfoCores.count, batch) : 1
        let (sx, so) = (UInt(bitPattern: xs), UInt(bitPattern: os))
        DispatchQueue.concurrentPerform(iterations: cores) { part in
          let xs = UnsafePointer<Float>(bitPattern: sx)!, os = UnsafeMutablePointer<Float>(bitPattern: so)!
          let buffer = UnsafeMutablePointer<Float>.allocate(capacity: padded * channels)
          defer { buffer.deallocate() }
          buffer.initialize(repeating: 0, count: padded * channels)
          for b in stride(from: part, to: batch, by: cores) {
            (buffer + padLeft * channels).update(from: xs + b * width * channels, count: width * channels)
            Linear.matmul(buffer, packed: weights, os + b * ow * filters, m: ow, accumulate: true, lda: step * channels, parallel: cores == 1)
          }
        }
        return
      }
      // General case: gather windows for a block of output rows, then one product per block.
      let rowsPerBlock = max(1, min(oh, (1 << 20) / max(1, ow * depth)))
      var patches = [Float](repeating: 0, count: rowsPerBlock * ow * depth)
      patches.withUnsafeMutableBufferPointer { pp in
        let ps = pp.baseAddress!
        for b in 0..<batch {
          var i0 = 0
          while i0 < oh {
            let rows = min(rowsPerBlock, oh - i0)
            for r in 0..<rows {
              let i = i0 + r
              for j in 0..<ow {
                let patch = ps + (r * ow + j) * depth
                for di in 0..<kh {
                  let y = i * g.strides[0] - padTop + di * g.dilation[0]
                  for dj in 0..<kw {
                    let xx = j * g.strides[1] - padLeft + dj * g.dilation[1]
                    let dst = patch + (di * kw + dj) * channels
                    if y < 0 || y >= height || xx < 0 || xx >= width {
                      dst.update(repeating: 0, count: channels)
                    } else {
                      dst.update(from: xs + ((b * height + y) * width + xx) * channels, count: channels)
                    }
                  }
                }
              }
            }
            Linear.matmul(ps, packed: weights, os + ((b * oh + i0) * ow) * filters, m: rows * ow, accumulate: true)
            i0 += rows
          }
        }
      }
    }}
    return Tensor(shape: oneD ? [batch, ow, filters] : [batch, oh, ow, filters], data: out)
  }

  /// Grouped convolution (`groups` > 1): each group's input channels meet only its own filters.
  static func groupedConv(_ input: Tensor, kernel: Tensor, bias: Tensor?, geometry g: Geometry, groups: Int) -> Tensor {
    let oneD = input.rank == 3
    let x = as2D(input)
    let (batch, height, width, channels) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let filters = kernel.shape.last!
    let (kh, kw) = (oneD ? 1 : kernel.shape[0], oneD ? kernel.shape[0] : kernel.shape[1])
    let perGroupIn = channels / groups, perGroupOut = filters / groups
    let (oh, padTop) = oneD ? (1, 0) : g.axis(0, length: height)
    let (ow, padLeft) = g.axis(1, length: width)
    var out = [Float](repeating: 0, count: batch * oh * ow * filters)
    x.data.withUnsafeBufferPointer { xp in
      kernel.data.withUnsafeBufferPointer { wp in
        out.withUnsafeMutableBufferPointer { op in
          for b in 0..<batch {
            for i in 0..<oh {
              for j in 0..<ow {
                let o = op.baseAddress! + ((b * oh + i) * ow + j) * filters
                if let bias { for f in 0..<filters { o[f] = bias.data[f] } }
                for di in 0..<kh {
                  let y = i * g.strides[0] - padTop + di * g.dilation[0]
                  if y < 0 || y >= height { continue }
                  for dj in 0..<kw {
                    let xx = j * g.strides[1] - padLeft + dj * g.dilation[1]
                    if xx < 0 || xx >= width { continue }
                    let src = xp.baseAddress! + ((b * height + y) * width + xx) * channels
                    let w = wp.baseAddress! + (di * kw + dj) * perGroupIn * filters
                    for group in 0..<groups {
                      // (1, perGroupIn) · (perGroupIn, perGroupOut) for this group's slice.
                      for c in 0..<perGroupIn {
                        let v = src[group * perGroupIn + c]
                        if v == 0 { continue }
                        let row = w + c * filters + group * perGroupOut
                        let dst = o + group * perGroupOut
                        for f in 0..<perGroupOut { dst[f] += v * row[f] }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    return Tensor(shape: oneD ? [batch, ow, filters] : [batch, oh, ow, filters], data: out)
  }

  /// Max or average pooling; padding positions are ignored (TensorFlow's rule for "same").
  static func pool(_ input: Tensor, geometry g: Geometry, average: Bool) -> Tensor {
    let oneD = input.rank == 3
    let x = as2D(input)
    let (batch, height, width, channels) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (oh, padTop) = oneD ? (1, 0) : g.axis(0, length: height)
    let (ow, padLeft) = g.axis(1, length: width)
    var out = [Float](repeating: 0, count: batch * oh * ow * channels)
    for b in 0..<batch {
      for i in 0..<oh {
        for j in 0..<ow {
          for c in 0..<channels {
            var acc: Float = average ? 0 : -.infinity
            var n = 0
            for di in 0..<g.kernel[0] {
              let y = i * g.strides[0] - padTop + di
              if y < 0 || y >= height { continue }
              for dj in 0..<g.kernel[1] {
                let xx = j * g.strides[1] - padLeft + dj
                if xx < 0 || xx >= width { continue }
                let v = x.data[((b * height + y) * width + xx) * channels + c]
                acc = average ? acc + v : max(acc, v)
                n += 1
              }
            }
            out[((b * oh + i) * ow + j) * channels + c] = average ? acc / Float(max(n, 1)) : acc
          }
        }
      }
    }
    return Tensor(shape: oneD ? [batch, ow, channels] : [batch, oh, ow, channels], data: out)
  }

  /// Global max or average over all spatial positions; a mask (1-D) excludes masked steps from the average.
  static func globalPool(_ x: Tensor, average: Bool, keepdims: Bool, mask: [Bool]?) -> Tensor {
    let batch = x.shape[0], channels = x.last
    let positions = x.count / max(1, batch * channels)
    var out = [Float](repeating: average ? 0 : -.infinity, count: batch * channels)
    for b in 0..<batch {
      var n = 0
      for p in 0..<positions {
        if let mask, !mask[b * positions + p] { continue }
        n += 1
        for c in 0..<channels {
          let v = x.data[(b * positions + p) * channels + c]
          out[b * channels + c] = average ? out[b * channels + c] + v : max(out[b * channels + c], v)
        }
      }
      if average { for c in 0..<channels { out[b * channels + c] /= Float(max(n, 1)) } }
    }
    let shape = keepdims ? [batch] + Array(repeating: 1, count: x.rank - 2) + [channels] : [batch, channels]
    return Tensor(shape: shape, data: out)
  }
}
