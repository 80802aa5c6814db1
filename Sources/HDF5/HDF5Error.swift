internal import CHDF5
import Foundation

/// A failure reported by libhdf5 or found while reading an HDF5 object.
///
/// Carries the operation that failed, the object path inside the file and HDF5's own
/// error-stack messages, so that a message names exactly what went wrong and where.
public struct HDF5Error: Error, CustomStringConvertible, Sendable {
  /// What was being done, e.g. "open group" or "read attribute".
  public let operation: String
  /// The object path inside the file ("/model_weights/lstm"), or the file path for file-level failures.
  public let path: String
  /// HDF5's messages from its error stack (innermost last), or our own explanation.
  public let message: String

  public init(operation: String, path: String, message: String) {
    self.operation = operation
    self.path = path
    self.message = message
  }

  public var description: String {
    message.isEmpty ? "cannot \(operation) \(path)" : "cannot \(operation) \(path): \(message)"
  }
}

/// What reading may follow. Only tests change it: with `followsOutsideFiles`, the refusals of
/// external storage, virtual datasets and external links are off, to show that the sandbox
/// alone still keeps the reader inside the model file.
public enum ReadPolicy {
  nonisolated(unsafe) public static var followsOutsideFiles = false
}

/// The one funnel every libhdf5 status goes through.
enum H5 {
  /// libhdf5 as Debian builds it is not thread-safe: every call into it, including the
  /// closing of handles, runs under this one lock. It is recursive because public calls nest.
  static let lock = NSRecursiveLock()

  /// Takes the lock and makes sure HDF5 does not print its error stacks on this thread:
  /// Debian builds libhdf5 thread-safe, where that setting is per thread.
  static func enter() {
    lock.lock()
    _ = ready
    _ = H5Eset_auto2(chdf5_e_default(), nil, nil)
  }
  /// Opens the library once and turns off HDF5's own printing of error stacks to stderr, the
  /// environment's say in where it looks for other files, and its loading of filter plugins: a dataset naming an unknown filter must never make libhdf5
  /// load a shared library (from `HDF5_PLUGIN_PATH` or its default folder).
  static let ready: Bool = {
    // libhdf5 lets these variables override the prefixes the access lists point nowhere (an
    // external or virtual source file named relative to them would be found again), and the
    // plugin folder: none of them may steer what a model file makes us read.
    for name in ["HDF5_EXTFILE_PREFIX", "HDF5_VDS_PREFIX", "HDF5_PLUGIN_PATH"] { unsetenv(name) }
    _ = H5open()
    _ = H5Eset_auto2(chdf5_e_default(), nil, nil)
    _ = H5PLset_loading_state(0)
    return true
  }()

  /// Link access that follows no external link (every lookup and open goes through it).
  static let selfContainedLinkAccess: hid_t = {
    _ = ready
    return chdf5_lapl_self_contained()
  }()

  /// Dataset access that follows no external link and finds no external or virtual source file.
  static let selfContainedDatasetAccess: hid_t = {
    _ = ready
    return chdf5_dapl_self_contained()
  }()

  static var linkAccess: hid_t { ReadPolicy.followsOutsideFiles ? chdf5_p_default() : selfContainedLinkAccess }
  static var datasetAccess: hid_t { ReadPolicy.followsOutsideFiles ? chdf5_p_default() : selfContainedDatasetAccess }

  /// The refusal of an object that would make libhdf5 read another file.
  static func outside(_ path: String, _ what: String) -> HDF5Error {
    HDF5Error(operation: "read", path: path, message: "\(what); refusing to read outside the model file")
  }

  /// Returns `id` when it is a valid identifier, else throws with HDF5's current error stack.
  @discardableResult
  static func check(_ id: hid_t, _ operation: String, _ path: String) throws(HDF5Error) -> hid_t {
    if id < 0 { throw error(operation, path) }
    return id
  }

  /// Throws when a status (herr_t / htri_t) is negative.
  static func check(_ status: Int32, _ operation: String, _ path: String) throws(HDF5Error) {
    if status < 0 { throw error(operation, path) }
  }

  /// Builds an error from HDF5's current error stack, then clears the stack.
  static func error(_ operation: String, _ path: String) -> HDF5Error {
    HDF5Error(operation: operation, path: path, message: drainErrorStack())
  }

  /// Collects the descriptions on the default error stack, most specific last, and clears it.
  static func drainErrorStack() -> String {
    let box = StringCollector()
    let unmanaged = Unmanaged.passRetained(box)
    defer { unmanaged.release() }
    _ = H5Ewalk2(chdf5_e_default(), H5E_WALK_UPWARD, { _, err, data in
      guard let err, let data else { return 0 }
      let box = Unmanaged<StringCollector>.fromOpaque(data).takeUnretainedValue()
      if let desc = err.pointee.desc {
        let text = String(cString: desc)
        if !text.isEmpty, box.lines.last != text { box.lines.append(text) }
      }
      return 0
    }, unmanaged.toOpaque())
    _ = H5Eclear2(chdf5_e_default())
    // Upward walk starts at the innermost failure; report it first, it is the cause.
    return box.lines.prefix(3).joined(separator: "; ")
  }
}

/// Collects strings from a C callback through its `void *` context.
final class StringCollector {
  var lines: [String] = []
}
