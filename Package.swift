// swift-tools-version:6.0
import PackageDescription

// Release builds of the CLI may link libhdf5 statically: `make build` sets these two variables
// from pkg-config (the folders of hdf5.h and libhdf5.a). Start-up then skips loading the ~35
// shared libraries Debian's libhdf5 depends on (curl, TLS, Kerberos, LDAP...), none of which
// reading a local file needs. Without them, libhdf5 is found through pkg-config and linked dynamically.
let staticHDF5 = Context.environment["KERAS_INSPECT_HDF5_STATIC_LIBDIR"].flatMap { libdir in
  libdir.isEmpty ? nil : libdir
}.flatMap { libdir in
  Context.environment["KERAS_INSPECT_HDF5_INCLUDEDIR"].flatMap { $0.isEmpty ? nil : (libdir: libdir, includedir: $0) }
}

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
  ],
  targets: [
    // The HDF5 C library, headers only. Debian: libhdf5-dev (pkg-config name `hdf5`).
    .systemLibrary(
      name: "CHDF5",
      pkgConfig: staticHDF5 == nil ? "hdf5" : nil,
      providers: [.apt(["libhdf5-dev"]), .brew(["hdf5"])]
    ),
    // Safe Swift over libhdf5; the only module that imports CHDF5.
    .target(
      name: "HDF5",
      dependencies: ["CHDF5"],
      swiftSettings: staticHDF5.map { [.unsafeFlags(["-Xcc", "-I\($0.includedir)"])] } ?? [],
      linkerSettings: staticHDF5.map {
        [.unsafeFlags(["-L\($0.libdir)"]), .linkedLibrary(":libhdf5.a"), .linkedLibrary("sz"), .linkedLibrary("z"), .linkedLibrary("m"), .linkedLibrary("dl")]
      } ?? []
    ),
    // Keras file formats -> Model: config, graph, weights, shapes, parameter counts.
    .target(name: "KerasModel", dependencies: ["HDF5", "CKernels", .product(name: "ZIPFoundation", package: "ZIPFoundation")]),
    // Matrix-product kernels in C: an AVX2/FMA path chosen at run time, portable C otherwise.
    .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])], linkerSettings: [.linkedLibrary("z")]),
    // The forward pass: float32 tensors and one kernel per layer family.
    .target(name: "KerasRuntime", dependencies: ["KerasModel", "CKernels"]),
    // NumPy .npy / .npz arrays in and out.
    .target(name: "NumPy", dependencies: [.product(name: "ZIPFoundation", package: "ZIPFoundation")]),
    // Checks and reports: what the CLI prints, usable as a library.
    .target(name: "KerasInspect", dependencies: ["HDF5", "KerasModel", "KerasRuntime", "NumPy", .product(name: "Crypto", package: "swift-crypto")]),
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
      ]
    ),
    // `make fuzz`: the libFuzzer target (built with -sanitize=fuzzer,address -DFUZZING; not in CI).
    .executableTarget(name: "keras-inspect-fuzz", dependencies: ["KerasInspect", "CSandbox"], path: "Fuzz/KerasInspectFuzz"),
    // `make bench`: forward passes, weight loading and whole-process timings (not a test).
    .executableTarget(name: "keras-inspect-bench", dependencies: ["KerasRuntime", "NumPy"], path: "Benchmarks/KerasInspectBench"),
    .testTarget(name: "HDF5Tests", dependencies: ["HDF5"], path: "Tests/HDF5Tests"),
    .testTarget(name: "KerasModelTests", dependencies: ["KerasModel"], path: "Tests/KerasModelTests"),
    .testTarget(name: "KerasRuntimeTests", dependencies: ["KerasRuntime"], path: "Tests/KerasRuntimeTests"),
    .testTarget(name: "NumPyTests", dependencies: ["NumPy"], path: "Tests/NumPyTests"),
    .testTarget(name: "KerasInspectTests", dependencies: ["KerasInspect", "HDF5"], path: "Tests/KerasInspectTests"),
    .testTarget(name: "CLITests", dependencies: ["keras-inspect"], path: "Tests/CLITests"),
  ]
)
