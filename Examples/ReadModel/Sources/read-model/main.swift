// read-model MODEL [BUNDLE.npz]
//
// Prints MODEL's summary as Keras would, its parameter count, and its outputs for the inputs in
// BUNDLE (arrays input_0, input_1, ... as `keras-inspect predict` and the fixtures store them)
// or for a deterministic smoke batch; with a bundle holding output_0, ... it also compares the
// outputs with them and runs every check, exiting 1 when one fails.
import Foundation
import KerasInspect

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("read-model: \(message)\n".utf8))
  exit(2)
}

let arguments = CommandLine.arguments.dropFirst()
guard let path = arguments.first, arguments.count <= 2 else { fail("usage: read-model MODEL [BUNDLE.npz]") }

// 1. Open the file: the format is detected from its content, every problem is an InspectionError.
let inspection: Inspection
do {
  inspection = try Inspection(path: path)
} catch {
  fail(error.description)
}

// 2. The summary, exactly as the Keras that wrote the file prints model.summary().
print(inspection.summary().render())
print("format: \(inspection.file.format.description), total params: \(inspection.summary().totals.total)")

// 3. Run it natively.
let runtime: Runtime
do {
  runtime = try inspection.runtime()
} catch {
  fail("cannot run \(path): \(error.message)")
}
var bundle: [String: NDArray] = [:]
if let bundlePath = arguments.dropFirst().first {
  do { bundle = try NPZ.read(path: bundlePath) } catch { fail("\(bundlePath): \(error.message)") }
}
let arrays = runtime.inputNames.indices.compactMap { bundle["input_\($0)"] }
let inputs: [Tensor]
do {
  inputs = arrays.isEmpty ? inspection.smokeInputs(runtime: runtime, batch: 1) : try inspection.inputs(arrays, runtime: runtime)
} catch {
  fail(error.message)
}
let outputs: [Tensor]
do {
  outputs = try runtime.predict(inputs)
} catch {
  fail("forward pass failed: \(error.message)")
}
for (i, output) in outputs.enumerated() {
  let head = output.data.prefix(4).map { String(format: "%.6f", $0) }.joined(separator: ", ")
  print("output \(i): shape \(output.shape), first values [\(head)]")
}

// 4. Verify: the outputs against the bundle's, then every check keras-inspect runs.
let expected = outputs.indices.compactMap { bundle["output_\($0)"] }
guard expected.count == outputs.count, !arrays.isEmpty else { exit(0) }
for (i, (got, want)) in zip(outputs, expected).enumerated() {
  print(OutputComparison(index: i, got: got, expected: want, atol: 1e-5, rtol: 1e-4).description)
}
var options = VerifyOptions()
options.reference = (inputs: arrays, outputs: expected)
let report = Verifier.verify(path, options: options)
for check in report.checks {
  for line in check.textLines() { print(line) }
}
print("verify: \(report.status.rawValue)")
exit(report.status == .passed ? 0 : 1)
