internal import CHDF5

/// An HDF5 group: named members (groups and datasets) and attributes.
public final class Group: Object {
  let handle: Handle
  public let path: String
  /// The file this group belongs to.
  public let file: File
  /// Relative paths whose every link was already checked by ``followLinks(_:)`` (the file is
  /// read-only, so the answer stands): a layer's weights share their folders, and each check is
  /// a lookup from this group. Read and written under libhdf5's lock.
  private var checkedPrefixes: Set<String> = []

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

  /// The file address of this group: the same group reached through two hard links has one.
  public var address: UInt64? {
    H5.enter()
    defer { H5.lock.unlock() }
    let address = chdf5_object_address(handle.id)
    return address == chdf5_haddr_undef() ? nil : UInt64(address)
  }

  /// Walks the links of `name` (a relative path) one component at a time. An external link,
  /// a user-defined link, or a soft link that loops or leads nowhere is refused, naming it;
  /// returns false when a component does not exist.
  private func followLinks(_ name: String) throws(HDF5Error) -> Bool {
    let lapl = H5.linkAccess
    var prefix = ""
    for component in name.split(separator: "/", omittingEmptySubsequences: true) {
      prefix = prefix.isEmpty ? String(component) : "\(prefix)/\(component)"
      if checkedPrefixes.contains(prefix) { continue }
      // One link lookup per component: its type, or failure when there is no such link (the
      // components before it were checked already).
      let type = chdf5_link_type(handle.id, prefix, lapl)
      if type < 0 { _ = H5.drainErrorStack(); return false }
      if type == chdf5_link_external(), !ReadPolicy.followsOutsideFiles {
        var file = [CChar](repeating: 0, count: 1024), object = [CChar](repeating: 0, count: 1024)
        let target = chdf5_external_link_target(handle.id, prefix, lapl, &file, file.count, &object, object.count) >= 0
          ? String(cString: file) + ":" + String(cString: object) : "another file"
        _ = H5.drainErrorStack()
        throw H5.outside(childPath(prefix), "is an external link to \(target)")
      }
      if type == chdf5_link_soft() {
        let resolves = H5Oexists_by_name(handle.id, prefix, lapl)
        if resolves <= 0 {
          _ = H5.drainErrorStack()
          throw HDF5Error(operation: "open", path: childPath(prefix), message: "is a soft link that loops or leads nowhere")
        }
      } else if type != chdf5_link_hard() && type != chdf5_link_external() {
        _ = H5.drainErrorStack()
        throw HDF5Error(operation: "open", path: childPath(prefix), message: "is a link of a kind keras-inspect does not follow (type \(type))")
      }
      checkedPrefixes.insert(prefix)
    }
    return true
  }

  /// What `name` (a relative path, possibly with `/`) refers to, or nil when nothing is there.
  /// A link that leads outside the file, or nowhere, is an error naming it.
  public func kind(of name: String) throws(HDF5Error) -> ObjectKind? {
    H5.enter()
    defer { H5.lock.unlock() }
    guard try followLinks(name) else { return nil }
    if name.split(separator: "/").isEmpty { return .group }
    let type = chdf5_object_type(handle.id, name, H5.linkAccess)
    guard type >= 0 else { _ = H5.drainErrorStack(); return nil }
    switch type {
    case chdf5_type_group(): return .group
    case chdf5_type_dataset(): return .dataset
    default: return .other
    }
  }

  /// Opens the member group `name` (a relative path).
  public func group(_ name: String) throws(HDF5Error) -> Group {
    H5.enter()
    defer { H5.lock.unlock() }
    let p = childPath(name)
    if let id = openDirectly(name, dataset: false) { return Group(Handle(id, .group), path: p, file: file) }
    _ = try followLinks(name)
    let id = try H5.check(H5Gopen2(handle.id, name, H5.linkAccess), "open group", p)
    return Group(Handle(id, .group), path: p, file: file)
  }

  /// Opens the member dataset `name` (a relative path); one whose data lives in another file
  /// (external storage, a virtual dataset) is refused.
  public func dataset(_ name: String) throws(HDF5Error) -> Dataset {
    H5.enter()
    defer { H5.lock.unlock() }
    let p = childPath(name)
    if let id = openDirectly(name, dataset: true) { return try Dataset(Handle(id, .dataset), path: p, file: file) }
    _ = try followLinks(name)
    let id = try H5.check(H5Dopen2(handle.id, name, H5.datasetAccess), "open dataset", p)
    return try Dataset(Handle(id, .dataset), path: p, file: file)
  }

  /// Opens the member group `name` when there is one: nil when nothing, or something other than
  /// a group, is there.
  public func groupIfPresent(_ name: String) throws(HDF5Error) -> Group? {
    H5.enter()
    defer { H5.lock.unlock() }
    let p = childPath(name)
    if let id = openDirectly(name, dataset: false) { return Group(Handle(id, .group), path: p, file: file) }
    guard try followLinks(name) else { return nil }
    guard chdf5_object_type(handle.id, name, H5.linkAccess) == chdf5_type_group() else {
      _ = H5.drainErrorStack()
      return nil
    }
    let id = try H5.check(H5Gopen2(handle.id, name, H5.linkAccess), "open group", p)
    return Group(Handle(id, .group), path: p, file: file)
  }

  /// Opens the member dataset `name` when there is one: nil when nothing, or something other
  /// than a dataset, is there. One walk of the path instead of ``kind(of:)`` then ``dataset(_:)``.
  public func datasetIfPresent(_ name: String) throws(HDF5Error) -> Dataset? {
    H5.enter()
    defer { H5.lock.unlock() }
    let p = childPath(name)
    guard !name.split(separator: "/").isEmpty else { return nil }
    if let id = openDirectly(name, dataset: true) { return try Dataset(Handle(id, .dataset), path: p, file: file) }
    guard try followLinks(name) else { return nil }
    let id = H5Dopen2(handle.id, name, H5.datasetAccess)
    if id < 0 {
      // Not a dataset (nil), or a dataset libhdf5 cannot open (its error).
      let message = H5.drainErrorStack()
      guard chdf5_object_type(handle.id, name, H5.linkAccess) == chdf5_type_dataset() else {
        _ = H5.drainErrorStack()
        return nil
      }
      throw HDF5Error(operation: "open dataset", path: p, message: message)
    }
    return try Dataset(Handle(id, .dataset), path: p, file: file)
  }

  /// Opens `name` in one lookup when every link on the way is one keras-inspect follows, or
  /// returns nil (its error drained) for ``followLinks(_:)`` to say why not. The access
  /// properties refuse external links in libhdf5 itself, and a soft link resolves within the
  /// file or fails, so an open that succeeds went through hard links and resolving soft links
  /// only: what the link-by-link walk accepts. A layer's weights are opened this way, one path
  /// lookup each instead of one per component.
  private func openDirectly(_ name: String, dataset: Bool) -> hid_t? {
    let id = dataset ? H5Dopen2(handle.id, name, H5.datasetAccess) : H5Gopen2(handle.id, name, H5.linkAccess)
    if id >= 0 { return id }
    _ = H5.drainErrorStack()
    return nil
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
