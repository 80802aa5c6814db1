import HDF5

/// keras-inspect's own version (semantic: a new major for a changed output contract).
public enum ToolVersion {
  public static let semantic = "0.14.0"

  /// `keras-inspect 0.14.0 (libhdf5 1.10.8)`: what `--version` prints.
  public static var description: String { "keras-inspect \(semantic) (libhdf5 \(HDF5Library.version))" }
}
