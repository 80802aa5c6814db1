import Foundation
import KerasModel
import KerasRuntime
import NumPy

/// The native forward pass on a model file and the input stored beside it.
enum ForwardBenchmark {
  static func run(_ c: Manifest.Case, folder: String, budget: Double) throws -> Measurement {
    let path = folder + "/" + c.model
    let file = try KerasFile(path: path)
    guard let config = file.config else { throw BenchError("\(path) has no model config") }
    let runtime = try Runtime(file: file, analysis: ModelAnalysis(file: file, config: config))
    let arrays = try NPZ.read(path: folder + "/" + c.input)
    guard let input = arrays["input_0"], let expected = arrays["output_0"] else {
      throw BenchError("\(c.input) lacks input_0 or output_0")
    }
    let x = Tensor(shape: input.shape, data: input.values)
    // A benchmark of a wrong answer is worthless: compare with Keras's output first.
    let y = try runtime.predict([x])[0]
    guard y.shape == expected.shape else { throw BenchError("\(c.name): output \(y.shape), Keras \(expected.shape)") }
    let worst = zip(y.data, expected.values).map { abs($0 - $1) - 1e-4 * abs($1) }.max() ?? 0
    guard worst <= 1e-4 else { throw BenchError("\(c.name): output differs from Keras's by \(worst)") }

    var times: [Double] = []
    var spent = 0.0
    while times.count < 5 || (spent < budget && times.count < 2000) {
      let t = try seconds { _ = try runtime.predict([x]) }
      times.append(t)
      spent += t
    }
    let m = median(times)
    let shape = c.shape.map(String.init).joined(separator: "×") + "→\(c.units)"
    return Measurement(
      group: "forward", name: c.name, detail: shape, runs: times.count, medianSeconds: m,
      minSeconds: times.min() ?? m, rate: c.flops / m / 1e9, rateUnit: "GFLOP/s", work: c.flops)
  }
}
