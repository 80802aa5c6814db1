import KerasModel

/// LSTM, GRU and SimpleRNN over a (batch, time, features) input.
///
/// Weights are in Keras's layout: kernel (n, G·u), recurrent_kernel (u, G·u), bias; gates along the
/// last axis in Keras order: LSTM i, f, c, o; GRU z, r, h. The input projection of all time steps
/// is one matrix product; each step adds one recurrent product into preallocated buffers.
struct RecurrentLayer: Sendable {
  enum Kind { case lstm, gru, simple }

  let kind: Kind
  let units: Int
  let activation: Activations.Elementwise
  let recurrentActivation: Activations.Elementwise
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
  /// `recurrentKernel` packed for the products of the time steps, once when the layer is built
  /// rather than on every call; nil for a GRU with reset_after=false, whose steps multiply
  /// column blocks of the plain matrix, and for weights of the wrong shape (refused by `run`).
  let packedRecurrent: PackedMatrix?

  var gates: Int {
    switch kind {
    case .lstm: 4
    case .gru: 3
    case .simple: 1
    }
  }

  /// The kernel of a recurrent definition with its bound weights (kernel, recurrent_kernel[, bias]).
  init(_ d: Recurrent, weights: [Tensor], keras3: Bool) throws(RuntimeError) {
    switch d.kind {
    case .lstm: kind = .lstm
    case .gru: kind = .gru
    case .simple: kind = .simple
    }
    units = d.units
    guard let f = Activations.Elementwise(d.activation.name, keras3: keras3),
      let g = Activations.Elementwise(d.recurrentActivation.name, keras3: keras3)
    else {
      throw RuntimeError("activation \(d.activation.name) or \(d.recurrentActivation.name) is not supported in a recurrent layer")
    }
    activation = f
    recurrentActivation = g
    returnSequences = d.returnSequences
    returnState = d.returnState
    goBackwards = d.goBackwards
    resetAfter = d.resetAfter
    zeroOutputForMask = d.zeroOutputForMask
    guard weights.count >= 2 else { throw RuntimeError("recurrent layer needs kernel and recurrent_kernel") }
    kernel = weights[0]
    recurrentKernel = weights[1]
    bias = weights.count > 2 ? weights[2] : nil
    let width = (kind == .lstm ? 4 : kind == .gru ? 3 : 1) * units
    packedRecurrent = kind == .gru && !resetAfter || recurrentKernel.shape != [units, width]
      ? nil : PackedMatrix(recurrentKernel.data, k: units, n: width)
  }

  /// Runs the layer; returns the output and, with `return_state`, the final states.
  /// `initialState`: h (and c for an LSTM), each (batch, units), as `initial_state=` passes them;
  /// zeros when empty.
  func run(_ input: Value, initialState: [Tensor] = []) throws(RuntimeError) -> [Tensor] {
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
    if !initialState.isEmpty {
      let wanted = kind == .lstm ? 2 : 1
      guard initialState.count == wanted, initialState.allSatisfy({ $0.shape == [batch, u] }) else {
        throw RuntimeError("initial state \(initialState.map(\.shape)) does not fit \(wanted) state(s) of shape [\(batch), \(u)]")
      }
      h = initialState[0].data
      if kind == .lstm { c = initialState[1].data }
    }
    var z = [Float](repeating: 0, count: batch * width)  // gate pre-activations, then activations
    var next = [Float](repeating: 0, count: 2 * batch * u)  // candidate h and c of this step
    var output = [Float](repeating: 0, count: batch * u)  // last output, carried through masked steps
    var sequence = [Float](repeating: 0, count: returnSequences ? batch * steps * u : 0)
    let resetBefore = kind == .gru && !resetAfter
    let packedU = packedRecurrent  // set whenever !resetBefore: the shapes were checked above

    // Batch rows recur independently: with a large enough batch, each core runs the whole time
    // loop over its share of the rows (no synchronisation per step, gates computed in parallel);
    // otherwise one loop runs and its products split by columns.
    let cores = batch >= 2 && batch * u * width >= Linear.parallelThreshold / 8 ? min(ProcessInfoCores.count, batch) : 1
    let share = (batch + cores - 1) / cores
    let biasU = recurrentBias
    let withInput = kind == .gru ? 2 * u : width  // columns that take x_t before the activations
    projected.withUnsafeMutableBufferPointer { P in
    h.withUnsafeMutableBufferPointer { H in
    c.withUnsafeMutableBufferPointer { C in
    z.withUnsafeMutableBufferPointer { Z in
    next.withUnsafeMutableBufferPointer { N in
    output.withUnsafeMutableBufferPointer { O in
    sequence.withUnsafeMutableBufferPointer { S in
    recurrentKernel.data.withUnsafeBufferPointer { U in
      let addresses = [P.baseAddress, H.baseAddress, C.baseAddress, Z.baseAddress, N.baseAddress, O.baseAddress, S.baseAddress]
        .map { UInt(bitPattern: $0) }
      let uAddress = UInt(bitPattern: U.baseAddress)
      let mask = input.mask
      Parallel.perform(iterations: cores) { part in
        let rows = (part * share)..<min(batch, (part + 1) * share)
        guard !rows.isEmpty else { return }
        let pointer = { (i: Int) in UnsafeMutablePointer<Float>(bitPattern: addresses[i])! }
        let (p, hp, cp, zp, np) = (pointer(0), pointer(1), pointer(2), pointer(3), pointer(4))
        let outp = pointer(5)
        let seqp = UnsafeMutablePointer<Float>(bitPattern: addresses[6])
        let up = UnsafePointer<Float>(bitPattern: uAddress)!
        let hNew = np, cNew = np + batch * u
        let (lo, count) = (rows.lowerBound, rows.count)
        for step in 0..<steps {
          let t = goBackwards ? steps - 1 - step : step
          // z = x_t + recurrent bias + h · U. The GRU's candidate columns take x_t later, after
          // the reset gate (and for reset_after=false only the z and r columns use h · U here).
          for b in rows {
            let x = p + (b * steps + t) * width, g = zp + b * width
            for j in 0..<withInput { g[j] = x[j] + biasU[j] }
            for j in withInput..<width { g[j] = biasU[j] }
          }
          if resetBefore {
            Linear.matmul(hp + lo * u, up, zp + lo * width, m: count, k: u, n: width, accumulate: true, ldb: width, columns: 2 * u)
          } else {
            Linear.matmul(hp + lo * u, packed: packedU!, zp + lo * width, m: count, accumulate: true, parallel: cores == 1)
          }
          for b in rows {
            let x = p + (b * steps + t) * width
            let g = zp + b * width
            let hb = hp + b * u, cb = cp + b * u
            switch kind {
            case .lstm:
              // i, f, c, o = σ(x_i + h·U_i), σ(...f), tanh(...c), σ(...o)
              recurrentActivation.apply(g, 2 * u)
              activation.apply(g + 2 * u, u)
              recurrentActivation.apply(g + 3 * u, u)
              for j in 0..<u { cNew[b * u + j] = g[u + j] * cb[j] + g[j] * g[2 * u + j] }
              for j in 0..<u { hNew[b * u + j] = cNew[b * u + j] }
              activation.apply(hNew + b * u, u)
              for j in 0..<u { hNew[b * u + j] *= g[3 * u + j] }
            case .gru where resetAfter:
              // z, r = σ(x_z + h·U_z + b), σ(x_r + ...); candidate = tanh(x_h + r ⊙ (h·U_h + b_rh))
              recurrentActivation.apply(g, 2 * u)
              for j in 0..<u { g[2 * u + j] = x[2 * u + j] + g[u + j] * g[2 * u + j] }
              activation.apply(g + 2 * u, u)
              for j in 0..<u { hNew[b * u + j] = g[j] * hb[j] + (1 - g[j]) * g[2 * u + j] }
            case .gru:
              // reset_after=false: candidate = tanh(x_h + (r ⊙ h) · U_h)
              recurrentActivation.apply(g, 2 * u)
              let gated = cNew + b * u  // scratch: c is unused by GRU
              for j in 0..<u { gated[j] = g[u + j] * hb[j] }
              for j in 0..<u { g[2 * u + j] = x[2 * u + j] }
              Linear.matmul(gated, up + 2 * u, g + 2 * u, m: 1, k: u, n: u, accumulate: true, ldb: width, columns: u)
              activation.apply(g + 2 * u, u)
              for j in 0..<u { hNew[b * u + j] = g[j] * hb[j] + (1 - g[j]) * g[2 * u + j] }
            case .simple:
              activation.apply(g, u)
              for j in 0..<u { hNew[b * u + j] = g[j] }
            }
          }
          // Masked steps keep the previous state and output (or output zeros).
          for b in rows {
            let keep = mask.map { $0[b * steps + t] } ?? true
            if keep {
              for j in 0..<u { hp[b * u + j] = hNew[b * u + j] }
              if kind == .lstm { for j in 0..<u { cp[b * u + j] = cNew[b * u + j] } }
              for j in 0..<u { outp[b * u + j] = hNew[b * u + j] }
            }
            if returnSequences, let seqp {
              let o = (b * steps + step) * u
              for j in 0..<u { seqp[o + j] = keep || !zeroOutputForMask ? outp[b * u + j] : 0 }
            }
          }
        }
      }
    }}}}}}}}
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
