import KerasModel
@testable import KerasRuntime
import Testing

/// Deterministic values in [-1, 1) (a linear congruential sequence), so failures reproduce.
private func values(_ count: Int, seed: UInt64) -> [Float] {
  var state = seed
  return (0..<count).map { _ in
    state = state &* 6364136223846793005 &+ 1442695040888963407
    return Float(state >> 40) / Float(1 << 23) - 1
  }
}

@Suite("Matrix products and convolution windows")
struct ProductTests {
  /// Double-precision reference for c = a · b.
  func reference(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int, lda: Int) -> [Float] {
    var c = [Float](repeating: 0, count: m * n)
    for i in 0..<m {
      for j in 0..<n {
        var sum = 0.0
        for p in 0..<k { sum += Double(a[i * lda + p]) * Double(b[p * n + j]) }
        c[i * n + j] = Float(sum)
      }
    }
    return c
  }

  @Test("a packed weight matrix gives the plain product, across panel edges, row tails and both cores",
        arguments: [(1, 5, 10), (7, 64, 32), (9, 33, 70), (33, 300, 96), (32, 512, 2048), (8, 600, 64),
                     // Rows left over past a multiple of six: blocks of 2, 3, 4 and 5 rows.
                     (2, 9, 16), (4, 40, 48), (5, 70, 33), (10, 64, 16), (11, 19, 100), (15, 257, 24),
                     // Packed by both cores, in blocks of 64 rows and a shorter last block, a part panel last.
                     (3, 1000, 300)])
  func packedProduct(_ shape: (Int, Int, Int)) {
    let (m, k, n) = shape
    for lda in [k, k + 3] {
      let a = values(m * lda, seed: 1), b = values(k * n, seed: 2)
      let packed = PackedMatrix(b, k: k, n: n)
      var c = [Float](repeating: 0.5, count: m * n)
      a.withUnsafeBufferPointer { ap in
        c.withUnsafeMutableBufferPointer { cp in
          Linear.matmul(ap.baseAddress!, packed: packed, cp.baseAddress!, m: m, accumulate: true, lda: lda)
        }
      }
      let want = reference(a, b, m: m, k: k, n: n, lda: lda)
      let worst = zip(c, want).map { abs($0 - 0.5 - $1) }.max() ?? 0
      #expect(worst < 1e-4 * Float(k), "m \(m) k \(k) n \(n) lda \(lda): worst error \(worst)")
    }
  }

  @Test("a plain product is right for every width, whole panels, zero-padded last panels and the narrowest",
        arguments: [1, 3, 4, 5, 8, 15, 16, 17, 24, 31, 32, 33, 40, 47, 63, 100])
  func plainProduct(_ n: Int) {
    for (m, k) in [(1, 7), (13, 64), (50, 300)] {
      let a = values(m * k, seed: 3), b = values(k * n, seed: 4)
      var c = [Float](repeating: 0.25, count: m * n)
      a.withUnsafeBufferPointer { ap in
        b.withUnsafeBufferPointer { bp in
          c.withUnsafeMutableBufferPointer { cp in
            Linear.matmul(ap.baseAddress!, bp.baseAddress!, cp.baseAddress!, m: m, k: k, n: n, accumulate: true)
          }
        }
      }
      let want = reference(a, b, m: m, k: k, n: n, lda: k)
      let worst = zip(c, want).map { abs($0 - 0.25 - $1) }.max() ?? 0
      #expect(worst < 1e-4 * Float(k), "m \(m) k \(k) n \(n): worst error \(worst)")
    }
  }

  @Test("convolution as matrix products equals the direct window loop",
        arguments: [
          ([1, 40, 6], [3, 6, 70], [1], [1], "valid"),
          ([2, 40, 6], [3, 6, 33], [2], [1], "same"),
          ([2, 17, 4], [4, 4, 40], [1], [2], "causal"),
          ([1, 9, 8, 3], [3, 3, 3, 36], [1, 1], [1, 1], "same"),
          ([2, 10, 9, 2], [2, 3, 2, 64], [2, 1], [1, 1], "valid"),
          ([1, 11, 11, 2], [3, 3, 2, 32], [1, 1], [2, 2], "valid"),
          // Large enough to split over the cores at batch 1: 1×1 in place, 3×3 gathered, strided.
          ([1, 56, 56, 64], [1, 1, 64, 72], [1, 1], [1, 1], "valid"),
          ([1, 56, 56, 64], [1, 1, 64, 72], [1, 1], [1, 1], "same"),
          ([1, 20, 20, 8], [1, 1, 8, 64], [2, 2], [1, 1], "valid"),
          ([1, 30, 30, 32], [3, 3, 32, 64], [2, 2], [1, 1], "same"),
          ([3, 28, 27, 16], [3, 3, 16, 48], [1, 1], [1, 1], "same"),
          ([1, 33, 31, 8], [5, 3, 8, 40], [1, 2], [2, 1], "valid"),
        ] as [([Int], [Int], [Int], [Int], String)])
  func convolution(_ input: [Int], _ kernel: [Int], _ strides: [Int], _ dilation: [Int], _ padding: String) throws {
    let x = Tensor(shape: input, data: values(input.reduce(1, *), seed: 3))
    let w = Tensor(shape: kernel, data: values(kernel.reduce(1, *), seed: 4))
    let bias = Tensor(shape: [kernel.last!], data: values(kernel.last!, seed: 5))
    let spatial = Array(kernel.dropLast(2))
    let window = Window(kernel: spatial, strides: strides, dilation: dilation, padding: try #require(Padding(rawValue: padding)))
    let g = ConvolutionKernels.planar(window)
    let fast = ConvolutionKernels.conv(x, kernel: w, bias: bias, geometry: g, groups: 1)
    let direct = ConvolutionKernels.groupedConv(x, kernel: w, bias: bias, geometry: g, groups: 1)
    // The general gather path (3-D view) computes the same convolution.
    let general = VolumeKernels.conv(x, kernel: w, bias: bias, window: window)
    #expect(general.shape == direct.shape)
    #expect((zip(general.data, direct.data).map { abs($0 - $1) }.max() ?? 0) < 1e-4)
    #expect(fast.shape == direct.shape)
    let worst = zip(fast.data, direct.data).map { abs($0 - $1) }.max() ?? 0
    #expect(worst < 1e-4, "worst difference \(worst)")
  }

  @Test("a convolution read from its input in place equals the window loop, with or without bias and activation, its rows, columns or samples split over the cores",
        arguments: [
          // Rows of a large layer over the cores, crossing samples; padded on both sides.
          ([2, 40, 37, 24], [3, 3, 24, 40], [1, 1], [1, 1], "same"),
          // Few output rows: the 16-column panels over the cores (the last one 8 wide).
          ([1, 12, 30, 64], [3, 3, 64, 72], [1, 1], [1, 1], "same"),
          // Strided, padded on the right only; unpadded; taps rows apart (vertical dilation).
          ([1, 31, 31, 16], [3, 3, 16, 48], [2, 2], [1, 1], "same"),
          ([1, 26, 20, 32], [5, 2, 32, 70], [1, 1], [1, 1], "valid"),
          ([2, 30, 14, 12], [3, 5, 12, 33], [2, 1], [3, 1], "same"),
          // Exactly six outputs a row; a 7×1 window; three input channels.
          ([1, 24, 6, 40], [3, 3, 40, 64], [1, 1], [1, 1], "same"),
          ([1, 17, 17, 64], [7, 1, 64, 96], [1, 1], [1, 1], "same"),
          ([1, 64, 64, 3], [3, 3, 3, 32], [2, 2], [1, 1], "valid"),
          // 1-D, a batch split over the cores by sample (each laid and activated by its core).
          ([5, 100, 64], [3, 64, 96], [1], [1], "same"),
        ] as [([Int], [Int], [Int], [Int], String)])
  func convolutionInPlace(_ input: [Int], _ kernel: [Int], _ strides: [Int], _ dilation: [Int], _ padding: String) throws {
    let x = Tensor(shape: input, data: values(input.reduce(1, *), seed: 6))
    let w = Tensor(shape: kernel, data: values(kernel.reduce(1, *), seed: 7))
    let bias = Tensor(shape: [kernel.last!], data: values(kernel.last!, seed: 8))
    let g = ConvolutionKernels.planar(
      Window(kernel: Array(kernel.dropLast(2)), strides: strides, dilation: dilation, padding: try #require(Padding(rawValue: padding))))
    let size = (g.kernel[0], g.kernel[1])
    let packed = PackedMatrix(w.data, k: w.count / kernel.last!, n: kernel.last!)
    let relu = try #require(Activations.Elementwise("relu", keras3: true))
    for (b, epilogue) in [(bias, nil), (nil, relu), (bias, relu)] as [(Tensor?, Activations.Elementwise?)] {
      let fast = ConvolutionKernels.conv(x, packed: packed, kernelSize: size, bias: b, geometry: g, epilogue: epilogue)
      var want = ConvolutionKernels.groupedConv(x, kernel: w, bias: b, geometry: g, groups: 1)
      if epilogue != nil { want.data = want.data.map { max($0, 0) } }
      #expect(fast.shape == want.shape)
      let worst = zip(fast.data, want.data).map { abs($0 - $1) }.max() ?? 0
      #expect(worst < 1e-4, "bias \(b != nil), relu \(epilogue != nil): worst difference \(worst)")
    }
  }

  @Test("a depthwise convolution equals the direct sum over its window, split over the cores or not",
        arguments: [
          ([1, 57, 57, 32], [3, 3], [2, 2], [1, 1], "same"),
          ([1, 56, 56, 96], [3, 3], [1, 1], [1, 1], "same"),
          ([2, 19, 17, 24], [3, 3], [1, 1], [2, 2], "same"),
          ([2, 9, 7, 5], [5, 3], [1, 2], [1, 1], "valid"),
          ([1, 14, 14, 40], [5, 5], [2, 2], [1, 1], "same"),
          ([2, 30, 6], [5], [1], [1], "same"),
          ([2, 30, 6], [3], [2], [1], "valid"),
        ] as [([Int], [Int], [Int], [Int], String)])
  func depthwise(_ input: [Int], _ size: [Int], _ strides: [Int], _ dilation: [Int], _ padding: String) throws {
    let c = input.last!
    let x = Tensor(shape: input, data: values(input.reduce(1, *), seed: 6))
    let w = Tensor(shape: size + [c, 1], data: values(size.reduce(1, *) * c, seed: 7))
    let bias = Tensor(shape: [c], data: values(c, seed: 8))
    let window = Window(kernel: size, strides: strides, dilation: dilation, padding: try #require(Padding(rawValue: padding)))
    let fast = VolumeKernels.depthwise(x, kernel: w, bias: bias, window: window, multiplier: 1)
    // The direct sum, in double precision, over a 2-D view (a 1-D input has height 1).
    let g = ConvolutionKernels.planar(window)
    let (batch, height, width) = (input[0], input.count == 3 ? 1 : input[1], input[input.count - 2])
    let (kh, kw) = (size.count == 1 ? 1 : size[0], size.last!)
    let (oh, top) = input.count == 3 ? (1, 0) : g.axis(0, length: height)
    let (ow, left) = g.axis(1, length: width)
    #expect(fast.shape == (input.count == 3 ? [batch, ow, c] : [batch, oh, ow, c]))
    var worst: Float = 0
    for b in 0..<batch {
      for i in 0..<oh {
        for j in 0..<ow {
          for ch in 0..<c {
            var sum = Double(bias.data[ch])
            for di in 0..<kh {
              let y = i * g.strides[0] - top + di * g.dilation[0]
              guard y >= 0, y < height else { continue }
              for dj in 0..<kw {
                let xx = j * g.strides[1] - left + dj * g.dilation[1]
                guard xx >= 0, xx < width else { continue }
                sum += Double(x.data[((b * height + y) * width + xx) * c + ch]) * Double(w.data[(di * kw + dj) * c + ch])
              }
            }
            worst = max(worst, abs(Float(sum) - fast.data[((b * oh + i) * ow + j) * c + ch]))
          }
        }
      }
    }
    #expect(worst < 1e-5, "worst difference \(worst)")
  }
}
