import Foundation
import KerasRuntime

struct BenchError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

struct Options {
  var models = ".bench"
  var json = false
  var quick = false
  var loadOnce: String?
  var selected: [String] = []

  init() {}

  init<S: Sequence<String>>(_ arguments: S) throws {
    var it = arguments.makeIterator()
    while let a = it.next() {
      switch a {
      case "--models": guard let v = it.next() else { throw BenchError("--models needs a folder") }; models = v
      case "--json": json = true
      case "--quick": quick = true
      case "--load-once": guard let v = it.next() else { throw BenchError("--load-once needs a file") }; loadOnce = v
      case let s where s.hasPrefix("-"): throw BenchError("unknown option \(s)")
      default: selected.append(a)
      }
    }
  }

  /// Seconds of repeated runs per forward case.
  var budget: Double { quick ? 0.5 : 2 }

  /// Whether a group (or one case of a group) was asked for; nothing selected means everything.
  func wants(_ name: String, group: String? = nil) -> Bool {
    if selected.isEmpty { return true }
    if selected.contains(name) { return true }
    if let group { return selected.contains(group) }
    // A group runs when it or one of its cases is selected.
    return selected.contains { $0 == name || (name == "forward" && $0.contains("_")) }
  }
}

/// One benchmark's result: the median time and the rate derived from it.
struct Measurement: Codable {
  let group: String
  let name: String
  let detail: String
  let runs: Int
  let medianSeconds: Double
  let minSeconds: Double
  /// GFLOP/s for forward passes, GB/s for loads; nil for whole-process timings.
  var rate: Double?
  var rateUnit: String?
  /// Peak resident memory of the measured process, bytes (load case).
  var peakBytes: Int?
  /// The size of the data the rate is over (weights bytes, FLOPs).
  var work: Double?
}

/// The cases Benchmarks/models.py wrote.
struct Manifest: Decodable {
  struct Case: Decodable {
    let name: String
    let layer: String
    let size: String
    let model: String
    let input: String
    let shape: [Int]
    let units: Int
    let flops: Double
  }
  struct Large: Decodable {
    let model: String
    /// The same model as a Keras 3 `.keras` archive.
    let archive: String?
    let params: Int
    let bytes: Int
  }
  let cases: [Case]
  let large: Large

  init(folder: String) throws {
    let url = URL(fileURLWithPath: folder).appendingPathComponent("manifest.json")
    guard let data = try? Data(contentsOf: url) else {
      throw BenchError("no \(url.path): make the benchmark models first (`make bench` does, or python Benchmarks/models.py \(folder))")
    }
    self = try JSONDecoder().decode(Manifest.self, from: data)
  }
}

/// Wall-clock seconds of `body`.
func seconds(_ body: () throws -> Void) rethrows -> Double {
  let start = ContinuousClock.now
  try body()
  return KerasRuntime.seconds(since: start)
}

func median(_ values: [Double]) -> Double {
  let sorted = values.sorted()
  return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
}

struct Report {
  let json: Bool

  func pad(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }

  func header() {
    guard !json else { return }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    print("keras-inspect benchmarks: medians, \(cores) cores")
    print(pad("group", 9) + pad("case", 26) + pad("detail", 34) + pad("median", 13) + pad("rate", 16) + "runs")
  }

  func row(_ m: Measurement) {
    guard !json else { return }
    var rate = ""
    if let r = m.rate, let unit = m.rateUnit { rate = String(format: "%.2f %@", r, unit) }
    var line = pad(m.group, 9) + pad(m.name, 26) + pad(m.detail, 34) + pad(formatSeconds(m.medianSeconds), 13) + pad(rate, 16) + "\(m.runs)"
    if let peak = m.peakBytes { line += String(format: "  peak %.1f MB", Double(peak) / 1e6) }
    print(line)
  }

  func finish(_ results: [Measurement]) {
    guard json else { return }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    let body = (try? encoder.encode(["results": results])) ?? Data()
    print(String(decoding: body, as: UTF8.self))
  }
}

func formatSeconds(_ s: Double) -> String {
  s < 1e-3 ? String(format: "%.2f µs", s * 1e6) : s < 1 ? String(format: "%.3f ms", s * 1e3) : String(format: "%.3f s", s)
}
