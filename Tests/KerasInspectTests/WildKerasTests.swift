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
