/// `MultiHeadAttention` called on (query, value[, key]): the query's shape with the output
/// width. Weights in Keras's order: query/key/value projections (features, heads, key_dim or
/// value_dim) with biases (heads, dim), then the output projection (heads, value_dim, out).
public struct MultiHeadAttention: LayerDefinition {
  public static let classNames = ["MultiHeadAttention"]
  /// Keras 3 keeps the four projections as EinsumDense sub-objects (`_query_dense`; some
  /// versions without the underscore).
  public static let keras3SubObjects = [
    "query_dense", "_query_dense", "key_dense", "_key_dense", "value_dense", "_value_dense", "output_dense", "_output_dense",
  ]
  public let heads: Int
  public let keyDim: Int
  public let valueDim: Int
  public let useBias: Bool
  /// The output width when the config sets `output_shape`; else the query's.
  public let outputWidth: Int?
  let attentionAxes: [Int]?
  let label: LayerLabel

  public init(_ c: LayerReader) throws(ModelError) {
    heads = try c.int("num_heads")
    keyDim = try c.int("key_dim")
    valueDim = try c.int("value_dim", default: keyDim)
    useBias = try c.bool("use_bias", default: true)
    if let v = c.present("output_shape") {
      guard let list = v.int.map({ [$0] }) ?? v.intList, list.count == 1 else { throw c.error("has an output_shape keras-inspect does not read") }
      outputWidth = list[0]
    } else {
      outputWidth = nil
    }
    attentionAxes = c.present("attention_axes") == nil ? nil : try c.intList("attention_axes", default: [])
    label = c.label
  }

  public func signature(_ inputs: [Shape]) throws(ModelError) -> LayerSignature {
    guard inputs.count >= 2 && inputs.count <= 3 else { throw label.error("expects query, value and optionally key, got \(inputs.count) inputs") }
    let (query, value) = (inputs[0], inputs[1])
    let key = inputs.count == 3 ? inputs[2] : value
    guard query.count >= 3, value.count >= 3, key.count >= 3 else { throw label.error("expects inputs of rank 3 or more") }
    // Attention over the sequence axis only (Keras 3 writes the default for rank 3 as [1]).
    if let attentionAxes, attentionAxes != [1] || query.count != 3 {
      throw label.error("has attention_axes \(attentionAxes), which keras-inspect does not read")
    }
    let dq = try label.known(query.last!, "query feature dimension")
    let dk = try label.known(key.last!, "key feature dimension")
    let dv = try label.known(value.last!, "value feature dimension")
    let out = outputWidth ?? dq
    var weights = [WeightSpec("kernel", [dq, heads, keyDim])]
    if useBias { weights.append(WeightSpec("bias", [heads, keyDim])) }
    weights.append(WeightSpec("kernel", [dk, heads, keyDim]))
    if useBias { weights.append(WeightSpec("bias", [heads, keyDim])) }
    weights.append(WeightSpec("kernel", [dv, heads, valueDim]))
    if useBias { weights.append(WeightSpec("bias", [heads, valueDim])) }
    weights.append(WeightSpec("kernel", [heads, valueDim, out]))
    if useBias { weights.append(WeightSpec("bias", [out])) }
    let b = useBias ? 1 : 0
    let formula = "\(heads) × ((\(dq) + \(dk)) × \(keyDim) + \(dv) × \(valueDim) + \(b * 2) × \(keyDim) + \(b) × \(valueDim)) + \(heads) × \(valueDim) × \(out)" + (useBias ? " + \(out)" : "")
    let (t, s) = (query[1] ?? 1, key[1] ?? 1)
    let (T, S) = (Double(t), Double(s))
    let work = 2 * Double(heads) * (T * Double(dq * keyDim) + S * Double(dk * keyDim + dv * valueDim) + T * S * Double(keyDim + valueDim) + T * Double(valueDim * out))
    let flops = work < 9e18 ? Int(work) : Int.max
    return LayerSignature(outputs: [Array(query.dropLast()) + [out]], weights: weights, formula: formula, flops: flops)
  }
}
