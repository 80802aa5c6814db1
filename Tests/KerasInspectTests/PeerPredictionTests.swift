import Foundation
import HDF5
import KerasInspect
import KerasRuntime
import Testing

/// Deeplearning4j's Keras-import cases beside the project (`../shared/peer-dl4j`, never copied
/// in): each `model.h5` with `inputs_and_outputs.h5`, which holds the inputs and the
/// `predictions` the original Keras (1.2.2 with TensorFlow or Theano, 2.x) computed. Cases
/// without stored predictions (one holds only `outputs`, which are not the model's) are left out.
let peerCases: [URL] = {
  let dir = fixtures.deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("shared").appendingPathComponent("peer-dl4j")
  let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
  return entries.sorted().map { dir.appendingPathComponent($0) }
    .filter { folder in
      let data = try? File(path: folder.appendingPathComponent("inputs_and_outputs.h5").path)
      return (try? data?.root().kind(of: "predictions")) == .group
    }
}()

/// The float datasets of one group of `inputs_and_outputs.h5`, by name.
func peerArrays(_ file: File, _ group: String) throws -> [String: Tensor] {
  let g = try file.root().group(group)
  var arrays: [String: Tensor] = [:]
  for name in try g.memberNames() {
    let dataset = try g.dataset(name)
    arrays[name] = Tensor(shape: dataset.shape, data: try dataset.readFloats(maxBytes: 1 << 28))
  }
  return arrays
}

@Suite("Predictions the original Keras computed (DL4J's import tests)")
struct PeerPredictionTests {
  @Test("the native forward pass reproduces the stored predictions within 1e-4", .enabled(if: !peerCases.isEmpty), arguments: peerCases)
  func predictions(_ folder: URL) throws {
    let data = try File(path: folder.appendingPathComponent("inputs_and_outputs.h5").path)
    let inputs = try peerArrays(data, "inputs")
    let predictions = try peerArrays(data, "predictions")
    let inspection = try Inspection(path: folder.appendingPathComponent("model.h5").path)
    let runtime = try inspection.runtime()
    // The stored inputs are named after the model's input layers.
    let ordered = try runtime.inputNames.map { name in
      try #require(inputs[name] ?? (inputs.count == 1 ? inputs.first?.value : nil), "no stored input for \(name)")
    }
    let outputs = try runtime.predict(ordered)
    let expected = try #require(predictions.count == 1 ? predictions.first?.value : nil)
    let y = try #require(outputs.first)
    #expect(y.shape == expected.shape)
    let worst = zip(y.data, expected.data).map { abs($0 - $1) }.max() ?? .infinity
    #expect(worst <= 1e-4, "\(folder.lastPathComponent): worst difference \(worst)")
  }
}

@Suite("Keras 1 layouts (Fixtures/keras1: Keras 2 fixtures rewritten as Keras 1.2 files)")
struct Keras1LayoutTests {
  @Test("per-gate arrays fuse to Keras 2's tensors: same SHA-256, same outputs as Keras computed",
        arguments: ["lstm_worked_example", "gru_reset_before"])
  func fused(_ name: String) throws {
    let keras1 = try Inspection(path: fixturePath("keras1/\(name)", ".h5"))
    let keras2 = try Inspection(path: fixturePath("keras2/\(name)", ".h5"))
    #expect(keras1.file.kerasVersion == "1.2.2")
    #expect(try keras1.weightsSHA256() == keras2.weightsSHA256())
    #expect(keras1.analysis.summaryRows.map(\.params) == keras2.analysis.summaryRows.map(\.params))
    for result in keras1.runChecks() { #expect(result.passed && !result.skipped, "\(result.id): \(result.details)") }
    let (inputs, outputs) = try ForwardTests.reference("keras1/\(name)")
    for (i, (y, reference)) in zip(try nativeOutputs(keras1, inputs), outputs).enumerated() {
      #expect(OutputComparison(index: i, got: y, expected: reference, atol: 1e-5, rtol: 1e-4).passed)
    }
    let stored = try #require(keras1.file.weights.values.first)
    #expect(stored.allSatisfy { $0.parts.count == (name.hasPrefix("lstm") ? 4 : 3) })
  }
}

@Suite("Theano-saved convolutions (Fixtures/keras1/*_theano: Keras 2 fixtures as the Theano backend saved them)")
struct TheanoKernelTests {
  @Test("flipped kernels are read back as Keras 2.0-2.3 read them: same SHA-256 and outputs as the TensorFlow twin",
        arguments: ["conv1d", "conv2d"])
  func flipped(_ name: String) throws {
    let theano = try Inspection(path: fixturePath("keras1/\(name)_theano", ".h5"))
    let twin = try Inspection(path: fixturePath("keras2/\(name)", ".h5"))
    #expect(theano.file.backend == "theano")
    #expect(try theano.weightsSHA256() == twin.weightsSHA256())
    let (inputs, outputs) = try ForwardTests.reference("keras1/\(name)_theano")
    for (i, (y, reference)) in zip(try nativeOutputs(theano, inputs), outputs).enumerated() {
      #expect(OutputComparison(index: i, got: y, expected: reference, atol: 1e-5, rtol: 1e-4).passed)
    }
  }
}

@Suite("Legacy layouts: Keras 1 convolutions (4-D Convolution1D kernel, th ordering), Keras 2.0 weight-name prefixes")
struct Keras1ConvolutionTests {
  @Test("kernels read in Keras 2's axis order: same SHA-256 as the Keras 2 twin, Keras's outputs",
        arguments: [("conv1d_keras1", "conv1d_global_average"), ("conv2d_th_keras1", "conv2d_global"), ("renamed_prefixes", "embedding_lstm")])
  func layouts(_ names: (String, String)) throws {
    let keras1 = try Inspection(path: fixturePath("keras1/\(names.0)", ".h5"))
    let twin = try Inspection(path: fixturePath("keras2/\(names.1)", ".h5"))
    #expect(try keras1.weightsSHA256() == twin.weightsSHA256())
    for result in keras1.runChecks() { #expect(result.passed && !result.skipped, "\(result.id): \(result.details)") }
    let (inputs, outputs) = try ForwardTests.reference("keras1/\(names.0)")
    for (i, (y, reference)) in zip(try nativeOutputs(keras1, inputs), outputs).enumerated() {
      #expect(OutputComparison(index: i, got: y, expected: reference, atol: 1e-5, rtol: 1e-4).passed)
    }
  }
}

@Suite("Keras 3 op layers (Fixtures/keras3ops: ops.not_equal and ops.any building a mask= argument)")
struct OpLayerTests {
  @Test("summary, numbers, checks and outputs equal what Keras printed and computed for the model it saved")
  func opMask() throws {
    let name = "keras3ops/op_mask"
    let inspection = try Inspection(path: fixturePath(name, ".h5"))
    #expect(inspection.summary().render() == (try String(contentsOfFile: fixturePath(name, ".summary.txt"), encoding: .utf8)))
    let keras = try JSONDecoder().decode(KerasReport.self, from: Data(contentsOf: URL(fileURLWithPath: fixturePath(name, ".json"))))
    #expect(inspection.analysis.summaryRows.map(\.displayClassName) == keras.layers.map(\.class_name))
    #expect(inspection.analysis.summaryRows.map(\.params) == keras.layers.map(\.params))
    for result in inspection.runChecks() { #expect(result.passed && !result.skipped, "\(result.id): \(result.details)") }
    let (inputs, outputs) = try ForwardTests.reference(name)
    for (i, (y, reference)) in zip(try nativeOutputs(inspection, inputs), outputs).enumerated() {
      #expect(OutputComparison(index: i, got: y, expected: reference, atol: 1e-5, rtol: 1e-4).passed)
    }
  }
}
