import KerasModel

/// A layer's forward computation, built once from its definition and its bound weights.
struct Kernel {
  let run: ([Value], KernelCall) throws(RuntimeError) -> [Value]

  init(_ run: @escaping ([Value], KernelCall) throws(RuntimeError) -> [Value]) {
    self.run = run
  }

  /// A kernel of one input and one output that keeps the input's mask (activations, normalization...).
  static func unary(keepMask: Bool = true, _ f: @escaping (Tensor) throws(RuntimeError) -> Tensor) -> Kernel {
    Kernel { inputs, _ throws(RuntimeError) in
      guard let x = inputs.first else { throw RuntimeError("has no input") }
      return [Value(tensor: try f(x.tensor), mask: keepMask ? x.mask : nil)]
    }
  }
}

/// What one call of a layer gives its kernel beyond the data inputs and their masks: the call's
/// plain arguments (read through: `call.useCausalMask`) and the mask it passed as
/// `attention_mask=`.
@dynamicMemberLookup
struct KernelCall {
  let arguments: CallArguments
  /// `attention_mask=`: nonzero where a query position may attend to a key position, in any
  /// shape Keras broadcasts to the scores.
  var attentionMask: Tensor?

  init(_ arguments: CallArguments = CallArguments(), attentionMask: Tensor? = nil) {
    self.arguments = arguments
    self.attentionMask = attentionMask
  }

  subscript<T>(dynamicMember path: KeyPath<CallArguments, T>) -> T { arguments[keyPath: path] }
}

/// A layer family the runtime runs natively: the kernel conformance of a ``LayerDefinition``.
/// Families without one are refused as "no native kernel", never run to a wrong answer.
protocol RunnableLayer: LayerDefinition {
  /// Why this configuration cannot run natively, or nil when it can.
  func unsupportedReason(keras3: Bool) -> String?
  /// The kernel, with the weights in the order the definition declares them.
  func kernel(weights: [Tensor], keras3: Bool) throws(RuntimeError) -> Kernel
}

extension RunnableLayer {
  func unsupportedReason(keras3: Bool) -> String? { nil }
}

/// Runs a channels-last computation on a tensor in `format`: channels-first tensors (Theano's
/// `th` ordering, `data_format="channels_first"`) are transposed in and out.
func inChannelsLast(_ x: Tensor, _ format: DataFormat, _ f: (Tensor) throws(RuntimeError) -> Tensor) throws(RuntimeError) -> Tensor {
  guard format == .channelsFirst else { return try f(x) }
  return Elementwise.channelsFirst(try f(Elementwise.channelsLast(x)))
}

/// The bias when the layer has one: the weight after the kernel(s).
func optionalBias(_ weights: [Tensor], after count: Int, _ useBias: Bool) -> Tensor? {
  useBias && weights.count > count ? weights[count] : nil
}

func requireWeights(_ weights: [Tensor], _ count: Int, _ what: String) throws(RuntimeError) {
  guard weights.count >= count else { throw RuntimeError("expects \(what), got \(weights.count) weight(s)") }
}
