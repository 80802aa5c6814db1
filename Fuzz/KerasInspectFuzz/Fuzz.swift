// libFuzzer target over the loaders: `make fuzz` (not part of CI).
//
// Built with `-sanitize=fuzzer,address -DFUZZING`, libFuzzer supplies `main` and calls
// `LLVMFuzzerTestOneInput` with mutated model files; an ordinary build makes a placeholder that
// says how to build it.
#if FUZZING
  import CSandbox
  import Foundation
  import KerasInspect

  /// Each fuzzing process runs the loaders as the CLI's reader does, sandboxed: from its first
  /// input on, it may read the seed folders and create, write and remove files only in the scratch
  /// folder and libFuzzer's own (the corpus, the crashes, its temporary folder).
  let sandboxed: Bool = {
    let abi = csandbox_landlock_abi()
    guard abi > 0, ProcessInfo.processInfo.environment["KERAS_INSPECT_NO_SANDBOX"] == nil else { return false }
    let ruleset = csandbox_ruleset(abi)
    guard ruleset >= 0 else { return false }
    let scratchFolder = (scratch as NSString).deletingLastPathComponent
    for folder in ["Fuzz", scratchFolder, NSTemporaryDirectory()] { _ = csandbox_allow(ruleset, abi, folder, Int32(CSANDBOX_CREATE)) }
    // /proc: the sanitizers read the process's own maps and threads at exit.
    for folder in ["Fixtures", "/sys/devices/system/cpu", "/proc"] { _ = csandbox_allow(ruleset, abi, folder, Int32(CSANDBOX_READ)) }
    return csandbox_enforce(ruleset) == 0
  }()

  /// The input is read as a marshalled code object; then it goes to a file (in memory-backed
  /// /dev/shm when there is one), and through everything a user's file goes through: format detection, HDF5 or zip, config, analysis,
  /// checks (the forward pass included), the summary and the weights report.
  let scratch: String = {
    let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return "\(dir)/keras-inspect-fuzz-\(getpid())"
  }()

  /// SwiftPM links an executable's entry point under the module's own name (its `main` is an
  /// alias), so the entry hands control to libFuzzer's driver rather than relying on libFuzzer's `main`.
  @_silgen_name("LLVMFuzzerRunDriver")
  func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
  ) -> CInt

  @_cdecl("keras_inspect_fuzz_main")
  func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzz(data, size) }
  }

  @_cdecl("LLVMFuzzerTestOneInput")
  public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    _ = sandboxed
    // The input as a Lambda's marshalled function, as its config's code decodes to.
    if let code = try? CodeObject.decode(Array(UnsafeBufferPointer(start: data, count: size))) { _ = try? Decompiler.function(code) }
    _ = FileManager.default.createFile(atPath: scratch, contents: Data(bytes: data, count: size))
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    guard let inspection = try? Inspection(path: scratch) else { return 0 }
    _ = inspection.summary().render()
    _ = inspection.runChecks(maxTensorBytes: 64 << 20)
    _ = try? WeightsReport(inspection: inspection, maxTensorBytes: 64 << 20)
    return 0
  }
#else
  @main
  struct FuzzPlaceholder {
    static func main() {
      print("This is the fuzz target's placeholder; build and run it with `make fuzz`.")
    }
  }
#endif
