internal import CHDF5

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
  }

  /// Opens an HDF5 file image held in memory, read-only, with libhdf5's core driver and no
  /// backing store: nothing is written to disk. `name` is used in messages only.
  public init(image: [UInt8], name: String) throws(HDF5Error) {
    H5.enter()
    defer { H5.lock.unlock() }
    self.path = name
    guard !image.isEmpty else { throw HDF5Error(operation: "open", path: name, message: "empty HDF5 image") }
    let fapl = Handle(try H5.check(H5Pcreate(chdf5_p_file_access()), "open", name), .propertyList)
    try H5.check(H5Pset_fapl_core(fapl.id, 1 << 16, false), "open", name)
    let status = image.withUnsafeBytes { raw in H5Pset_file_image(fapl.id, UnsafeMutableRawPointer(mutating: raw.baseAddress), raw.count) }
    try H5.check(status, "open", name)
    let id = H5Fopen(name, chdf5_f_acc_rdonly(), fapl.id)
    guard id >= 0 else {
      let detail = H5.drainErrorStack()
      throw HDF5Error(operation: "open", path: name, message: detail.isEmpty ? "not an HDF5 image" : "not a readable HDF5 image: \(detail)")
    }
    handle = Handle(id, .file)
  }

  /// The root group `/`.
  public func root() throws(HDF5Error) -> Group {
    H5.enter()
    defer { H5.lock.unlock() }
    let id = try H5.check(H5Gopen2(handle.id, "/", chdf5_p_default()), "open group", "/")
    return Group(Handle(id, .group), path: "/", file: self)
  }
}
