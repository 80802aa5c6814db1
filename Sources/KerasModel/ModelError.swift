/// Why a file could not be read as a Keras model. Each case names what was wrong and where.
public struct ModelError: Error, CustomStringConvertible, Sendable {
  public enum Kind: Sendable {
    /// The file is not HDF5, or libhdf5 failed to read it.
    case unreadable
    /// The file is HDF5 but holds no Keras model (no `model_config`, no weights listing).
    case notKeras
    /// The model config is not valid JSON or not the shape Keras writes.
    case badConfig
    /// The stored weights contradict their own listings (a `weight_names` entry with no dataset...).
    case badWeights
  }

  public let kind: Kind
  public let message: String

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }

  public var description: String { message }
}
