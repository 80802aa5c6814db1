// swift-tools-version:6.0
// A program outside keras-inspect that uses its library, as a dependent package would: open a
// Keras file, print its summary, run it natively and compare its outputs with reference arrays.
import PackageDescription

let package = Package(
  name: "ReadModel",
  platforms: [.macOS(.v13)],
  dependencies: [
    .package(name: "keras-inspect", path: "../.."),
  ],
  targets: [
    .executableTarget(
      name: "read-model",
      dependencies: [.product(name: "KerasInspect", package: "keras-inspect")]
    ),
  ]
)
