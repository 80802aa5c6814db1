import Foundation
import KerasModel

/// The attention layers at inference, as Keras computes them. Dropout is inactive.
enum Attention {
  /// Softmax attention in groups: `q` is (G, T, Dk), already scaled; group `g` reads key and
  /// value group `keyGroup(g)` of `k` (G', S, Dk) and `v` (G', S, Dv). `allowed(g, t, s)` false
  /// excludes a key position. A row with none allowed attends uniformly, as Keras's large
  /// negative fill does, or with `zeroUnattended` not at all (Keras 3's masked Softmax layer,
  /// which zeroes what it masked). Returns (G, T, Dv).
  static func softmaxAttention(
    q: [Float], k: [Float], v: [Float], groups: Int, t: Int, s: Int, dk: Int, dv: Int,
    keyGroup: (Int) -> Int = { $0 }, allowed: ((Int, Int, Int) -> Bool)? = nil, zeroUnattended: Bool = false,
    probabilities: UnsafeMutablePointer<Float>? = nil
  ) -> [Float] {
    var out = [Float](repeating: 0, count: groups * t * dv)
    var scores = [Float](repeating: 0, count: s)
    for g in 0..<groups {
      let kg = keyGroup(g)
      for ti in 0..<t {
        let qRow = (g * t + ti) * dk
        var top = -Float.infinity
        for si in 0..<s {
          if let allowed, !allowed(g, ti, si) { scores[si] = -.infinity; continue }
          let kRow = (kg * s + si) * dk
          var dot: Float = 0
          for d in 0..<dk { dot += q[qRow + d] * k[kRow + d] }
          scores[si] = dot
          top = max(top, dot)
        }
        if top == -.infinity, zeroUnattended {
          for si in 0..<s { scores[si] = 0 }
        } else {
          normalize(&scores, top: top)
        }
        if let probabilities { for si in 0..<s { probabilities[(g * t + ti) * s + si] = scores[si] } }
        let oRow = (g * t + ti) * dv
        for si in 0..<s where scores[si] != 0 {
          let vRow = (kg * s + si) * dv
          for d in 0..<dv { out[oRow + d] += scores[si] * v[vRow + d] }
        }
      }
    }
    return out
  }

  /// Softmax in place of scores whose excluded entries are -inf and whose largest is `top`.
  static func normalize(_ scores: inout [Float], top: Float) {
    if top == -.infinity {
      for i in scores.indices { scores[i] = 1 / Float(scores.count) }
      return
    }
    var sum: Float = 0
    for i in scores.indices { scores[i] = scores[i] == -.infinity ? 0 : exp(scores[i] - top); sum += scores[i] }
    for i in scores.indices { scores[i] /= sum }
  }

  /// `x[..., features] · kernel[features, heads, dim] + bias[heads, dim]`: (..., heads · dim).
  static func project(_ x: Tensor, _ kernel: Tensor, _ bias: Tensor?) -> Tensor {
    let k = kernel.reshaped([kernel.shape[0], kernel.shape[1] * kernel.shape[2]])
    return Linear.dense(x, kernel: k, bias: bias.map { $0.reshaped([$0.count]) })
  }

  /// Moves a projected tensor (B, d1..dn, H, D) to attention groups: ([B, other d..., H], [the
  /// attention axes' d...], D), with the permutation that did it.
  static func grouped(_ x: Tensor, heads: Int, axes: [Int]) -> (data: [Float], permutation: [Int], positions: Int) {
    let rank = x.rank + 1  // with the head axis split off the last
    let shape = Array(x.shape.dropLast()) + [heads, x.last / heads]
    let others = (1..<(rank - 2)).filter { !axes.contains($0) }
    let permutation = [0] + others + [rank - 2] + axes + [rank - 1]
    let positions = axes.reduce(1) { $0 * shape[$1] }
    return (transposed(x.data, shape: shape, permutation: permutation), permutation, positions)
  }

  /// `MultiHeadAttention` (Keras 3's `_compute_attention`): query, key and value projected per
  /// head, the query scaled by 1/√key_dim, softmax jointly over the key positions of the
  /// attention axes (masked positions excluded), the heads' outputs projected back.
  /// With `scores`, also the attention probabilities, (batch, other axes..., heads, query
  /// positions..., key positions...), as Keras returns them.
  static func multiHead(
    _ layer: MultiHeadAttention, axes: [Int], causal: Bool, weights: [Tensor], inputs: [Value], attentionMask: Tensor? = nil,
    scores: Bool = false, keras3: Bool = false
  ) throws(RuntimeError) -> (Tensor, Tensor?) {
    guard inputs.count >= 2 else { throw RuntimeError("MultiHeadAttention needs query and value") }
    let query = inputs[0], value = inputs[1]
    let key = inputs.count > 2 ? inputs[2] : value
    // Projections in Keras's build order: query, key, [gate,] value, output.
    let perProjection = layer.useBias ? 2 : 1
    let projections = layer.useGate ? 5 : 4
    guard weights.count == projections * perProjection else {
      throw RuntimeError("MultiHeadAttention expects \(projections * perProjection) weights, got \(weights.count)")
    }
    func projection(_ i: Int) -> (Tensor, Tensor?) { (weights[i * perProjection], layer.useBias ? weights[i * perProjection + 1] : nil) }
    let order = layer.useGate ? [0, 1, 3, 4] : [0, 1, 2, 3]
    let w = order.map { projection($0).0 }
    let b = order.map { projection($0).1 }
    let gate = layer.useGate ? projection(2) : nil
    guard w[0...2].allSatisfy({ $0.rank == 3 }), w[3].rank >= 3 else { throw RuntimeError("MultiHeadAttention kernels must have rank 3") }
    // The output projection may map to several trailing axes (`output_shape=(a, b)`).
    let outDims = Array(w[3].shape.dropFirst(2))
    let (heads, keyDim, valueDim, width) = (w[0].shape[1], w[0].shape[2], w[2].shape[2], outDims.reduce(1, *))
    let rank = query.tensor.rank
    for (x, kernel) in [(query.tensor, w[0]), (key.tensor, w[1]), (value.tensor, w[2])] {
      guard x.rank == rank, x.last == kernel.shape[0] else { throw RuntimeError("MultiHeadAttention input \(x.shape) does not fit kernel \(kernel.shape)") }
    }
    let others = (1..<(rank - 1)).filter { !axes.contains($0) }
    guard key.tensor.shape.dropLast() == value.tensor.shape.dropLast(), key.tensor.shape[0] == query.tensor.shape[0],
      others.allSatisfy({ key.tensor.shape[$0] == query.tensor.shape[$0] })
    else {
      throw RuntimeError("MultiHeadAttention key \(key.tensor.shape) and value \(value.tensor.shape) do not line up with query \(query.tensor.shape)")
    }
    // Keras builds its automatic masks (the inputs' own, causal) for one sequence axis only; an
    // explicit attention_mask= may cover any attention axes.
    let sequence = rank == 3 && axes == [1]
    let keyMask = inputs.count > 2 ? key.mask : nil
    if !sequence, causal || layer.slidingWindow != nil || query.mask != nil || value.mask != nil || keyMask != nil {
      throw RuntimeError("MultiHeadAttention masks of its inputs, a causal mask or a sliding window over attention axes \(axes) of rank-\(rank) inputs are not supported (attention_mask= is)")
    }
    var qp = project(query.tensor, w[0], b[0])
    let scale = 1 / Float(Double(keyDim).squareRoot())
    for i in qp.data.indices { qp.data[i] *= scale }
    let q = grouped(qp, heads: heads, axes: axes)
    let k = grouped(project(key.tensor, w[1], b[1]), heads: heads, axes: axes)
    let v = grouped(project(value.tensor, w[2], b[2]), heads: heads, axes: axes)
    let groups = q.data.count / (q.positions * keyDim)
    let (t, s) = (q.positions, k.positions)
    // Scores as Keras lays them out: the group layout without its last axis, then the key's
    // attention axes.
    let queryGroupShape = q.permutation.map { (Array(query.tensor.shape.dropLast()) + [heads, keyDim])[$0] }
    let keyShape = Array(key.tensor.shape.dropLast()) + [heads, keyDim]
    let scoreShape = Array(queryGroupShape.dropLast()) + axes.map { keyShape[$0] }
    let allowed = try attentionAllowed(
      scoreShape: scoreShape, attentionAxes: axes.count, explicit: attentionMask, heads: heads, t: t, s: s,
      queryMask: query.mask, valueMasks: [value.mask, keyMask], causal: causal, window: layer.slidingWindow)
    var probabilities = [Float](repeating: 0, count: scores ? groups * t * s : 0)
    let attended = probabilities.withUnsafeMutableBufferPointer { p in
      // Keras 3 runs its fused dot-product attention on (batch, time, features) inputs unless
      // the scores are returned, its masked Softmax layer otherwise.
      softmaxAttention(
        q: q.data, k: k.data, v: v.data, groups: groups, t: t, s: s, dk: keyDim, dv: valueDim, allowed: allowed,
        zeroUnattended: keras3 && (scores || rank != 3), probabilities: scores ? p.baseAddress : nil)
    }
    // Back from the group layout to (B, d1..dn, H, Dv).
    let outShape = Array(query.tensor.shape.dropLast()) + [heads, valueDim]
    let groupShape = q.permutation.map { outShape[$0] }
    var inverse = [Int](repeating: 0, count: q.permutation.count)
    for (i, p) in q.permutation.enumerated() { inverse[p] = i }
    var merged = Tensor(shape: Array(query.tensor.shape.dropLast()) + [heads * valueDim], data: transposed(attended, shape: groupShape, permutation: inverse))
    if let (wg, bg) = gate {
      let g = project(query.tensor, wg, bg)
      guard g.count == merged.count else { throw RuntimeError("MultiHeadAttention gate \(wg.shape) does not fit its heads' output") }
      for i in merged.data.indices { merged.data[i] *= Activations.sigmoid(g.data[i]) }
    }
    let y = Linear.dense(merged, kernel: w[3].reshaped([heads * valueDim, width]), bias: b[3].map { $0.reshaped([width]) })
    let output = y.reshaped(Array(y.shape.dropLast()) + outDims)
    guard scores else { return (output, nil) }
    return (output, Tensor(shape: scoreShape, data: probabilities))
  }

  /// Keras 3's `GroupedQueryAttention`: as multi-head attention over the sequence, query head h
  /// reading key/value head h / (query heads / key-value heads); the optional gate multiplies the
  /// heads' outputs; a sliding window keeps keys with |t - s| < window.
  static func groupedQuery(
    _ layer: GroupedQueryAttention, causal: Bool, weights: [Tensor], inputs: [Value], attentionMask: Tensor? = nil, scores: Bool = false
  ) throws(RuntimeError) -> (Tensor, Tensor?) {
    guard inputs.count >= 2 else { throw RuntimeError("GroupedQueryAttention needs query and value") }
    let query = inputs[0], value = inputs[1]
    let key = inputs.count > 2 ? inputs[2] : value
    let perProjection = layer.useBias ? 2 : 1
    let projections = layer.useGate ? 5 : 4
    guard weights.count == projections * perProjection else { throw RuntimeError("GroupedQueryAttention expects \(projections * perProjection) weights, got \(weights.count)") }
    func weight(_ i: Int) -> (Tensor, Tensor?) { (weights[i * perProjection], layer.useBias ? weights[i * perProjection + 1] : nil) }
    let (wq, bq) = weight(0), (wk, bk) = weight(1)
    let gate = layer.useGate ? weight(2) : nil
    let (wv, bv) = weight(layer.useGate ? 3 : 2), (wo, bo) = weight(layer.useGate ? 4 : 3)
    let (nq, nkv, h) = (layer.queryHeads, layer.keyValueHeads, layer.headDim)
    for (x, kernel) in [(query.tensor, wq), (key.tensor, wk), (value.tensor, wv)] {
      guard x.rank == 3, kernel.rank == 3, x.last == kernel.shape[0] else { throw RuntimeError("GroupedQueryAttention input \(x.shape) does not fit kernel \(kernel.shape)") }
    }
    let batch = query.tensor.shape[0], t = query.tensor.shape[1], s = key.tensor.shape[1]
    guard value.tensor.shape[1] == s, key.tensor.shape[0] == batch, value.tensor.shape[0] == batch else {
      throw RuntimeError("GroupedQueryAttention key \(key.tensor.shape) and value \(value.tensor.shape) do not line up with query \(query.tensor.shape)")
    }
    var qp = project(query.tensor, wq, bq)
    let scale = 1 / Float(Double(h).squareRoot())
    for i in qp.data.indices { qp.data[i] *= scale }
    let q = grouped(qp, heads: nq, axes: [1])
    let k = grouped(project(key.tensor, wk, bk), heads: nkv, axes: [1])
    let v = grouped(project(value.tensor, wv, bv), heads: nkv, axes: [1])
    let repeats = nq / nkv
    let allowed = try attentionAllowed(
      scoreShape: [batch, nq, t, s], attentionAxes: 1, explicit: attentionMask, heads: nq, t: t, s: s,
      queryMask: query.mask, valueMasks: [value.mask, inputs.count > 2 ? key.mask : nil], causal: causal, window: layer.slidingWindow)
    var probabilities = [Float](repeating: 0, count: scores ? batch * nq * t * s : 0)
    let attended = probabilities.withUnsafeMutableBufferPointer { p in
      softmaxAttention(
        q: q.data, k: k.data, v: v.data, groups: batch * nq, t: t, s: s, dk: h, dv: h,
        keyGroup: { g in (g / nq) * nkv + (g % nq) / repeats }, allowed: allowed, zeroUnattended: scores,
        probabilities: scores ? p.baseAddress : nil)
    }
    // (B, Nq, T, H) back to (B, T, Nq·H).
    var heads = Tensor(shape: [batch, t, nq * h], data: transposed(attended, shape: [batch, nq, t, h], permutation: [0, 2, 1, 3]))
    if let (wg, bg) = gate {
      let g = project(query.tensor, wg, bg)
      for i in heads.data.indices { heads.data[i] *= Activations.sigmoid(g.data[i]) }
    }
    let output = Linear.dense(heads, kernel: wo.reshaped([nq * h, wo.shape[2]]), bias: bo)
    return (output, scores ? Tensor(shape: [batch, nq, t, s], data: probabilities) : nil)
  }

  /// Which key positions each query position may attend to, as Keras's `_compute_attention_mask`
  /// and `_masked_softmax` decide, or nil when every one may: over scores of `scoreShape`
  /// (groups of `heads` per batch entry, then `t` query and `s` key positions), the query's mask
  /// as [B, T, 1], each value/key mask as [B, 1, S], the causal mask as [1, T, S] and a sliding
  /// window, ANDed with `explicit` (`attention_mask=`, nonzero where allowed), which Keras expands
  /// in front of the attention axes and broadcasts to the scores.
  static func attentionAllowed(
    scoreShape: [Int], attentionAxes n: Int, explicit: Tensor?, heads: Int, t: Int, s: Int,
    queryMask: [Bool]?, valueMasks: [[Bool]?], causal: Bool, window: Int?
  ) throws(RuntimeError) -> ((Int, Int, Int) -> Bool)? {
    let valueMasks = valueMasks.compactMap { $0 }
    let automatic = queryMask != nil || !valueMasks.isEmpty || causal || window != nil
    guard automatic || explicit != nil else { return nil }
    // The masks are (batch, time) of the query and of the keys; a mask of another length (one
    // kept from before a layer changed the time axis) is refused, never read past its end.
    let batches = scoreShape.first ?? 0
    if let queryMask, queryMask.count != batches * t {
      throw RuntimeError("attention query mask has \(queryMask.count) values for \(batches) × \(t) query positions")
    }
    for mask in valueMasks where mask.count != batches * s {
      throw RuntimeError("attention key mask has \(mask.count) values for \(batches) × \(s) key positions")
    }
    func kept(_ g: Int, _ ti: Int, _ si: Int) -> Bool {
      let bi = g / heads
      return (queryMask?[bi * t + ti] ?? true) && valueMasks.allSatisfy { $0[bi * s + si] }
        && (!causal || si <= ti) && (window.map { abs(ti - si) < $0 } ?? true)
    }
    // Without attention_mask=, the rule itself; with one, its broadcast ANDed with the rule.
    guard let explicit else { return kept }
    var allowed = try broadcastMask(explicit, to: scoreShape, attentionAxes: n)
    if automatic {
      let groups = allowed.count / max(t * s, 1)
      for g in 0..<groups {
        for ti in 0..<t {
          let row = (g * t + ti) * s
          for si in 0..<s where allowed[row + si] { allowed[row + si] = kept(g, ti, si) }
        }
      }
    }
    return { g, ti, si in allowed[(g * t + ti) * s + si] }
  }

  /// An `attention_mask` of any shape Keras accepts, as booleans over scores of `scoreShape`: size-1
  /// axes inserted in front of the last 2·n axes (Keras's `mask_expansion_axis`) until the ranks
  /// agree, then broadcast.
  static func broadcastMask(_ mask: Tensor, to scoreShape: [Int], attentionAxes n: Int) throws(RuntimeError) -> [Bool] {
    let (r, rank) = (mask.rank, scoreShape.count)
    guard r <= rank, r >= 2 * n else {
      throw RuntimeError("attention_mask of shape \(mask.shape) does not fit attention scores of shape \(scoreShape)")
    }
    var count = 1
    for d in scoreShape {
      let (product, overflow) = count.multipliedReportingOverflow(by: d)
      guard !overflow, product <= Runtime.maxActivationElements else {
        throw RuntimeError("attention scores of shape \(scoreShape) are too large to mask")
      }
      count = product
    }
    let shape = Array(mask.shape[..<(r - 2 * n)]) + Array(repeating: 1, count: rank - r) + Array(mask.shape[(r - 2 * n)...])
    var strides = [Int](repeating: 0, count: rank)
    var step = 1
    for axis in stride(from: rank - 1, through: 0, by: -1) {
      guard shape[axis] == scoreShape[axis] || shape[axis] == 1 else {
        throw RuntimeError("attention_mask of shape \(mask.shape) does not broadcast to attention scores of shape \(scoreShape)")
      }
      strides[axis] = shape[axis] == 1 ? 0 : step
      step *= shape[axis]
    }
    var out = [Bool](repeating: true, count: count)
    var index = [Int](repeating: 0, count: rank)
    var source = 0
    for i in 0..<count {
      out[i] = mask.data[source] != 0
      // Next index, odometer style, keeping the source offset in step.
      var axis = rank - 1
      while axis >= 0 {
        index[axis] += 1
        source += strides[axis]
        if index[axis] < scoreShape[axis] { break }
        source -= strides[axis] * index[axis]
        index[axis] = 0
        axis -= 1
      }
    }
    return out
  }

  /// `Attention` and `AdditiveAttention` (Keras's `_calculate_scores` and `_apply_scores`):
  /// scores of each query step against each key step, the value mask and the causal mask
  /// applied, softmax over the key steps, the value weighted; masked query steps give zeros.
  /// With `scores`, also the attention probabilities (batch, Tq, Tv).
  static func scored(_ layer: ScoreAttention, causal: Bool, weights: [Tensor], inputs: [Value], scores wantScores: Bool = false) throws(RuntimeError) -> (Tensor, Tensor?) {
    guard inputs.count >= 2 else { throw RuntimeError("\(layer.score == .additive ? "AdditiveAttention" : "Attention") needs query and value") }
    let query = inputs[0].tensor, value = inputs[1].tensor
    let key = inputs.count > 2 ? inputs[2].tensor : value
    guard query.rank >= 3, key.rank == query.rank, value.rank == query.rank, key.last == query.last,
      key.shape.dropLast() == value.shape.dropLast(), query.shape.dropLast(2) == key.shape.dropLast(2)
    else { throw RuntimeError("attention query \(query.shape), value \(value.shape) and key \(key.shape) do not line up") }
    let (t, s, d, dv) = (query.shape[query.rank - 2], key.shape[key.rank - 2], query.last, value.last)
    let groups = query.count / (t * d)
    var scale: [Float]?
    var concatWeight: Float = 1
    var next = 0
    if layer.useScale {
      guard weights.count > next else { throw RuntimeError("attention expects a scale weight") }
      scale = weights[next].data
      next += 1
      if layer.score == .additive ? scale!.count != d : scale!.count != 1 { throw RuntimeError("attention scale has \(scale!.count) values, expected \(layer.score == .additive ? d : 1)") }
    }
    if layer.score == .concat {
      guard weights.count > next, weights[next].count == 1 else { throw RuntimeError("attention expects a concat_score_weight") }
      concatWeight = weights[next].data[0]
    }
    // The masks are (batch, steps) over rank-3 inputs.
    let (qm, vm) = (inputs[0].mask, inputs[1].mask)
    var out = [Float](repeating: 0, count: groups * t * dv)
    var scores = [Float](repeating: 0, count: s)
    var probabilities = [Float](repeating: 0, count: wantScores ? groups * t * s : 0)
    for g in 0..<groups {
      for ti in 0..<t {
        let qRow = (g * t + ti) * d
        var top = -Float.infinity
        for si in 0..<s {
          let kRow = (g * s + si) * d
          var score: Float = 0
          switch layer.score {
          case .dot:
            for i in 0..<d { score += query.data[qRow + i] * key.data[kRow + i] }
            if let scale { score *= scale[0] }
          case .concat:
            let sc = scale?[0] ?? 1
            for i in 0..<d { score += Foundation.tanh(sc * (query.data[qRow + i] + key.data[kRow + i])) }
            score *= concatWeight
          case .additive:
            for i in 0..<d { score += (scale?[i] ?? 1) * Foundation.tanh(query.data[qRow + i] + key.data[kRow + i]) }
          }
          let keep = (vm?[g * s + si] ?? true) && (!causal || si <= ti)
          scores[si] = keep ? score : -.infinity
          if keep { top = max(top, score) }
        }
        normalize(&scores, top: top)
        if wantScores { for si in 0..<s { probabilities[(g * t + ti) * s + si] = scores[si] } }
        // A masked query step outputs zeros; its scores are still returned, as Keras does.
        if qm?[g * t + ti] == false { continue }
        let oRow = (g * t + ti) * dv
        for si in 0..<s where scores[si] != 0 {
          let vRow = (g * s + si) * dv
          for i in 0..<dv { out[oRow + i] += scores[si] * value.data[vRow + i] }
        }
      }
    }
    let output = Tensor(shape: Array(query.shape.dropLast()) + [dv], data: out)
    return (output, wantScores ? Tensor(shape: Array(query.shape.dropLast()) + [s], data: probabilities) : nil)
  }
}

/// Einsum of an input with a kernel, as EinsumDense computes it: the input's axes that the
/// output keeps (M), the kernel's (N) and the contracted ones (K) rearranged into one matrix
/// product (M×K)·(K×N), then into the output's axis order. The kernel is rearranged once, when
/// the layer's kernel is built; each call plans the input's side (the ellipsis's axes vary).
struct EinsumKernel {
  let kernelSpec: [Character]
  /// The contracted letters, then the kernel's own output letters: the rearranged kernel's order.
  let kLetters: [Character], nLetters: [Character]
  /// The kernel as a (K, N) matrix, and each kernel letter's size.
  let matrix: [Float]
  let size: [Character: Int]

  /// `input` and `output` are the equation's letters without the ellipsis (its axes are kept
  /// from input to output, so they never meet the kernel).
  init(input: [Character], kernelSpec: [Character], kernel: Tensor, output: [Character]) throws(RuntimeError) {
    guard kernelSpec.count == kernel.rank else { throw RuntimeError("EinsumDense kernel \(kernel.shape) does not fit its equation") }
    kLetters = input.filter { !output.contains($0) }
    nLetters = kernelSpec.filter { output.contains($0) && !input.contains($0) }
    let mLetters = input.filter { output.contains($0) }
    guard kLetters.allSatisfy({ kernelSpec.contains($0) }), kernelSpec.allSatisfy({ output.contains($0) || input.contains($0) }),
      mLetters.allSatisfy({ !kernelSpec.contains($0) })
    else {
      throw RuntimeError("EinsumDense equation sums an axis of one operand or shares a batch axis with the kernel, which is not supported")
    }
    self.kernelSpec = kernelSpec
    size = Dictionary(zip(kernelSpec, kernel.shape), uniquingKeysWith: { a, _ in a })
    matrix = transposed(kernel.data, shape: kernel.shape, permutation: (kLetters + nLetters).map { kernelSpec.firstIndex(of: $0)! })
  }
}

/// One call's product: the input's permutation into (M, K) and the product's into the output.
struct EinsumPlan {
  let inputPermutation: [Int]
  let kernel: EinsumKernel
  let m: Int, k: Int, n: Int
  /// The output's shape in (M..., N...) order, and the permutation to the output's order.
  let productShape: [Int]
  let outputPermutation: [Int]

  /// `input` and `output` letters with the ellipsis expanded (one distinct character per elided
  /// axis); sizes of the input known.
  init(input: [Character], inputShape: [Int], kernel: EinsumKernel, output: [Character]) throws(RuntimeError) {
    guard input.count == inputShape.count else {
      throw RuntimeError("EinsumDense input \(inputShape) does not fit its equation")
    }
    var size = kernel.size
    for (ch, d) in zip(input, inputShape) {
      if let known = size[ch], known != d { throw RuntimeError("EinsumDense axis \(ch) is \(d) in the input and \(known) in the kernel") }
      size[ch] = d
    }
    let mLetters = input.filter { output.contains($0) }
    guard output.allSatisfy({ size[$0] != nil }) else { throw RuntimeError("EinsumDense output names an axis neither operand has") }
    self.kernel = kernel
    inputPermutation = (mLetters + kernel.kLetters).map { input.firstIndex(of: $0)! }
    m = mLetters.reduce(1) { $0 * size[$1]! }
    k = kernel.kLetters.reduce(1) { $0 * size[$1]! }
    n = kernel.nLetters.reduce(1) { $0 * size[$1]! }
    let product = mLetters + kernel.nLetters
    productShape = product.map { size[$0]! }
    outputPermutation = output.map { product.firstIndex(of: $0)! }
  }

  func run(_ x: Tensor) -> Tensor {
    let a = transposed(x.data, shape: x.shape, permutation: inputPermutation)
    var c = [Float](repeating: 0, count: m * n)
    a.withUnsafeBufferPointer { ap in
      kernel.matrix.withUnsafeBufferPointer { bp in
        c.withUnsafeMutableBufferPointer { cp in Linear.matmul(ap.baseAddress!, bp.baseAddress!, cp.baseAddress!, m: m, k: k, n: n) }
      }
    }
    return Tensor(shape: outputPermutation.map { productShape[$0] }, data: transposed(c, shape: productShape, permutation: outputPermutation))
  }
}
