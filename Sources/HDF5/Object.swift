internal import CHDF5

/// What a name inside a group refers to.
public enum ObjectKind: Sendable, Equatable {
  case group, dataset, other
}

/// A group or dataset: something that has a path and attributes.
public protocol Object: AnyObject {
  /// The absolute path of the object inside its file.
  var path: String { get }
  /// The names of this object's attributes, in name order.
  func attributeNames() throws(HDF5Error) -> [String]
  /// Whether the attribute `name` exists on this object.
  func hasAttribute(_ name: String) throws(HDF5Error) -> Bool
  /// Reads the attribute `name`, converting it to a Swift value.
  func attribute(_ name: String) throws(HDF5Error) -> AttributeValue
}

extension Object {}

extension Object {
  /// Reads the attribute `name` if it exists.
  public func attributeIfPresent(_ name: String) throws(HDF5Error) -> AttributeValue? {
    H5.enter()
    defer { H5.lock.unlock() }
    return try hasAttribute(name) ? try attribute(name) : nil
  }
}

/// The attribute operations shared by groups and datasets, over their open handle.
struct Attributes {
  let handle: Handle
  let path: String

  func names() throws(HDF5Error) -> [String] {
    H5.enter()
    defer { H5.lock.unlock() }
    let box = StringCollector()
    let unmanaged = Unmanaged.passRetained(box)
    defer { unmanaged.release() }
    var index: hsize_t = 0
    let status = H5Aiterate2(handle.id, H5_INDEX_NAME, H5_ITER_INC, &index, { _, name, _, data in
      guard let name, let data else { return 0 }
      Unmanaged<StringCollector>.fromOpaque(data).takeUnretainedValue().lines.append(String(cString: name))
      return 0
    }, unmanaged.toOpaque())
    try H5.check(status, "list attributes of", path)
    return box.lines
  }

  func has(_ name: String) throws(HDF5Error) -> Bool {
    H5.enter()
    defer { H5.lock.unlock() }
    let exists = H5Aexists(handle.id, name)
    try H5.check(exists, "look up attribute \(name) of", path)
    return exists > 0
  }

  func read(_ name: String) throws(HDF5Error) -> AttributeValue {
    H5.enter()
    defer { H5.lock.unlock() }
    let attrPath = path == "/" ? "/@\(name)" : "\(path)@\(name)"
    let id = try H5.check(H5Aopen(handle.id, name, chdf5_p_default()), "open attribute", attrPath)
    let attr = Handle(id, .attribute)
    let type = Handle(try H5.check(H5Aget_type(attr.id), "read type of attribute", attrPath), .datatype)
    let space = Handle(try H5.check(H5Aget_space(attr.id), "read shape of attribute", attrPath), .dataspace)
    let count = try elementCount(space: space, path: attrPath)
    // libhdf5 1.10 trusts an attribute's dataspace over its stored bytes and reads past its
    // buffer when they disagree (found by fuzzing): check they agree before reading. A
    // variable-length element is stored as a 16-byte heap reference.
    let elementSize = H5Tis_variable_str(type.id) > 0 || H5Tget_class(type.id) == H5T_VLEN ? 16 : H5Tget_size(type.id)
    let stored = Int(clamping: H5Aget_storage_size(attr.id))
    let (needed, overflow) = count.multipliedReportingOverflow(by: elementSize)
    if overflow || needed > stored {
      throw HDF5Error(operation: "read attribute", path: attrPath, message: "declares \(count) elements of \(elementSize) bytes but stores \(stored) bytes: the file is corrupt")
    }
    return try AttributeReader(attribute: attr, type: type, count: count, path: attrPath).read()
  }
}

/// Number of elements in a dataspace, with overflow checked.
func elementCount(space: Handle, path: String) throws(HDF5Error) -> Int {
  let dims = try dimensions(space: space, path: path)
  var count = 1
  for d in dims {
    let (product, overflow) = count.multipliedReportingOverflow(by: d)
    if overflow { throw HDF5Error(operation: "size", path: path, message: "element count overflows") }
    count = product
  }
  return count
}

/// The dimensions of a simple dataspace; `[]` for a scalar.
func dimensions(space: Handle, path: String) throws(HDF5Error) -> [Int] {
  let classOf = H5Sget_simple_extent_type(space.id)
  if classOf == H5S_NULL { return [0] }
  let rank = H5Sget_simple_extent_ndims(space.id)
  try H5.check(rank, "read rank of", path)
  if rank == 0 { return [] }
  if rank > 32 { throw HDF5Error(operation: "read shape of", path: path, message: "rank \(rank) exceeds HDF5's limit of 32") }
  var dims = [hsize_t](repeating: 0, count: Int(rank))
  try H5.check(H5Sget_simple_extent_dims(space.id, &dims, nil), "read shape of", path)
  var result: [Int] = []
  for d in dims {
    guard d <= hsize_t(Int.max) else {
      throw HDF5Error(operation: "read shape of", path: path, message: "dimension \(d) is too large")
    }
    result.append(Int(d))
  }
  return result
}
