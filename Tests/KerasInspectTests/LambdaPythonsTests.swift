import Foundation
import KerasInspect
import Testing

/// `Fixtures/lambda-pythons/<tag>/`: the same four Lambda models written by real Keras on every
/// CPython from 2.7 to 3.13 but 3.11 (Keras 2.2.4, tf.keras 1.14 to 2.12, tf_keras 2.16, Keras 3.3
/// and 3.15 on TensorFlow and JAX), with Keras's layer facts and outputs (Fixtures/lambda_pythons.py).
let lambdaPythonModels: [String] = {
  let root = fixtures.appendingPathComponent("lambda-pythons")
  let tags = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).filter { $0.hasPrefix("py") && !$0.hasSuffix(".txt") }
  return tags.sorted().flatMap { tag in
    let files = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(tag).path)) ?? []
    return files.filter { $0.hasSuffix(".h5") || $0.hasSuffix(".keras") }.sorted().map { "lambda-pythons/\(tag)/\($0)" }
  }
}()

struct LambdaPythonsReport: Decodable {
  struct Layer: Decodable {
    let name: String
    let class_name: String
    let output_shape: ShapeValue?
    let params: Int
  }
  let keras_version: String
  let python: String
  let layers: [Layer]
  let total_params: Int
}

@Suite("Lambda layers written on CPython 2.7 to 3.13 by the Keras of each")
struct LambdaPythonsTests {
  @Test("there are models from ten Keras and Python pairs")
  func present() {
    #expect(Set(lambdaPythonModels.map { $0.split(separator: "/")[1] }).count >= 10)
  }

  @Test("every Lambda is read, with the Python that wrote it; rows, params and outputs are Keras's", arguments: lambdaPythonModels)
  func matchesKeras(_ file: String) throws {
    let base = (file as NSString).deletingPathExtension
    let inspection = try Inspection(path: fixtures.appendingPathComponent(file).path)
    let keras = try JSONDecoder().decode(LambdaPythonsReport.self, from: Data(contentsOf: URL(fileURLWithPath: fixturePath(base, ".json"))))
    let python = keras.python.split(separator: ".").prefix(2).joined(separator: ".")
    let lambdas = inspection.analysis.layers.filter { $0.className == "Lambda" }
    #expect(!lambdas.isEmpty)
    for layer in lambdas {
      let lambda = try #require(layer.definition as? Lambda, "\(file) \(layer.name): \(layer.problem ?? "not read")")
      #expect(lambda.function.versions.map(\.description).contains(python), "\(file) \(layer.name): read as \(lambda.function.versions)")
    }
    let rows = inspection.analysis.summaryRows
    let expected = keras.layers.filter { layer in rows.contains { $0.name == layer.name } }
    #expect(rows.map(\.name) == expected.map(\.name), "\(file)")
    for (row, layer) in zip(rows, expected) {
      #expect(row.params == layer.params, "\(file) \(row.name)")
      if case .one(let shape) = layer.output_shape { #expect(row.outputs.last ?? nil == [shape], "\(file) \(row.name)") }
    }
    #expect(inspection.summary().totals.total == keras.total_params)
    for check in inspection.runChecks() { #expect(check.passed && !check.skipped, "\(file) \(check.id): \(check.details)") }
    try ForwardTests.expectKerasOutputs(inspection, base)
  }
}
