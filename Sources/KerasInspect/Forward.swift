import Foundation
import KerasModel
import KerasRuntime
import NumPy

extension Inspection {
  /// Forgets the weight values read so far and keeps none read from here on: for a caller that
  /// only runs the model (`predict`, `bench`), the runtime holds what it computes with, and a
  /// second copy of the stored weights is waste (call it before ``runtime()``, so each layer's
  /// are let go as soon as its kernel is built).
  public func releaseReadValues() { releaseValues() }

  /// Built once: the smoke pass and the reference pass of `verify` share it.
  public func runtime() throws(RuntimeError) -> Runtime {
    if let builtRuntime { return builtRuntime }
    // Each value read so far is handed to the runtime and let go once its layer's kernel is
    // built: the runtime keeps what it computes with, and no second copy stays behind.
    let runtime = try Runtime(file: file, analysis: analysis) { weight throws(ModelError) in try self.takeValues(of: weight) }
    releaseValues()
    builtRuntime = runtime
    return runtime
  }

  /// Converts arrays given by the user to the model's inputs, checking each against the model.
  public func inputs(_ arrays: [NDArray], runtime: Runtime) throws(RuntimeError) -> [Tensor] {
    guard arrays.count == runtime.inputShapes.count else {
      throw RuntimeError("the model has \(runtime.inputShapes.count) input(s) (\(runtime.inputNames.joined(separator: ", "))), \(arrays.count) given")
    }
    return arrays.map { Tensor(shape: $0.shape, data: $0.values) }
  }

  /// A deterministic input batch of the model's input shapes: token ids in range for inputs that
  /// feed an Embedding, smooth values in [-1, 1] otherwise; unknown sizes become 4, and the batch
  /// is `batch` unless the model fixes it.
  public func smokeInputs(runtime: Runtime, batch: Int = 2) -> [Tensor] {
    zip(runtime.inputNames, runtime.inputShapes).map { name, shape in
      let dims = [(shape.first ?? nil) ?? batch] + shape.dropFirst().map { $0 ?? 4 }
      let count = dims.reduce(1, *)
      let embedding = analysis.layers.first { layer in
        layer.definition is Embedding && layer.config.calls.contains { $0.inputs.contains { $0.layer == name } }
      } ?? (analysis.config.isSequential ? analysis.summaryRows.first : nil)
      let vocabulary = (embedding?.definition as? Embedding)?.vocabulary
      let data: [Float] = (0..<count).map { i in
        if let vocabulary { return Float((i * 7 + 1) % max(vocabulary, 1)) }
        return Float(sin(Double(i) * 0.37))
      }
      return Tensor(shape: dims, data: data)
    }
  }

  /// The smoke check: run the model on `given` inputs (verify's reference inputs, when they fit
  /// the model) or else on `smokeInputs`; outputs must be finite and of the summary's shape. The
  /// outputs of given inputs are kept (``givenOutputs``), so that the comparison with the
  /// reference outputs needs no second pass.
  func smokeCheck(given: [NDArray]? = nil) -> CheckResult {
    let runtime: Runtime
    // Layers without a native kernel (Lambda, custom layers...) make the pass impossible, not
    // wrong: skipped. A layer whose config or weights are inconsistent fails.
    let missing = Runtime.unsupportedLayers(analysis, includeProblems: false)
    if !missing.isEmpty, Runtime.unsupportedLayers(analysis).count == missing.count {
      return CheckResult(id: "forward-pass", passed: true, summary: "forward pass: skipped, no native kernel for \(missing.count) layer(s)", details: missing, skipped: true)
    }
    do {
      runtime = try self.runtime()
    } catch {
      return CheckResult(id: "forward-pass", passed: false, summary: "forward pass: the model cannot be run natively", details: [error.message])
    }
    // The smoke batch is built from the config's input shapes: refuse absurd ones before allocating.
    for shape in runtime.inputShapes {
      var count = 2
      for d in shape.dropFirst() {
        let (p, overflow) = count.multipliedReportingOverflow(by: d ?? 4)
        guard !overflow, p <= Runtime.maxActivationElements else {
          return CheckResult(id: "forward-pass", passed: false, summary: "forward pass: the input shape \(pythonTuple(shape)) is too large for a smoke pass", details: [])
        }
        count = p
      }
    }
    let reference = given.flatMap { arrays -> [Tensor]? in
      guard let tensors = try? self.inputs(arrays, runtime: runtime), (try? runtime.checkInputs(tensors)) != nil else { return nil }
      return tensors
    }
    let inputs = reference ?? smokeInputs(runtime: runtime)
    do {
      // Freed activations are reused within the pass rather than unmapped and faulted in again
      // (see Parallel.keepFreedBuffers); loading, before, wants each buffer mapped on its own.
      // verify --bundle of ResNet50 on an AMD EPYC (Zen 4), 2 cores: 467 -> 418 ms.
      Parallel.keepFreedBuffers(true)
      defer { Parallel.keepFreedBuffers(false) }
      let outputs = try runtime.predict(inputs)
      if let given, reference != nil { givenOutputs = (given, outputs) }
      var problems: [String] = []
      for (i, (y, expected)) in zip(outputs, analysis.outputShapes).enumerated() {
        if let expected {
          let want = [inputs[0].shape[0]] + expected.dropFirst().map { $0 ?? -1 }
          let fits = y.shape.count == want.count && zip(y.shape, want).allSatisfy { $1 == -1 || $0 == $1 }
          if !fits { problems.append("output \(i) has shape \(y.shape), the summary says \(pythonTuple(expected))") }
        }
        let bad = y.data.filter { !$0.isFinite }.count
        if bad > 0 { problems.append("output \(i) has \(bad) NaN/Inf values of \(y.count)") }
      }
      let shapes = outputs.map { pythonTuple($0.shape.map { $0 }) }.joined(separator: ", ")
      return CheckResult(
        id: "forward-pass", passed: problems.isEmpty,
        summary: problems.isEmpty
          ? "forward pass on \(reference != nil ? "the reference inputs (batch \(inputs[0].shape[0]))" : "a deterministic batch of \(inputs[0].shape[0])"): outputs \(shapes), all finite"
          : "forward pass: outputs are wrong",
        details: problems)
    } catch {
      return CheckResult(id: "forward-pass", passed: false, summary: "forward pass failed", details: [error.message])
    }
  }
}

/// How one native output compares with a reference array (NumPy's `allclose` rule:
/// |got − expected| ≤ atol + rtol·|expected| for every element).
public struct OutputComparison: Sendable {
  public let index: Int
  public let passed: Bool
  public let shapeProblem: String?
  public let maxAbsoluteError: Double
  public let maxRelativeError: Double
  /// Position of the element that most exceeds (or comes closest to) the tolerance.
  public let worstPosition: [Int]
  public let got: Float
  public let expected: Float

  public init(index: Int, got: Tensor, expected: NDArray, atol: Double, rtol: Double) {
    self.index = index
    guard got.shape == expected.shape else {
      self.passed = false
      self.shapeProblem = "native output has shape \(pythonTuple(got.shape.map { $0 })), the reference \(pythonTuple(expected.shape.map { $0 }))"
      (maxAbsoluteError, maxRelativeError, worstPosition, self.got, self.expected) = (.nan, .nan, [], .nan, .nan)
      return
    }
    shapeProblem = nil
    var maxAbs = 0.0, maxRel = 0.0, worstRatio = -1.0, worst = 0
    var ok = true
    for i in 0..<got.count {
      let a = Double(got.data[i]), b = Double(expected.values[i])
      if a.isNaN != b.isNaN || (a.isInfinite || b.isInfinite) && a != b { ok = false; worst = i; worstRatio = .infinity; continue }
      if a.isNaN { continue }
      let diff = abs(a - b)
      maxAbs = max(maxAbs, diff)
      if b != 0 { maxRel = max(maxRel, diff / abs(b)) }
      let ratio = diff / (atol + rtol * abs(b))
      if ratio > 1 { ok = false }
      if ratio > worstRatio { worstRatio = ratio; worst = i }
    }
    passed = ok
    maxAbsoluteError = maxAbs
    maxRelativeError = maxRel
    var position: [Int] = []
    var rest = worst
    for d in got.shape.reversed() { position.insert(rest % max(d, 1), at: 0); rest /= max(d, 1) }
    worstPosition = position
    self.got = got.count > 0 ? got.data[worst] : .nan
    self.expected = got.count > 0 ? expected.values[worst] : .nan
  }

  public var description: String {
    if let shapeProblem { return "output \(index): FAIL: \(shapeProblem)" }
    let at = "(" + worstPosition.map(String.init).joined(separator: ", ") + ")"
    return "output \(index): \(passed ? "PASS" : "FAIL")  max abs error \(fmt(maxAbsoluteError))  max rel error \(fmt(maxRelativeError))  worst at \(at): got \(got), expected \(expected)"
  }

  private func fmt(_ x: Double) -> String { String(format: "%.3g", x) }
}
