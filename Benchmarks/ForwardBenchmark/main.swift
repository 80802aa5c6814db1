// Forward-pass benchmark for the native LSTM (not a test): `make bench`.
//
// Three sizes from the forward-pass issue: the worked example (batch 1, 13 steps, 5 features,
// 10 units), batch 1 × 100 × 64 → 128 units, and batch 32 × 100 × 256 → 512 units.
// FLOPs per pass: 2 · batch · steps · (features + units) · 4 · units.
import Foundation
import KerasModel
import KerasRuntime

struct Case {
  let name: String
  let batch: Int, steps: Int, features: Int, units: Int

  var flops: Double { 2 * Double(batch * steps * (features + units) * 4 * units) }
}

let cases = [
  Case(name: "worked example", batch: 1, steps: 13, features: 5, units: 10),
  Case(name: "medium", batch: 1, steps: 100, features: 64, units: 128),
  Case(name: "large", batch: 32, steps: 100, features: 256, units: 512),
]

func runtime(for c: Case) throws -> Runtime {
  let config = try ConfigParser.parse("""
    {"class_name": "Sequential", "config": {"name": "bench", "layers": [
      {"class_name": "InputLayer", "config": {"name": "x", "batch_shape": [null, \(c.steps), \(c.features)]}},
      {"class_name": "LSTM", "config": {"name": "lstm", "units": \(c.units), "activation": "tanh", "recurrent_activation": "sigmoid"}}]}}
    """)
  var generator = SystemRandomNumberGenerator()
  func random(_ shape: [Int]) -> Tensor {
    Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -0.1...0.1, using: &generator) })
  }
  let weights = [random([c.features, 4 * c.units]), random([c.units, 4 * c.units]), random([4 * c.units])]
  return try Runtime(analysis: ModelAnalysis(config: config, keras3: true), weights: ["lstm": weights])
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
  let start = DispatchTime.now().uptimeNanoseconds
  try body()
  return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

let arguments = CommandLine.arguments.dropFirst()
func pad(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }
print("LSTM forward pass, median of repeated runs (\(ProcessInfo.processInfo.activeProcessorCount) cores, \(KernelSelection.vectorized ? "AVX2/FMA" : "portable") kernels)")
print(pad("case", 16) + pad("batch×steps×features→units", 30) + pad("median", 14) + pad("GFLOP/s", 10) + "runs")
for c in cases where arguments.isEmpty || arguments.contains(c.name) {
  let model = try runtime(for: c)
  let x = Tensor(shape: [c.batch, c.steps, c.features], data: (0..<(c.batch * c.steps * c.features)).map { Float(sin(Double($0))) })
  _ = try model.predict([x])  // warm-up
  var times: [Double] = []
  let budget = 2.0
  var spent = 0.0
  while times.count < 5 || (spent < budget && times.count < 1000) {
    let t = try seconds { _ = try model.predict([x]) }
    times.append(t)
    spent += t
  }
  times.sort()
  let median = times[times.count / 2]
  let shape = "\(c.batch)×\(c.steps)×\(c.features)→\(c.units)"
  print(pad(c.name, 16) + pad(shape, 30) + pad(String(format: "%.3f ms", median * 1e3), 14) + pad(String(format: "%.2f", c.flops / median / 1e9), 10) + String(times.count))
}
