import Foundation
import KerasModel

/// `MultiHeadAttention` at inference, as Keras 3 computes it (`_compute_attention`): query, key
/// and value projected per head, the query scaled by 1/√key_dim, softmax over the key positions
/// (masked positions excluded), the heads' outputs projected back. Dropout is inactive.
enum Attention {
  static func multiHead(useBias: Bool, causal: Bool, weights: [Tensor], inputs: [Value]) throws(RuntimeError) -> Tensor {
    guard inputs.count >= 2 else { throw RuntimeError("MultiHeadAttention needs query and value") }
    let query = inputs[0], value = inputs[1]
    let key = inputs.count > 2 ? inputs[2] : value
    guard weights.count == (useBias ? 8 : 4) else { throw RuntimeError("MultiHeadAttention expects \(useBias ? 8 : 4) weights, got \(weights.count)") }
    let w = useBias ? [weights[0], weights[2], weights[4], weights[6]] : weights
    let b: [Tensor?] = useBias ? [weights[1], weights[3], weights[5], weights[7]] : [nil, nil, nil, nil]
    guard w[0].rank == 3, w[1].rank == 3, w[2].rank == 3, w[3].rank == 3 else { throw RuntimeError("MultiHeadAttention kernels must have rank 3") }
    let (heads, keyDim, valueDim, width) = (w[0].shape[1], w[0].shape[2], w[2].shape[2], w[3].shape[2])
    for (x, kernel) in [(query.tensor, w[0]), (key.tensor, w[1]), (value.tensor, w[2])] {
      guard x.rank == 3, x.last == kernel.shape[0] else { throw RuntimeError("MultiHeadAttention input \(x.shape) does not fit kernel \(kernel.shape)") }
    }
    let batch = query.tensor.shape[0], t = query.tensor.shape[1], s = key.tensor.shape[1]
    guard value.tensor.shape[1] == s, key.tensor.shape[0] == batch, value.tensor.shape[0] == batch else {
      throw RuntimeError("MultiHeadAttention key \(key.tensor.shape) and value \(value.tensor.shape) do not line up with query \(query.tensor.shape)")
    }
    func project(_ x: Tensor, _ kernel: Tensor, _ bias: Tensor?) -> [Float] {
      let k = kernel.reshaped([kernel.shape[0], kernel.shape[1] * kernel.shape[2]])
      return Linear.dense(x, kernel: k, bias: bias.map { $0.reshaped([$0.count]) }).data
    }
    var q = project(query.tensor, w[0], b[0])  // (B, T, H, Dk)
    let k = project(key.tensor, w[1], b[1])  // (B, S, H, Dk)
    let v = project(value.tensor, w[2], b[2])  // (B, S, H, Dv)
    let scale = 1 / Float(Double(keyDim).squareRoot())
    for i in q.indices { q[i] *= scale }
    var perHead = [Float](repeating: 0, count: batch * t * heads * valueDim)  // (B, T, H, Dv)
    var scores = [Float](repeating: 0, count: s)
    for bi in 0..<batch {
      for h in 0..<heads {
        for ti in 0..<t {
          let qRow = ((bi * t + ti) * heads + h) * keyDim
          var top = -Float.infinity
          for si in 0..<s {
            let allowed = (query.mask?[bi * t + ti] ?? true) && (value.mask?[bi * s + si] ?? true) && (!causal || si <= ti)
            guard allowed else { scores[si] = -.infinity; continue }
            let kRow = ((bi * s + si) * heads + h) * keyDim
            var dot: Float = 0
            for d in 0..<keyDim { dot += q[qRow + d] * k[kRow + d] }
            scores[si] = dot
            top = max(top, dot)
          }
          // A row with every position masked attends uniformly, as Keras's large negative fill does.
          if top == -.infinity {
            for si in 0..<s { scores[si] = 1 / Float(s) }
          } else {
            var sum: Float = 0
            for si in 0..<s { scores[si] = scores[si] == -.infinity ? 0 : exp(scores[si] - top); sum += scores[si] }
            for si in 0..<s { scores[si] /= sum }
          }
          let oRow = ((bi * t + ti) * heads + h) * valueDim
          for si in 0..<s where scores[si] != 0 {
            let vRow = ((bi * s + si) * heads + h) * valueDim
            for d in 0..<valueDim { perHead[oRow + d] += scores[si] * v[vRow + d] }
          }
        }
      }
    }
    let attended = Tensor(shape: [batch, t, heads * valueDim], data: perHead)
    let outKernel = w[3].reshaped([heads * valueDim, width])
    return Linear.dense(attended, kernel: outKernel, bias: b[3])
  }
}
