import ArgumentParser
import KerasInspect
import KerasRuntime
import NumPy

/// Arrays given on the command line: `X.npy` or `BUNDLE.npz:NAME`.
struct ArrayInputs: ParsableArguments {
  @Option(name: .customLong("input"), help: "An input array, X.npy or BUNDLE.npz:NAME; once per model input, in the model's input order.")
  var inputs: [String] = []

  func load() throws -> [NDArray] {
    try inputs.map(readArray)
  }
}

/// Reads an array argument; a file that cannot be read as one exits 2 with one line naming it.
func readArray(_ argument: String) throws -> NDArray {
  do {
    return try NPZ.readArgument(argument)
  } catch {
    printError("keras-inspect: \(error.message)")
    throw ExitCode(2)
  }
}

/// Builds the runtime and its inputs; a model that cannot run exits 2, bad inputs exit 64.
func prepare(_ inspection: Inspection, _ arrays: [NDArray]) throws -> (Runtime, [Tensor]) {
  let runtime = try makeRuntime(inspection)
  do {
    return (runtime, try inspection.inputs(arrays, runtime: runtime))
  } catch {
    throw ValidationError(error.message)
  }
}

/// The model's runtime with its weights bound; a model that cannot run exits 2.
func makeRuntime(_ inspection: Inspection) throws -> Runtime {
  do {
    // predict and bench only run the model from here: its kernels hold the weights they use.
    inspection.releaseReadValues()
    let runtime = try inspection.runtime()
    Containment.keepFreedMemory()
    return runtime
  } catch {
    printError("keras-inspect: \(inspection.file.path): \(error.message)")
    throw ExitCode(2)
  }
}

/// Runs the model; an input of the wrong shape is a usage error (64).
func forward(_ runtime: Runtime, _ inputs: [Tensor]) throws -> [Tensor] {
  do {
    return try runtime.predict(inputs)
  } catch {
    throw ValidationError(error.message)
  }
}

struct PredictCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "predict",
    abstract: "Run the model natively on .npy inputs and write its outputs as float32 .npy files."
  )
  @OptionGroup var verboseOption: VerboseOption

  @OptionGroup var model: ModelArgument
  @OptionGroup var arrays: ArrayInputs

  @Option(name: .customLong("output"), help: "Where to write an output (.npy); once per model output, in the model's output order.")
  var outputs: [String] = []

  func run() throws {
    let inspection = try model.open()
    let (runtime, inputs) = try prepare(inspection, try arrays.load())
    let results = try forward(runtime, inputs)
    guard outputs.count == results.count else {
      throw ValidationError("the model has \(results.count) output(s); give --output once for each")
    }
    for (tensor, path) in zip(results, outputs) {
      do {
        try NPY.write(NDArray(shape: tensor.shape, values: tensor.data), path: path)
      } catch {
        printError("keras-inspect: \(error.message)")
        throw ExitCode(1)
      }
    }
  }
}

