import Foundation
#if canImport(Glibc)
  import Glibc
#endif
import KerasModel
import KerasRuntime

/// `keras-inspect bench`: forward-pass times of a model on given inputs, in this process, with
/// the weights already bound (loading is not timed) and warm-up passes first.
public struct Benchmark: Sendable {
  public static let schema = "keras-inspect/bench"
  public static let version = 1

  /// One layer's share of a pass (with `profile`).
  public struct Layer: Sendable {
    /// `conv1`, or `encoder/conv1` inside a nested model.
    public let name: String
    public let className: String
    /// The summary's output shape of its first call, e.g. `(None, 112, 112, 64)`.
    public let outputShape: String
    /// The median over the timed passes of the layer's time in a pass (all its calls).
    public let medianSeconds: Double
    /// Floating-point operations of its calls in one pass (a multiply-add counts two), where the
    /// layer's family counts them.
    public let flops: Int?
    /// The layer a BatchNormalization or an activation was folded into (it then only passes its
    /// input on).
    public let foldedInto: String?
  }

  public let file: String
  public let batch: Int
  public let runs: Int
  public let warmup: Int
  /// The kernels that computed (`KernelSelection`) and the cores they could use.
  public let kernels: String
  public let cores: Int
  /// Each timed pass, in seconds, in the order they ran.
  public let seconds: [Double]
  /// Floating-point operations of one pass over the layers whose families count them.
  public let flops: Int
  /// The layers slowest first; empty without `profile`.
  public let layers: [Layer]
  /// The process's peak resident memory after the passes, in bytes (weights, activations and
  /// the program itself); nil where the system does not say.
  public let peakResidentBytes: Int?

  public var medianSeconds: Double { Self.median(seconds) }
  public var minSeconds: Double { seconds.min() ?? 0 }
  public var maxSeconds: Double { seconds.max() ?? 0 }

  static func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  }
}

extension Inspection {
  /// Times `runs` forward passes of `runtime` on `inputs` after `warmup` untimed ones; with
  /// `profile`, also each layer's time (the per-layer clock adds a little to every pass).
  public func benchmark(runtime: Runtime, inputs: [Tensor], runs: Int, warmup: Int, profile: Bool) throws(RuntimeError) -> Benchmark {
    let recorder = profile ? LayerProfile() : nil
    for _ in 0..<warmup { _ = try runtime.predict(inputs) }
    var seconds: [Double] = []
    seconds.reserveCapacity(runs)
    for _ in 0..<runs {
      recorder?.beginPass()
      let start = ContinuousClock.now
      _ = try runtime.predict(inputs, profile: recorder)
      seconds.append(KerasRuntime.seconds(since: start))
    }
    let batch = inputs.first?.shape.first ?? 1
    let calls = Self.callCounts(analysis)
    let layers = (recorder?.entries ?? []).map { entry in
      Benchmark.Layer(
        name: entry.path, className: entry.layer.displayClassName,
        outputShape: entry.layer.outputs.first.flatMap { $0?.first }.map(pythonTuple) ?? "?",
        medianSeconds: Benchmark.median(entry.seconds + Array(repeating: 0, count: max(0, runs - entry.seconds.count))),
        flops: entry.layer.flops.map { saturatingProduct([$0, batch, calls[entry.path] ?? 1]) },
        foldedInto: runtime.folded[entry.path])
    }.sorted { ($0.medianSeconds, $1.name) > ($1.medianSeconds, $0.name) }
    return Benchmark(
      file: file.path, batch: batch, runs: runs, warmup: warmup, kernels: KernelSelection.active.description,
      cores: KernelSelection.cores, seconds: seconds,
      flops: saturatingProduct([Self.flops(analysis), batch]), layers: layers, peakResidentBytes: Self.peakResidentBytes())
  }

  /// The peak resident set of this process (getrusage), in bytes.
  static func peakResidentBytes() -> Int? {
    #if canImport(Glibc)
      var usage = rusage()
      guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return nil }
      return usage.ru_maxrss * 1024
    #else
      return nil
    #endif
  }

  /// How many times a pass calls each layer, by layer path (a shared layer more than once).
  static func callCounts(_ model: ModelAnalysis, prefix: String = "") -> [String: Int] {
    var counts: [String: Int] = [:]
    for step in model.schedule {
      let layer = model.layers[step.layer]
      if let nested = layer.nested {
        counts.merge(callCounts(nested, prefix: prefix + layer.name + "/")) { $0 + $1 }
      } else {
        counts[prefix + layer.name, default: 0] += 1
      }
    }
    return counts
  }

  /// Floating-point operations of one pass for one sample: every scheduled call of a layer whose
  /// family counts them (each call of a shared layer as its first).
  static func flops(_ model: ModelAnalysis) -> Int {
    model.schedule.reduce(0) { total, step in
      let layer = model.layers[step.layer]
      return saturatingSum(total, layer.nested.map(flops) ?? layer.flops ?? 0)
    }
  }
}

extension Benchmark {
  /// `bench --format json`: `{"schema", "version", "keras_inspect_version", "file", "batch",
  /// "runs", "warmup", "kernels", "cores", "median_s", "min_s", "max_s", "flops", "peak_rss_bytes",
  /// "layers"}`;
  /// `layers` (with `--profile`) as `[{"name", "class_name", "output_shape", "median_s", "flops", "folded_into"}]`,
  /// slowest first, `flops` null where the layer's family does not count them; `folded_into`
  /// names the layer a BatchNormalization or an activation was folded into (null for the others).
  public var json: OrderedJSON {
    var pairs: [(String, OrderedJSON)] = [
      ("schema", .string(Self.schema)),
      ("version", .int(Self.version)),
      ("keras_inspect_version", .string(ToolVersion.semantic)),
      ("file", .string(file)),
      ("batch", .int(batch)),
      ("runs", .int(runs)),
      ("warmup", .int(warmup)),
      ("kernels", .string(kernels)),
      ("cores", .int(cores)),
      ("median_s", .double(medianSeconds)),
      ("min_s", .double(minSeconds)),
      ("max_s", .double(maxSeconds)),
      ("flops", .int(flops)),
      ("peak_rss_bytes", peakResidentBytes.map(OrderedJSON.int) ?? .null),
    ]
    if !layers.isEmpty {
      pairs.append(("layers", .array(layers.map { layer in
        .object([
          ("name", .string(layer.name)),
          ("class_name", .string(layer.className)),
          ("output_shape", .string(layer.outputShape)),
          ("median_s", .double(layer.medianSeconds)),
          ("flops", layer.flops.map(OrderedJSON.int) ?? .null),
          ("folded_into", layer.foldedInto.map(OrderedJSON.string) ?? .null),
        ])
      })))
    }
    return .object(pairs)
  }

  /// The text report: one line of times, then with `--profile` the per-layer table.
  public var text: String {
    var lines = [
      "\(file): batch \(batch), \(runs) timed pass(es) after \(warmup) warm-up, \(kernels) kernels on \(cores) core(s)",
      "forward: median \(Self.time(medianSeconds)), min \(Self.time(minSeconds)), max \(Self.time(maxSeconds))"
        + (flops > 0 ? "; \(Self.count(flops))FLOP, \(Self.rate(flops, medianSeconds))" : "")
        + (peakResidentBytes.map { String(format: "; peak memory %.1f MB", Double($0) / 1e6) } ?? ""),
    ]
    guard !layers.isEmpty else { return lines.joined(separator: "\n") + "\n" }
    let total = layers.reduce(0) { $0 + $1.medianSeconds }
    let header = ["layer", "class", "output shape", "time", "share", "work", "GFLOP/s"]
    let rows = layers.map { layer in
      [
        layer.name, layer.className + (layer.foldedInto.map { " (folded into \($0))" } ?? ""), layer.outputShape, Self.time(layer.medianSeconds),
        String(format: "%.1f%%", total > 0 ? 100 * layer.medianSeconds / total : 0),
        layer.flops.map { Self.count($0) + "FLOP" } ?? "-",
        layer.flops.map { Self.gflops($0, layer.medianSeconds) } ?? "-",
      ]
    }
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    // Names and classes to the left, numbers to the right.
    func line(_ cells: [String]) -> String {
      cells.enumerated().map { column, cell in
        let pad = String(repeating: " ", count: widths[column] - cell.count)
        return column < 3 ? cell + pad : pad + cell
      }.joined(separator: "  ")
    }
    lines.append("")
    lines.append(line(header))
    lines.append(contentsOf: rows.map(line))
    lines.append("layers: \(Self.time(total)) of the median pass's \(Self.time(medianSeconds)) (the rest is the schedule between layers)")
    return lines.joined(separator: "\n") + "\n"
  }

  static func time(_ seconds: Double) -> String {
    if seconds >= 1 { return String(format: "%.3f s", seconds) }
    if seconds >= 1e-3 { return String(format: "%.3f ms", seconds * 1e3) }
    return String(format: "%.1f µs", seconds * 1e6)
  }

  /// `4.10 G`, `230.0 M`, `15.6 k`, `640 ` (a unit follows).
  static func count(_ value: Int) -> String {
    let v = Double(value)
    if v >= 1e9 { return String(format: "%.2f G", v / 1e9) }
    if v >= 1e6 { return String(format: "%.1f M", v / 1e6) }
    if v >= 1e3 { return String(format: "%.1f k", v / 1e3) }
    return "\(value) "
  }

  static func gflops(_ flops: Int, _ seconds: Double) -> String {
    seconds > 0 ? String(format: "%.1f", Double(flops) / seconds / 1e9) : "-"
  }

  static func rate(_ flops: Int, _ seconds: Double) -> String { gflops(flops, seconds) + " GFLOP/s" }
}
