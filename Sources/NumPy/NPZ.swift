import Foundation
import ZIPFoundation

/// NumPy's `.npz` bundles: a zip of `.npy` files, one per named array (`np.savez`, `np.savez_compressed`).
public enum NPZ {
  /// Reads every array in the bundle, by name (without `.npy`).
  public static func read(path: String) throws(NumPyError) -> [String: NDArray] {
    let archive: Archive
    do {
      archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
    } catch {
      throw NumPyError("\(path): not a readable .npz (zip) file")
    }
    var arrays: [String: NDArray] = [:]
    for entry in archive where entry.type == .file && entry.path.hasSuffix(".npy") {
      guard entry.uncompressedSize <= UInt64(NPY.maxBytes) else {
        throw NumPyError("\(path): entry \(entry.path) declares \(entry.uncompressedSize) bytes, over the limit")
      }
      var data = Data()
      do {
        _ = try archive.extract(entry, skipCRC32: false) { chunk in
          data.append(chunk)
          if data.count > Int(entry.uncompressedSize) { throw NumPyError("entry larger than declared") }
        }
      } catch {
        throw NumPyError("\(path): entry \(entry.path) cannot be extracted: \(error)")
      }
      let name = String(entry.path.dropLast(4))
      do {
        arrays[name] = try NPY.decode(data)
      } catch {
        throw NumPyError("\(path): \(name): \(error.message)")
      }
    }
    return arrays
  }

  /// Reads `FILE.npy`, or one array of a bundle given as `FILE.npz:NAME`.
  public static func readArgument(_ argument: String) throws(NumPyError) -> NDArray {
    if let colon = argument.range(of: ".npz:", options: .backwards) {
      let file = String(argument[..<argument.index(colon.lowerBound, offsetBy: 4)])
      let name = String(argument[colon.upperBound...])
      let arrays = try read(path: file)
      guard let array = arrays[name] else {
        throw NumPyError("\(file): no array named \(name); it has \(arrays.keys.sorted().joined(separator: ", "))")
      }
      return array
    }
    return try NPY.read(path: argument)
  }
}
