import Foundation
import KerasInspect
import KerasModel
import Testing

/// The fixtures directory: `Fixtures/` at the package root.
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent().appendingPathComponent("Fixtures")

/// Every model fixture Keras wrote, as "keras2/NAME" / "keras3/NAME": each `.h5`, and each Keras 3
/// `.keras` archive of a model Keras 3 cannot write to a legacy `.h5`.
let fixtureModels: [String] = ["keras2", "keras3"].flatMap { flavour in
  let files = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.appendingPathComponent(flavour).path)) ?? []
  let h5 = files.filter { $0.hasSuffix(".h5") }.map { String($0.dropLast(3)) }
  let archiveOnly = files.filter { $0.hasSuffix(".keras") }.map { String($0.dropLast(6)) }.filter { !h5.contains($0) }
  return (h5 + (flavour == "keras3" ? archiveOnly : [])).sorted().map { "\(flavour)/\($0)" }
}

/// Fixtures that hold a layer keras-inspect refuses on purpose (a Lambda calling a user's
/// function): their summary and params must still be Keras's, and the refusal is tested on its own.
let refusedFixtures: Set<String> = ["lambda_unrecognised"]

/// The fixtures keras-inspect runs end to end.
let runnableFixtureModels = fixtureModels.filter { !refusedFixtures.contains(String($0.split(separator: "/").last!)) }

func fixturePath(_ name: String, _ suffix: String) -> String {
  fixtures.appendingPathComponent(name + suffix).path
}

/// The model file of a fixture: its `.h5`, or its `.keras` archive when it has no `.h5`.
func modelPath(_ name: String) -> String {
  let h5 = fixturePath(name, ".h5")
  return FileManager.default.fileExists(atPath: h5) ? h5 : fixturePath(name, ".keras")
}

/// What Keras reported for a fixture (written by Fixtures/generate.py).
struct KerasReport: Decodable {
  struct Layer: Decodable {
    let name: String
    let class_name: String
    let output_shape: ShapeValue?
    let params: Int
    let trainable_params: Int
    let non_trainable_params: Int
  }
  struct Model: Decodable {
    let name: String
  }
  let model: Model
  let layers: [Layer]
  let total_params: Int
  let trainable_params: Int
  let non_trainable_params: Int
}

/// A shape `[null, 10]`, a list of shapes, or Keras 2's "multiple".
enum ShapeValue: Decodable, Equatable {
  case one([Int?])
  case many([[Int?]])
  case text(String)

  init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    if let s = try? c.decode([Int?].self) { self = .one(s) }
    else if let m = try? c.decode([[Int?]].self) { self = .many(m) }
    else { self = .text(try c.decode(String.self)) }
  }
}

@Suite("Fixtures: keras-inspect agrees with what Keras reported")
struct FixtureTests {
  @Test("there are fixtures for Keras 2 and Keras 3")
  func fixturesExist() {
    #expect(fixtureModels.filter { $0.hasPrefix("keras2/") }.count >= 30)
    #expect(fixtureModels.filter { $0.hasPrefix("keras3/") }.count >= 30)
  }

  @Test("summary text equals Keras's model.summary()", arguments: fixtureModels)
  func summaryText(_ name: String) throws {
    let inspection = try Inspection(path: modelPath(name))
    let expected = try String(contentsOfFile: fixturePath(name, ".summary.txt"), encoding: .utf8)
    let rendered = inspection.summary().render()
    #expect(rendered == expected)
  }

  /// `summary`'s way: the config alone when it accounts for every weight, the file listed
  /// otherwise. Every legacy `.h5` whose layers keras-inspect all understands takes the first.
  @Test("summary text from the config alone equals Keras's model.summary()", arguments: fixtureModels)
  func summaryTextFromConfig(_ name: String) throws {
    let file = try Inspection.open(path: modelPath(name), listWeights: false)
    let quick = try #require(Inspection(file: file))
    let inspection = try quick.forSummary()
    let expected = try String(contentsOfFile: fixturePath(name, ".summary.txt"), encoding: .utf8)
    #expect(inspection.summary().render() == expected)
    if file.format == .h5, quick.analysis.layers.allSatisfy(\.understood) {
      #expect(!file.weightsListed && quick.analysis.configAccountsForWeights && inspection === quick)
    }
  }

  @Test("per-layer shapes and params and totals equal Keras's", arguments: fixtureModels)
  func layerFacts(_ name: String) throws {
    let inspection = try Inspection(path: modelPath(name))
    let data = try Data(contentsOf: URL(fileURLWithPath: fixturePath(name, ".json")))
    let keras = try JSONDecoder().decode(KerasReport.self, from: data)
    let rows = inspection.analysis.summaryRows
    #expect(inspection.analysis.config.name == keras.model.name)
    try #require(rows.count == keras.layers.count)
    for (row, layer) in zip(rows, keras.layers) {
      #expect(row.name == layer.name)
      #expect(row.displayClassName == layer.class_name)
      #expect(row.params == layer.params, "\(row.name)")
      if row.understood { #expect(row.expectedParams == layer.params, "\(row.name): formula from config") }
      #expect(row.trainableParams == layer.trainable_params, "\(row.name)")
      #expect(row.nonTrainableParams == layer.non_trainable_params, "\(row.name)")
      if let shape = layer.output_shape, shape != .text("multiple") {
        let ours = row.outputs.last ?? nil
        switch shape {
        case .one(let s): #expect(ours == [s], "\(row.name)")
        case .many(let m): #expect(ours == m, "\(row.name)")
        case .text: break
        }
      }
    }
    let totals = inspection.summary().totals
    #expect(totals.total == keras.total_params)
    #expect(totals.trainable == keras.trainable_params)
    #expect(totals.nonTrainable == keras.non_trainable_params)
  }

  @Test("every check passes on every good fixture", arguments: runnableFixtureModels)
  func checksPass(_ name: String) throws {
    let results = try Inspection(path: modelPath(name)).runChecks()
    #expect(results.map(\.id) == ["opens", "config", "layers-understood", "params", "finite-weights", "forward-pass"])
    for result in results {
      #expect(result.passed, "\(result.id): \(result.details)")
    }
  }

  @Test("a Lambda calling a user's function is named with the reason, its forward pass skipped, its summary Keras's", arguments: ["keras2", "keras3"])
  func refusedLambda(_ flavour: String) throws {
    let inspection = try Inspection(path: modelPath("\(flavour)/lambda_unrecognised"))
    let results = inspection.runChecks()
    let understood = try #require(results.first { $0.id == "layers-understood" })
    #expect(understood.skipped && understood.details == ["layer helper (Lambda): its function is not read: it calls soft_clip, which is not a function keras-inspect knows"])
    let forward = try #require(results.first { $0.id == "forward-pass" })
    #expect(forward.skipped)
    #expect(results.allSatisfy { $0.passed })
    let explanation = Explanation(analysis: inspection.analysis).render()
    #expect(explanation.contains("helper (Lambda): not understood: it calls soft_clip"))
    #expect(explanation.contains("LOAD_GLOBAL"))
  }

  @Test("the worked example: LSTM(10) on (13, 5) has 640 params, gates i f c o", arguments: ["keras2", "keras3"])
  func workedExample(_ flavour: String) throws {
    let inspection = try Inspection(path: fixturePath("\(flavour)/lstm_worked_example", ".h5"))
    let lstm = try #require(inspection.analysis.summaryRows.first)
    #expect(lstm.params == 640)
    #expect(lstm.formula == "4 × ((5 + 10) × 10 + 10)")
    #expect(lstm.stored.map(\.shape) == [[5, 40], [10, 40], [40]])
    #expect(lstm.outputs == [[[nil, 10]]])
    let weights = try WeightsReport(inspection: inspection)
    #expect(weights.entries.first?.gates.map(\.name) == ["i", "f", "c", "o"])
    #expect(weights.entries.first?.gates.map(\.columns) == [0..<10, 10..<20, 20..<30, 30..<40])
    // Each gate's statistics are those of its own slice of the bias.
    let bias = try #require(weights.entries.last)
    let values = try inspection.file.values(of: bias.weight)
    for (g, gate) in bias.gates.enumerated() {
      let slice = values[(g * 10)..<((g + 1) * 10)]
      #expect(gate.stats.min == Double(slice.min()!) && gate.stats.max == Double(slice.max()!))
    }
  }

  @Test("layer_names split over several attributes is read whole", arguments: ["keras2", "keras3"])
  func splitLayerNames(_ flavour: String) throws {
    let inspection = try Inspection(path: fixturePath("\(flavour)/many_layers", ".h5"))
    #expect(inspection.file.weightLayers.count >= 70)
    #expect(inspection.analysis.summaryRows.count == 70)
  }
}

@Suite("Damaged files")
struct DamagedFileTests {
  @Test("a kernel stored with the wrong shape fails the params check, naming the layer and both shapes", arguments: ["keras2", "keras3"])
  func wrongKernelShape(_ flavour: String) throws {
    let results = try Inspection(path: fixtures.appendingPathComponent("broken/lstm_wrong_kernel_shape_\(flavour).h5").path).runChecks()
    let params = try #require(results.first { $0.id == "params" })
    #expect(!params.passed)
    let detail = try #require(params.details.first)
    #expect(detail.contains("layer lstm (LSTM)"))
    #expect(detail.contains("(6, 40)") && detail.contains("kernel (5, 40)"))
  }

  @Test("NaN and Inf weights fail the finite-weights check")
  func nonFinite() throws {
    let results = try Inspection(path: fixtures.appendingPathComponent("broken/lstm_nan_weight_keras2.h5").path).runChecks()
    let finite = try #require(results.first { $0.id == "finite-weights" })
    #expect(!finite.passed)
    #expect(finite.details == ["layer lstm: weight lstm/lstm_cell/bias:0 has 1 NaN and 1 Inf of 40 values"])
  }

  @Test("files that are not Keras models are refused with a reason", arguments: [
    ("broken/not_keras.h5", "without a Keras model_config"),
    ("broken/text_file.h5", "not an HDF5 file"),
    ("broken/missing.h5", "no such file"),
    ("broken", "is a directory"),
  ])
  func refused(_ path: String, _ reason: String) {
    #expect {
      _ = try Inspection(path: fixtures.appendingPathComponent(path).path)
    } throws: { error in
      (error as? InspectionError)?.message.contains(reason) ?? false
    }
  }
}

@Suite("Expected summaries")
struct ExpectedSummaryTests {
  @Test("the summary Keras printed for a fixture matches it, row by row", arguments: fixtureModels)
  func matchesOwn(_ name: String) throws {
    let inspection = try Inspection(path: modelPath(name))
    let printed = try PrintedSummary.parse(try String(contentsOfFile: fixturePath(name, ".summary.txt"), encoding: .utf8))
    #expect(printed.rows.count == inspection.analysis.summaryRows.count)
    // Keras 3 cuts names longer than their column with "…"; those rows compare as printed.
    let renamed = zip(printed.rows, inspection.analysis.summaryRows).filter { !($0.name == $1.name || $0.name.hasSuffix("…")) }
    #expect(renamed.isEmpty, "\(renamed.prefix(3).map { "\($0.0.name) ≠ \($0.1.name)" })")
    #expect(inspection.summaryDifferences(from: printed) == [])
    let json = try PrintedSummary.parse(SummaryJSON(inspection: inspection).render())
    #expect(inspection.summaryDifferences(from: json) == [])
  }

  @Test("another model's summary differs, each difference on its own line")
  func differs() throws {
    let inspection = try Inspection(path: fixturePath("keras2/lstm_worked_example", ".h5"))
    let other = try PrintedSummary.parse(try String(contentsOfFile: fixturePath("keras2/gru_reset_after", ".summary.txt"), encoding: .utf8))
    #expect(inspection.summaryDifferences(from: other) == [
      "row 1 lstm (LSTM): name is lstm, expected gru",
      "row 1 lstm (LSTM): type is LSTM, expected GRU",
      "row 1 lstm (LSTM): output shape is (None,10), expected (None,5)",
      "row 1 lstm (LSTM): params are 640, expected 150",
      "total params are 640, expected 150",
      "trainable params are 640, expected 150",
    ])
  }
}

@Suite("Weight statistics agree with NumPy")
struct WeightStatsTests {
  struct Stats: Decodable {
    let min: Double, max: Double, mean: Double, std: Double
    let nan: Int, inf: Int
  }
  struct Gate: Decodable {
    let gate: String
    let min: Double, max: Double, mean: Double, std: Double
  }
  struct Entry: Decodable {
    let layer: String
    let name: String
    let min: Double, max: Double, mean: Double, std: Double
    let nan: Int, inf: Int
    let gates: [Gate]?
  }

  static let reference: [String: [Entry]] = {
    guard let data = try? Data(contentsOf: fixtures.appendingPathComponent("weight_stats.json")) else { return [:] }
    do {
      return try JSONDecoder().decode([String: [Entry]].self, from: data)
    } catch {
      print("weight_stats.json: \(error)")
      return [:]
    }
  }()

  static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 + 1e-6 * abs(b) }

  @Test("NumPy's figures are there for five models")
  func present() {
    #expect(Self.reference.count == 5)
  }

  @Test("min, max, mean, std, NaN and Inf counts, and gate slices", arguments: reference.keys.sorted())
  func stats(_ model: String) throws {
    let report = try WeightsReport(inspection: try Inspection(path: fixtures.appendingPathComponent(model + ".h5").path))
    let expected = try #require(Self.reference[model])
    #expect(report.entries.count == expected.count)
    for want in expected {
      let got = try #require(report.entries.first { $0.layer == want.layer && $0.weight.name == want.name })
      let s = got.stats
      #expect(Self.close(s.min, want.min) && Self.close(s.max, want.max) && Self.close(s.mean, want.mean) && Self.close(s.std, want.std), "\(want.name)")
      #expect(s.nan == want.nan && s.inf == want.inf)
      if let gates = want.gates {
        #expect(got.gates.map(\.name) == gates.map(\.gate))
        for (g, w) in zip(got.gates, gates) {
          #expect(Self.close(g.stats.mean, w.mean) && Self.close(g.stats.std, w.std) && Self.close(g.stats.min, w.min), "\(want.name) gate \(w.gate)")
        }
      }
    }
  }
}
