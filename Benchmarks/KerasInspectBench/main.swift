// keras-inspect's benchmark suite (not a test): `make bench`.
//
// Runs on the models Benchmarks/models.py makes with real Keras (default folder .bench/):
//   forward  native forward pass of LSTM, GRU and Conv1D at three sizes, on the input stored
//            beside each model; the output is checked against Keras's before any time counts.
//   load     every weight of large.h5 (~490 MB) read into tensors, each run in a fresh process:
//            GB/s and peak resident memory against the weights' size.
//   inspect  the whole `keras-inspect` process (check and summary) on the worked example and on
//            large.h5, with the file in the page cache (warm) and evicted from it first (cold).
//   phases   a text summary's phases in-process (libhdf5, JSON, model, analysis, table) on the
//            worked example and the applications models (`models.py` writes them in apps/).
// Prints medians and rates; `--json` prints the same as one JSON object for Benchmarks/compare.py.
import Foundation

let usage = """
  usage: keras-inspect-bench [--models DIR] [--json] [--quick] [GROUP|CASE ...]
    GROUP: forward, load, inspect, phases; CASE: a forward case such as lstm_large
  """

var options = Options()
do {
  options = try Options(CommandLine.arguments.dropFirst())
} catch {
  FileHandle.standardError.write(Data("keras-inspect-bench: \(error)\n\(usage)\n".utf8))
  exit(64)
}

if let file = options.loadOnce {
  // Child mode for the load case: one load per process, so peak memory is this load's alone.
  exit(LoadBenchmark.runOnce(path: file))
}

do {
  let manifest = try Manifest(folder: options.models)
  var results: [Measurement] = []
  let report = Report(json: options.json)
  report.header()
  if options.wants("forward") {
    for c in manifest.cases where options.wants(c.name, group: "forward") {
      results.append(try ForwardBenchmark.run(c, folder: options.models, budget: options.budget))
      report.row(results.last!)
    }
  }
  if options.wants("load") {
    for m in try LoadBenchmark.run(manifest.large, folder: options.models, runs: options.quick ? 3 : 7) {
      results.append(m)
      report.row(m)
    }
  }
  if options.wants("inspect") {
    for m in try ProcessBenchmark.run(manifest: manifest, folder: options.models, runs: options.quick ? 5 : 21) {
      results.append(m)
      report.row(m)
    }
  }
  if options.wants("phases") {
    for m in try PhaseBenchmark.run(folder: options.models, runs: options.quick ? 5 : 31) {
      results.append(m)
      report.row(m)
    }
  }
  report.finish(results)
} catch {
  FileHandle.standardError.write(Data("keras-inspect-bench: \(error)\n".utf8))
  exit(1)
}
