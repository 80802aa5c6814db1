internal import CHDF5

/// An HDF5 group: named members (groups and datasets) and attributes.
public final class Group: Object {
  let handle: Handle
  public let path: String
  /// The file this group belongs to.
  public let file: File

  init(_ handle: Handle, path: String, file: File) {
    H5.enter()
    defer { H5.lock.unlock() }
    self.handle = handle
    self.path = path
    self.file = file
  }

  private func childPath(_ name: String) -> String {
    path == "/" ? "/\(name)" : "\(path)/\(name)"
  }

  /// The names of the direct members, in name order.
  public func memberNames() throws(HDF5Error) -> [String] {
    H5.enter()
    defer { H5.lock.unlock() }
    var info = H5G_info_t()
    try H5.check(H5Gget_info(handle.id, &info), "list members of", path)
    var names: [String] = []
    names.reserveCapacity(Int(clamping: min(info.nlinks, 1 << 20)))
    for index in 0..<info.nlinks {
      let length = H5Lget_name_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, chdf5_p_default())
      guard length >= 0 else { throw H5.error("list members of", path) }
      var buffer = [CChar](repeating: 0, count: Int(length) + 1)
      let written = H5Lget_name_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, chdf5_p_default())
      guard written >= 0 else { throw H5.error("list members of", path) }
      names.append(String(decoding: buffer.prefix(Int(written)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return names
  }

  /// What `name` (a relative path, possibly with `/`) refers to, or nil when nothing is there.
  public func kind(of name: String) throws(HDF5Error) -> ObjectKind? {
    H5.enter()
    defer { H5.lock.unlock() }
    // H5Lexists requires every intermediate link to exist, so walk the components.
    var prefix = ""
    for component in name.split(separator: "/", omittingEmptySubsequences: true) {
      prefix = prefix.isEmpty ? String(component) : "\(prefix)/\(component)"
      let exists = H5Lexists(handle.id, prefix, chdf5_p_default())
      if exists < 0 { _ = H5.drainErrorStack(); return nil }
      if exists == 0 { return nil }
    }
    if prefix.isEmpty { return .group }
    let id = H5Oopen(handle.id, prefix, chdf5_p_default())
    guard id >= 0 else { _ = H5.drainErrorStack(); return nil }
    let object = Handle(id, .object)
    switch H5Iget_type(object.id) {
    case H5I_GROUP: return .group
    case H5I_DATASET: return .dataset
    default: return .other
    }
  }

  /// Opens the member group `name` (a relative path).
  public func group(_ name: String) throws(HDF5Error) -> Group {
    H5.enter()
    defer { H5.lock.unlock() }
    let p = childPath(name)
    let id = try H5.check(H5Gopen2(handle.id, name, chdf5_p_default()), "open group", p)
    return Group(Handle(id, .group), path: p, file: file)
  }

  /// Opens the member dataset `name` (a relative path).
  public func dataset(_ name: String) throws(HDF5Error) -> Dataset {
    H5.enter()
    defer { H5.lock.unlock() }
    let p = childPath(name)
    let id = try H5.check(H5Dopen2(handle.id, name, chdf5_p_default()), "open dataset", p)
    return try Dataset(Handle(id, .dataset), path: p)
  }

  public func attributeNames() throws(HDF5Error) -> [String] {
    H5.enter()
    defer { H5.lock.unlock() }
    return try Attributes(handle: handle, path: path).names()
  }

  public func hasAttribute(_ name: String) throws(HDF5Error) -> Bool {
    H5.enter()
    defer { H5.lock.unlock() }
    return try Attributes(handle: handle, path: path).has(name)
  }

  public func attribute(_ name: String) throws(HDF5Error) -> AttributeValue {
    H5.enter()
    defer { H5.lock.unlock() }
    return try Attributes(handle: handle, path: path).read(name)
  }
}
