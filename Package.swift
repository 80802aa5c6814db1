// swift-tools-version:6.0
import PackageDescription

import Foundation

// libhdf5 is linked statically wherever Debian's or Ubuntu's libhdf5-dev is installed: its static
// library sits in the linker's default folder, so a safe `-l:libhdf5_serial.a` finds it and no
// unsafe flag is needed (dependents that pin a version still build). Start-up then skips loading
// the ~35 shared libraries Debian's shared libhdf5 depends on (curl, TLS, Kerberos, LDAP...), none
// of which reading a local file needs, for every build a user makes (`swift build`, `make build`).
// The headers are found by the shim in Sources/CHDF5. Elsewhere libhdf5 comes from pkg-config and
// is linked dynamically. KERAS_INSPECT_HDF5=dynamic chooses the dynamic library on Debian too.
let debianStaticHDF5: Bool = {
  #if os(Linux)
  if Context.environment["KERAS_INSPECT_HDF5"] == "dynamic" { return false }
  let multiarch = ["x86_64-linux-gnu", "aarch64-linux-gnu", "arm-linux-gnueabihf", "powerpc64le-linux-gnu", "s390x-linux-gnu", "riscv64-linux-gnu"]
  return multiarch.contains { FileManager.default.fileExists(atPath: "/usr/lib/\($0)/libhdf5_serial.a") }
  #else
  return false
  #endif
}()

// A release binary of the CLI carries the Swift runtime and Foundation, as `--static-swift-stdlib`
// does, so plain `swift build -c release` makes the same fast-starting binary as `make build`:
// loading and relocating them as shared libraries costs each process ~7 ms, twice per run (the
// reading process is a second one). Linking the static Foundation from objects compiled against
// the shared one needs its own archives named (lld resolves them in any order); their names are
// the toolchain's own, so the list is used only on the toolchain it was checked with, and other
// toolchains link the runtime dynamically. Only the executable's link has these flags.
#if compiler(>=6.3) && compiler(<6.4)
let staticSwiftRuntime: [LinkerSetting] = [
  .unsafeFlags(
    ["-static-stdlib", "-use-ld=lld"]
      + ["_FoundationICU", "_FoundationCollections", "_FoundationCShims", "CoreFoundation", "swiftSynchronization", "stdc++"]
      .flatMap { ["-Xlinker", "-l\($0)"] },
    .when(platforms: [.linux], configuration: .release))
]
#else
let staticSwiftRuntime: [LinkerSetting] = []
#endif

// Our modules reach the metadata of concrete generic types (`[String: JSONValue]`, `Set<TensorRef>`)
// through direct accessor calls, not mangled names: the first use of each mangled name is
// demangled at run time and its conformances looked up by a scan of every conformance record in
// the binary (tens of thousands, with Foundation linked statically). That was about a tenth of a
// `summary`: the worked example 13.2 -> 11.8 ms whole process (AMD EPYC Zen 3). Code generation
// otherwise unchanged; CKernels already needs an unsafe flag (-O3) of its own.
let directMetadata: [SwiftSetting] = [.unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"])]

let package = Package(
  name: "keras-inspect",
  platforms: [.macOS(.v13)],
  products: [
    .library(name: "KerasInspect", targets: ["KerasInspect"]),
    .executable(name: "keras-inspect", targets: ["keras-inspect"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    // Reading .npz bundles (zip archives of .npy files).
    .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
    // SHA-256 of the weights (verify --expect-weights-sha256).
    .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
    // `swift package generate-documentation --target KerasInspect`: the library's DocC documentation.
    .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
  ],
  targets: [
    // The HDF5 C library, headers only. Debian: libhdf5-dev (pkg-config name `hdf5` when linked dynamically).
    .systemLibrary(
      name: "CHDF5",
      pkgConfig: debianStaticHDF5 ? nil : "hdf5",
      providers: [.apt(["libhdf5-dev"]), .brew(["hdf5"])]
    ),
    // Safe Swift over libhdf5; the only module that imports CHDF5.
    .target(
      name: "HDF5",
      dependencies: ["CHDF5", "CKernels"],
      swiftSettings: directMetadata,
      linkerSettings: debianStaticHDF5
        ? [.linkedLibrary(":libhdf5_serial.a"), .linkedLibrary("sz"), .linkedLibrary("z"), .linkedLibrary("m"), .linkedLibrary("dl")]
        : []
    ),
    // Keras file formats -> Model: config, graph, weights, shapes, parameter counts.
    .target(name: "KerasModel", dependencies: ["HDF5", "CKernels", "PythonCode", .product(name: "ZIPFoundation", package: "ZIPFoundation")], swiftSettings: directMetadata),
    // CPython's marshal format and bytecode (2.7, 3.5-3.13), read into expressions and never run:
    // what a Lambda layer's function computes.
    .target(name: "PythonCode", swiftSettings: directMetadata),
    // Matrix-product kernels in C: an AVX2/FMA path chosen at run time, portable C otherwise.
    .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])], linkerSettings: [.linkedLibrary("z")]),
    // The forward pass: float32 tensors and one kernel per layer family.
    .target(name: "KerasRuntime", dependencies: ["KerasModel", "CKernels"], swiftSettings: directMetadata),
    // NumPy .npy / .npz arrays in and out.
    .target(name: "NumPy", dependencies: [.product(name: "ZIPFoundation", package: "ZIPFoundation")], swiftSettings: directMetadata),
    // Checks and reports: what the CLI prints, usable as a library.
    .target(name: "KerasInspect", dependencies: ["HDF5", "KerasModel", "KerasRuntime", "NumPy", "PythonCode", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: directMetadata),
    // The reader's sandbox: Landlock, no-new-privileges and resource limits (Linux system calls).
    .target(name: "CSandbox"),
    .executableTarget(
      name: "keras-inspect",
      dependencies: [
        "KerasInspect",
        "KerasModel",
        "KerasRuntime",
        "CSandbox",
        "HDF5",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: directMetadata,
      linkerSettings: staticSwiftRuntime
    ),
    // `make fuzz`: the libFuzzer target (built with -sanitize=fuzzer,address -DFUZZING; not in CI).
    .executableTarget(name: "keras-inspect-fuzz", dependencies: ["KerasInspect", "CSandbox"], path: "Fuzz/KerasInspectFuzz"),
    // `make bench`: forward passes, weight loading and whole-process timings (not a test).
    .executableTarget(name: "keras-inspect-bench", dependencies: ["HDF5", "KerasInspect", "KerasRuntime", "NumPy"], path: "Benchmarks/KerasInspectBench"),
    .testTarget(name: "HDF5Tests", dependencies: ["HDF5", "CKernels"], path: "Tests/HDF5Tests"),
    .testTarget(name: "KerasModelTests", dependencies: ["KerasModel", "PythonCode"], path: "Tests/KerasModelTests"),
    .testTarget(name: "KerasRuntimeTests", dependencies: ["KerasRuntime"], path: "Tests/KerasRuntimeTests"),
    .testTarget(name: "PythonCodeTests", dependencies: ["PythonCode"], path: "Tests/PythonCodeTests"),
    .testTarget(name: "NumPyTests", dependencies: ["NumPy"], path: "Tests/NumPyTests"),
    .testTarget(name: "KerasInspectTests", dependencies: ["KerasInspect", "HDF5"], path: "Tests/KerasInspectTests"),
    .testTarget(name: "CLITests", dependencies: ["keras-inspect"], path: "Tests/CLITests"),
  ]
)
