import HDF5

/// One weight tensor as stored in the file.
public struct StoredWeight: Sendable, Equatable {
  /// The name Keras listed for it (`lstm/lstm_cell/kernel:0`, `sequential/lstm/lstm_cell/kernel`).
  public let name: String
  /// The dataset's absolute path in the HDF5 file.
  public let path: String
  public let shape: [Int]
  /// Element type as stored; `bfloat16` when a uint16 dataset carries Keras's bfloat16 marker.
  public let dtype: String
  /// Bytes per element of the stored dtype.
  public let elementSize: Int
  /// For a tensor assembled from several datasets (Keras 1's per-gate recurrent arrays, fused
  /// as Keras 2 loads them): the parts, concatenated along the last axis. Empty otherwise.
  public var parts: [StoredWeight] = []
  /// A convolution kernel saved by Keras with the Theano backend: Theano convolves (flips the
  /// kernel), so its spatial axes are reversed on reading, as Keras 2.0-2.3 did on loading it
  /// (`convert_kernel`) and as Theano computed with it.
  public var flipSpatial = false
  /// For a Keras 1 convolution kernel stored in its old axis order: the stored shape, and the
  /// permutation of its axes that gives Keras 2's order (`shape` is then the Keras 2 shape).
  public var storedShape: [Int]?
  public var permutation: [Int]?

  /// Element count, saturating at Int.max for absurd declared shapes.
  public var count: Int { saturatingProduct(shape) }

  /// Keras's short name: the last path component without the `:0` suffix (`kernel`).
  public var shortName: String {
    var last = name.split(separator: "/").last.map(String.init) ?? name
    if let colon = last.lastIndex(of: ":"), last[last.index(after: colon)...].allSatisfy(\.isNumber) {
      last = String(last[..<colon])
    }
    return last
  }
}

extension StoredWeight {
  /// Describes a dataset: bfloat16 when Keras marked a 16-bit (uint16 or opaque) dataset so.
  init(dataset: Dataset, name: String) throws {
    var dtype = dataset.elementType.description
    let sixteenBit = dataset.elementType == .integer(bits: 16, signed: false) || dataset.elementType == .opaque(bytes: 2)
    if sixteenBit, try dataset.attributeIfPresent("dtype")?.string == "bfloat16" {
      dtype = "bfloat16"
    }
    self.init(name: name, path: dataset.path, shape: dataset.shape, dtype: dtype, elementSize: dataset.elementType.byteSize ?? 4)
  }
}

/// Reads Keras's weight listings: `layer_names` on the weights group, `weight_names` on each layer group.
enum WeightListing {
  /// A string-list attribute, following Keras's split form (`name0`, `name1`, ...) for lists over 64 KiB.
  static func list(_ group: Group, _ attribute: String) throws(ModelError) -> [String]? {
    do {
      if let value = try group.attributeIfPresent(attribute) {
        // Keras writes an empty list as an empty float64 array (h5py's default for `[]`).
        if value == .floats([]) || value == .integers([]) { return [] }
        guard let list = value.stringList else {
          throw ModelError(.badWeights, "attribute \(attribute) of \(group.path) is not a list of strings")
        }
        return list
      }
      var parts: [String] = []
      var chunk = 0
      while let value = try group.attributeIfPresent("\(attribute)\(chunk)") {
        guard let list = value.stringList else {
          throw ModelError(.badWeights, "attribute \(attribute)\(chunk) of \(group.path) is not a list of strings")
        }
        parts += list
        chunk += 1
      }
      return chunk == 0 ? nil : parts
    } catch let error as ModelError {
      throw error
    } catch {
      throw ModelError(.unreadable, "\(error)")
    }
  }

  /// The weights listed for the layer group `name` under `weightsGroup`, in Keras's order.
  static func layerWeights(_ weightsGroup: Group, layer name: String) throws(ModelError) -> [StoredWeight] {
    do {
      guard let group = try weightsGroup.groupIfPresent(name) else {
        throw ModelError(.badWeights, "layer_names lists \(name), but \(weightsGroup.path) has no group \(name)")
      }
      let names = try list(group, "weight_names") ?? []
      var weights: [StoredWeight] = []
      for weightName in names {
        guard let dataset = try group.datasetIfPresent(weightName) else {
          throw ModelError(.badWeights, "layer \(name) lists weight \(weightName), but \(group.path) has no dataset \(weightName)")
        }
        weights.append(try StoredWeight(dataset: dataset, name: weightName))
      }
      return weights
    } catch let error as ModelError {
      throw error
    } catch {
      throw ModelError(.unreadable, "\(error)")
    }
  }
}
