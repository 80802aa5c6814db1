import CKernels
import KerasModel

/// Convolutions and pooling over channels-last inputs. A 1-D layer runs as 2-D with height 1.
extension Window {
  /// Output length and padding before the first element on axis `i`, as TensorFlow computes them.
  func axis(_ i: Int, length: Int) -> (out: Int, before: Int) {
    let span = (kernel[i] - 1) * dilation[i] + 1
    switch padding {
    case .same:
      let out = (length + strides[i] - 1) / strides[i]
      let total = max((out - 1) * strides[i] + span - length, 0)
      return (out, total / 2)
    case .causal:
      return ((length + strides[i] - 1) / strides[i], span - 1)
    case .full:
      return ((length + span - 1 + strides[i] - 1) / strides[i], span - 1)
    case .valid:
      return (max(0, (length - span) / strides[i] + 1), 0)
    }
  }
}

enum ConvolutionKernels {
  /// A window with its 1-D form padded to 2-D: a 1-D layer runs on a height-1 view.
  typealias Geometry = Window

  /// Views (batch, L, C) as (batch, 1, L, C) and back.
  static func as2D(_ x: Tensor) -> Tensor { x.rank == 3 ? x.reshaped([x.shape[0], 1, x.shape[1], x.shape[2]]) : x }

  /// A 1-D window as the 2-D one of a height-1 view; 2-D and 3-D windows unchanged.
  static func planar(_ w: Window) -> Window {
    guard w.kernel.count == 1 else { return w }
    return Window(kernel: [1] + w.kernel, strides: [1] + w.strides, dilation: [1] + w.dilation, padding: w.padding)
  }

  /// Convolution with kernel (kh, kw, C/groups, F) and optional bias.
  static func conv(_ input: Tensor, kernel: Tensor, bias: Tensor?, geometry g: Geometry, groups: Int) -> Tensor {
    guard groups == 1 else { return groupedConv(input, kernel: kernel, bias: bias, geometry: g, groups: groups) }
    let oneD = input.rank == 3
    let (kh, kw) = (oneD ? 1 : kernel.shape[0], oneD ? kernel.shape[0] : kernel.shape[1])
    let weights = PackedMatrix(kernel.data, k: kernel.count / kernel.shape.last!, n: kernel.shape.last!)
    return conv(input, packed: weights, kernelSize: (kh, kw), bias: bias, geometry: g)
  }

  /// An ungrouped convolution, its kernel (kh, kw, C, F) viewed as (kh·kw·C, F) and packed once
  /// when the layer's kernel is built.
  ///
  /// It runs as matrix products: each output position's window, (kh·kw·C) values in the
  /// kernel's own order, times the kernel. A 1×1 window with stride 1 is the input itself, and a
  /// 1-D window with dilation 1 is already contiguous in the (zero-padded) input, so their rows
  /// are read in place (`lda` = stride·C, rows overlapping); other windows are gathered a block of
  /// rows at a time. The output positions of the whole batch split over the cores in contiguous
  /// shares, each core gathering and multiplying its own: both cores work at batch 1.
  ///
  /// `epilogue` (an activation) is applied to each block of output rows right after its
  /// product, while the block is still in cache, instead of in a pass of its own.
  static func conv(
    _ input: Tensor, packed weights: PackedMatrix, kernelSize: (Int, Int), bias: Tensor?, geometry g: Geometry,
    epilogue: Activations.Elementwise? = nil
  ) -> Tensor {
    let oneD = input.rank == 3
    let x = as2D(input)
    let (batch, height, width, channels) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let filters = weights.n
    let (kh, kw) = kernelSize
    let (oh, padTop) = oneD ? (1, 0) : g.axis(0, length: height)
    let (ow, padLeft) = g.axis(1, length: width)
    let depth = kh * kw * channels
    let outShape = oneD ? [batch, ow, filters] : [batch, oh, ow, filters]
    let total = batch * oh * ow
    guard total * filters > 0 else { return Tensor(shape: outShape, data: []) }
    // Each block of output rows starts as the bias (or zeros) right before its product, by the
    // core that computes it, so the output is not first written in a serial pass of its own.
    var out = [Float](unsafeUninitializedCapacity: total * filters) { _, n in n = total * filters }
    let work = total * depth * filters
    let cores = work >= Linear.parallelThreshold ? min(ProcessInfoCores.count, total) : 1
    // Shares of rows the cores take one at a time as they finish the last: a core the host slows
    // down takes fewer instead of holding the other up at the layer's end. Layers of fewer than
    // 96 positions a share keep one share per core, as smaller shares would leave more rows
    // past the kernels' blocks of six (AVX2) or eight (AVX-512).
    let shares = cores == 1 ? 1 : total >= cores * 4 * 96 ? cores * 4 : cores
    (bias?.data ?? []).withUnsafeBufferPointer { bp in
    x.data.withUnsafeBufferPointer { xp in
    out.withUnsafeMutableBufferPointer { op in
      let (sx, so) = (UInt(bitPattern: xp.baseAddress!), UInt(bitPattern: op.baseAddress!))
      let biasRow = bias == nil ? nil : bp.baseAddress
      let pointwise = kh == 1 && kw == 1 && g.strides == [1, 1] && padTop == 0 && padLeft == 0 && oh == height && ow == width
      if pointwise {
        // 1×1, stride 1: the input's rows are the windows. With an epilogue, in blocks of rows
        // whose output stays in cache from the bias to the product to the epilogue; without, one
        // product per share, which passes over the weights once.
        Parallel.perform(iterations: shares) { part in
          let (xs, os) = (UnsafePointer<Float>(bitPattern: sx)!, UnsafeMutablePointer<Float>(bitPattern: so)!)
          let (r0, r1) = (total * part / shares, total * (part + 1) / shares)
          let block = epilogue == nil ? max(1, r1 - r0) : max(1, (1 << 15) / max(1, filters))
          for b0 in stride(from: r0, to: r1, by: block) {
            let rows = min(block, r1 - b0)
            layRows(os + b0 * filters, rows: rows, width: filters, bias: biasRow)
            Linear.matmul(xs + b0 * channels, packed: weights, os + b0 * filters, m: rows, accumulate: true, parallel: false)
            epilogue?.applySerially(os + b0 * filters, rows * filters)
          }
        }
        return
      }
      if oneD && g.dilation[1] == 1 {
        // The input of one sample, zero-padded to cover every window: (padded length, C).
        let step = g.strides[1]
        let padded = max(width + padLeft, (ow - 1) * step + kw)
        // A batch splits over the cores by sample, each taken by whichever core is free next
        // and laid, multiplied and activated while it is in that core's cache; a single sample
        // splits its product by columns.
        let perSample = batch > 1 && cores > 1
        Parallel.perform(iterations: perSample ? batch : 1) { part in
          let (xs, os) = (UnsafePointer<Float>(bitPattern: sx)!, UnsafeMutablePointer<Float>(bitPattern: so)!)
          let buffer = UnsafeMutablePointer<Float>.allocate(capacity: padded * channels)
          defer { buffer.deallocate() }
          buffer.initialize(repeating: 0, count: padded * channels)
          for b in perSample ? part..<part + 1 : 0..<batch {
            (buffer + padLeft * channels).update(from: xs + b * width * channels, count: width * channels)
            let out = os + b * ow * filters
            layRows(out, rows: ow, width: filters, bias: biasRow)
            Linear.matmul(buffer, packed: weights, out, m: ow, accumulate: true, lda: step * channels, parallel: !perSample)
            if perSample { epilogue?.applySerially(out, ow * filters) }
          }
        }
        if !perSample { epilogue?.apply(op.baseAddress!, total * filters) }
        return
      }
      if g.dilation[1] == 1, let packed = weights.packed, directWins(outputWidth: ow, tapRows: kh) {
        // Unit horizontal dilation: the windows of an output row at one tap row are overlapping
        // runs of one input row (lda = stride × C), so the products read the input in place, a
        // tap row at a time, instead of first copying kh·kw windows' worth of it per position.
        // Rows that need zero padding on the left or right are copied once into a padded buffer.
        let (sh, sw, dh) = (g.strides[0], g.strides[1], g.dilation[0])
        let paddedWidth = max(width + padLeft, (ow - 1) * sw + kw)
        let needsPadding = paddedWidth > width || padLeft > 0
        let rowsTotal = batch * oh
        let panels = (filters + 15) / 16
        // A large layer splits its output rows into up to `shares` (as above), each of at least
        // seven rows: a share reads kh − 1 input rows beyond its own and passes over all the
        // weights, which fewer rows repay less (shares of 3–4 rows measured slower than the
        // gathered windows). A small one splits its 16-column panels over the cores instead:
        // each reads only its part of the weights.
        let minimumRows = 7
        let rowShares = cores == 1 ? 1
          : shares > cores && rowsTotal >= cores * minimumRows ? max(cores, min(shares, rowsTotal / minimumRows))
          : panels >= cores ? 1 : min(cores, rowsTotal)
        let columnShares = cores == 1 || rowShares > 1 ? 1 : min(cores, panels)
        let sp = UInt(bitPattern: packed)
        Parallel.perform(iterations: rowShares * columnShares) { part in
          let (xs, os) = (UnsafePointer<Float>(bitPattern: sx)!, UnsafeMutablePointer<Float>(bitPattern: so)!)
          let packed = UnsafePointer<Float>(bitPattern: sp)!
          let (rs, cs) = (part / columnShares, part % columnShares)
          let (q0, q1) = (rowsTotal * rs / rowShares, rowsTotal * (rs + 1) / rowShares)
          let col0 = 16 * (panels * cs / columnShares), col1 = min(filters, 16 * (panels * (cs + 1) / columnShares))
          guard q0 < q1, col0 < col1 else { return }
          var q = q0
          while q < q1 {
            // One sample's run of output rows at a time.
            let (b, i0) = (q / oh, q % oh)
            let rows = min(q1 - q, oh - i0)
            let y0 = i0 * sh - padTop
            let out = os + (b * oh + i0) * ow * filters
            layRows(out, rows: rows * ow, width: filters, columns: col0..<col1, bias: biasRow)
            let sample = xs + b * height * width * channels
            // The input rows the products read: the sample's own, or a padded copy of the ones
            // this share needs (rows first..<last of the sample).
            var source = (rows: sample, count: height, pitch: width * channels, first: 0)
            var buffer: UnsafeMutablePointer<Float>?
            defer { buffer?.deallocate() }
            if needsPadding {
              let first = max(0, y0), last = max(first, min(height, y0 + (rows - 1) * sh + (kh - 1) * dh + 1))
              let pitch = paddedWidth * channels
              let copy = UnsafeMutablePointer<Float>.allocate(capacity: max(1, last - first) * pitch)
              buffer = copy
              for y in first..<last {
                let row = copy + (y - first) * pitch
                row.update(repeating: 0, count: padLeft * channels)
                (row + padLeft * channels).update(from: sample + y * width * channels, count: width * channels)
                (row + (padLeft + width) * channels).update(repeating: 0, count: (paddedWidth - padLeft - width) * channels)
              }
              source = (UnsafePointer(copy), last - first, pitch, first)
            }
            let done = ckernels_conv_direct(
              source.rows, source.count, source.pitch, y0 - source.first, sh, dh, kh, kw * channels, sw * channels,
              packed, depth, filters, col0, col1, out, filters, ow, rows, ow * filters)
            precondition(done == 1, "the in-place convolution needs the AVX2 kernels' panels")
            if let epilogue {
              if col0 == 0 && col1 == filters {
                epilogue.applySerially(out, rows * ow * filters)
              } else {
                for r in 0..<rows * ow { epilogue.applySerially(out + r * filters + col0, col1 - col0) }
              }
            }
            q += rows
          }
        }
        return
      }
      // General case: each core gathers the windows of a block of its positions, then one product per block.
      let rowsPerBlock = max(1, min(total, (1 << 18) / max(1, depth)))
      Parallel.perform(iterations: shares) { part in
        let (xs, os) = (UnsafePointer<Float>(bitPattern: sx)!, UnsafeMutablePointer<Float>(bitPattern: so)!)
        let (r0, r1) = (total * part / shares, total * (part + 1) / shares)
        guard r0 < r1 else { return }
        let patches = UnsafeMutablePointer<Float>.allocate(capacity: min(rowsPerBlock, r1 - r0) * depth)
        defer { patches.deallocate() }
        var p0 = r0
        while p0 < r1 {
          let rows = min(rowsPerBlock, r1 - p0)
          for r in 0..<rows {
            let p = p0 + r
            let (b, i, j) = (p / (oh * ow), (p / ow) % oh, p % ow)
            var dst = patches + r * depth
            for di in 0..<kh {
              let y = i * g.strides[0] - padTop + di * g.dilation[0]
              if y < 0 || y >= height {
                dst.update(repeating: 0, count: kw * channels)
                dst += kw * channels
                continue
              }
              let row = xs + (b * height + y) * width * channels
              let x0 = j * g.strides[1] - padLeft
              if g.dilation[1] == 1 && x0 >= 0 && x0 + kw <= width {
                // The whole window row is contiguous in the input.
                dst.update(from: row + x0 * channels, count: kw * channels)
                dst += kw * channels
                continue
              }
              for dj in 0..<kw {
                let xx = x0 + dj * g.dilation[1]
                if xx < 0 || xx >= width {
                  dst.update(repeating: 0, count: channels)
                } else {
                  dst.update(from: row + xx * channels, count: channels)
                }
                dst += channels
              }
            }
          }
          layRows(os + p0 * filters, rows: rows, width: filters, bias: biasRow)
          Linear.matmul(patches, packed: weights, os + p0 * filters, m: rows, accumulate: true, parallel: cores == 1)
          epilogue?.applySerially(os + p0 * filters, rows * filters)
          p0 += rows
        }
      }
    }}}
    return Tensor(shape: outShape, data: out)
  }

  /// Whether a convolution computes faster from the input in place (``ckernels_conv_direct``)
  /// than from gathered windows. Gathering copies each position's whole window, kh runs of kw·C
  /// floats, before its product; in place, each output row is a product of its own per tap row,
  /// whose rows past a multiple of the kernel's six run in a smaller block. With one tap row
  /// (1×n windows) the copy is a single run per position and the two cost about the same;
  /// output rows narrower than six would be all remainder. Only the AVX2 kernels have the
  /// in-place form: AVX-512's blocks are eight rows, and its remainders run a row at a time.
  static func directWins(outputWidth ow: Int, tapRows kh: Int) -> Bool {
    ckernels_level() == 1 && kh > 1 && ow >= 6
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

  /// Global max or average over all spatial positions; a mask (1-D) excludes masked steps from the
  /// average. Large inputs split their channels over the cores; each channel's sum still runs
  /// over the positions in order.
  static func globalPool(_ x: Tensor, average: Bool, keepdims: Bool, mask: [Bool]?) -> Tensor {
    let batch = x.shape[0], channels = x.last
    let positions = x.count / max(1, batch * channels)
    var out = [Float](repeating: average ? 0 : -.infinity, count: batch * channels)
    let shape = keepdims ? [batch] + Array(repeating: 1, count: x.rank - 2) + [channels] : [batch, channels]
    guard x.count > 0 else { return Tensor(shape: shape, data: average ? out.map { _ in 0 } : out) }
    let parts = positions * channels >= 1 << 15 ? min(ProcessInfoCores.count, max(1, channels / 16)) : 1
    x.data.withUnsafeBufferPointer { xp in
      out.withUnsafeMutableBufferPointer { op in
        let (xs, os) = (xp.baseAddress!, op.baseAddress!)
        Parallel.perform(iterations: parts) { part in
          let (c0, c1) = (channels * part / parts, channels * (part + 1) / parts)
          for b in 0..<batch {
            let o = os + b * channels
            var n = 0
            for p in 0..<positions {
              if let mask, !mask[b * positions + p] { continue }
              n += 1
              let row = xs + (b * positions + p) * channels
              if average {
                for c in c0..<c1 { o[c] += row[c] }
              } else {
                for c in c0..<c1 { o[c] = max(o[c], row[c]) }
              }
            }
            if average {
              let count = Float(max(n, 1))
              for c in c0..<c1 { o[c] /= count }
            }
          }
        }
      }
    }
    return Tensor(shape: shape, data: out)
  }
}

/// Convolutions over 1, 2 or 3 spatial axes seen as a volume (depth, height, width): a 1-D input
/// is a 1 × 1 × L volume, a 2-D one 1 × H × W.
enum VolumeKernels {
  struct Volume {
    let batch: Int, depth: Int, height: Int, width: Int, channels: Int
    var spatial: [Int] { [depth, height, width] }
    var positions: Int { depth * height * width }
  }

  static func volume(_ x: Tensor) -> Volume {
    let s = x.shape
    switch s.count {
    case 3: return Volume(batch: s[0], depth: 1, height: 1, width: s[1], channels: s[2])
    case 4: return Volume(batch: s[0], depth: 1, height: s[1], width: s[2], channels: s[3])
    default: return Volume(batch: s[0], depth: s[1], height: s[2], width: s[3], channels: s[4])
    }
  }

  /// The window over three axes (unit kernel, stride and dilation on the axes a lower rank lacks).
  static func window3(_ w: Window) -> Window {
    let pad = 3 - w.kernel.count
    let ones = [Int](repeating: 1, count: pad)
    return Window(kernel: ones + w.kernel, strides: ones + w.strides, dilation: ones + w.dilation, padding: w.padding)
  }

  /// The output shape for a volume result in the input's own rank.
  static func shape(_ rank: Int, batch: Int, _ spatial: [Int], channels: Int) -> [Int] {
    [batch] + Array(spatial.suffix(rank - 2)) + [channels]
  }

  /// Output sizes and paddings before, per axis.
  static func geometry(_ v: Volume, _ w: Window) -> (out: [Int], before: [Int]) {
    let axes = (0..<3).map { w.axis($0, length: v.spatial[$0]) }
    return (axes.map(\.out), axes.map(\.before))
  }

  /// A convolution with kernel (k₁, …, C, F) as one matrix product per block of output positions:
  /// each row gathers its window (zeros outside the input) in the kernel's order.
  static func conv(_ x: Tensor, kernel: Tensor, bias: Tensor?, window: Window) -> Tensor {
    let v = volume(x)
    let w = window3(window)
    let (out, before) = geometry(v, w)
    let filters = kernel.shape.last!
    let taps = w.kernel.reduce(1, *)
    let depth = taps * v.channels
    let positions = out.reduce(1, *)
    var result = [Float](repeating: 0, count: v.batch * positions * filters)
    if let bias { fillRows(&result, rows: v.batch * positions, with: bias.data) }
    guard !result.isEmpty else { return Tensor(shape: shape(x.rank, batch: v.batch, out, channels: filters), data: result) }
    let packed = PackedMatrix(kernel.data, k: depth, n: filters)
    let rowsPerBlock = max(1, min(positions, (1 << 20) / max(1, depth)))
    var patches = [Float](repeating: 0, count: rowsPerBlock * depth)
    x.data.withUnsafeBufferPointer { xp in
      result.withUnsafeMutableBufferPointer { rp in
        patches.withUnsafeMutableBufferPointer { pp in
          let (xs, rs, ps) = (xp.baseAddress!, rp.baseAddress!, pp.baseAddress!)
          for b in 0..<v.batch {
            var p0 = 0
            while p0 < positions {
              let rows = min(rowsPerBlock, positions - p0)
              for r in 0..<rows {
                let p = p0 + r
                let (od, oh, ow) = (p / (out[1] * out[2]), (p / out[2]) % out[1], p % out[2])
                var dst = ps + r * depth
                for kd in 0..<w.kernel[0] {
                  let z = od * w.strides[0] - before[0] + kd * w.dilation[0]
                  for kh in 0..<w.kernel[1] {
                    let y = oh * w.strides[1] - before[1] + kh * w.dilation[1]
                    for kw in 0..<w.kernel[2] {
                      let xx = ow * w.strides[2] - before[2] + kw * w.dilation[2]
                      if z < 0 || z >= v.depth || y < 0 || y >= v.height || xx < 0 || xx >= v.width {
                        dst.update(repeating: 0, count: v.channels)
                      } else {
                        dst.update(from: xs + (((b * v.depth + z) * v.height + y) * v.width + xx) * v.channels, count: v.channels)
                      }
                      dst += v.channels
                    }
                  }
                }
              }
              Linear.matmul(ps, packed: packed, rs + (b * positions + p0) * filters, m: rows, accumulate: true)
              p0 += rows
            }
          }
        }
      }
    }
    return Tensor(shape: shape(x.rank, batch: v.batch, out, channels: filters), data: result)
  }

  /// A depthwise convolution, kernel (k₁, …, C, M): output channel c·M + m sums channel c's
  /// window times its m-th kernel.
  static func depthwise(_ x: Tensor, kernel: Tensor, bias: Tensor?, window: Window, multiplier: Int) -> Tensor {
    let v = volume(x)
    let w = window3(window)
    let (out, before) = geometry(v, w)
    if v.depth == 1, multiplier == 1 { return planarDepthwise(x, v, kernel: kernel, bias: bias, window: w, out: out, before: before) }
    let width = v.channels * multiplier
    let positions = out.reduce(1, *)
    var result = [Float](repeating: 0, count: v.batch * positions * width)
    if let bias { fillRows(&result, rows: v.batch * positions, with: bias.data) }
    let (batch, channels, m) = (v.batch, v.channels, multiplier)
    x.data.withUnsafeBufferPointer { xp in
      kernel.data.withUnsafeBufferPointer { kp in
        result.withUnsafeMutableBufferPointer { rp in
          let (sx, sk, sr) = (UInt(bitPattern: xp.baseAddress), UInt(bitPattern: kp.baseAddress), UInt(bitPattern: rp.baseAddress))
          // Output rows split over the cores, whatever the batch.
          let total = batch * positions
          let cores = total * width * w.kernel.reduce(1, *) >= 1 << 16 ? min(ProcessInfoCores.count, total) : 1
          Parallel.perform(iterations: cores) { part in
            guard let xs = UnsafePointer<Float>(bitPattern: sx), let ks = UnsafePointer<Float>(bitPattern: sk),
              let rs = UnsafeMutablePointer<Float>(bitPattern: sr) else { return }
            for row in stride(from: part, to: total, by: cores) {
              let (b, p) = (row / positions, row % positions)
              let (od, oh, ow) = (p / (out[1] * out[2]), (p / out[2]) % out[1], p % out[2])
              let o = rs + row * width
              var tap = 0
              for kd in 0..<w.kernel[0] {
                let z = od * w.strides[0] - before[0] + kd * w.dilation[0]
                for kh in 0..<w.kernel[1] {
                  let y = oh * w.strides[1] - before[1] + kh * w.dilation[1]
                  for kw in 0..<w.kernel[2] {
                    defer { tap += 1 }
                    let xx = ow * w.strides[2] - before[2] + kw * w.dilation[2]
                    if z < 0 || z >= v.depth || y < 0 || y >= v.height || xx < 0 || xx >= v.width { continue }
                    let src = xs + (((b * v.depth + z) * v.height + y) * v.width + xx) * channels
                    let k = ks + tap * width
                    if m == 1 {
                      for c in 0..<channels { o[c] += src[c] * k[c] }
                    } else {
                      for c in 0..<channels { for j in 0..<m { o[c * m + j] += src[c] * k[c * m + j] } }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    return Tensor(shape: shape(x.rank, batch: v.batch, out, channels: width), data: result)
  }

  /// The outputs j in 0..<count whose input column j·stride + offset lies in 0..<length.
  @inline(__always)
  static func validRange(count: Int, stride: Int, offset: Int, length: Int) -> Range<Int> {
    // j·stride + offset ≥ 0  and  j·stride + offset ≤ length − 1.
    let low = offset >= 0 ? 0 : (-offset + stride - 1) / stride
    let highValue = length - 1 - offset
    let high = highValue < 0 ? -1 : min(count - 1, highValue / stride)
    return low <= high ? low..<(high + 1) : 0..<0
  }

  /// A 1-D or 2-D depthwise convolution with multiplier 1, directly: per output row, each
  /// kernel tap adds its channels' products to the row's valid positions (no per-element bounds
  /// test, the channel loop vectorised). Output rows split over the cores in contiguous shares.
  static func planarDepthwise(_ x: Tensor, _ v: Volume, kernel: Tensor, bias: Tensor?, window w: Window, out: [Int], before: [Int]) -> Tensor {
    let (batch, height, width, c) = (v.batch, v.height, v.width, v.channels)
    let (oh, ow) = (out[1], out[2])
    let count = batch * oh * ow * c
    let resultShape = shape(x.rank, batch: batch, out, channels: c)
    guard count > 0 else { return Tensor(shape: resultShape, data: []) }
    var result = [Float](unsafeUninitializedCapacity: count) { _, n in n = count }
    if let bias { fillRows(&result, rows: batch * oh * ow, with: bias.data) } else { result.withUnsafeMutableBufferPointer { $0.initialize(repeating: 0) } }
    let rows = batch * oh
    let cores = count * w.kernel[1] * w.kernel[2] >= 1 << 17 ? min(ProcessInfoCores.count, rows) : 1
    let (kh, kw) = (w.kernel[1], w.kernel[2])
    let (sh, sw, dh, dw) = (w.strides[1], w.strides[2], w.dilation[1], w.dilation[2])
    x.data.withUnsafeBufferPointer { xp in
      kernel.data.withUnsafeBufferPointer { kp in
        result.withUnsafeMutableBufferPointer { rp in
          let (sx, sk, sr) = (UInt(bitPattern: xp.baseAddress), UInt(bitPattern: kp.baseAddress), UInt(bitPattern: rp.baseAddress))
          Parallel.perform(iterations: cores) { part in
            guard let xs = UnsafePointer<Float>(bitPattern: sx), let ks = UnsafePointer<Float>(bitPattern: sk),
              let rs = UnsafeMutablePointer<Float>(bitPattern: sr) else { return }
            for row in (rows * part / cores)..<(rows * (part + 1) / cores) {
              let (b, i) = (row / oh, row % oh)
              let o = rs + row * ow * c
              for di in 0..<kh {
                let y = i * sh - before[1] + di * dh
                if y < 0 || y >= height { continue }
                let line = xs + (b * height + y) * width * c
                for dj in 0..<kw {
                  let offset = dj * dw - before[2]
                  let k = ks + (di * kw + dj) * c
                  for j in validRange(count: ow, stride: sw, offset: offset, length: width) {
                    let src = line + (j * sw + offset) * c
                    let dst = o + j * c
                    for ch in 0..<c { dst[ch] += src[ch] * k[ch] }
                  }
                }
              }
            }
          }
        }
      }
    }
    return Tensor(shape: resultShape, data: result)
  }

  /// A transposed convolution, kernel (k₁, …, F, C), to output sizes `outSizes` (per spatial
  /// axis of the input's rank): each input position's channels times the kernel, viewed as
  /// (C, k·F), scattered onto the outputs it reaches (o = i·stride − pad + k·dilation), as
  /// TensorFlow's `conv_transpose` (the gradient of a convolution) computes.
  static func transposed(_ x: Tensor, kernel: Tensor, bias: Tensor?, window: Window, outSizes: [Int]) -> Tensor {
    let v = volume(x)
    let w = window3(window)
    let out = [Int](repeating: 1, count: 3 - outSizes.count) + outSizes
    let filters = kernel.shape[kernel.rank - 2]
    let taps = w.kernel.reduce(1, *)
    var before = [Int](repeating: 0, count: 3)
    for a in 0..<3 {
      let span = (w.kernel[a] - 1) * w.dilation[a] + 1
      switch w.padding {
      case .same: before[a] = max((v.spatial[a] - 1) * w.strides[a] + span - out[a], 0) / 2
      case .full: before[a] = span - 1
      case .valid, .causal: before[a] = 0
      }
    }
    // (C, taps·F): column tap·F + f is kernel[tap, f, c].
    var wt = [Float](repeating: 0, count: v.channels * taps * filters)
    for t in 0..<taps { for f in 0..<filters { for c in 0..<v.channels { wt[c * taps * filters + t * filters + f] = kernel.data[(t * filters + f) * v.channels + c] } } }
    let columns = Linear.dense(Tensor(shape: [v.batch * v.positions, v.channels], data: x.data), kernel: Tensor(shape: [v.channels, taps * filters], data: wt), bias: nil)
    let positions = out.reduce(1, *)
    var result = [Float](repeating: 0, count: v.batch * positions * filters)
    if let bias { fillRows(&result, rows: v.batch * positions, with: bias.data) }
    for b in 0..<v.batch {
      for p in 0..<v.positions {
        let (id, ih, iw) = (p / (v.height * v.width), (p / v.width) % v.height, p % v.width)
        let cols = (b * v.positions + p) * taps * filters
        var tap = 0
        for kd in 0..<w.kernel[0] {
          let z = id * w.strides[0] - before[0] + kd * w.dilation[0]
          for kh in 0..<w.kernel[1] {
            let y = ih * w.strides[1] - before[1] + kh * w.dilation[1]
            for kw in 0..<w.kernel[2] {
              defer { tap += 1 }
              let xx = iw * w.strides[2] - before[2] + kw * w.dilation[2]
              if z < 0 || z >= out[0] || y < 0 || y >= out[1] || xx < 0 || xx >= out[2] { continue }
              let o = (b * positions + (z * out[1] + y) * out[2] + xx) * filters
              let c = cols + tap * filters
              for f in 0..<filters { result[o + f] += columns.data[c + f] }
            }
          }
        }
      }
    }
    return Tensor(shape: shape(x.rank, batch: v.batch, out, channels: filters), data: result)
  }

  /// Max or average pooling over 1-3 axes; padding positions are left out (TensorFlow's rule).
  /// Output positions split over the cores in contiguous shares; the channel loop vectorised.
  static func pool(_ x: Tensor, window: Window, average: Bool) -> Tensor {
    let v = volume(x)
    let w = window3(window)
    let (out, before) = geometry(v, w)
    let positions = out.reduce(1, *)
    let c = v.channels
    let count = v.batch * positions * c
    var result = [Float](repeating: average ? 0 : -.infinity, count: count)
    guard count > 0, x.count > 0 else { return Tensor(shape: shape(x.rank, batch: v.batch, out, channels: c), data: result) }
    let total = v.batch * positions
    let cores = count * w.kernel.reduce(1, *) >= 1 << 17 ? min(ProcessInfoCores.count, total) : 1
    x.data.withUnsafeBufferPointer { xp in
      result.withUnsafeMutableBufferPointer { rp in
        let (sx, sr) = (UInt(bitPattern: xp.baseAddress!), UInt(bitPattern: rp.baseAddress!))
        Parallel.perform(iterations: cores) { part in
          let (xs, rs) = (UnsafePointer<Float>(bitPattern: sx)!, UnsafeMutablePointer<Float>(bitPattern: sr)!)
          for row in (total * part / cores)..<(total * (part + 1) / cores) {
            let (b, p) = (row / positions, row % positions)
            let (od, oh, ow) = (p / (out[1] * out[2]), (p / out[2]) % out[1], p % out[2])
            let o = rs + row * c
            var n = 0
            for kd in 0..<w.kernel[0] {
              let z = od * w.strides[0] - before[0] + kd
              if z < 0 || z >= v.depth { continue }
              for kh in 0..<w.kernel[1] {
                let y = oh * w.strides[1] - before[1] + kh
                if y < 0 || y >= v.height { continue }
                for kw in 0..<w.kernel[2] {
                  let xx = ow * w.strides[2] - before[2] + kw
                  if xx < 0 || xx >= v.width { continue }
                  let s = xs + (((b * v.depth + z) * v.height + y) * v.width + xx) * c
                  n += 1
                  if average { for k in 0..<c { o[k] += s[k] } } else { for k in 0..<c { o[k] = Swift.max(o[k], s[k]) } }
                }
              }
            }
            if average {
              let inv = 1 / Float(Swift.max(n, 1))
              for k in 0..<c { o[k] *= inv }
            }
          }
        }
      }
    }
    return Tensor(shape: shape(x.rank, batch: v.batch, out, channels: c), data: result)
  }

  /// Zero padding (positive) or cropping (negative) of each spatial axis.
  static func pad(_ x: Tensor, _ pads: [Pair], sign: Int) -> Tensor {
    let v = volume(x)
    let p = [Pair](repeating: Pair(0, 0), count: 3 - pads.count) + pads
    let out = (0..<3).map { v.spatial[$0] + sign * p[$0].total }
    let c = v.channels
    var result = [Float](repeating: 0, count: v.batch * max(0, out.reduce(1, *)) * c)
    // Each output row's columns that come from the input are one contiguous run of it.
    let shift = sign * p[2].before
    let columns = max(0, shift)..<max(max(0, shift), min(max(0, out[2]), v.width + shift))
    guard !columns.isEmpty else { return Tensor(shape: shape(x.rank, batch: v.batch, out, channels: c), data: result) }
    x.data.withUnsafeBufferPointer { xp in
      result.withUnsafeMutableBufferPointer { rp in
        for b in 0..<v.batch {
          for z in 0..<max(0, out[0]) {
            let sz = z - sign * p[0].before
            if sz < 0 || sz >= v.depth { continue }
            for y in 0..<max(0, out[1]) {
              let sy = y - sign * p[1].before
              if sy < 0 || sy >= v.height { continue }
              let s = (((b * v.depth + sz) * v.height + sy) * v.width + columns.lowerBound - shift) * c
              let o = (((b * out[0] + z) * out[1] + y) * out[2] + columns.lowerBound) * c
              (rp.baseAddress! + o).update(from: xp.baseAddress! + s, count: columns.count * c)
            }
          }
        }
      }
    }
    return Tensor(shape: shape(x.rank, batch: v.batch, out, channels: c), data: result)
  }

  /// Nearest-neighbour upsampling: each position repeated `size` times per axis.
  static func repeatPositions(_ x: Tensor, size: [Int]) -> Tensor {
    let v = volume(x)
    let s = [Int](repeating: 1, count: 3 - size.count) + size
    let out = (0..<3).map { v.spatial[$0] * s[$0] }
    let c = v.channels
    var result = [Float](repeating: 0, count: v.batch * out.reduce(1, *) * c)
    for b in 0..<v.batch {
      for z in 0..<out[0] {
        for y in 0..<out[1] {
          for xx in 0..<out[2] {
            let src = (((b * v.depth + z / s[0]) * v.height + y / s[1]) * v.width + xx / s[2]) * c
            let o = (((b * out[0] + z) * out[1] + y) * out[2] + xx) * c
            for k in 0..<c { result[o + k] = x.data[src + k] }
          }
        }
      }
    }
    return Tensor(shape: shape(x.rank, batch: v.batch, out, channels: c), data: result)
  }

  /// `tf.image.resize` of a (batch, H, W, C) image to (height, width), bilinear or nearest,
  /// with half-pixel centres and no antialiasing (TensorFlow 2's and Keras 3's default).
  static func resize(_ x: Tensor, height: Int, width: Int, bilinear: Bool) -> Tensor {
    let (batch, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (sy, sx) = (Float(h) / Float(height), Float(w) / Float(width))
    var result = [Float](repeating: 0, count: batch * height * width * c)
    // An empty image (a hostile shape) resizes to zeros.
    guard h > 0, w > 0 else { return Tensor(shape: [batch, height, width, c], data: result) }
    func source(_ o: Int, _ scale: Float, _ n: Int) -> (Int, Int, Float) {
      if !bilinear {
        let i = min(Int(((Float(o) + 0.5) * scale).rounded(.down)), n - 1)
        return (i, i, 0)
      }
      let f = max(0, (Float(o) + 0.5) * scale - 0.5)
      let lo = min(Int(f.rounded(.down)), n - 1)
      return (lo, min(lo + 1, n - 1), f - Float(lo))
    }
    let rows = (0..<height).map { source($0, sy, h) }
    let cols = (0..<width).map { source($0, sx, w) }
    for b in 0..<batch {
      for (i, (y0, y1, fy)) in rows.enumerated() {
        for (j, (x0, x1, fx)) in cols.enumerated() {
          let o = ((b * height + i) * width + j) * c
          let (a, bb) = (((b * h + y0) * w + x0) * c, ((b * h + y0) * w + x1) * c)
          let (cc, d) = (((b * h + y1) * w + x0) * c, ((b * h + y1) * w + x1) * c)
          for k in 0..<c {
            let top = x.data[a + k] + (x.data[bb + k] - x.data[a + k]) * fx
            let bottom = x.data[cc + k] + (x.data[d + k] - x.data[cc + k]) * fx
            result[o + k] = top + (bottom - top) * fy
          }
        }
      }
    }
    return Tensor(shape: [batch, height, width, c], data: result)
  }
}
