import Crypto
import KerasModel

extension Inspection {
  /// SHA-256 of the weights in canonical order: layers in config order, each layer's weights in
  /// Keras's order; per tensor its rank, dimensions (UInt64, little-endian) and values as float32
  /// little-endian. Names are not hashed, so the same model saved as .h5 and as .keras (or renamed)
  /// hashes the same.
  public func weightsSHA256(maxTensorBytes: Int = 4 << 30) throws(InspectionError) -> String {
    var hasher = SHA256()
    func add(_ n: Int) {
      withUnsafeBytes(of: UInt64(n).littleEndian) { hasher.update(bufferPointer: $0) }
    }
    for layer in analysis.layers {
      for weight in layer.stored {
        let values: [Float]
        do {
          values = try self.values(of: weight, maxBytes: maxTensorBytes)
        } catch {
          throw InspectionError(path: file.path, message: error.message)
        }
        add(weight.shape.count)
        for d in weight.shape { add(d) }
        #if _endian(little)
          values.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        #else
          let words = values.map { $0.bitPattern.littleEndian }
          words.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        #endif
      }
    }
    return hasher.finalize().map { byte in
      let hex = String(byte, radix: 16)
      return hex.count == 1 ? "0" + hex : hex
    }.joined()
  }
}
