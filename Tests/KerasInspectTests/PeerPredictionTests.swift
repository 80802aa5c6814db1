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

/// `Fixtures/keras1/`: Keras 2 fixtures rewritten in legacy layouts (no Keras 1 installs here),
/// each beside the Keras 2 twin whose outputs Keras computed.
let legacyTwins: [(legacy: String, twin: String)] = [
  ("lstm_worked_example", "lstm_worked_example"), ("gru_reset_before", "gru_reset_before"),  // per-gate arrays
  ("conv1d_theano", "conv1d"), ("conv2d_theano", "conv2d"),  // kernels flipped by the Theano backend
  ("conv1d_keras1", "conv1d_global_average"), ("conv2d_th_keras1", "conv2d_global"),  // Keras 1 kernel layouts
  ("renamed_prefixes", "embedding_lstm"),  // Keras 2.0 weight-name prefixes, names without :0
]

@Suite("Legacy layouts: Keras 1 files, Theano-saved convolutions, Keras 2.0 weight names")
struct LegacyLayoutTests {
  @Test("read as Keras 2 reads them: same SHA-256 and params as the Keras 2 twin, every check, Keras's outputs",
        arguments: legacyTwins.map { [$0.legacy, $0.twin] })
  func twin(_ names: [String]) throws {
    let legacy = try Inspection(path: fixturePath("keras1/\(names[0])", ".h5"))
    let twin = try Inspection(path: fixturePath("keras2/\(names[1])", ".h5"))
    #expect(try legacy.weightsSHA256() == twin.weightsSHA256())
    #expect(legacy.analysis.summaryRows.map(\.params) == twin.analysis.summaryRows.map(\.params))
    for result in legacy.runChecks() { #expect(result.passed && !result.skipped, "\(result.id): \(result.details)") }
    try ForwardTests.expectKerasOutputs(legacy, "keras1/\(names[0])")
  }

  @Test("Keras 1's per-gate arrays are fused from their parts", arguments: ["lstm_worked_example", "gru_reset_before"])
  func fused(_ name: String) throws {
    let keras1 = try Inspection(path: fixturePath("keras1/\(name)", ".h5"))
    #expect(keras1.file.kerasVersion == "1.2.2")
    let stored = try #require(keras1.file.weights.values.first)
    #expect(stored.allSatisfy { $0.parts.count == (name.hasPrefix("lstm") ? 4 : 3) })
  }

  /// cuDNN files derived from Keras 2 fixtures (Fixtures/cudnn), with the parameters cuDNN adds
  /// over its plain twin: an LSTM's recurrent bias, 4·units per direction (a GRU with reset_after
  /// already keeps both biases).
  static let cudnnTwins: [(cudnn: String, twin: String, extraParams: Int)] = [
    ("cudnn_lstm", "lstm_worked_example", 4 * 10), ("cudnn_gru", "gru_reset_after", 0), ("bidirectional_cudnn_lstm", "bidirectional_concat", 2 * 4 * 4),
  ]

  @Test("CuDNNLSTM and CuDNNGRU compute as their plain twins: cuDNN's parameter count, every check, the twin's Keras outputs",
        arguments: cudnnTwins.indices)
  func cudnn(_ index: Int) throws {
    let (name, twinName, extra) = Self.cudnnTwins[index]
    let cudnn = try Inspection(path: fixturePath("cudnn/\(name)", ".h5"))
    let twin = try Inspection(path: fixturePath("keras2/\(twinName)", ".h5"))
    #expect(cudnn.analysis.layers.contains { $0.className.hasPrefix("CuDNN") || ($0.config.config["layer"]?["class_name"]?.string?.hasPrefix("CuDNN") ?? false) })
    #expect(cudnn.analysis.summaryRows.map(\.params).reduce(0, +) == twin.analysis.summaryRows.map(\.params).reduce(0, +) + extra)
    #expect(try cudnn.weightsSHA256() != twin.weightsSHA256())
    for result in cudnn.runChecks() { #expect(result.passed && !result.skipped, "\(result.id): \(result.details)") }
    try ForwardTests.expectKerasOutputs(cudnn, "cudnn/\(name)")
  }

  @Test("Theano-saved kernels are marked flipped", arguments: ["conv1d_theano", "conv2d_theano"])
  func theano(_ name: String) throws {
    let file = try Inspection(path: fixturePath("keras1/\(name)", ".h5")).file
    #expect(file.backend == "theano")
    #expect(file.weights.values.flatMap { $0 }.contains { $0.flipSpatial })
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
    try ForwardTests.expectKerasOutputs(inspection, name)
  }
}
