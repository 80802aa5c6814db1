import Foundation
import HDF5
import ZIPFoundation
import CKernels

/// A Keras model or weights file opened for inspection: its architecture (when it has one or one is
/// given), and where each weight is stored.
///
/// Opening reads only metadata (attributes, dataset shapes, the archive's directory); weight
/// values are read on demand with ``values(of:maxBytes:)``. A `.keras` archive's weights file is
/// opened from memory: nothing is extracted to disk.
public final class KerasFile {
  /// The path as given by the caller.
  public let path: String
  /// The kind of file, detected from its content.
  public let format: FileFormat
  /// `keras_version` from the file (`2.21.0`, `3.15.1`), when present.
  public let kerasVersion: String?
  /// `backend` from the file (`tensorflow`, ...), when present.
  public let backend: String?
  /// The architecture: the file's own, or the one given for a weights-only file; nil when neither.
  public let config: ModelConfig?
  /// The layer groups that hold weights, in the file's order.
  public let weightLayers: [String]
  /// Stored weights per layer (per group name when there is no architecture to map them), in Keras's order.
  /// Empty when the file was opened with `listWeights: false` and the listing was skipped
  /// (``weightsListed``).
  public let weights: [String: [StoredWeight]]
  /// Whether ``weights`` and ``weightLayers`` hold the file's listing. Always true, except for a
  /// legacy `.h5` model opened with `listWeights: false`.
  public private(set) var weightsListed: Bool

  private let file: File

  /// Whether Keras 3 wrote the file (its summary and shape conventions differ from Keras 2's).
  public var isKeras3: Bool {
    if let kerasVersion { return kerasVersion.hasPrefix("3") }
    return format == .keras || format == .kerasWeights
  }

  /// The config size from which parsing it on another thread, alongside the weight listing,
  /// pays for starting the thread.
  static let parallelParseBytes = 32 << 10

  /// Largest `config.json` / `metadata.json` accepted from an archive.
  static let maxJSONBytes = 64 << 20

  /// Opens `path`, whatever Keras format it is in. `configPath` gives the architecture of a
  /// weights-only file: the JSON of `model.to_json()`, or a `.keras` archive's `config.json`.
  ///
  /// `listWeights: false` skips listing the stored weights of a legacy `.h5` model, whose config
  /// alone may give what a caller needs (the text summary, see
  /// ``ModelAnalysis/configAccountsForWeights``): through libhdf5 the listing costs tens of
  /// microseconds a dataset, most of a large model's summary. Other formats are always listed.
  public init(path: String, configPath: String? = nil, maxArchiveEntryBytes: Int = 8 << 30, listWeights: Bool = true) throws(ModelError) {
    self.path = path
    weightsListed = true
    let given = try configPath.map { p throws(ModelError) in try Self.readConfig(p) }
    switch Container.detect(path: path) {
    case .zip:
      let opened = try Self.openArchive(path, maxEntryBytes: maxArchiveEntryBytes)
      file = opened.file
      format = .keras
      config = opened.config
      kerasVersion = opened.version
      backend = nil
      let root = try Self.root(file)
      weights = try Keras3Layout.weights(root: root, model: opened.config)
      weightLayers = Keras3Layout.savedLayers(opened.config).map(\.name)
    case .hdf5:
      do {
        file = try File(path: path)
      } catch {
        throw ModelError(.unreadable, error.message.isEmpty ? "cannot open file" : error.message)
      }
      let root = try Self.root(file)
      do {
        kerasVersion = try root.attributeIfPresent("keras_version")?.string ?? given?.version
        let fileBackend = try root.attributeIfPresent("backend")?.string ?? given?.backend
        backend = fileBackend
        if let configValue = try root.attributeIfPresent("model_config") {
          guard let text = configValue.string else {
            throw ModelError(.badConfig, "model_config attribute is not a string")
          }
          format = .h5
          guard listWeights else {
            config = try ConfigParser.parse(text)
            (weightLayers, weights, weightsListed) = ([], [:], false)
            return
          }
          // A large config (DenseNet121's is 364 KB, parsed in ~5 ms) is parsed on another core
          // while libhdf5 lists the weights here; a config error is still the one reported first.
          let parsing = BackgroundWork(onThread: text.utf8.count >= Self.parallelParseBytes) {
            Result { () throws(ModelError) in try ConfigParser.parse(text) }
          }
          let listing = Result { () throws(ModelError) in try Self.legacyWeights(root, group: "model_weights") }
          let parsed = try parsing.result().get()
          config = parsed
          let (layers, stored) = try listing.get()
          weightLayers = layers
          weights = Self.legacyLayouts(stored, config: parsed, backend: fileBackend)
        } else if try root.hasAttribute("layer_names") {
          format = .h5Weights
          config = given?.config
          let (layers, stored) = try Self.legacyWeights(root, group: nil)
          weightLayers = layers
          weights = given.map { Self.legacyLayouts(stored, config: $0.config, backend: fileBackend) } ?? stored
        } else if try root.kind(of: "layers") == .group {
          format = .kerasWeights
          config = given?.config
          if let model = given?.config {
            weights = try Keras3Layout.weights(root: root, model: model)
            weightLayers = Keras3Layout.savedLayers(model).map(\.name)
          } else {
            let groups = try Keras3Layout.unmappedWeights(root: root)
            weights = Dictionary(groups, uniquingKeysWith: { first, _ in first })
            weightLayers = groups.map(\.0)
          }
        } else {
          throw ModelError(.notKeras, "HDF5 file without a Keras model_config attribute or Keras weights: not a Keras model")
        }
      } catch let error as ModelError {
        throw error
      } catch {
        throw ModelError(.unreadable, "\(error)")
      }
    case .other:
      throw ModelError(.unreadable, "not an HDF5 file or a .keras archive")
    }
  }

  /// Each layer's weights as its family reads them from this file (Keras 1's and Theano's layouts).
  private static func legacyLayouts(_ stored: [String: [StoredWeight]], config: ModelConfig, backend: String?) -> [String: [StoredWeight]] {
    var result = stored
    for layer in config.layers {
      guard let weights = stored[layer.name], !weights.isEmpty else { continue }
      let file = WeightLayoutContext(className: layer.className, config: layer.config, backend: backend)
      result[layer.name] = LayerRegistry.storedLayout(weights, file)
    }
    return result
  }

  private static func root(_ file: File) throws(ModelError) -> Group {
    do {
      return try file.root()
    } catch {
      throw ModelError(.unreadable, "\(error)")
    }
  }

  /// `layer_names` / `weight_names` listings under `model_weights` (full model) or the root (weights only).
  private static func legacyWeights(_ root: Group, group: String?) throws(ModelError) -> ([String], [String: [StoredWeight]]) {
    let weightsGroup: Group
    do {
      if let group {
        // A model with no weights at all still has an empty `model_weights` group.
        guard try root.kind(of: group) == .group else { return ([], [:]) }
        weightsGroup = try root.group(group)
      } else {
        weightsGroup = root
      }
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

  /// This file with its stored weights listed: itself when they are, else the weights listed from
  /// the same open file, its config not parsed again (a legacy `.h5` model opened with
  /// `listWeights: false`).
  public func listingWeights() throws(ModelError) -> KerasFile {
    if weightsListed { return self }
    return try KerasFile(listing: self)
  }

  private init(listing other: KerasFile) throws(ModelError) {
    (path, format, kerasVersion, backend, config, file) = (other.path, other.format, other.kerasVersion, other.backend, other.config, other.file)
    let (layers, stored) = try Self.legacyWeights(try Self.root(other.file), group: "model_weights")
    weightLayers = layers
    if let config = other.config {
      weights = Self.legacyLayouts(stored, config: config, backend: other.backend)
    } else {
      weights = stored
    }
    weightsListed = true
  }

  /// A config file: `model.to_json()` output or a `config.json`, with the version it names.
  private static func readConfig(_ path: String) throws(ModelError) -> (config: ModelConfig, version: String?, backend: String?) {
    guard let data = FileManager.default.contents(atPath: path), data.count <= maxJSONBytes else {
      throw ModelError(.badConfig, "cannot read the config file \(path)")
    }
    let text = String(decoding: data, as: UTF8.self)
    let json: JSONValue
    do {
      json = try JSONValue.parse(text)
    } catch {
      throw ModelError(.badConfig, "config file \(path) is not valid JSON (\(error))")
    }
    do {
      return (try ConfigParser.model(json), json["keras_version"]?.string, json["backend"]?.string)
    } catch {
      throw ModelError(.badConfig, "config file \(path): \(error.message)")
    }
  }

  /// A `.keras` archive: its config, metadata and weights (opened from memory).
  /// Extracts an archive entry (the weights file) straight into the buffer libhdf5 will read it
  /// from: one copy of the weights in memory, its CRC-32 checked, its declared size enforced.
  private static func extractImage(_ archive: Archive, _ entry: Entry, limit: Int) throws(ModelError) -> FileImage {
    let name = entry.path
    guard entry.uncompressedSize <= UInt64(limit) else {
      throw ModelError(.unreadable, "archive entry \(name) declares \(entry.uncompressedSize) bytes, over the \(limit)-byte limit")
    }
    if entry.uncompressedSize > 1 << 20, entry.uncompressedSize / max(entry.compressedSize, 1) > 1000 {
      throw ModelError(.unreadable, "archive entry \(name) would inflate \(entry.compressedSize) bytes to \(entry.uncompressedSize): refused as a zip bomb")
    }
    let image = FileImage(count: Int(entry.uncompressedSize))
    var filled = 0
    do {
      // The CRC is checked below over the whole image with zlib's: ZIPFoundation's own runs at
      // about 0.2 GB/s on Linux, which made a 486 MB archive take 2-4 s to open.
      _ = try archive.extract(entry, bufferSize: 1 << 22, skipCRC32: true) { chunk in
        // A zip can lie about sizes: stop at the declared size.
        guard filled + chunk.count <= image.count else {
          throw ModelError(.unreadable, "archive entry \(name) is larger than it declares")
        }
        chunk.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: image.bytes[filled..<(filled + chunk.count)]).copyMemory(from: $0) }
        filled += chunk.count
      }
    } catch let error as ModelError {
      throw error
    } catch {
      throw ModelError(.unreadable, "archive entry \(name) cannot be extracted (\(error))")
    }
    guard filled == image.count else {
      throw ModelError(.unreadable, "archive entry \(name) holds \(filled) bytes but declares \(image.count)")
    }
    let crc = ckernels_crc32(image.bytes.baseAddress, image.count)
    guard crc == entry.checksum else {
      throw ModelError(.unreadable, "archive entry \(name) is corrupt: CRC-32 \(hex(crc)), the archive records \(hex(entry.checksum))")
    }
    return image
  }

  private static func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
  }

  private static func openArchive(_ path: String, maxEntryBytes: Int) throws(ModelError) -> (file: File, config: ModelConfig, version: String?) {
    let archive: Archive
    do {
      archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
    } catch {
      throw ModelError(.unreadable, "zip archive that cannot be read (\(error))")
    }
    // Two entries with one name are read differently by different readers (the first, the last):
    // what keras-inspect checks must be what Keras loads, so such an archive is refused. Entries
    // with absolute or `..` paths are never extracted anywhere (nothing is), only never read.
    var names = Set<String>()
    for entry in archive {
      guard names.count < 1 << 20 else { throw ModelError(.unreadable, "zip archive with more than \(1 << 20) entries: not a Keras archive") }
      guard names.insert(entry.path).inserted else {
        throw ModelError(.unreadable, "zip archive has two entries named \(entry.path): readers may take different ones; refused as ambiguous")
      }
    }
    func read(_ name: String, limit: Int) throws(ModelError) -> Data? {
      guard let entry = archive[name] else { return nil }
      guard entry.uncompressedSize <= UInt64(limit) else {
        throw ModelError(.unreadable, "archive entry \(name) declares \(entry.uncompressedSize) bytes, over the \(limit)-byte limit")
      }
      // Keras stores its entries uncompressed; one that inflates a thousandfold is a zip bomb.
      if entry.uncompressedSize > 1 << 20, entry.uncompressedSize / max(entry.compressedSize, 1) > 1000 {
        throw ModelError(.unreadable, "archive entry \(name) would inflate \(entry.compressedSize) bytes to \(entry.uncompressedSize): refused as a zip bomb")
      }
      var data = Data()
      data.reserveCapacity(Int(entry.uncompressedSize))
      do {
        _ = try archive.extract(entry, skipCRC32: false) { chunk in
          // A zip can lie about sizes: stop at the declared size.
          guard data.count + chunk.count <= Int(entry.uncompressedSize) else {
            throw ModelError(.unreadable, "archive entry \(name) is larger than it declares")
          }
          data.append(chunk)
        }
      } catch let error as ModelError {
        throw error
      } catch {
        throw ModelError(.unreadable, "archive entry \(name) cannot be extracted (\(error))")
      }
      return data
    }
    guard let configData = try read("config.json", limit: maxJSONBytes) else {
      throw ModelError(.notKeras, "zip archive without config.json: not a Keras .keras archive")
    }
    var version: String?
    if let metadata = try read("metadata.json", limit: maxJSONBytes) {
      version = (try? JSONValue.parse(String(decoding: metadata, as: UTF8.self)))?["keras_version"]?.string
    }
    let config: ModelConfig
    do {
      config = try ConfigParser.parse(String(decoding: configData, as: UTF8.self))
    } catch {
      throw ModelError(.badConfig, "config.json: \(error.message)")
    }
    guard let weightsEntry = archive["model.weights.h5"] else {
      if archive["model.weights.npz"] != nil {
        throw ModelError(.unreadable, "weights stored as model.weights.npz: pickled Python objects, which keras-inspect does not read (save with the default .h5 weights)")
      }
      throw ModelError(.notKeras, "Keras archive without model.weights.h5")
    }
    let image = try extractImage(archive, weightsEntry, limit: maxEntryBytes)
    do {
      return (try File(image: image, name: path + "/model.weights.h5"), config, version)
    } catch {
      throw ModelError(.unreadable, "model.weights.h5 in the archive: \(error.message)")
    }
  }

  /// Reads one weight's values as Float (float16/float64 converted by libhdf5, bfloat16 widened).
  /// Refuses tensors over `maxBytes` before allocating.
  public func values(of weight: StoredWeight, maxBytes: Int = 4 << 30) throws(ModelError) -> [Float] {
    if !weight.parts.isEmpty {
      // Concatenate the parts along the last axis, row by row.
      let parts = try weight.parts.map { part throws(ModelError) in (try values(of: part, maxBytes: maxBytes), part.shape.last ?? 1) }
      let rows = weight.shape.dropLast().reduce(1, *)
      var out: [Float] = []
      out.reserveCapacity(weight.count)
      for r in 0..<rows {
        for (data, width) in parts { out.append(contentsOf: data[(r * width)..<((r + 1) * width)]) }
      }
      return out
    }
    do {
      let root = try file.root()
      let dataset = try root.dataset(String(weight.path.dropFirst()))
      var values: [Float]
      if weight.dtype == "bfloat16" {
        // bfloat16 is the top half of a float32.
        values = try dataset.readUInt16(maxBytes: maxBytes).map { Float(bitPattern: UInt32($0) << 16) }
      } else {
        values = try dataset.readFloats(maxBytes: maxBytes)
      }
      if let permutation = weight.permutation, let storedShape = weight.storedShape {
        values = transposed(values, shape: storedShape, permutation: permutation)
      }
      if weight.flipSpatial { Theano.flip(&values, shape: weight.shape) }
      return values
    } catch {
      throw ModelError(.unreadable, "\(error)")
    }
  }
}
