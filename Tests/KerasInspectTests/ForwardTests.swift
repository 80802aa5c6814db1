import Foundation
import KerasInspect
import KerasModel
import KerasRuntime
import NumPy
import Testing

@Suite("Forward pass: native outputs match Keras's")
struct ForwardTests {
  /// Inputs and Keras's outputs for a fixture, in order (`input_0`, `input_1`, ..., `output_0`, ...).
  static func reference(_ name: String) throws -> (inputs: [NDArray], outputs: [NDArray]) {
    let arrays = try NPZ.read(path: fixturePath(name, ".npz"))
    func ordered(_ prefix: String) -> [NDArray] {
      (0..<arrays.count).compactMap { arrays["\(prefix)_\($0)"] }
    }
    return (ordered("input"), ordered("output"))
  }

  /// Expects the native outputs of `inspection` on fixture `name`'s inputs to match Keras's
  /// outputs for them at atol 1e-5, rtol 1e-4.
  static func expectKerasOutputs(_ inspection: Inspection, _ name: String) throws {
    let (inputs, outputs) = try reference(name)
    let got = try nativeOutputs(inspection, inputs)
    try #require(got.count == outputs.count)
    for (i, (y, expected)) in zip(got, outputs).enumerated() {
      let comparison = OutputComparison(index: i, got: y, expected: expected, atol: 1e-5, rtol: 1e-4)
      #expect(comparison.passed, "\(name): \(comparison.description)")
    }
  }

  @Test("every fixture's outputs match Keras at atol 1e-5, rtol 1e-4", arguments: runnableFixtureModels)
  func matchesKeras(_ name: String) throws {
    let inspection = try Inspection(path: modelPath(name))
    let (inputs, outputs) = try Self.reference(name)
    #expect(!inputs.isEmpty && !outputs.isEmpty)
    let runtime = try inspection.runtime()
    let results = try runtime.predict(try inspection.inputs(inputs, runtime: runtime))
    try #require(results.count == outputs.count)
    for (i, (got, expected)) in zip(results, outputs).enumerated() {
      let comparison = OutputComparison(index: i, got: got, expected: expected, atol: 1e-5, rtol: 1e-4)
      #expect(comparison.passed, "\(comparison.description)")
    }
  }

  @Test("verify's reference inputs serve the forward-pass check, and its outputs are the ones compared")
  func referenceInputsServeTheForwardPass() throws {
    let path = fixturePath("keras2/lstm_worked_example", ".h5")
    var options = VerifyOptions()
    options.reference = try Self.reference("keras2/lstm_worked_example")
    let good = Verifier.verify(path, options: options)
    let forward = try #require(good.checks.first { $0.id == "forward-pass" })
    #expect(forward.passed && forward.summary.hasPrefix("forward pass on the reference inputs (batch 3): outputs (3, 10)"), "\(forward.summary)")
    #expect(good.checks.first { $0.id == "reference-outputs" }?.passed == true)

    var wrong = options
    wrong.reference!.outputs[0].values[13] += 0.01
    let failed = Verifier.verify(path, options: wrong)
    let comparison = try #require(failed.checks.first { $0.id == "reference-outputs" })
    #expect(!comparison.passed && comparison.details.joined().contains("worst at (1, 3)"), "\(comparison.details)")

    // Inputs that do not fit the model: the forward-pass check runs its own batch and passes;
    // the comparison names the problem.
    var misfit = options
    misfit.reference!.inputs = [NDArray(shape: [1, 13, 4], values: Array(repeating: 0.5, count: 52))]
    let report = Verifier.verify(path, options: misfit)
    #expect(report.checks.first { $0.id == "forward-pass" }?.summary.hasPrefix("forward pass on a deterministic batch of 2") == true)
    #expect(report.checks.first { $0.id == "reference-outputs" }?.passed == false)
    #expect(good.weightsSHA256 != nil && report.weightsSHA256 == good.weightsSHA256)
  }

  @Test("the weights SHA-256 is the documented canonical hash, tensor after tensor in config order (pinned from h5py and hashlib)")
  func canonicalFingerprint() throws {
    // Computed in Python: for each layer of the config with a group under model_weights, each of
    // its weight_names as little-endian float32, preceded by rank and dimensions as UInt64.
    let pinned = [
      ("keras2/lstm_worked_example", "c9b10d4710850cf93bc105abde6a8a5fdf521bfc44b3a8c55a1115527e30af8a"),
      ("keras3/lstm_worked_example", "c9b10d4710850cf93bc105abde6a8a5fdf521bfc44b3a8c55a1115527e30af8a"),
      ("keras2/app_mobilenet", "bd03204768000f25ad73bd2f5b7e40f6140c939e7dd874fdd2367f329bcfcd8d"),  // 137 tensors
      ("keras2/many_layers", "cca3c87f6ed060d6119edf470388094f75b7139d2415408a4966d1d316973151"),  // 140 tensors
    ]
    for (name, sha) in pinned {
      #expect(try Inspection(path: fixturePath(name, ".h5")).weightsSHA256() == sha, "\(name)")
    }
  }

  @Test("the runtime takes over the values the checks read: the fingerprint and the outputs are unchanged after it")
  func valuesHandedToTheRuntime() throws {
    let inspection = try Inspection(path: fixturePath("keras3/lstm_worked_example", ".h5"))
    let before = try inspection.weightsSHA256()
    let results = inspection.runChecks()
    #expect(results.allSatisfy { $0.passed }, "\(results)")
    #expect(try inspection.weightsSHA256() == before)
    try Self.expectKerasOutputs(inspection, "keras3/lstm_worked_example")
  }

  @Test("a wrong reference fails the comparison, naming the worst element")
  func detectsDifferences() throws {
    let inspection = try Inspection(path: fixturePath("keras2/lstm_worked_example", ".h5"))
    let (inputs, outputs) = try Self.reference("keras2/lstm_worked_example")
    let runtime = try inspection.runtime()
    let got = try runtime.predict(try inspection.inputs(inputs, runtime: runtime))[0]
    var wrong = outputs[0]
    wrong.values[13] += 0.01
    let comparison = OutputComparison(index: 0, got: got, expected: wrong, atol: 1e-5, rtol: 1e-4)
    #expect(!comparison.passed)
    #expect(comparison.worstPosition == [1, 3])
    #expect(comparison.maxAbsoluteError > 0.009)
  }

  @Test("a model with a layer without a native kernel is refused, naming it")
  func refusesUnsupported() throws {
    let inspection = try Inspection(path: fixtures.appendingPathComponent("broken/unsupported_layer_keras3.h5").path)
    #expect {
      _ = try inspection.runtime()
    } throws: { error in
      (error as? RuntimeError)?.message.contains("stateful (LSTM)") ?? false
    }
  }

  @Test("an input of the wrong shape is an error naming both shapes")
  func wrongShape() throws {
    let inspection = try Inspection(path: fixturePath("keras3/lstm_worked_example", ".h5"))
    let runtime = try inspection.runtime()
    #expect {
      _ = try runtime.predict([Tensor(zeros: [2, 7, 5])])
    } throws: { error in
      (error as? RuntimeError)?.message == "input 0 (input_layer) has shape (2, 7, 5), the model expects (None, 13, 5)"
    }
  }
}

@Suite("Inference rewrites")
struct FusionTests {
  /// How many calls, and model outputs, read each layer's outputs, from the config.
  static func readers(_ analysis: ModelAnalysis) -> [String: Int] {
    var readers: [String: Int] = [:]
    for layer in analysis.layers { for call in layer.config.calls { for ref in call.inputs { readers[ref.layer, default: 0] += 1 } } }
    for ref in analysis.config.outputs { readers[ref.layer, default: 0] += 1 }
    return readers
  }

  /// The rewritten runtime's outputs against Keras's for the fixture.
  static func expectKerasOutputs(_ name: String, _ inspection: Inspection, _ runtime: Runtime) throws {
    let (inputs, outputs) = try ForwardTests.reference(name)
    let got = try runtime.predict(try inspection.inputs(inputs, runtime: runtime))
    for (i, (g, e)) in zip(got, outputs).enumerated() {
      let comparison = OutputComparison(index: i, got: g, expected: e, atol: 1e-5, rtol: 1e-4)
      #expect(comparison.passed, "\(comparison.description)")
    }
  }

  @Test("a BatchNormalization right after a convolution or Dense is folded into it, and the outputs still match Keras",
        arguments: ["keras2/app_mobilenet", "keras3/app_mobilenet", "keras2/frozen_and_batchnorm", "keras3/frozen_and_batchnorm"])
  func folded(_ name: String) throws {
    let inspection = try Inspection(path: modelPath(name))
    let runtime = try inspection.runtime()
    // Which normalizations qualify, read from the config: the only reader of a linear,
    // channels-last Dense or convolution's output.
    let layers = inspection.analysis.layers
    let readers = Self.readers(inspection.analysis)
    let expected = layers.filter { layer in
      guard layer.className == "BatchNormalization", let source = layer.config.calls.first?.inputs.first?.layer,
        let producer = layers.first(where: { $0.name == source }),
        ["Conv2D", "DepthwiseConv2D", "Dense"].contains(producer.className), readers[source] == 1 else { return false }
      let activation = producer.config.config["activation"]?.string
      return activation == nil || activation == "linear"
    }.map(\.name)
    #expect(Set(runtime.folded.keys.filter { key in layers.first { $0.name == key }?.className == "BatchNormalization" }) == Set(expected))
    #expect(!expected.isEmpty || name.contains("frozen"))
    try Self.expectKerasOutputs(name, inspection, runtime)
  }

  @Test("an element-wise activation layer alone in reading a layer's output is applied by that layer, and the outputs still match Keras",
        arguments: ["keras2/app_mobilenet", "keras3/app_mobilenet", "keras2/activation_layers", "keras3/activation_layers"])
  func activationFolded(_ name: String) throws {
    let inspection = try Inspection(path: modelPath(name))
    let runtime = try inspection.runtime()
    let layers = inspection.analysis.layers
    let readers = Self.readers(inspection.analysis)
    let whole = ["softmax", "log_softmax", "sparsemax", "glu"]
    func pointwise(_ layer: LayerInfo) -> Bool {
      switch layer.className {
      case "ReLU", "LeakyReLU": return true
      case "Activation": return !whole.contains(layer.config.config["activation"]?.string ?? "")
      default: return false
      }
    }
    var expected: [String: String] = [:]
    for layer in layers where pointwise(layer) && layer.config.calls.count == 1 {
      guard let source = layer.config.calls[0].inputs.first?.layer, layer.config.calls[0].inputs.count == 1, readers[source] == 1,
        var producer = layers.first(where: { $0.name == source }) else { continue }
      if let into = runtime.folded[producer.name], producer.className == "BatchNormalization", let p = layers.first(where: { $0.name == into }) { producer = p }
      guard producer.className != "InputLayer", producer.nested == nil, producer.config.calls.count == 1, !pointwise(producer) else { continue }
      expected[layer.name] = producer.name
    }
    let activations = runtime.folded.filter { key, _ in layers.first { $0.name == key }?.className != "BatchNormalization" }
    #expect(activations == expected)
    #expect(!expected.isEmpty)
    try Self.expectKerasOutputs(name, inspection, runtime)
  }
}
