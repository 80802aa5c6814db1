import Foundation
@testable import KerasInspect
import KerasModel
import KerasRuntime
import NumPy
import Testing

/// Keras 3 archives of every Keras 3 fixture model that has a `.h5` (`keras3/NAME.keras`, twin of `keras3/NAME.h5`).
let archiveModels: [String] = fixtureModels.filter { $0.hasPrefix("keras3/") }
  .filter { FileManager.default.fileExists(atPath: fixturePath($0, ".keras")) && FileManager.default.fileExists(atPath: fixturePath($0, ".h5")) }

func nativeOutputs(_ inspection: Inspection, _ inputs: [NDArray]) throws -> [Tensor] {
  let runtime = try inspection.runtime()
  return try runtime.predict(try inspection.inputs(inputs, runtime: runtime))
}

@Suite(".keras archives")
struct ArchiveTests {
  @Test("every Keras 3 fixture has a .keras twin")
  func twins() {
    #expect(archiveModels.count == fixtureModels.filter { $0.hasPrefix("keras3/") && FileManager.default.fileExists(atPath: fixturePath($0, ".h5")) }.count)
  }

  @Test("summary, params, checks and outputs are those of the .h5 twin and of Keras", arguments: archiveModels)
  func sameAsTwin(_ name: String) throws {
    let archive = try Inspection(path: fixturePath(name, ".keras"))
    let twin = try Inspection(path: fixturePath(name, ".h5"))
    #expect(archive.file.format == .keras)
    #expect(archive.file.kerasVersion == "3.15.1")
    let expected = try String(contentsOfFile: fixturePath(name, ".summary.txt"), encoding: .utf8)
    #expect(archive.summary().render() == expected)
    #expect(zip(archive.analysis.summaryRows, twin.analysis.summaryRows).allSatisfy {
      $0.params == $1.params && $0.trainableParams == $1.trainableParams && $0.outputs == $1.outputs
    })
    for result in archive.runChecks() { #expect(result.passed, "\(result.id): \(result.details)") }
    guard runnableFixtureModels.contains(name) else { return }
    let (inputs, outputs) = try ForwardTests.reference(name)
    let got = try nativeOutputs(archive, inputs)
    #expect(got == (try nativeOutputs(twin, inputs)))
    for (i, (y, reference)) in zip(got, outputs).enumerated() {
      #expect(OutputComparison(index: i, got: y, expected: reference, atol: 1e-5, rtol: 1e-4).passed)
    }
  }

  @Test("weights map by Keras 3's path rule: snake_case class name plus a counter, nested paths")
  func layout() throws {
    let file = try Inspection(path: fixturePath("keras3/bidirectional_concat", ".keras")).file
    #expect(file.weights["bidirectional"]?.map(\.name) == [
      "layers/bidirectional/forward_layer/cell/vars/0", "layers/bidirectional/forward_layer/cell/vars/1",
      "layers/bidirectional/forward_layer/cell/vars/2", "layers/bidirectional/backward_layer/cell/vars/0",
      "layers/bidirectional/backward_layer/cell/vars/1", "layers/bidirectional/backward_layer/cell/vars/2",
    ])
    let nested = try Inspection(path: fixturePath("keras3/nested_sequential", ".keras")).file
    #expect(nested.weights["inner"]?.map(\.name) == [
      "layers/sequential/layers/dense/vars/0", "layers/sequential/layers/dense/vars/1",
      "layers/sequential/layers/dense_1/vars/0", "layers/sequential/layers/dense_1/vars/1",
    ])
    #expect(nested.weights["dense_2"]?.first?.name == "layers/dense/vars/0")
  }

  @Test("opening a .keras writes nothing: the weights are read from memory")
  func readOnly() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keras-inspect-readonly-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let copy = dir.appendingPathComponent("model.keras")
    try FileManager.default.copyItem(atPath: fixturePath("keras3/multi_io", ".keras"), toPath: copy.path)
    let before = try FileManager.default.attributesOfItem(atPath: copy.path)[.modificationDate] as? Date
    let bytes = try Data(contentsOf: copy)
    let inspection = try Inspection(path: copy.path)
    _ = inspection.runChecks()
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["model.keras"])
    #expect(try Data(contentsOf: copy) == bytes)
    #expect(try FileManager.default.attributesOfItem(atPath: copy.path)[.modificationDate] as? Date == before)
  }

  @Test("format is detected by content, not by name")
  func detection() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keras-inspect-detect-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let misnamed = dir.appendingPathComponent("model.h5")
    try FileManager.default.copyItem(atPath: fixturePath("keras3/lstm_worked_example", ".keras"), toPath: misnamed.path)
    #expect(try Inspection(path: misnamed.path).file.format == .keras)
    let misnamedH5 = dir.appendingPathComponent("model.keras")
    try FileManager.default.copyItem(atPath: fixturePath("keras2/lstm_worked_example", ".h5"), toPath: misnamedH5.path)
    #expect(try Inspection(path: misnamedH5.path).file.format == .h5)
  }

  @Test("zips that are not Keras archives, or miss entries, are refused saying why", arguments: [
    ("keras2/lstm_worked_example.npz", "zip archive without config.json: not a Keras .keras archive"),
    ("broken/keras_missing_weights.keras", "Keras archive without model.weights.h5"),
    ("broken/keras_bad_config.keras", "config.json: model config is not valid JSON"),
    ("weights/keras3/multi_io.npz-weights.keras", "weights stored as model.weights.npz"),
  ])
  func refused(_ path: String, _ reason: String) {
    #expect {
      _ = try Inspection(path: fixtures.appendingPathComponent(path).path)
    } throws: { error in
      (error as? InspectionError)?.message.contains(reason) ?? false
    }
  }
}

/// Weights-only fixtures: `weights/keras2/NAME.h5` (legacy save_weights) and
/// `weights/keras3/NAME.weights.h5`, each with `NAME.model.json` (model.to_json()).
let weightsOnly: [String] = ["keras2", "keras3"].flatMap { flavour in
  ["lstm_worked_example", "multi_io", "nested_sequential", "bidirectional_concat", "batch_norm", "time_distributed"].map { "\(flavour)/\($0)" }
}

func weightsPath(_ name: String) -> String {
  fixtures.appendingPathComponent("weights/\(name)" + (name.hasPrefix("keras3/") ? ".weights.h5" : ".h5")).path
}

@Suite("Weights-only files")
struct WeightsOnlyTests {
  @Test("without an architecture: every tensor is listed; summary needs --config", arguments: weightsOnly)
  func listing(_ name: String) throws {
    let file = try Inspection.open(path: weightsPath(name))
    #expect(file.format == (name.hasPrefix("keras3/") ? .kerasWeights : .h5Weights))
    #expect(file.config == nil)
    let full = try Inspection(path: fixturePath(name, ".h5"))
    let report = try WeightsReport(file: file, analysis: nil)
    // Without an architecture, Keras 3 groups come in name order (HDF5 keeps no creation order here).
    let listed = report.entries.map(\.weight.shape).sorted { $0.lexicographicallyPrecedes($1) }
    #expect(listed == full.analysis.layers.flatMap(\.stored).map(\.shape).sorted { $0.lexicographicallyPrecedes($1) })
    #expect(report.entries.allSatisfy { $0.stats.count == $0.weight.count })
    #expect {
      _ = try Inspection(path: weightsPath(name))
    } throws: { error in
      (error as? InspectionError)?.message.contains("holds no architecture; give one with --config") ?? false
    }
  }

  @Test("with --config: the full model's summary and outputs", arguments: weightsOnly)
  func withConfig(_ name: String) throws {
    let config = fixtures.appendingPathComponent("weights/\(name).model.json").path
    let inspection = try Inspection(path: weightsPath(name), configPath: config)
    let expected = try String(contentsOfFile: fixturePath(name, ".summary.txt"), encoding: .utf8)
    #expect(inspection.summary().render() == expected)
    for result in inspection.runChecks() { #expect(result.passed, "\(result.id): \(result.details)") }
    let (inputs, _) = try ForwardTests.reference(name)
    #expect(try nativeOutputs(inspection, inputs) == (try nativeOutputs(try Inspection(path: fixturePath(name, ".h5")), inputs)))
  }
}

@Suite("Weight dtypes")
struct DTypeTests {
  /// Keras computes float16 models in float16 and bfloat16 in bfloat16; keras-inspect computes in
  /// float32, so the reference agrees to the precision of the Keras dtype (epsilon 9.8e-4 and 7.8e-3).
  static let cases: [(String, String, Double, Double)] = [
    ("keras2/float16.h5", "float16", 1e-3, 1e-3), ("keras3/float16.h5", "float16", 1e-3, 1e-3),
    ("keras3/float16.keras", "float16", 1e-3, 1e-3),
    ("keras2/float64.h5", "float64", 1e-5, 1e-4), ("keras3/float64.h5", "float64", 1e-5, 1e-4),
    ("keras3/float64.keras", "float64", 1e-5, 1e-4),
    ("keras2/mixed_float16.h5", "float32", 1e-3, 1e-3), ("keras3/mixed_float16.h5", "float32", 1e-3, 1e-3),
    ("keras3/mixed_float16.keras", "float32", 1e-3, 1e-3),
    ("keras3/bfloat16.keras", "bfloat16", 1e-2, 1e-2),
  ]

  @Test("loads with the real dtype, summarises as Keras did, and runs within the dtype's precision", arguments: cases)
  func dtype(_ file: String, _ dtype: String, _ atol: Double, _ rtol: Double) throws {
    let path = fixtures.appendingPathComponent("dtypes/\(file)").path
    let stem = fixtures.appendingPathComponent("dtypes/\(file)").deletingPathExtension().path
    let inspection = try Inspection(path: path)
    #expect(Set(inspection.analysis.layers.flatMap(\.stored).map(\.dtype)) == [dtype])
    let printed = try String(contentsOfFile: stem + ".summary.txt", encoding: .utf8)
    #expect(inspection.summary().render() == printed)
    // From the config alone, Keras 3's byte sizes would be float32's: `summary` lists the weights
    // of a model whose variables are in another dtype (a mixed policy keeps float32 variables).
    let quick = try #require(Inspection(file: try Inspection.open(path: path, listWeights: false)))
    if quick.file.format == .h5 { #expect(quick.analysis.configAccountsForWeights == (dtype == "float32")) }
    #expect(try quick.forSummary().summary().render() == printed)
    let arrays = try NPZ.read(path: stem + ".npz")
    let got = try nativeOutputs(inspection, [try #require(arrays["input_0"])])
    let comparison = OutputComparison(index: 0, got: got[0], expected: try #require(arrays["output_0"]), atol: atol, rtol: rtol)
    #expect(comparison.passed, "\(comparison.description)")
  }
}

@Suite("Byte sizes under the summary")
struct ByteSizeTests {
  /// What Python's `readable_memory_size` printed for each size (`{:.2f}`, the exact binary value
  /// rounded half to even: 1152 B is 1.125 KB, printed 1.12; 1408 B is 1.375 KB, printed 1.38).
  static let cases: [(Int, String)] = [
    (0, "0.00 B"), (1, "1.00 B"), (1023, "1023.00 B"), (1024, "1.00 KB"), (1152, "1.12 KB"), (1408, "1.38 KB"),
    (2560, "2.50 KB"), (123_456, "120.56 KB"), (1_048_575, "1024.00 KB"), (1_048_576, "1.00 MB"),
    (32_250_016, "30.76 MB"), (102_546_848, "97.80 MB"), (3_377_699_720_540_217, "3.00 PB"), (1 << 62, "4.00 PB"),
  ]

  @Test("Keras 3's byte sizes are Python's, digit for digit; Keras 2 says Byte", arguments: cases)
  func bytes(_ size: Int, _ printed: String) {
    #expect(SummaryStyle.keras3.bytes(size) == printed)
    #expect(SummaryStyle.keras2.bytes(size) == (printed.hasSuffix(" B") ? printed.dropLast() + "Byte" : printed))
  }
}

@Suite("Keras 3's table cells")
struct RichTableTests {
  /// A layer name with accents wraps as its ASCII twin does: one cell per character.
  @Test("a non-ASCII cell wraps, cuts and pads by characters, as its ASCII twin does by bytes")
  func nonASCII() {
    let texts = ["conv2d_block1 (Conv2D)", "a very long layer name that wraps (Dense)", "xxxxxxxxxxxxxxxxxxxxxxxxxx y", "  leading and trailing  ", "", "one"]
    for text in texts {
      for width in [1, 3, 8, 12, 30] {
        for alignment in [RichTable.Alignment.left, .right, .center] {
          let ascii = RichTable.wrap(text, width: width, alignment: alignment)
          let accented = RichTable.wrap(text.replacingOccurrences(of: "e", with: "é"), width: width, alignment: alignment)
          #expect(ascii.lines.map(\.cells) == accented.lines.map(\.cells), "\(text) \(width)")
          #expect(ascii.lines.map(\.ellipsis) == accented.lines.map(\.ellipsis), "\(text) \(width)")
          let asciiLines = ascii.lines.map { String(decoding: ascii.bytes[$0.bytes], as: UTF8.self) }
          let accentedLines = accented.lines.map { String(decoding: accented.bytes[$0.bytes], as: UTF8.self) }
          #expect(asciiLines.map { $0.replacingOccurrences(of: "e", with: "é") } == accentedLines, "\(text) \(width)")
          #expect(ascii.lines.allSatisfy { $0.cells <= max(width, 1) }, "\(text) \(width)")
        }
      }
    }
  }
}

@Suite("HDF5 variety in real model files")
struct RepackTests {
  @Test("a gzip+shuffle repack gives identical results to the original", arguments: [
    ("keras2", "lstm_worked_example"), ("keras3", "multi_io"), ("keras2", "conv2d"),
  ])
  func gzip(_ flavour: String, _ name: String) throws {
    let repack = try Inspection(path: fixtures.appendingPathComponent("hdf5/\(flavour)_\(name).gzip.h5").path)
    let original = try Inspection(path: fixturePath("\(flavour)/\(name)", ".h5"))
    #expect(repack.summary().render() == original.summary().render())
    let repackWeights = try WeightsReport(inspection: repack).entries.map(\.stats)
    #expect(repackWeights == (try WeightsReport(inspection: original).entries.map(\.stats)))
    let (inputs, _) = try ForwardTests.reference("\(flavour)/\(name)")
    #expect(try nativeOutputs(repack, inputs) == (try nativeOutputs(original, inputs)))
  }

  @Test("fixed-length string listings (as Keras 2.0-2.2 wrote them) read the same")
  func fixedLength() throws {
    let fixed = try Inspection(path: fixtures.appendingPathComponent("hdf5/keras2_multi_io.fixedlen.h5").path)
    let expected = try String(contentsOfFile: fixturePath("keras2/multi_io", ".summary.txt"), encoding: .utf8)
    #expect(fixed.summary().render() == expected)
    for result in fixed.runChecks() { #expect(result.passed, "\(result.id): \(result.details)") }
  }
}

/// `.keras` archives written by the Keras of TensorFlow 2.13 (early layout).
let earlyArchives: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: fixtures.appendingPathComponent("keras213").path)) ?? [])
  .filter { $0.hasSuffix(".keras") }.sorted().map { "keras213/\($0.dropLast(6))" }

@Suite("Early .keras archives (Keras 2.13, _layer_checkpoint_dependencies)")
struct EarlyArchiveTests {
  @Test("written on Windows (backslashes in group names): read as the same archive written on Linux",
        arguments: ["bidirectional_concat", "nested_sequential", "attention_self", "rnn_cells"])
  func windows(_ name: String) throws {
    let windows = try Inspection(path: fixturePath("windows/\(name)", ".keras"))
    let twin = try Inspection(path: fixturePath("keras213/\(name)", ".keras"))
    #expect(try windows.weightsSHA256() == twin.weightsSHA256())
    #expect(windows.summary().render() == (try String(contentsOfFile: fixturePath("keras213/\(name)", ".summary.txt"), encoding: .utf8)))
    for result in windows.runChecks() { #expect(result.passed && !result.skipped, "\(result.id): \(result.details)") }
    try ForwardTests.expectKerasOutputs(windows, "windows/\(name)")
  }

  @Test("there is one for every fixture model")
  func present() {
    #expect(earlyArchives.count == fixtureModels.filter { $0.hasPrefix("keras2/") }.count)
  }

  @Test("summary, per-layer numbers, checks and outputs equal Keras 2.13's", arguments: earlyArchives)
  func matchesKeras(_ name: String) throws {
    let inspection = try Inspection(path: fixturePath(name, ".keras"))
    #expect(inspection.file.format == .keras)
    #expect(inspection.file.kerasVersion == "2.13.1")
    let summary = try String(contentsOfFile: fixturePath(name, ".summary.txt"), encoding: .utf8)
    if ["keras213/attention_cross", "keras213/attention_masked"].contains(name) {
      // Keras 2.13 lists an attention layer's keyword tensors sorted by name (key before value),
      // in "Connected to" and in the order of the input rows; keras-inspect keeps the config's order
      // (as tf_keras 2.21 prints it).
      withKnownIssue("row order of keyword-argument inputs in Keras 2.13's summary") { #expect(inspection.summary().render() == summary) }
    } else {
      #expect(inspection.summary().render() == summary)
    }
    let keras = try JSONDecoder().decode(KerasReport.self, from: Data(contentsOf: URL(fileURLWithPath: fixturePath(name, ".json"))))
    #expect(inspection.analysis.summaryRows.map(\.params) == keras.layers.map(\.params))
    #expect(inspection.analysis.summaryRows.map(\.trainableParams) == keras.layers.map(\.trainable_params))
    for result in inspection.runChecks() { #expect(result.passed, "\(result.id): \(result.details)") }
    guard !refusedFixtures.contains(String(name.dropFirst("keras213/".count))) else { return }
    try ForwardTests.expectKerasOutputs(inspection, name)
  }

  @Test("counters with gaps: layers of a class take that class's groups in counter order")
  func gaps() throws {
    let file = try Inspection(path: fixturePath("keras213/nested_sequential", ".keras")).file
    #expect(file.weights.values.flatMap { $0 }.count == 6)
    #expect(file.weights["dense_2"]?.map(\.shape) == [[4, 2], [2]])
    // Inside the nested model the groups are `dense` and `dense_2`.
    #expect(file.weights["inner"]?.map(\.name).last == "_layer_checkpoint_dependencies/sequential/_layer_checkpoint_dependencies/dense_2/vars/1")
    #expect(file.weights["inner"]?.map(\.shape) == [[8, 6], [6], [6, 4], [4]])
  }
}

@Suite("Non-finite weights")
struct NonFiniteTests {
  @Test("NaN and Inf are counted apart; zeros, subnormals and the largest float are finite")
  func counts() {
    let values: [Float] = [1, .nan, .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -.nan, 3]
    #expect(Inspection.countNonFinite(values) == (nan: 2, inf: 2))
    #expect(Inspection.countNonFinite([Float](repeating: 0.5, count: 1000)) == (nan: 0, inf: 0))
    #expect(Inspection.countNonFinite([]) == (nan: 0, inf: 0))
  }
}
