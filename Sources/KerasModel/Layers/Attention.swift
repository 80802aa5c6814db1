/// `MultiHeadAttention` called on (query, value[, key]): the query's shape with the output
/// width. Weights in Keras's order: query/key/value projections (features, heads, key_dim or
/// value_dim) with biases (heads, dim), then the output projection (heads, value_dim, out).
/// Attention runs over `attention_axes` of inputs of any rank (default: every axis between the
/// batch and the features), the key positions of all of them under one softmax. Keras 3.15's
/// `use_gate` adds a sigmoid projection of the query (features, heads, value_dim), built between
/// key and value, multiplying each head's output; `sliding_window` keeps the keys within
/// `sliding_window - 1` positions of the query's.
public struct MultiHeadAttention: LayerDefinition {
  public static let classNames = ["MultiHeadAttention"]
  /// Keras 3 keeps the four projections as EinsumDense sub-objects (`_query_dense`; some
  /// versions without the underscore).
  public static let keras3SubObjects = [
    "query_dense", "_query_dense", "key_dense", "_key_dense", "gate_dense", "_gate_dense", "value_dense", "_value_dense",
    "output_dense", "_output_dense",
  ]
  /// Grouped-query attention's order: its gate sits between key and value (Keras's build order).
  static let groupedSubObjects = ["_query_dense", "_key_dense", "_gate_dense", "_value_dense", "_output_dense"]
  public let heads: Int
  public let keyDim: Int
  public let valueDim: Int
  public let useBias: Bool
  public let useGate: Bool
  public let slidingWindow: Int?
  /// The output's trailing shape when the config sets `output_shape` (one size, or several);
  /// else the query's width.
  public let outputShape: [Int]?
  let attentionAxes: [Int]?
  /// Keras 3 writes the scores' shape its own way (see `signature(_:call:)`).
  let keras3: Bool
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    keras3 = c.keras3
    heads = try c.int("num_heads")
    keyDim = try c.int("key_dim")
    valueDim = try c.int("value_dim", default: keyDim)
    useBias = try c.bool("use_bias", default: true)
    useGate = try c.bool("use_gate", default: false)
    slidingWindow = try c.optionalInt("sliding_window")
    if let window = slidingWindow, window <= 0 { throw c.error("has sliding_window \(window); Keras needs a positive integer") }
    if let v = c.present("output_shape") {
      guard let list = v.int.map({ [$0] }) ?? v.intList, !list.isEmpty, list.count <= 8, list.allSatisfy({ $0 > 0 && $0 < 1 << 30 }) else {
        throw c.error("has an output_shape that is not a list of sizes")
      }
      outputShape = list
    } else {
      outputShape = nil
    }
    attentionAxes = c.present("attention_axes") == nil ? nil : try c.intList("attention_axes", default: [])
    label = c.label
  }

  /// The input axes attention runs over, for inputs of `rank`: Keras 3's rule (None is every axis
  /// between the batch and the features; a negative axis counts from the projected rank).
  public func attentionAxes(rank: Int) throws(ModelError) -> [Int] {
    guard let attentionAxes else { return Array(1..<(rank - 1)) }
    let axes = attentionAxes.map { $0 >= 0 ? $0 : rank + $0 }
    guard !axes.isEmpty, axes.allSatisfy({ $0 >= 1 && $0 <= rank - 2 }), Set(axes).count == axes.count else {
      throw label.error("has attention_axes \(attentionAxes), outside the axes between batch and features of a rank-\(rank) input")
    }
    return axes
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    guard inputs.count >= 2 && inputs.count <= 3 else { throw label.error("expects query, value and optionally key, got \(inputs.count) inputs") }
    let (query, value) = (inputs[0], inputs[1])
    let key = inputs.count == 3 ? inputs[2] : value
    guard query.count >= 3, value.count == query.count, key.count == query.count else {
      throw label.error("expects query, value and key of one rank, 3 or more, got \(inputs.map(format).joined(separator: ", "))")
    }
    let axes = try attentionAxes(rank: query.count)
    for i in 1..<(query.count - 1) where !axes.contains(i) {
      if let a = query[i], let b = key[i], a != b { throw label.error("attends over \(axes), but query and key differ on axis \(i)") }
    }
    let dq = try label.known(query.last!, "query feature dimension")
    let dk = try label.known(key.last!, "key feature dimension")
    let dv = try label.known(value.last!, "value feature dimension")
    let outDims = outputShape ?? [dq]
    let out = saturatingProduct(outDims)
    var weights = [WeightSpec("kernel", [dq, heads, keyDim])]
    if useBias { weights.append(WeightSpec("bias", [heads, keyDim])) }
    weights.append(WeightSpec("kernel", [dk, heads, keyDim]))
    if useBias { weights.append(WeightSpec("bias", [heads, keyDim])) }
    if useGate {
      weights.append(WeightSpec("kernel", [dq, heads, valueDim]))
      if useBias { weights.append(WeightSpec("bias", [heads, valueDim])) }
    }
    weights.append(WeightSpec("kernel", [dv, heads, valueDim]))
    if useBias { weights.append(WeightSpec("bias", [heads, valueDim])) }
    weights.append(WeightSpec("kernel", [heads, valueDim] + outDims))
    if useBias { weights.append(WeightSpec("bias", outDims)) }
    let b = useBias ? 1 : 0
    let outText = outDims.map(String.init).joined(separator: " × ")
    let gate = useGate ? " + \(heads) × (\(dq) + \(b)) × \(valueDim)" : ""
    let formula = "\(heads) × ((\(dq) + \(dk)) × \(keyDim) + \(dv) × \(valueDim) + \(b * 2) × \(keyDim) + \(b) × \(valueDim))\(gate) + \(heads) × \(valueDim) × \(outText)" + (useBias ? " + \(outText)" : "")
    let (t, s) = (saturatingProduct(axes.map { query[$0] ?? 1 }), saturatingProduct(axes.map { key[$0] ?? 1 }))
    let (T, S) = (Double(t), Double(s))
    let groups = Double(saturatingProduct((1..<(query.count - 1)).filter { !axes.contains($0) }.map { query[$0] ?? 1 }))
    let gateWork = useGate ? T * Double(dq * valueDim) : 0
    let work = 2 * groups * Double(heads) * (gateWork + T * Double(dq * keyDim) + S * Double(dk * keyDim + dv * valueDim) + T * S * Double(keyDim + valueDim) + T * Double(valueDim * out))
    let flops = work < 9e18 ? Int(work) : Int.max
    return LayerSignature(outputs: [Array(query.dropLast()) + outDims.map { Optional($0) }], weights: weights, formula: formula, flops: flops)
  }
}

extension MultiHeadAttention {
  /// With `return_attention_scores`, the scores follow the output: (batch, other axes..., heads,
  /// query positions..., key positions...) as the call computes them (tf_keras's summary), or
  /// Keras 3's `compute_output_spec`, (batch, heads, Tq, Tq), which takes the query's length for
  /// the keys too.
  public func signature(_ inputs: [Shape], call: CallArguments) throws(ModelError) -> LayerSignature {
    var s = try signature(inputs)
    guard call.returnAttentionScores else { return s }
    let query = inputs[0], key = inputs.count == 3 ? inputs[2] : inputs[1]
    if keras3 {
      s.outputs.append([query[0], heads, query[1], query[1]])
    } else {
      let axes = try attentionAxes(rank: query.count)
      let others = (1..<(query.count - 1)).filter { !axes.contains($0) }
      s.outputs.append([query[0]] + others.map { query[$0] } + [heads] + axes.map { query[$0] } + axes.map { key[$0] })
    }
    s.outputsAreTuple = true
    return s
  }
}

extension GroupedQueryAttention {
  /// With `return_attention_scores`, the scores (batch, query heads, Tq, Tk) follow the output
  /// (Keras 3's `compute_output_spec`).
  public func signature(_ inputs: [Shape], call: CallArguments) throws(ModelError) -> LayerSignature {
    var s = try signature(inputs)
    guard call.returnAttentionScores else { return s }
    let query = inputs[0], key = inputs.count == 3 ? inputs[2] : inputs[1]
    s.outputs.append([query[0], queryHeads, query[1], key[1]])
    s.outputsAreTuple = true
    return s
  }
}

extension ScoreAttention {
  /// With `return_attention_scores`, the scores (batch, Tq, Tv) follow the output.
  public func signature(_ inputs: [Shape], call: CallArguments) throws(ModelError) -> LayerSignature {
    var s = try signature(inputs)
    guard call.returnAttentionScores else { return s }
    let query = inputs[0], key = inputs.count == 3 ? inputs[2] : inputs[1]
    s.outputs.append(Array(query.dropLast()) + [key[key.count - 2]])
    s.outputsAreTuple = true
    return s
  }
}

/// Keras 3's `GroupedQueryAttention(head_dim, num_query_heads, num_key_value_heads)`: each key
/// and value head serves `num_query_heads / num_key_value_heads` query heads; `use_gate` (a
/// sigmoid projection of the query multiplying the heads' outputs) and `sliding_window` (keys
/// within `sliding_window - 1` positions either side). Weights: query, key, [gate,] value
/// projections (features, heads, head_dim) with biases (heads, head_dim), output projection
/// (query heads, head_dim, features) with bias (features).
public struct GroupedQueryAttention: LayerDefinition {
  public static let classNames = ["GroupQueryAttention", "GroupedQueryAttention"]
  public static let pythonClassNames = ["GroupQueryAttention": "GroupedQueryAttention"]
  public static let keras3SubObjects = MultiHeadAttention.groupedSubObjects
  public let headDim: Int
  public let queryHeads: Int
  public let keyValueHeads: Int
  public let useBias: Bool
  public let useGate: Bool
  public let slidingWindow: Int?
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    headDim = try c.int("head_dim")
    queryHeads = try c.int("num_query_heads")
    keyValueHeads = try c.int("num_key_value_heads")
    guard headDim > 0, keyValueHeads > 0, queryHeads % keyValueHeads == 0 else {
      throw c.error("has \(queryHeads) query heads, not a multiple of its \(keyValueHeads) key/value heads")
    }
    useBias = try c.bool("use_bias", default: true)
    useGate = try c.bool("use_gate", default: false)
    slidingWindow = try c.optionalInt("sliding_window")
    label = c.label
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    guard inputs.count == 2 || inputs.count == 3 else { throw label.error("expects query, value and optionally key, got \(inputs.count) inputs") }
    let (query, value) = (inputs[0], inputs[1])
    let key = inputs.count == 3 ? inputs[2] : value
    guard query.count == 3, value.count == 3, key.count == 3 else { throw label.error("expects inputs of rank 3, got \(inputs.map(format).joined(separator: ", "))") }
    let features = try label.known(query.last!, "query feature dimension")
    let dk = try label.known(key.last!, "key feature dimension")
    let dv = try label.known(value.last!, "value feature dimension")
    guard dv == features else { throw label.error("needs query and value of one width, got \(features) and \(dv)") }
    var weights: [WeightSpec] = []
    func projection(_ width: Int, _ heads: Int) {
      weights.append(WeightSpec("kernel", [width, heads, headDim]))
      if useBias { weights.append(WeightSpec("bias", [heads, headDim])) }
    }
    projection(features, queryHeads)
    projection(dk, keyValueHeads)
    if useGate { projection(features, queryHeads) }
    projection(dv, keyValueHeads)
    weights.append(WeightSpec("kernel", [queryHeads, headDim, features]))
    if useBias { weights.append(WeightSpec("bias", [features])) }
    let b = useBias ? 1 : 0
    let gate = useGate ? 1 : 0
    let formula = "\(1 + gate) × \(queryHeads) × (\(features) + \(b)) × \(headDim) + \(keyValueHeads) × (\(dk) + \(dv) + \(2 * b)) × \(headDim) + \(queryHeads) × \(headDim) × \(features)" + (useBias ? " + \(features)" : "")
    let (t, s) = (Double(query[1] ?? 1), Double(key[1] ?? 1))
    let (h, n, kv, f) = (Double(headDim), Double(queryHeads), Double(keyValueHeads), Double(features))
    let work = 2 * ((1 + Double(gate)) * t * f * n * h + s * Double(dk + dv) * kv * h + 2 * n * t * s * h + t * n * h * f)
    return LayerSignature(outputs: [query], weights: weights, formula: formula, flops: work < 9e18 ? Int(work) : Int.max)
  }
}

/// `Attention` (Luong-style, `score_mode` dot or concat) and `AdditiveAttention` (Bahdanau-style),
/// called on `[query, value]` or `[query, value, key]`: the query's shape with the value's width.
/// Weights: Attention's `scale` () with `use_scale` and `concat_score_weight` () in concat mode;
/// AdditiveAttention's `scale` (dim) with `use_scale` (its default). tf_keras's deprecated
/// `causal=True` config is the call's `use_causal_mask`.
public struct ScoreAttention: LayerDefinition {
  public static let classNames = ["Attention", "AdditiveAttention"]
  public enum Score: String, Sendable { case dot, concat, additive }
  public let score: Score
  public let useScale: Bool
  /// tf_keras's deprecated config key: every call is causal.
  public let causal: Bool
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    if c.className == "AdditiveAttention" {
      score = .additive
      useScale = try c.bool("use_scale", default: true)
    } else {
      let mode = try c.string("score_mode", default: "dot")
      guard let s = Score(rawValue: mode), s != .additive else { throw c.error("has score_mode \"\(mode)\", which Keras does not define") }
      score = s
      useScale = try c.bool("use_scale", default: false)
    }
    causal = try c.bool("causal", default: false)
    label = c.label
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    guard inputs.count == 2 || inputs.count == 3 else { throw label.error("expects [query, value] or [query, value, key], got \(inputs.count) inputs") }
    let (query, value) = (inputs[0], inputs[1])
    let key = inputs.count == 3 ? inputs[2] : value
    guard query.count >= 3, value.count == query.count, key.count == query.count else {
      throw label.error("expects query, value and key of one rank, 3 or more, got \(inputs.map(format).joined(separator: ", "))")
    }
    var weights: [WeightSpec] = []
    switch score {
    case .additive:
      if useScale { weights.append(WeightSpec("scale", [try label.known(query.last!, "query feature dimension")])) }
    case .dot, .concat:
      if useScale { weights.append(WeightSpec("scale", [])) }
      if score == .concat { weights.append(WeightSpec("concat_score_weight", [])) }
    }
    let positions = Double(saturatingProduct(query.dropFirst().dropLast().map { $0 ?? 1 }))
    let (s, d, dv) = (Double(key[key.count - 2] ?? 1), Double(query.last! ?? 1), Double(value.last! ?? 1))
    let work = 2 * positions * s * (d + dv) * (score == .dot ? 1 : 2)
    return LayerSignature(
      outputs: [Array(query.dropLast()) + [value.last!]], weights: weights,
      formula: weights.isEmpty ? nil : weights.map { $0.shape.isEmpty ? "1" : "\($0.shape[0])" }.joined(separator: " + "),
      flops: work < 9e18 ? Int(work) : Int.max)
  }
}

/// `EinsumDense(equation, output_shape, bias_axes)`: one einsum of the input with a kernel whose
/// shape, like the bias's and the output's, follows from the equation as Keras's
/// `_analyze_einsum_string` derives them: `ab,bc->ac`, with `...` leading (`...b,bc->...c`) or
/// trailing (`ab...,bc->ac...`) on the input and the output.
public struct EinsumDense: LayerDefinition {
  public static let classNames = ["EinsumDense"]
  public let equation: String
  /// The input's, the kernel's and the output's letters, without the ellipsis.
  public let inputSpec: [Character], kernelSpec: [Character], outputSpec: [Character]
  /// Where the ellipsis stands: on the left of input and output, on the right, or nowhere.
  public enum Ellipsis: Sendable { case none, left, right }
  public let ellipsis: Ellipsis
  public let partialOutput: Shape
  public let biasAxes: [Character]?
  public let activation: Activation
  /// Keras 3 shows an output size the config leaves None as None; tf_keras the einsum's size.
  let keepsUnknownSizes: Bool
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    equation = try c.string("equation")
    keepsUnknownSizes = c.keras3
    let sides = equation.filter { $0 != " " }.split(separator: "-", omittingEmptySubsequences: false)
    let operands = sides.first?.split(separator: ",", omittingEmptySubsequences: false) ?? []
    guard sides.count == 2, sides[1].first == ">", operands.count == 2 else { throw c.error("has equation \"\(equation)\", which is not \"input,kernel->output\"") }
    var (input, kernel, output) = (String(operands[0]), String(operands[1]), String(sides[1].dropFirst()))
    func letters(_ s: String) -> Bool { !s.isEmpty && s.allSatisfy { $0.isASCII && $0.isLetter } }
    if input.hasPrefix("..."), output.hasPrefix("...") {
      ellipsis = .left
      input.removeFirst(3); output.removeFirst(3)
    } else if input.hasSuffix("..."), output.hasSuffix("..."), input.count >= 5 {
      ellipsis = .right
      input.removeLast(3); output.removeLast(3)
    } else {
      ellipsis = .none
    }
    guard letters(input), letters(kernel), letters(output) else { throw c.error("has equation \"\(equation)\", which Keras's EinsumDense does not accept") }
    (inputSpec, kernelSpec, outputSpec) = (Array(input), Array(kernel), Array(output))
    guard let shape = c.present("output_shape") else { throw c.error("has no output_shape") }
    if let n = shape.int {
      partialOutput = [n]
    } else if let list = shape.array, list.count <= 16 {
      var dims: Shape = []
      for item in list {
        if item.isNull { dims.append(nil); continue }
        guard let n = item.int, n > 0, n < 1 << 40 else { throw c.error("has an output_shape that is not a list of sizes") }
        dims.append(n)
      }
      partialOutput = dims
    } else {
      throw c.error("has an output_shape that is not a list of sizes")
    }
    if let axes = c.present("bias_axes") {
      guard let s = axes.string else { throw c.error("has bias_axes that is not a string") }
      biasAxes = Array(s)
    } else {
      biasAxes = nil
    }
    activation = try c.activation()
    if try c.optionalInt("lora_rank") != nil { throw c.error("has lora_rank, which keras-inspect does not read") }
    label = c.label
  }

  /// The kernel's shape, the bias's (nil without one) and the output's, for an input shape.
  public func analyze(_ x: Shape) throws(ModelError) -> (kernel: [Int], bias: [Int]?, output: Shape) {
    let elided = x.count - inputSpec.count
    guard elided >= 0, ellipsis != .none || elided == 0 else {
      throw label.error("has equation \"\(equation)\", which does not fit an input of rank \(x.count)")
    }
    var output = partialOutput
    output.insert(x[0], at: 0)
    if elided > 0, ellipsis == .left {
      for i in 1..<max(1, elided) { output.insert(x[i], at: 1) }
    } else if elided > 0 {
      output += x[(x.count - elided)...]
    }
    var inputAt: [Character: Int] = [:], outputAt: [Character: Int] = [:]
    for (i, ch) in inputSpec.enumerated() { inputAt[ch] = ellipsis == .left ? i + elided : i }
    for (i, ch) in outputSpec.enumerated() { outputAt[ch] = ellipsis == .left ? i + elided : i }
    guard output.count == outputSpec.count + elided else {
      throw label.error("has output_shape \(pythonTuple(partialOutput)), which does not fit equation \"\(equation)\"")
    }
    for ch in inputSpec {
      if let o = outputAt[ch], let want = output[o], let have = x[inputAt[ch]!], want != have {
        throw label.error("has output dimension \(ch) = \(want), but the input's is \(have)")
      }
    }
    for ch in outputSpec where inputAt[ch] == nil && !kernelSpec.contains(ch) {
      throw label.error("has output dimension \(ch) in neither the input nor the kernel")
    }
    var kernel: [Int] = []
    for ch in kernelSpec {
      let size: Int?
      if let i = inputAt[ch] { size = x[i] } else if let o = outputAt[ch] { size = output[o] } else {
        throw label.error("has kernel dimension \(ch) in neither the input nor the output")
      }
      kernel.append(try label.known(size, "size for kernel dimension \(ch)"))
    }
    var bias: [Int]?
    if let biasAxes {
      for ch in biasAxes where !outputSpec.contains(ch) { throw label.error("has bias axis \(ch), which is not an output dimension") }
      if let first = biasAxes.compactMap({ outputSpec.firstIndex(of: $0) }).min() {
        var b: [Int] = []
        for ch in outputSpec[first...] { b.append(biasAxes.contains(ch) ? try label.known(output[outputAt[ch]!], "size for bias dimension \(ch)") : 1) }
        if ellipsis != .left { b += Array(repeating: 1, count: elided) }
        bias = b
      }
    }
    if !keepsUnknownSizes {
      // What the einsum computes: each output letter's size from the input or the kernel.
      for (ch, o) in outputAt {
        if let i = inputAt[ch] { output[o] = x[i] } else if let k = kernelSpec.firstIndex(of: ch) { output[o] = kernel[k] }
      }
    }
    return (kernel, bias, output)
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    let x = try label.single(inputs)
    let (kernel, bias, output) = try analyze(x)
    var weights = [WeightSpec("kernel", kernel)]
    if let bias { weights.append(WeightSpec("bias", bias)) }
    let formula = kernel.map(String.init).joined(separator: " × ") + (bias.map { " + " + $0.map(String.init).joined(separator: " × ") } ?? "")
    // Each output element sums over the kernel letters it does not index.
    let reduced = saturatingProduct(kernelSpec.enumerated().filter { !outputSpec.contains($0.element) }.map { kernel[$0.offset] })
    let outputs = saturatingProduct(output.dropFirst().map { $0 ?? 1 })
    return LayerSignature(outputs: [output], weights: weights, formula: formula, flops: saturatingProduct([2, outputs, reduced]))
  }
}
