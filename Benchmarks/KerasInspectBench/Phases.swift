import Foundation
import HDF5
import KerasInspect
import KerasModel

/// A text summary's phases in-process, on the worked example and on the applications models
/// (`<models>/apps`, from `Benchmarks/models.py`), each timed alone over repeated runs with the file
/// in the page cache: what the whole-process `summary` time is made of, past the process start.
enum PhaseBenchmark {
  /// Phase names, in the order a summary runs them.
  static let phases = [
    ("read config", "libhdf5: open, model_config attribute"),
    ("parse JSON", "the config text into JSONValue"),
    ("read model", "ConfigParser: JSON, then the model"),
    ("analyse", "ModelAnalysis: shapes, params"),
    ("render", "the Keras table, as text"),
  ]

  static func files(folder: String) -> [String] {
    let apps = folder + "/apps"
    let models = ((try? FileManager.default.contentsOfDirectory(atPath: apps)) ?? []).filter { $0.hasSuffix(".h5") }.sorted()
    return [ProcessBenchmark.workedExample] + models.map { apps + "/" + $0 }
  }

  static func run(folder: String, runs: Int) throws -> [Measurement] {
    var results: [Measurement] = []
    for path in files(folder: folder) {
      let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
      var times = [[Double]](repeating: [], count: phases.count)
      for _ in 0...runs {  // the first round warms up
        var text = ""
        times[0].append(try seconds {
          let file = try File(path: path)
          guard let config = try file.root().attribute("model_config").string else { throw BenchError("\(path): no model_config") }
          text = config
        })
        times[1].append(try seconds { _ = try JSONValue.parse(text) })
        var config: ModelConfig?
        times[2].append(try seconds { config = try ConfigParser.parse(text) })
        let file = try KerasFile(path: path, listWeights: false)
        var analysis: ModelAnalysis?
        times[3].append(seconds { analysis = ModelAnalysis(file: file, config: config!) })
        var table = ""
        times[4].append(seconds { table = Summary(analysis: analysis!, style: .keras3).render() })
        guard !table.isEmpty else { throw BenchError("\(path): empty summary") }
      }
      for (i, phase) in phases.enumerated() {
        let values = Array(times[i].dropFirst())
        let m = median(values)
        results.append(Measurement(group: "phases", name: "\(name): \(phase.0)", detail: phase.1, runs: runs, medianSeconds: m, minSeconds: values.min() ?? m))
      }
    }
    return results
  }
}
