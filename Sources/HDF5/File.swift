internal import CHDF5

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// An HDF5 file opened read-only.
///
/// The file stays open while this object or any group, dataset or attribute read from it
/// is alive; libhdf5 closes it when the last of them goes away.
public final class File {
  let handle: Handle
  /// The path the file was opened from, as given.
  public let path: String

  /// Opens `path` read-only. Throws when the file is missing or is not HDF5.
  public init(path: String) throws(HDF5Error) {
    H5.enter()
    defer { H5.lock.unlock() }
    _ = H5.ready
    self.path = path
    // H5Fis_hdf5 distinguishes "not an HDF5 file" from a damaged one.
    let isHDF5 = H5Fis_hdf5(path)
    if isHDF5 == 0 {
      throw HDF5Error(operation: "open", path: path, message: "not an HDF5 file")
    }
    if isHDF5 < 0 {
      let detail = H5.drainErrorStack()
      throw HDF5Error(operation: "open", path: path, message: detail.isEmpty ? "unreadable file" : detail)
    }
    let id = try H5.check(H5Fopen(path, chdf5_f_acc_rdonly(), chdf5_p_default()), "open", path)
    handle = Handle(id, .file)
    image = nil
    var status = stat()
    if chdf5_is_sec2(id) != 0, let driver = chdf5_vfd_handle(id), case let fd = driver.load(as: Int32.self), fstat(fd, &status) == 0 {
      storedBytes = StoredBytes(driver: driver, source: .descriptor(fd), size: Int(status.st_size))
    } else {
      _ = H5.drainErrorStack()
      storedBytes = nil
    }
  }

  /// The file's bytes as libhdf5 reads them, for reading a dataset's values as stored without
  /// going through it (``Dataset/readFloats(maxBytes:)``): libhdf5's own descriptor of a file on
  /// disk, or an image's buffer. nil when another driver reads the file.
  let storedBytes: StoredBytes?

  struct StoredBytes {
    /// libhdf5's driver handle of the file: a dataset reached through an external link is in
    /// another file, with another handle, and is not read from these bytes.
    let driver: UnsafeMutableRawPointer
    let source: Source
    let size: Int

    enum Source {
      case descriptor(Int32)
      case memory(UnsafeRawPointer)
    }
  }

  /// The image this file reads from, kept alive as long as the file (nil for a file on disk).
  private let image: FileImage?

  /// Opens an HDF5 file image held in memory, read-only, with libhdf5's core driver and no
  /// backing store: nothing is written to disk. The image is lent, not copied: libhdf5 reads
  /// from its buffer directly. `name` is used in messages only.
  public init(image: FileImage, name: String) throws(HDF5Error) {
    H5.enter()
    defer { H5.lock.unlock() }
    _ = H5.ready
    self.path = name
    self.image = image
    guard image.count > 0 else { throw HDF5Error(operation: "open", path: name, message: "empty HDF5 image") }
    let fapl = Handle(try H5.check(H5Pcreate(chdf5_p_file_access()), "open", name), .propertyList)
    try H5.check(H5Pset_fapl_core(fapl.id, 1 << 16, false), "open", name)
    try H5.check(chdf5_set_lent_image(fapl.id, image.lent), "open", name)
    let id = H5Fopen(name, chdf5_f_acc_rdonly(), fapl.id)
    guard id >= 0 else {
      let detail = H5.drainErrorStack()
      throw HDF5Error(operation: "open", path: name, message: detail.isEmpty ? "not an HDF5 image" : "not a readable HDF5 image: \(detail)")
    }
    handle = Handle(id, .file)
    if let driver = chdf5_vfd_handle(id), let base = image.bytes.baseAddress {
      storedBytes = StoredBytes(driver: driver, source: .memory(base), size: image.count)
    } else {
      _ = H5.drainErrorStack()
      storedBytes = nil
    }
  }

  /// Opens a copy of `bytes` as an in-memory HDF5 file (see ``init(image:name:)``).
  public convenience init(bytes: [UInt8], name: String) throws(HDF5Error) {
    let image = FileImage(count: bytes.count)
    bytes.withUnsafeBytes { image.bytes.copyMemory(from: $0) }
    try self.init(image: image, name: name)
  }

  /// The root group `/`.
  public func root() throws(HDF5Error) -> Group {
    H5.enter()
    defer { H5.lock.unlock() }
    let id = try H5.check(H5Gopen2(handle.id, "/", chdf5_p_default()), "open group", "/")
    return Group(Handle(id, .group), path: "/", file: self)
  }
}

/// A buffer that holds an HDF5 file in memory (the weights file of a `.keras` archive), filled
/// by the caller and then lent to ``File/init(image:name:)`` without a copy.
public final class FileImage: @unchecked Sendable {
  /// The buffer, `count` bytes, uninitialized until the caller fills it.
  public let bytes: UnsafeMutableRawBufferPointer
  let lent: UnsafeMutablePointer<chdf5_lent_image>

  public var count: Int { bytes.count }

  /// Allocates `count` bytes (huge pages requested when large).
  public init(count: Int) {
    bytes = .allocate(byteCount: count, alignment: 64)
    if let base = bytes.baseAddress { adviseHugePages(base, bytes: count) }
    lent = .allocate(capacity: 1)
    lent.initialize(to: chdf5_lent_image(buffer: bytes.baseAddress, size: count))
  }

  deinit {
    lent.deallocate()
    bytes.deallocate()
  }
}

/// The libhdf5 keras-inspect is built with.
public enum HDF5Library {
  /// Its version, `1.10.8`.
  public static var version: String {
    H5.enter()
    defer { H5.lock.unlock() }
    var (major, minor, release): (UInt32, UInt32, UInt32) = (0, 0, 0)
    guard H5get_libversion(&major, &minor, &release) >= 0 else { return "unknown" }
    return "\(major).\(minor).\(release)"
  }
}
