import HDF5

/// A Keras model file opened for inspection: its architecture, and where each weight is stored.
///
/// Opening reads only metadata (attributes and dataset shapes); weight values are read on demand
/// with ``values(of:maxBytes:)``.
public final class KerasFile {
  /// The path as given by the caller.
  public let path: String
  /// The container format, e.g. `h5` for the legacy HDF5 format.
  public let format: String
  /// `keras_version` from the file (`2.21.0`, `3.15.1`), when present.
  public let kerasVersion: String?
  /// `backend` from the file (`tensorflow`, ...), when present.
  public let backend: String?
  public let config: ModelConfig
  /// The layer groups listed in `layer_names`, in order.
  public let weightLayers: [String]
  /// Stored weights per layer group, in Keras's order.
  public let weights: [String: [StoredWeight]]

  private let file: File

  /// Whether Keras 3 wrote the file (its summary and shape conventions differ from Keras 2's).
  public var isKeras3: Bool { kerasVersion?.hasPrefix("3") ?? false }

  /// Opens a legacy HDF5 model file (`model.save("m.h5")`).
  public init(path: String) throws(ModelError) {
    self.path = path
    do {
      file = try File(path: path)
    } catch {
      throw ModelError(.unreadable, error.message.isEmpty ? "cannot open file" : error.message)
    }
    format = "h5"
    let root: Group
    do {
      root = try file.root()
      kerasVersion = try root.attributeIfPresent("keras_version")?.string
      backend = try root.attributeIfPresent("backend")?.string
      guard let configValue = try root.attributeIfPresent("model_config") else {
        let weightsOnly = try root.hasAttribute("layer_names")
        throw ModelError(.notKeras, weightsOnly
          ? "weights-only file (save_weights): it has no model_config, so there is no architecture to inspect"
          : "HDF5 file without a Keras model_config attribute: not a Keras model")
      }
      guard let text = configValue.string else {
        throw ModelError(.badConfig, "model_config attribute is not a string")
      }
      config = try ConfigParser.parse(text)
    } catch let error as ModelError {
      throw error
    } catch {
      throw ModelError(.unreadable, "\(error)")
    }
    (weightLayers, weights) = try Self.readWeights(root)
  }

  private static func readWeights(_ root: Group) throws(ModelError) -> ([String], [String: [StoredWeight]]) {
    let weightsGroup: Group
    do {
      // A model saved with include_optimizer and no weights group is not something Keras writes;
      // a model with no weights at all still has an empty `model_weights` group.
      guard try root.kind(of: "model_weights") == .group else { return ([], [:]) }
      weightsGroup = try root.group("model_weights")
    } catch {
      throw ModelError(.unreadable, "\(error)")
    }
    let names = try WeightListing.list(weightsGroup, "layer_names") ?? []
    var weights: [String: [StoredWeight]] = [:]
    for name in names {
      weights[name] = try WeightListing.layerWeights(weightsGroup, layer: name)
    }
    return (names, weights)
  }

  /// Reads one weight's values as Float (float16/float64 converted by libhdf5, bfloat16 widened).
  /// Refuses tensors over `maxBytes` before allocating.
  public func values(of weight: StoredWeight, maxBytes: Int = 4 << 30) throws(ModelError) -> [Float] {
    do {
      let root = try file.root()
      let dataset = try root.dataset(String(weight.path.dropFirst()))
      if weight.dtype == "bfloat16" {
        // bfloat16 is the top half of a float32.
        return try dataset.readUInt16(maxBytes: maxBytes).map { Float(bitPattern: UInt32($0) << 16) }
      }
      return try dataset.readFloats(maxBytes: maxBytes)
    } catch {
      throw ModelError(.unreadable, "\(error)")
    }
  }
}
