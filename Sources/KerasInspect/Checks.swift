import Foundation
import KerasModel
import NumPy

/// The outcome of one check on a model file.
public struct CheckResult: Sendable, Equatable {
  /// Stable identifier, e.g. `params` (used in JSON and CI reports).
  public let id: String
  public let passed: Bool
  /// One line saying what was checked and found.
  public let summary: String
  /// One line per problem found.
  public let details: [String]
  /// The check could not be made on this file (a weights-only file has no architecture to
  /// check); it does not fail the run.
  public var skipped: Bool = false
}

extension CheckResult {
  /// The check as text lines: `  [PASS] summary`, then each detail indented beneath it.
  /// `color` paints the verdict with ANSI colours.
  public func textLines(color: Bool = false) -> [String] {
    let verdict = skipped ? "SKIP" : passed ? "PASS" : "FAIL"
    let painted = color ? "\u{1B}[\(skipped ? "33" : passed ? "32" : "31")m\(verdict)\u{1B}[0m" : verdict
    return ["  [\(painted)] \(summary)"] + details.map { "         \($0)" }
  }
}

extension Inspection {
  /// Every check that applies to an opened file: config understood, recomputed parameters equal
  /// the stored weights, no NaN/Inf in any weight.
  /// `forwardInputs`, when they fit the model, are what the forward pass runs on instead of the
  /// deterministic batch (verify's reference inputs: one pass serves both checks).
  public func runChecks(maxTensorBytes: Int = 4 << 30, forwardInputs: [NDArray]? = nil) -> [CheckResult] {
    let rows = analysis.layers
    var results: [CheckResult] = []
    let version = file.kerasVersion.map { "Keras \($0)" } ?? "an unknown Keras version"
    results.append(CheckResult(id: "opens", passed: true, summary: "file opens: \(file.format.description) written by \(version)" + (file.backend.map { " (\($0))" } ?? ""), details: []))
    var configNote = ""
    if file.kerasVersion?.hasPrefix("1.") == true {
      // Keras 1 arguments (output_dim, inner_activation, nb_filter...) are read under their Keras 2 names.
      let renamed = analysis.layers.compactMap { layer in
        layer.config.config[Keras1Config.marker]?.string.map { "\($0) as \(layer.className)" }
      }
      configNote = "; Keras 1 config read with Keras 2 names" + (renamed.isEmpty ? "" : " (" + Array(Set(renamed)).sorted().joined(separator: ", ") + ")")
    }
    results.append(CheckResult(id: "config", passed: true, summary: "config parses: \(analysis.config.className) model \"\(analysis.config.name)\" with \(analysis.summaryRows.count) layers" + configNote, details: []))

    let unknown = Self.notUnderstood(analysis)
    // Lambda, custom and Keras 3 op layers are normal in real files: flagged and skipped, not
    // failed (`check --strict` fails them).
    results.append(CheckResult(
      id: "layers-understood", passed: true,
      summary: unknown.isEmpty ? "every layer understood" : "\(unknown.count) layer(s) keras-inspect cannot interpret, flagged; their params are counted from the stored weights",
      details: unknown, skipped: !unknown.isEmpty))

    var mismatches: [String] = []
    var checked = 0
    var unchecked = 0
    for layer in rows where layer.understood && layer.className != "InputLayer" {
      if let problem = layer.problem {
        mismatches.append("layer \(layer.name) (\(layer.className)): \(problem)")
        continue
      }
      guard let expected = layer.expected else {
        unchecked += 1
        continue
      }
      checked += 1
      if let mismatch = Self.compare(expected: expected, stored: layer.stored, hasStoredGroup: file.weights[layer.name] != nil || layer.className == "InputLayer") {
        mismatches.append("layer \(layer.name) (\(layer.className)): \(mismatch)")
      }
    }
    let total = Summary(analysis: analysis, style: .keras2).totals.total
    results.append(CheckResult(
      id: "params", passed: mismatches.isEmpty,
      summary: mismatches.isEmpty
        ? "params: config formula equals stored weights for \(checked) layer(s), \(total) params in all"
          + (unchecked > 0 ? "; \(unchecked) layer(s) unchecked: their input shape depends on a layer not understood" : "")
        : "params: \(mismatches.count) layer(s) whose stored weights contradict the config",
      details: mismatches))

    results.append(Self.finiteWeightsCheck(rows.flatMap { layer in layer.stored.map { ("layer \(layer.name)", $0) } }) { weight throws(ModelError) in
      try self.values(of: weight, maxBytes: maxTensorBytes)
    })
    _ = try? runtime()
    results.append(smokeCheck(given: forwardInputs))
    return results
  }

  /// The finite-weights check over `weights` (each with the owner named in messages), read by `read`.
  static func finiteWeightsCheck(
    _ weights: [(owner: String, weight: StoredWeight)], read: (StoredWeight) throws(ModelError) -> [Float]
  ) -> CheckResult {
    var nonFinite: [String] = []
    for (owner, weight) in weights {
      do {
        let values = try read(weight)
        let (nan, inf) = countNonFinite(values)
        if nan + inf > 0 { nonFinite.append("\(owner): weight \(weight.name) has \(nan) NaN and \(inf) Inf of \(values.count) values") }
      } catch {
        nonFinite.append("\(owner): weight \(weight.name) cannot be read: \(error.message)")
      }
    }
    return CheckResult(
      id: "finite-weights", passed: nonFinite.isEmpty,
      summary: nonFinite.isEmpty ? "no NaN/Inf in \(weights.count) weight tensor(s)" : "\(nonFinite.count) weight tensor(s) with NaN/Inf or unreadable values",
      details: nonFinite)
  }

  /// NaN and Inf counts of `values`. One branch-free pass over the exponent bits (it vectorises;
  /// two `reduce` passes took about 0.25 s on 121 M weights), then a second only when needed.
  static func countNonFinite(_ values: [Float]) -> (nan: Int, inf: Int) {
    var nonFinite = 0
    values.withUnsafeBufferPointer { buffer in
      buffer.withMemoryRebound(to: UInt32.self) { bits in
        for word in bits { nonFinite &+= Int(truncatingIfNeeded: (word & 0x7F80_0000) / 0x7F80_0000) }
      }
    }
    guard nonFinite > 0 else { return (0, 0) }
    let nan = values.reduce(0) { $0 + ($1.isNaN ? 1 : 0) }
    return (nan, nonFinite - nan)
  }

  static func notUnderstood(_ analysis: ModelAnalysis, prefix: String = "") -> [String] {
    analysis.layers.flatMap { layer -> [String] in
      if let nested = layer.nested { return notUnderstood(nested, prefix: prefix + layer.name + "/") }
      if layer.understood { return [] }
      if case .failure(let refusal)? = LambdaDescription(layer)?.recognition {
        return ["layer \(prefix)\(layer.name) (Lambda): its function is not read: \(refusal.reason)"]
      }
      return ["layer \(prefix)\(layer.name) (\(layer.className)): class not understood by keras-inspect"]
    }
  }

  /// Compares the weights a config implies with those stored; nil when they agree.
  ///
  /// Order is compared first; a nested Keras 2 model lists trainable weights before the others,
  /// so the same shapes in another order also agree.
  static func compare(expected: [WeightSpec], stored: [StoredWeight], hasStoredGroup: Bool) -> String? {
    let want = expected.map(\.shape)
    let have = stored.map(\.shape)
    if want == have { return nil }
    if stored.isEmpty && !hasStoredGroup {
      return "the file stores no weights for it; the config implies \(describe(expected))"
    }
    if want.count == have.count {
      if want.sorted(by: lexicographic) == have.sorted(by: lexicographic) { return nil }
      let i = want.indices.first { want[$0] != have[$0] } ?? 0
      return "weight \(stored[i].name) has shape \(tuple(have[i])), but the config implies \(expected[i].name) \(tuple(want[i]))"
    }
    return "the config implies \(expected.count) weight(s) \(describe(expected)), but the file stores \(stored.count): "
      + stored.map { "\($0.name) \(tuple($0.shape))" }.joined(separator: ", ")
  }

  static func describe(_ weights: [WeightSpec]) -> String {
    weights.map { "\($0.name) \(tuple($0.shape))" }.joined(separator: ", ")
  }

  static func tuple(_ shape: [Int]) -> String { pythonTuple(shape.map { $0 }) }

  static func lexicographic(_ a: [Int], _ b: [Int]) -> Bool { a.lexicographicallyPrecedes(b) }
}
