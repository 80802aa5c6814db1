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
  /// At batch 1 (fewer rows than cores) each core runs the whole time loop over its share of the
  /// units, the gate columns of those units packed apart: a core reads only its part of the
  /// recurrent kernel every step, from its own cache, and the cores meet once per step. Nil when
  /// the products are too small to share (see `splitMultiplyAdds`) or there is one core.
  let splitRecurrent: [(units: Range<Int>, packed: PackedMatrix)]?

  /// Multiply-adds of one step's recurrent product from which its columns are shared by the
  /// cores at batch 1: LSTM medium's 128 × 512 (65,536) is; a 10-unit layer's 400 are not, where
  /// meeting once per step would cost more than the product.
  static let splitMultiplyAdds = 1 << 14

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
    let parts = min(ProcessInfoCores.count, units / 16)
    if packedRecurrent != nil, parts > 1, units * width >= Self.splitMultiplyAdds {
      let (u, gates) = (units, width / units)
      let data = recurrentKernel.data
      splitRecurrent = (0..<parts).map { p in
        let range = (p * u / parts)..<((p + 1) * u / parts)
        // Row by row, the part's columns of each gate: gate blocks of range.count columns.
        var columns: [Float] = []
        columns.reserveCapacity(u * gates * range.count)
        for row in 0..<u {
          for gate in 0..<gates {
            let base = row * width + gate * u
            columns += data[(base + range.lowerBound)..<(base + range.upperBound)]
          }
        }
        return (range, PackedMatrix(columns, k: u, n: gates * range.count))
      }
    } else {
      splitRecurrent = nil
    }
  }

  /// One step's gates for `len` units of one batch row: `g` holds the pre-activations of those
  /// units in gate blocks of `len` (LSTM i, f, c, o; GRU z, r, h; SimpleRNN h), x·W + b + h·U
  /// except the GRU candidate's x·W, given apart in `xCandidate`. Writes the new state to `hNew`
  /// (and `cNew` for an LSTM), from the state `h`, `c` of the step before. Not for a GRU with
  /// reset_after=false, whose candidate needs another product.
  @inline(__always)
  func combine(
    _ g: UnsafeMutablePointer<Float>, len: Int, xCandidate: UnsafePointer<Float>, h: UnsafePointer<Float>, c: UnsafePointer<Float>,
    hNew: UnsafeMutablePointer<Float>, cNew: UnsafeMutablePointer<Float>
  ) {
    switch kind {
    case .lstm:
      // i, f, c, o = σ(x_i + h·U_i), σ(...f), tanh(...c), σ(...o)
      recurrentActivation.apply(g, 2 * len)
      activation.apply(g + 2 * len, len)
      recurrentActivation.apply(g + 3 * len, len)
      for j in 0..<len { cNew[j] = g[len + j] * c[j] + g[j] * g[2 * len + j] }
      for j in 0..<len { hNew[j] = cNew[j] }
      activation.apply(hNew, len)
      for j in 0..<len { hNew[j] *= g[3 * len + j] }
    case .gru:
      // z, r = σ(x_z + h·U_z + b), σ(x_r + ...); candidate = tanh(x_h + r ⊙ (h·U_h + b_rh))
      recurrentActivation.apply(g, 2 * len)
      for j in 0..<len { g[2 * len + j] = xCandidate[j] + g[len + j] * g[2 * len + j] }
      activation.apply(g + 2 * len, len)
      for j in 0..<len { hNew[j] = g[j] * h[j] + (1 - g[j]) * g[2 * len + j] }
    case .simple:
      activation.apply(g, len)
      for j in 0..<len { hNew[j] = g[j] }
    }
  }

  /// Runs the layer; returns the output and, with `return_state`, the final states.
  /// `initialState`: h (and c for an LSTM), each (batch, units), as `initial_state=` passes them;
  /// zeros when empty.
  func run(_ input: Value, initialState: [Tensor] = []) throws(RuntimeError) -> [Tensor] {
    try runTracked(input, initialState: initialState).outputs
  }

  /// ``run(_:initialState:)``, also saying whether the units were shared by the cores (tests).
  func runTracked(_ input: Value, initialState: [Tensor] = []) throws(RuntimeError) -> (outputs: [Tensor], split: Bool) {
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
    var split = false
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
      if cores == 1, batch < ProcessInfoCores.count, let parts = splitRecurrent,
        runSplit(parts, batch: batch, steps: steps, addresses: addresses, mask: mask, biasU: biasU, withInput: withInput)
      {
        split = true
        return
      }
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
            guard resetBefore else {
              combine(g, len: u, xCandidate: x + 2 * u, h: hb, c: cb, hNew: hNew + b * u, cNew: cNew + b * u)
              continue
            }
            // GRU, reset_after=false: candidate = tanh(x_h + (r ⊙ h) · U_h)
            recurrentActivation.apply(g, 2 * u)
            let gated = cNew + b * u  // scratch: c is unused by GRU
            for j in 0..<u { gated[j] = g[u + j] * hb[j] }
            for j in 0..<u { g[2 * u + j] = x[2 * u + j] }
            Linear.matmul(gated, up + 2 * u, g + 2 * u, m: 1, k: u, n: u, accumulate: true, ldb: width, columns: u)
            activation.apply(g + 2 * u, u)
            for j in 0..<u { hNew[b * u + j] = g[j] * hb[j] + (1 - g[j]) * g[2 * u + j] }
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
    return (results, split)
  }
}

extension RecurrentLayer {
  /// The time loop with the units shared by the cores (``splitRecurrent``): each member of a
  /// team runs every step for its units, reading the whole state h of the step before and
  /// writing its part of the next into the other of two buffers, then waits for the others.
  /// `addresses` are those of `run`'s buffers (projected input, h, c, z, next, output,
  /// sequence). Returns false, having changed nothing, when the pool gives no team of that size
  /// (nested in another loop, or busy); the caller then runs the loop on its own.
  func runSplit(
    _ parts: [(units: Range<Int>, packed: PackedMatrix)], batch: Int, steps: Int, addresses: [UInt], mask: [Bool]?, biasU: [Float], withInput: Int
  ) -> Bool {
    let u = units, width = gates * units, gateCount = gates
    let barrier = Parallel.Barrier(team: parts.count)
    // h of every other step: steps 0, 2, ... read h (addresses[1]) and write here.
    let spare = UnsafeMutablePointer<Float>.allocate(capacity: batch * u)
    defer { spare.deallocate() }
    let spareAddress = UInt(bitPattern: spare)
    let team = Parallel.team(parts.count) { member, team in
      guard team == parts.count else { return }
      let range = parts[member].units
      let (a, len) = (range.lowerBound, range.count)
      let pointer = { (i: Int) in UnsafeMutablePointer<Float>(bitPattern: addresses[i])! }
      let (p, cp, np, outp) = (pointer(0), pointer(2), pointer(4), pointer(5))
      let seqp = UnsafeMutablePointer<Float>(bitPattern: addresses[6])
      let (hA, hB) = (pointer(1), UnsafeMutablePointer<Float>(bitPattern: spareAddress)!)
      let hNew = np, cNew = np + batch * u
      let z = UnsafeMutablePointer<Float>.allocate(capacity: batch * gateCount * len)
      defer { z.deallocate() }
      biasU.withUnsafeBufferPointer { bias in
        for step in 0..<steps {
          let t = goBackwards ? steps - 1 - step : step
          let (current, next) = step % 2 == 0 ? (hA, hB) : (hB, hA)
          for b in 0..<batch {
            let x = p + (b * steps + t) * width, g = z + b * gateCount * len
            for gate in 0..<gateCount {
              let column = gate * u + a
              if column < withInput {
                for j in 0..<len { g[gate * len + j] = x[column + j] + bias[column + j] }
              } else {
                for j in 0..<len { g[gate * len + j] = bias[column + j] }
              }
            }
          }
          Linear.matmul(current, packed: parts[member].packed, z, m: batch, accumulate: true, parallel: false)
          for b in 0..<batch {
            let x = p + (b * steps + t) * width, o = b * u + a
            combine(z + b * gateCount * len, len: len, xCandidate: x + 2 * u + a, h: current + o, c: cp + o, hNew: hNew + o, cNew: cNew + o)
          }
          // Masked steps keep the previous state and output (or output zeros).
          for b in 0..<batch {
            let keep = mask.map { $0[b * steps + t] } ?? true
            let o = b * u + a
            if keep {
              for j in 0..<len { next[o + j] = hNew[o + j] }
              if kind == .lstm { for j in 0..<len { cp[o + j] = cNew[o + j] } }
              for j in 0..<len { outp[o + j] = hNew[o + j] }
            } else {
              for j in 0..<len { next[o + j] = current[o + j] }
            }
            if returnSequences, let seqp {
              let s = (b * steps + step) * u + a
              for j in 0..<len { seqp[s + j] = keep || !zeroOutputForMask ? outp[o + j] : 0 }
            }
          }
          barrier.wait()
        }
      }
    }
    guard team == parts.count else { return false }
    // After an odd number of steps the last state is in the spare buffer.
    if steps % 2 == 1 {
      UnsafeMutablePointer<Float>(bitPattern: addresses[1])!.update(from: spare, count: batch * u)
    }
    return true
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
