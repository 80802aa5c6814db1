import Foundation

/// What kind of Keras file a path holds, decided by its content, not its name.
public enum FileFormat: String, Sendable {
  /// Legacy HDF5 full model (`model.save("m.h5")`): `model_config` and `model_weights`.
  case h5 = "h5"
  /// Legacy HDF5 weights only (`save_weights("w.h5")`): `layer_names` on the root, no architecture.
  case h5Weights = "h5-weights"
  /// `.keras` archive (`model.save("m.keras")`, Keras 3 and Keras 2.13-2.15): a zip of `config.json`,
  /// `metadata.json` and `model.weights.h5`.
  case keras = "keras"
  /// Keras 3 weights only (`save_weights("m.weights.h5")`): the archive's weights layout, no architecture.
  case kerasWeights = "keras-weights"

  /// A human description for messages and reports.
  public var description: String {
    switch self {
    case .h5: "legacy HDF5 model"
    case .h5Weights: "legacy HDF5 weights-only file"
    case .keras: ".keras archive"
    case .kerasWeights: "Keras 3 .weights.h5 weights-only file"
    }
  }

  /// Whether the file holds weights but no architecture.
  public var isWeightsOnly: Bool { self == .h5Weights || self == .kerasWeights }
}

/// The container a file's first bytes announce.
enum Container {
  case hdf5, zip, other

  static let hdf5Signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
  static let zipSignature: [UInt8] = [0x50, 0x4B, 0x03, 0x04]

  /// HDF5's signature sits at byte 0 or, after a user block, at 512, 1024, 2048, ...
  static func detect(path: String) -> Container {
    guard let handle = FileHandle(forReadingAtPath: path) else { return .other }
    defer { try? handle.close() }
    guard let head = try? handle.read(upToCount: 8), head.count >= 4 else { return .other }
    if Array(head.prefix(4)) == zipSignature { return .zip }
    if Array(head) == hdf5Signature { return .hdf5 }
    var offset: UInt64 = 512
    while offset <= 1 << 20 {
      guard (try? handle.seek(toOffset: offset)) != nil, let bytes = try? handle.read(upToCount: 8), bytes.count == 8 else { break }
      if Array(bytes) == hdf5Signature { return .hdf5 }
      offset *= 2
    }
    return .other
  }
}
