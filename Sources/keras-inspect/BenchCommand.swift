import ArgumentParser
import KerasInspect
import KerasRuntime

/// `keras-inspect bench`: forward-pass times, and with `--profile` where they go, layer by layer.
struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract: "Time the model's native forward pass (median, min, max), and with --profile each layer's share.",
    discussion: """
      Weights are bound before timing; --warmup passes run untimed first. Inputs are the given
      arrays, or the deterministic batch the forward-pass check uses (--batch samples).
      """
  )
  @OptionGroup var verboseOption: VerboseOption

  @OptionGroup var model: ModelArgument
  @OptionGroup var arrays: ArrayInputs

  @Option(help: "Samples of the deterministic input batch (without --input).")
  var batch = 1

  @Option(help: "Timed passes.")
  var runs = 10

  @Option(help: "Untimed passes before the timed ones.")
  var warmup = 1

  @Flag(help: "Time every layer and print them slowest first, with FLOPs and GFLOP/s.")
  var profile = false

  @Option(help: "text or json.")
  var format: OutputFormat = .text

  func validate() throws {
    guard (1...100_000).contains(runs) else { throw ValidationError("--runs must be 1 to 100000, not \(runs)") }
    guard (0...100_000).contains(warmup) else { throw ValidationError("--warmup must be 0 to 100000, not \(warmup)") }
    guard (1...65_536).contains(batch) else { throw ValidationError("--batch must be 1 to 65536, not \(batch)") }
    guard arrays.inputs.isEmpty || batch == 1 else { throw ValidationError("--batch is for the deterministic batch; the --input arrays set their own") }
  }

  func run() throws {
    let inspection = try model.open()
    let given = try arrays.load()
    let (runtime, inputs) = given.isEmpty ? try { () throws -> (Runtime, [Tensor]) in
      let runtime = try makeRuntime(inspection)
      return (runtime, inspection.smokeInputs(runtime: runtime, batch: batch))
    }() : try prepare(inspection, given)
    let result: Benchmark
    do {
      result = try inspection.benchmark(runtime: runtime, inputs: inputs, runs: runs, warmup: warmup, profile: profile)
    } catch {
      throw ValidationError(error.message)
    }
    print(format == .json ? result.json.render() : result.text, terminator: format == .json ? "\n" : "")
  }
}
