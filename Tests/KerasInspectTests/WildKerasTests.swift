import Foundation
import KerasInspect
import KerasRuntime
import NumPy
import Testing

/// What Keras itself (tf_keras 2.21, else Keras 3.15) makes of each real-world file beside the
/// project, from Fixtures/wild.py: summary rows, total params, and outputs on a fixed input.
struct WildExpectation: Decodable {
  struct Layer: Decodable {
    let name: String
    let class_name: String
    let output_shape: ShapeValue?
    let params: Int
  }
  let file: String
  let loader: String?
  let layers: [Layer]?
  let total_params: Int?
  let bundle: String?
}

let wildExpectations: [(String, WildExpectation)] = {
  let url = fixtures.appendingPathComponent("wild/expected.json")
  guard let data = try? Data(contentsOf: url),
    let all = try? JSONDecoder().decode([String: WildExpectation].self, from: data)
  else { return [] }
  let shared = fixtures.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
  return all.sorted { $0.key < $1.key }.filter { $0.value.loader != nil }
    .filter { FileManager.default.fileExists(atPath: shared.appendingPathComponent($0.value.file).path) }
}()

/// Files Keras loads that keras-inspect does not yet fully understand, and why. Their tests run
/// inside `withKnownIssue`, so they start failing the day the gap closes and this list is stale.
let wildKnownGaps: [String: String] = [:]

/// Runs `body`, expecting it to fail when `key` is a known gap.
func checkingKnownGap(_ key: String, _ body: () throws -> Void) rethrows {
  if let gap = wildKnownGaps[key] {
    withKnownIssue(Comment(rawValue: gap)) { try body() }
  } else {
    try body()
  }
}

func wildPath(_ expectation: WildExpectation) -> String {
  fixtures.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
    .appendingPathComponent(expectation.file).path
}

@Suite("Real files from the wild, against Keras's own view of them")
struct WildKerasTests {
  @Test("summary rows, output shapes and params equal Keras's", .enabled(if: !wildExpectations.isEmpty), arguments: wildExpectations.map(\.0))
  func rows(_ key: String) throws {
    try checkingKnownGap(key) { try rowsMatch(key) }
  }

  func rowsMatch(_ key: String) throws {
    let expectation = try #require(wildExpectations.first { $0.0 == key }?.1)
    let inspection = try Inspection(path: wildPath(expectation))
    let keras = try #require(expectation.layers)
    let rows = inspection.analysis.summaryRows
    #expect(rows.map(\.name) == keras.map(\.name))
    for (row, layer) in zip(rows, keras) {
      #expect(row.displayClassName == layer.class_name, "\(row.name)")
      #expect(row.params == layer.params, "\(row.name)")
      if case .one(let shape) = layer.output_shape {
        #expect(row.outputs.last ?? nil == [shape], "\(row.name)")
      }
    }
    #expect(inspection.summary().totals.total == expectation.total_params)
  }

  @Test("the native forward pass equals Keras's outputs", .enabled(if: !wildExpectations.isEmpty),
        arguments: wildExpectations.filter { $0.1.bundle != nil }.map(\.0))
  func outputs(_ key: String) throws {
    try checkingKnownGap(key) { try outputsMatch(key) }
  }

  func outputsMatch(_ key: String) throws {
    let expectation = try #require(wildExpectations.first { $0.0 == key }?.1)
    let inspection = try Inspection(path: wildPath(expectation))
    let runtime = try inspection.runtime()
    let bundle = try NPZ.read(path: fixtures.appendingPathComponent("wild").appendingPathComponent(expectation.bundle!).path)
    let inputs = (0..<runtime.inputNames.count).compactMap { bundle["input_\($0)"] }.map { Tensor(shape: $0.shape, data: $0.values) }
    let outputs = try runtime.predict(inputs)
    for (i, y) in outputs.enumerated() {
      let expected = try #require(bundle["output_\(i)"])
      #expect(y.shape == expected.shape)
      let worst = zip(y.data, expected.values).map { abs($0 - $1) - 1e-3 * abs($1) }.max() ?? 0
      #expect(worst <= 1e-4, "\(key) output \(i): worst excess \(worst)")
    }
  }
}

@Suite("Real files from the wild: their Lambda layers")
struct WildLambdaTests {
  static let shared = fixtures.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/wild-models")

  /// Every model file beside the project (each folder holds one, with its source.txt).
  static var files: [String] {
    let folders = (try? FileManager.default.contentsOfDirectory(atPath: shared.path)) ?? []
    return folders.sorted().flatMap { folder -> [String] in
      let dir = shared.appendingPathComponent(folder)
      let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
      return names.filter { $0 != "source.txt" }.map { dir.appendingPathComponent($0).path }
    }
  }

  @Test("every Lambda is read (Keras 1.2 and 2.0, CPython 3.5) and its model runs", .enabled(if: !files.isEmpty))
  func lambdas() throws {
    var found: [String: String] = [:]
    for path in Self.files {
      guard let inspection = try? Inspection(path: path) else { continue }
      let lambdas = inspection.analysis.layers.filter { $0.className == "Lambda" }
      for layer in lambdas {
        let lambda = try #require(layer.definition as? Lambda, "\(path): \(layer.name) is not read: \(layer.problem ?? "")")
        #expect(lambda.function.versions.map(\.description) == ["3.5"])
        found[URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent + "/" + layer.name] = lambda.function.source
      }
      if !lambdas.isEmpty {
        for check in inspection.runChecks() { #expect(check.passed && !check.skipped, "\(path): \(check.id): \(check.details)") }
      }
    }
    #expect(found == [
      "1524045patrick__CarND-BehavioiurCloning-P3__model.h5/lambda_1": "lambda x: x / 255 - 0.5",
      "MichaelHopf__CarND-Behavioral-Cloning-P3__model.hdf5/lambda_109": "lambda x: x / 127.5 - 1",
      "MichaelHopf__CarND-Behavioral-Cloning-P3__model.hdf5/lambda_110": "lambda x: -x",
    ])
  }

  @Test("the behavioural-cloning normalisation is a division and a subtraction", .enabled(if: !files.isEmpty))
  func program() throws {
    let path = try #require(Self.files.first { $0.contains("1524045patrick") })
    let lambda = try #require(try Inspection(path: path).analysis.layers.first { $0.className == "Lambda" }?.definition as? Lambda)
    #expect(lambda.program.steps == [
      TensorOperation(.binary(.divide), [.tensor(0), .constant(255)]),
      TensorOperation(.binary(.subtract), [.tensor(1), .constant(0.5)]),
    ])
    #expect(lambda.program.output == 2)
  }
}
