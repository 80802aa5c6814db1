import Foundation
import KerasModel
@testable import KerasRuntime
import Testing

@Suite("Kernels against hand-computed values")
struct KernelTests {
  @Test("hard_sigmoid follows the Keras that saved the file")
  func hardSigmoid() throws {
    let keras2 = try #require(Activations.scalar("hard_sigmoid", keras3: false))
    let keras3 = try #require(Activations.scalar("hard_sigmoid", keras3: true))
    #expect(keras2(1) == 0.7)  // clip(0.2·x + 0.5, 0, 1)
    #expect(abs(keras3(1) - (1.0 / 6 + 0.5)) < 1e-7)  // clip(x/6 + 0.5, 0, 1)
    #expect(keras2(-3) == 0 && keras3(-3) == 0 && keras2(3) == 1 && keras3(3) == 1)
  }

  @Test("activations at a few points", arguments: [
    ("relu", Float(-1), Float(0)), ("relu6", 7, 6), ("elu", -1, Float(exp(-1.0) - 1)), ("softsign", 1, 0.5),
    ("swish", 1, Float(1 / (1 + exp(-1.0)))), ("gelu", 1, 0.8413447), ("exponential", 0, 1), ("leaky_relu", -1, -0.2),
    ("selu", 1, 1.0507009873554805), ("softplus", 0, Float(log(2.0))), ("mish", 1, 0.86509836),
  ])
  func activation(_ name: String, _ x: Float, _ y: Float) throws {
    let f = try #require(Activations.scalar(name, keras3: true))
    #expect(abs(f(x) - y) < 1e-6)
  }

  @Test("bulk activations (vectorised paths, over several blocks) equal the scalar definitions", arguments: ["swish", "silu", "sigmoid", "tanh", "relu", "relu6", "leaky_relu", "gelu"])
  func bulk(_ name: String) throws {
    let values = (0..<10_001).map { Float($0 - 5000) / 500 }
    let y = try Activations.apply(Activation(name: name), to: Tensor(shape: [1, values.count], data: values), keras3: true)
    let f = try #require(Activations.scalar(name, keras3: true))
    let worst = zip(y.data, values.map(f)).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
    #expect(worst < 2e-6, "worst relative difference \(worst)")
  }

  @Test("every row length, tails shorter than a vector included, gets the same values; NaN stays NaN", arguments: ["swish", "sigmoid", "tanh"])
  func tails(_ name: String) throws {
    let f = try #require(Activations.scalar(name, keras3: true))
    let pool: [Float] = [-90, -20, -3, -0.7, -0.6, -0.1, 0, 1e-4, 0.5, 0.625, 2, 9, 100, .nan, .infinity, -.infinity, 0.3]
    for length in 1...17 {
      let values = Array(pool.prefix(length))
      let y = try Activations.apply(Activation(name: name), to: Tensor(shape: [1, length], data: values), keras3: true)
      for (got, x) in zip(y.data, values) {
        let want = f(x)
        if want.isNaN { #expect(got.isNaN, "\(name)(\(x)) in a row of \(length)"); continue }
        #expect(abs(got - want) <= 2e-6 * max(1, abs(want)) || got == want, "\(name)(\(x)) = \(got), not \(want), in a row of \(length)")
      }
    }
  }

  @Test("glu halves the last axis: a · sigmoid(b); an odd width is an error")
  func glu() throws {
    let x = Tensor(shape: [2, 4], data: [1, 2, 0, 3, -1, 0.5, 2, -4])
    let y = try Activations.glu(x, keras3: true)
    #expect(y.shape == [2, 2])
    let sigmoid = { (v: Float) in 1 / (1 + exp(-v)) }
    for (got, want) in zip(y.data, [1 * sigmoid(0), 2 * sigmoid(3), -1 * sigmoid(2), 0.5 * sigmoid(-4)]) { #expect(abs(got - want) < 1e-6) }
    #expect(throws: RuntimeError.self) { try Activations.glu(Tensor(shape: [1, 3], data: [1, 2, 3]), keras3: true) }
  }

  @Test("softmax rows sum to one; log_softmax is its log")
  func softmax() {
    let x = Tensor(shape: [2, 3], data: [1, 2, 3, -1, 0, 1000])
    let y = Activations.softmax(x, log: false)
    #expect(abs(y.data[0..<3].reduce(0, +) - 1) < 1e-6)
    #expect(y.data[5] == 1)
    let logs = Activations.softmax(x, log: true)
    #expect(abs(logs.data[2] - log(y.data[2])) < 1e-6)
  }

  @Test("one LSTM step, gates i f c o, equals the formula")
  func lstmStep() throws {
    // n = 1, u = 1: kernel (1, 4), recurrent (1, 4), bias (4); h0 = c0 = 0, so U does not matter.
    let weights = [Tensor(shape: [1, 4], data: [0.5, -0.5, 1, 2]), Tensor(shape: [1, 4], data: [9, 9, 9, 9]), Tensor(shape: [4], data: [0.1, 0.2, 0.3, 0.4])]
    let layer = try RecurrentLayer(recurrent("LSTM", ["units": .number(1), "activation": .string("tanh"), "recurrent_activation": .string("sigmoid")]), weights: weights, keras3: true)
    let y = try layer.run(Value(tensor: Tensor(shape: [1, 1, 1], data: [2]), mask: nil))[0]
    func sigmoid(_ v: Float) -> Float { 1 / (1 + exp(-v)) }
    let i = sigmoid(Float(2 * 0.5 + 0.1)), candidate = tanh(Float(2 * 1 + 0.3)), o = sigmoid(Float(2 * 2 + 0.4))
    #expect(abs(y.data[0] - o * tanh(i * candidate)) < 1e-6)
  }

  @Test("masked steps keep the previous output and state")
  func masking() throws {
    let weights = [Tensor(shape: [1, 1], data: [1]), Tensor(shape: [1, 1], data: [0.5]), Tensor(shape: [1], data: [0])]
    let layer = try RecurrentLayer(recurrent("SimpleRNN", ["units": .number(1), "activation": .string("linear"), "return_sequences": .bool(true)]), weights: weights, keras3: true)
    let x = Value(tensor: Tensor(shape: [1, 3, 1], data: [1, 5, 2]), mask: [true, false, true])
    let y = try layer.run(x)[0]
    #expect(y.data == [1, 1, 2.5])  // step 2 masked: output and state carried; step 3: 2 + 0.5·1
  }

  @Test("at batch 1 the units split over the cores, and every kind, mask, direction, sequence and state gives what one core computes",
    arguments: [("LSTM", 7), ("LSTM", 8), ("GRU", 7), ("SimpleRNN", 8)])
  func splitUnits(_ className: String, _ steps: Int) throws {
    let (n, u) = (5, 130)
    let gates = className == "LSTM" ? 4 : className == "GRU" ? 3 : 1
    var seed: UInt32 = 12345
    func values(_ count: Int, scale: Float) -> [Float] {
      (0..<count).map { _ in
        seed = seed &* 1_664_525 &+ 1_013_904_223
        return (Float(seed >> 8) / Float(1 << 24) - 0.5) * scale
      }
    }
    let biasRows = className == "GRU" ? 2 : 1  // reset_after: an input and a recurrent row
    let weights = [
      Tensor(shape: [n, gates * u], data: values(n * gates * u, scale: 1)),
      Tensor(shape: [u, gates * u], data: values(u * gates * u, scale: 0.2)),
      Tensor(shape: biasRows == 2 ? [2, gates * u] : [gates * u], data: values(biasRows * gates * u, scale: 0.5)),
    ]
    for goBackwards in [false, true] {
      let config: JSONObject = [
        "units": .number(Double(u)), "activation": .string("tanh"), "recurrent_activation": .string("sigmoid"),
        "return_sequences": .bool(true), "return_state": .bool(true), "go_backwards": .bool(goBackwards), "reset_after": .bool(true),
      ]
      let layer = try RecurrentLayer(recurrent(className, config), weights: weights, keras3: true)
      if ProcessInfoCores.count > 1 {
        #expect(layer.splitRecurrent?.count == min(ProcessInfoCores.count, u / 16))
      }
      let x = values(steps * n, scale: 2)
      let mask = (0..<steps).map { $0 % 3 != 1 }
      let states = (className == "LSTM" ? 2 : 1)
      let initial = (0..<states).map { _ in Tensor(shape: [1, u], data: values(u, scale: 1)) }
      // Batch 1 runs split; the same row once per core (at least twice) runs the whole units per
      // row, on one core or each core its rows.
      // Other tests' loops may hold the pool, and a split needs it: try until one runs split.
      var one: [Tensor] = []
      var split = false
      for _ in 0..<(ProcessInfoCores.count > 1 ? 500 : 1) where !split {
        (one, split) = try layer.runTracked(Value(tensor: Tensor(shape: [1, steps, n], data: x), mask: mask), initialState: initial)
        if !split { usleep(1000) }
      }
      #expect(split || ProcessInfoCores.count == 1, "the units were never split over the cores")
      let rows = max(2, ProcessInfoCores.count)
      let two = try layer.run(
        Value(tensor: Tensor(shape: [rows, steps, n], data: Array([[Float]](repeating: x, count: rows).joined())),
          mask: Array([[Bool]](repeating: mask, count: rows).joined())),
        initialState: initial.map { state in Tensor(shape: [rows, u], data: Array([[Float]](repeating: state.data, count: rows).joined())) })
      #expect(one.count == 1 + states && two.count == 1 + states)
      for (a, b) in zip(one, two) {
        let worst = zip(a.data, b.data.prefix(a.count)).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-6, "\(className) steps \(steps) backwards \(goBackwards): \(worst)")
      }
    }
  }

  @Test("convolution padding: same and causal lengths and values")
  func convolution() throws {
    let x = Tensor(shape: [1, 4, 1], data: [1, 2, 3, 4])
    let kernel = Tensor(shape: [2, 1, 1], data: [1, 10])
    let same = ConvolutionKernels.planar(Window(kernel: [2], strides: [1], dilation: [1], padding: .same))
    #expect(ConvolutionKernels.conv(x, kernel: kernel, bias: nil, geometry: same, groups: 1).data == [21, 32, 43, 4])
    let causal = ConvolutionKernels.planar(Window(kernel: [2], strides: [1], dilation: [1], padding: .causal))
    #expect(ConvolutionKernels.conv(x, kernel: kernel, bias: nil, geometry: causal, groups: 1).data == [10, 21, 32, 43])
    // The general (3-D view) path agrees with the 1-D fast path.
    #expect(VolumeKernels.conv(x, kernel: kernel, bias: nil, window: Window(kernel: [2], strides: [1], dilation: [1], padding: .same)).data == [21, 32, 43, 4])
  }

  @Test("merge layers broadcast like NumPy")
  func broadcast() throws {
    let a = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
    let b = Tensor(shape: [1, 3], data: [10, 20, 30])
    #expect(try Elementwise.merge([a, b], .add).data == [11, 22, 33, 14, 25, 36])
    #expect(try Elementwise.concatenate([a, a], axis: -1).shape == [2, 6])
    #expect(Elementwise.permute(a.reshaped([1, 2, 3]), dims: [2, 1]).data == [1, 4, 2, 5, 3, 6])
  }
}

/// A recurrent definition decoded from a config, as a model's analysis decodes it.
func recurrent(_ className: String, _ config: JSONObject) throws -> Recurrent {
  try #require(try LayerRegistry.definition(name: "rnn", className: className, config: .object(config)) as? Recurrent)
}

@Suite("Activations folded into the layer before them")
struct ActivationFoldTests {
  /// Input → BatchNormalization (not folded: nothing before it to fold into) → `activation`.
  static func model(_ activation: String, shape: [Int]) throws -> Runtime {
    let config = try ConfigParser.parse("""
      {"class_name": "Functional", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_input_shape": [null, \(shape.dropFirst().map(String.init).joined(separator: ", "))]}, "inbound_nodes": []},
        {"class_name": "BatchNormalization", "name": "bn", "config": {"name": "bn", "axis": [\(shape.count - 1)], "epsilon": 0.001, "center": true, "scale": true}, "inbound_nodes": [[["x", 0, 0, {}]]]},
        {"class_name": "Activation", "name": "act", "config": {"name": "act", "activation": "\(activation)"}, "inbound_nodes": [[["bn", 0, 0, {}]]]}],
        "input_layers": [["x", 0, 0]], "output_layers": [["act", 0, 0]]}}
      """)
    let c = shape.last!
    let channels = (0..<c).map { parameters($0, of: c) }
    let weights: [[Float]] = [channels.map(\.gamma), channels.map(\.beta), channels.map(\.mean), channels.map(\.variance)]
    return try Runtime(analysis: ModelAnalysis(config: config, keras3: false), weights: ["bn": weights.map { Tensor(shape: [c], data: $0) }])
  }

  /// The normalization's γ, β, moving mean and variance for channel `ch` of `c`.
  static func parameters(_ ch: Int, of c: Int) -> (gamma: Float, beta: Float, mean: Float, variance: Float) {
    (0.5 + Float(ch) / Float(c), Float(ch % 5) - 2, Float(ch % 3) * 0.1, 1 + Float(ch % 4))
  }

  @Test("a normalization applies the activation after it, block by block over the cores, as the two layers compute it apart",
        arguments: [("relu", [2, 32, 32, 40]), ("swish", [2, 32, 32, 40]), ("tanh", [1, 3, 7]), ("hard_sigmoid", [2, 5, 5, 3])])
  func normalizationThenActivation(_ activation: String, _ shape: [Int]) throws {
    let runtime = try Self.model(activation, shape: shape)
    #expect(runtime.folded == ["act": "bn"])
    let c = shape.last!
    let x = Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { Float(sin(Double($0) * 0.37)) * 3 })
    let y = try runtime.predict([x])[0]
    let f = try #require(Activations.scalar(activation, keras3: false))
    var worst: Float = 0
    for i in 0..<x.count {
      let (gamma, beta, mean, variance) = Self.parameters(i % c, of: c)
      let expected = f((x.data[i] - mean) / (variance + 0.001).squareRoot() * gamma + beta)
      worst = max(worst, abs(y.data[i] - expected))
    }
    #expect(y.shape == shape)
    #expect(worst < 1e-5, "max abs error \(worst)")
  }
}

@Suite("The runtime's thread pool")
struct PoolTests {
  /// Counts of each iteration's runs (the iterations run on several threads).
  final class Counts: @unchecked Sendable {
    private var slots: [Int]
    private let lock = NSLock()
    init(_ count: Int) { slots = Array(repeating: 0, count: count) }
    func add(_ index: Int) { lock.withLock { slots[index] += 1 } }
    var all: [Int] { lock.withLock { slots } }
  }

  @Test("every iteration runs exactly once: loops back to back, after gaps longer than the workers' spin, and nested")
  func exactlyOnce() throws {
    for round in 0..<400 {
      let iterations = 1 + round % 37
      let counts = Counts(iterations)
      Parallel.perform(iterations: iterations) { counts.add($0) }
      #expect(counts.all == Array(repeating: 1, count: iterations), "round \(round)")
      // Every 50th round, an idle gap: the workers go to sleep and must be woken.
      if round % 50 == 49 { usleep(2_000) }
    }
    let nested = Counts(8 * 8)
    Parallel.perform(iterations: 8) { outer in
      Parallel.perform(iterations: 8) { inner in nested.add(outer * 8 + inner) }
    }
    #expect(nested.all == Array(repeating: 1, count: 64))
  }

  @Test("a team's members run at the same time and meet at barriers; nested in a loop, or beside other callers, a team is one member")
  func teams() async throws {
    let cores = ProcessInfoCores.count
    // Each member counts its rounds; at every barrier all members must have counted as many.
    func rounds(_ members: Int) -> (team: Int, agreed: Bool) {
      let counts = Counts(members)
      let barrier = Parallel.Barrier(team: min(members, cores))
      var agreed = true
      let lock = NSLock()
      let team = Parallel.team(members) { member, team in
        guard team == min(members, cores) else { return }
        for round in 1...300 {
          counts.add(member)
          barrier.wait()
          if counts.all.prefix(team) != ArraySlice(Array(repeating: round, count: team)) { lock.lock(); agreed = false; lock.unlock() }
          barrier.wait()
        }
      }
      return (team, agreed)
    }
    var formed = false
    for _ in 0..<200 where !formed {
      let (team, agreed) = rounds(2)
      #expect(agreed)
      formed = team == min(2, cores)
      if !formed { usleep(1000) }  // another test's loop held the pool
    }
    #expect(formed)
    // Nested in a loop's iteration (on a pool thread: one member, at once), and in every case
    // each member of the team it got runs once.
    let nested = Counts(2 * 2)
    Parallel.perform(iterations: 2) { outer in
      let team = Parallel.team(2) { member, team in nested.add(outer * 2 + member) }
      if team == 1 { nested.add(outer * 2 + 1) }
    }
    #expect(nested.all == [1, 1, 1, 1])
    // Teams and loops from several threads at once: each finishes, whatever team it got.
    let finished = await withTaskGroup(of: Bool.self) { group in
      for caller in 0..<4 {
        group.addTask {
          for round in 0..<50 {
            if (round + caller) % 2 == 0 {
              if !rounds(2).agreed { return false }
            } else {
              let counts = Counts(5)
              Parallel.perform(iterations: 5) { counts.add($0) }
              if counts.all != Array(repeating: 1, count: 5) { return false }
            }
          }
          return true
        }
      }
      return await group.reduce(into: [Bool]()) { $0.append($1) }
    }
    #expect(finished == [true, true, true, true])
  }

  @Test("loops started from several threads at once each run every iteration once")
  func concurrentCallers() async throws {
    let results = await withTaskGroup(of: Bool.self) { group in
      for caller in 0..<4 {
        group.addTask {
          for round in 0..<200 {
            let iterations = 2 + (round + caller) % 11
            let counts = Counts(iterations)
            Parallel.perform(iterations: iterations) { counts.add($0) }
            if counts.all != Array(repeating: 1, count: iterations) { return false }
          }
          return true
        }
      }
      return await group.reduce(into: [Bool]()) { $0.append($1) }
    }
    #expect(results == [true, true, true, true])
  }
}

@Suite("The activation size limit")
struct ActivationLimitTests {
  /// Input (None, 4) → RepeatVector(n): an output of n × 4 values per sample.
  static func model(repeats n: Int) throws -> Runtime {
    let config = try ConfigParser.parse("""
      {"class_name": "Functional", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_input_shape": [null, 4]}, "inbound_nodes": []},
        {"class_name": "RepeatVector", "name": "many", "config": {"name": "many", "n": \(n)}, "inbound_nodes": [[["x", 0, 0, {}]]]}],
        "input_layers": [["x", 0, 0]], "output_layers": [["many", 0, 0]]}}
      """)
    return try Runtime(analysis: ModelAnalysis(config: config, keras3: false), weights: [:])
  }

  @Test("a layer whose output would pass the limit is refused before anything is computed, naming it; the batch counts")
  func refused() throws {
    let huge = try Self.model(repeats: Runtime.maxActivationElements)  // 4 × the limit per sample
    #expect(throws: RuntimeError.self) { try huge.checkInputs([Tensor(shape: [1, 4], data: [0, 0, 0, 0])]) }
    do {
      try huge.checkInputs([Tensor(shape: [1, 4], data: [0, 0, 0, 0])])
    } catch {
      #expect(error.message.contains("layer many would produce more than \(Runtime.maxActivationElements) values"))
    }
    // A quarter of the limit per sample: a batch of 4 fits, a batch of 5 does not.
    let quarter = try Self.model(repeats: Runtime.maxActivationElements / 16)
    try quarter.checkInputs([Tensor(shape: [4, 4], data: Array(repeating: 0, count: 16))])
    #expect(throws: RuntimeError.self) { try quarter.checkInputs([Tensor(shape: [5, 4], data: Array(repeating: 0, count: 20))]) }
    // A per-sample count past Int's range saturates, so it can only be refused, never wrap around.
    #expect(Runtime.perSample([nil, Int.max / 2, 3]) == Int.max)
    #expect(Runtime.perSample([nil, 7, nil, 6]) == 42)
  }
}
