import KerasModel

/// LSTM, GRU and SimpleRNN over a (batch, time, features) input.
///
/// Weights are in Keras's layout: kernel (n, G·u), recurrent_kernel (u, G·u), bias; gates along the
/// last axis in Keras order: LSTM i, f, c, o; GRU z, r, h. The input projection of all time steps
/// is one matrix product; each step adds one recurrent product into preallocated buffers.
struct RecurrentLayer {
  enum Kind { case lstm, gru, simple }

  let kind: Kind
  let units: Int
  let activation: (Float) -> Float
  let recurrentActivation: (Float) -> Float
  let returnSequences: Bool
  let returnState: Bool
  let goBackwards: Bool
  /// GRU only: the reset gate multiplies (h·U_h + b_rh) (true, Keras 2 and 3 default) or h (false).
  let resetAfter: Bool
  /// Masked steps output zeros instead of the previous output (Bidirectional with return_sequences).
  var zeroOutputForMask: Bool
  let kernel: Tensor
  let recurrentKernel: Tensor
  let bias: Tensor?

  var gates: Int {
    switch kind {
    case .lstm: 4
    case .gru: 3
    case .simple: 1
    }
  }

  init(className: String, config: JSONValue, weights: [Tensor], keras3: Bool) throws(RuntimeError) {
    switch className {
    case "LSTM": kind = .lstm
    case "GRU": kind = .gru
    case "SimpleRNN": kind = .simple
    default: throw RuntimeError("\(className) is not a recurrent layer")
    }
    units = config["units"]?.int ?? 0
    let act = Activations.name(config["activation"]) ?? "linear"
    let recAct = Activations.name(config["recurrent_activation"]) ?? "sigmoid"
    guard let f = Activations.scalar(act, keras3: keras3), let g = Activations.scalar(recAct, keras3: keras3) else {
      throw RuntimeError("activation \(act) or \(recAct) is not supported in a recurrent layer")
    }
    activation = f
    recurrentActivation = g
    returnSequences = config["return_sequences"]?.bool ?? false
    returnState = config["return_state"]?.bool ?? false
    goBackwards = config["go_backwards"]?.bool ?? false
    resetAfter = config["reset_after"]?.bool ?? true
    zeroOutputForMask = config["zero_output_for_mask"]?.bool ?? false
    guard weights.count >= 2 else { throw RuntimeError("recurrent layer needs kernel and recurrent_kernel") }
    kernel = weights[0]
    recurrentKernel = weights[1]
    bias = weights.count > 2 ? weights[2] : nil
  }

  /// Runs the layer; returns the output and, with `return_state`, the final states.
  func run(_ input: Value) throws(RuntimeError) -> [Tensor] {
    let x = input.tensor
    guard x.rank == 3 else { throw RuntimeError("recurrent input must be (batch, time, features), got \(x.shape)") }
    let (batch, steps, n) = (x.shape[0], x.shape[1], x.shape[2])
    let u = units, width = gates * units
    guard kernel.shape == [n, width], recurrentKernel.shape == [u, width] else {
      throw RuntimeError("recurrent weights \(kernel.shape), \(recurrentKernel.shape) do not fit input features \(n) and \(u) units")
    }
    // Biases: GRU with reset_after has an input row and a recurrent row.
    var inputBias = [Float](repeating: 0, count: width)
    var recurrentBias = [Float](repeating: 0, count: width)
    if let bias {
      if kind == .gru && resetAfter {
        inputBias = Array(bias.data[0..<width])
        recurrentBias = Array(bias.data[width..<(2 * width)])
      } else {
        inputBias = bias.data
      }
    }
    // Input projection for every step at once: (batch·steps, n) · (n, width) + b.
    var projected = Linear.dense(x, kernel: kernel, bias: Tensor(shape: [width], data: inputBias)).data

    var h = [Float](repeating: 0, count: batch * u)
    var c = [Float](repeating: 0, count: batch * u)
    var recurrent = [Float](repeating: 0, count: batch * width)
    var gated = [Float](repeating: 0, count: batch * u)  // GRU reset_after=false: r ⊙ h
    var output = [Float](repeating: 0, count: batch * u)  // last output, carried through masked steps
    var sequence = [Float](repeating: 0, count: returnSequences ? batch * steps * u : 0)

    for step in 0..<steps {
      let t = goBackwards ? steps - 1 - step : step
      // recurrent = h · U (+ recurrent bias)
      for b in 0..<batch { for j in 0..<width { recurrent[b * width + j] = recurrentBias[j] } }
      if !(kind == .gru && !resetAfter) {
        h.withUnsafeBufferPointer { hp in
          recurrentKernel.data.withUnsafeBufferPointer { up in
            recurrent.withUnsafeMutableBufferPointer { rp in
              Linear.matmul(hp.baseAddress!, up.baseAddress!, rp.baseAddress!, m: batch, k: u, n: width, accumulate: true)
            }
          }
        }
      }
      for b in 0..<batch {
        let keep = input.mask.map { $0[b * steps + t] } ?? true
        let xo = (b * steps + t) * width
        let ro = b * width
        let ho = b * u
        if !keep {
          if returnSequences {
            for j in 0..<u { sequence[(b * steps + step) * u + j] = zeroOutputForMask ? 0 : output[ho + j] }
          }
          continue
        }
        switch kind {
        case .lstm:
          for j in 0..<u {
            let i = recurrentActivation(projected[xo + j] + recurrent[ro + j])
            let f = recurrentActivation(projected[xo + u + j] + recurrent[ro + u + j])
            let candidate = activation(projected[xo + 2 * u + j] + recurrent[ro + 2 * u + j])
            let o = recurrentActivation(projected[xo + 3 * u + j] + recurrent[ro + 3 * u + j])
            c[ho + j] = f * c[ho + j] + i * candidate
            h[ho + j] = o * activation(c[ho + j])
          }
        case .gru where resetAfter:
          for j in 0..<u {
            let z = recurrentActivation(projected[xo + j] + recurrent[ro + j])
            let r = recurrentActivation(projected[xo + u + j] + recurrent[ro + u + j])
            let candidate = activation(projected[xo + 2 * u + j] + r * recurrent[ro + 2 * u + j])
            h[ho + j] = z * h[ho + j] + (1 - z) * candidate
          }
        case .gru:
          // reset_after=false: z and r from h·U_z, h·U_r; the candidate from (r ⊙ h)·U_h.
          var zr = [Float](repeating: 0, count: 2 * u)
          for j in 0..<(2 * u) {
            var sum = projected[xo + j]
            for p in 0..<u { sum += h[ho + p] * recurrentKernel.data[p * width + j] }
            zr[j] = recurrentActivation(sum)
          }
          for p in 0..<u { gated[ho + p] = zr[u + p] * h[ho + p] }
          for j in 0..<u {
            var sum = projected[xo + 2 * u + j]
            for p in 0..<u { sum += gated[ho + p] * recurrentKernel.data[p * width + 2 * u + j] }
            let candidate = activation(sum)
            h[ho + j] = zr[j] * h[ho + j] + (1 - zr[j]) * candidate
          }
        case .simple:
          for j in 0..<u { h[ho + j] = activation(projected[xo + j] + recurrent[ro + j]) }
        }
        for j in 0..<u { output[ho + j] = h[ho + j] }
        if returnSequences {
          for j in 0..<u { sequence[(b * steps + step) * u + j] = h[ho + j] }
        }
      }
    }
    projected.removeAll()
    var results = [returnSequences ? Tensor(shape: [batch, steps, u], data: sequence) : Tensor(shape: [batch, u], data: output)]
    if returnState {
      results.append(Tensor(shape: [batch, u], data: h))
      if kind == .lstm { results.append(Tensor(shape: [batch, u], data: c)) }
    }
    return results
  }
}

/// Reverses a (batch, time, ...) tensor along time.
func reverseTime(_ x: Tensor) -> Tensor {
  let (batch, steps) = (x.shape[0], x.shape[1])
  let inner = x.count / max(1, batch * steps)
  var out = x.data
  for b in 0..<batch {
    for t in 0..<steps {
      let src = (b * steps + t) * inner
      let dst = (b * steps + (steps - 1 - t)) * inner
      for i in 0..<inner { out[dst + i] = x.data[src + i] }
    }
  }
  return Tensor(shape: x.shape, data: out)
}
