internal import CHDF5
internal import CKernels

#if canImport(Glibc)
  import Glibc
#endif

/// Asks for transparent huge pages over the 2 MiB-aligned part of a large buffer (Linux only;
/// a hint the kernel may ignore).
func adviseHugePages(_ base: UnsafeMutableRawPointer, bytes: Int) {
  #if canImport(Glibc)
    let huge = 2 << 20
    guard bytes >= 2 * huge else { return }
    let start = (Int(bitPattern: base) + huge - 1) & ~(huge - 1)
    let end = (Int(bitPattern: base) + bytes) & ~(huge - 1)
    if end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) {
      _ = madvise(pointer, end - start, MADV_HUGEPAGE)
    }
  #endif
}

/// An HDF5 dataset: a typed n-dimensional array, possibly chunked and compressed.
public final class Dataset: Object {
  let handle: Handle
  public let path: String
  /// The dimensions; `[]` for a scalar.
  public let shape: [Int]
  /// The stored element type.
  public let elementType: ElementType
  /// The number of elements (product of `shape`), overflow-checked at open.
  public let count: Int
  /// The file the dataset is in (kept open while the dataset is).
  let file: File

  init(_ handle: Handle, path: String, file: File) throws(HDF5Error) {
    H5.enter()
    defer { H5.lock.unlock() }
    self.handle = handle
    self.path = path
    self.file = file
    let type = Handle(try H5.check(H5Dget_type(handle.id), "read type of", path), .datatype)
    elementType = ElementType(type: type.id)
    let space = Handle(try H5.check(H5Dget_space(handle.id), "read shape of", path), .dataspace)
    shape = try dimensions(space: space, path: path)
    count = try elementCount(space: space, path: path)
    try checkSelfContained()
  }

  /// Refuses, before any value is read, a dataset whose data would come from elsewhere: external
  /// raw storage, a virtual dataset, or a filter libhdf5 would have to load as a plugin.
  private func checkSelfContained() throws(HDF5Error) {
    if ReadPolicy.followsOutsideFiles { return }
    let plist = Handle(try H5.check(H5Dget_create_plist(handle.id), "read storage of", path), .propertyList)
    let external = H5Pget_external_count(plist.id)
    if external != 0 {
      var name = [CChar](repeating: 0, count: 1024)
      var offset: off_t = 0
      var size: hsize_t = 0
      let file = external > 0 && H5Pget_external(plist.id, 0, name.count, &name, &offset, &size) >= 0 ? String(cString: name) : "unknown"
      _ = H5.drainErrorStack()
      throw H5.outside(path, "stores its data in another file (external storage: \(file))")
    }
    if Int32(H5Pget_layout(plist.id).rawValue) == Int32(chdf5_layout_virtual()) {
      throw H5.outside(path, "is a virtual dataset, its data in other files")
    }
    let n = H5Pget_nfilters(plist.id)
    try H5.check(n, "read filters of", path)
    for index in 0..<UInt32(max(n, 0)) {
      var flags: UInt32 = 0
      var cdCount = 0
      var name = [CChar](repeating: 0, count: 64)
      var config: UInt32 = 0
      let filter = H5Pget_filter2(plist.id, index, &flags, &cdCount, nil, name.count, &name, &config)
      guard filter >= 0 else { throw H5.error("read filters of", path) }
      if H5Zfilter_avail(filter) <= 0 {
        _ = H5.drainErrorStack()
        let label = String(cString: name)
        throw HDF5Error(
          operation: "read", path: path,
          message: "is compressed with filter \(filter)\(label.isEmpty ? "" : " (\(label))"), which is not built into libhdf5; keras-inspect loads no filter plugins")
      }
    }
  }

  /// The filters applied to the stored chunks (e.g. `deflate`, `shuffle`), empty when contiguous.
  public func filters() throws(HDF5Error) -> [String] {
    H5.enter()
    defer { H5.lock.unlock() }
    let plist = Handle(try H5.check(H5Dget_create_plist(handle.id), "read storage of", path), .propertyList)
    let n = H5Pget_nfilters(plist.id)
    try H5.check(n, "read filters of", path)
    var names: [String] = []
    for index in 0..<UInt32(n) {
      var flags: UInt32 = 0
      var cdCount = 0
      var name = [CChar](repeating: 0, count: 64)
      var config: UInt32 = 0
      let filter = H5Pget_filter2(plist.id, index, &flags, &cdCount, nil, name.count, &name, &config)
      switch filter {
      case H5Z_FILTER_DEFLATE: names.append("gzip")
      case H5Z_FILTER_SHUFFLE: names.append("shuffle")
      case H5Z_FILTER_FLETCHER32: names.append("fletcher32")
      case H5Z_FILTER_SZIP: names.append("szip")
      case H5Z_FILTER_NBIT: names.append("nbit")
      case H5Z_FILTER_SCALEOFFSET: names.append("scaleoffset")
      default: names.append(String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
      }
    }
    return names
  }

  /// Where the values start in the file, when they lie there as this host holds Floats: one
  /// allocated, contiguous, unfiltered run of `count` little-endian IEEE float32 values, wholly
  /// inside the file. nil for anything else (chunked, compact or external storage, not written
  /// yet, another element type or byte order, past the file's end), which libhdf5 reads and
  /// converts. Called with the library lock held.
  func storedFloat32Offset() -> Int? {
    #if _endian(little)
      guard count > 0, let bytes = file.storedBytes else { return nil }
      // A libhdf5 call that fails here only means libhdf5 reads the dataset: its errors are dropped.
      defer { _ = H5.drainErrorStack() }
      guard chdf5_object_vfd_handle(handle.id) == bytes.driver else { return nil }
      let typeID = H5Dget_type(handle.id), plistID = H5Dget_create_plist(handle.id)
      let (type, plist) = (typeID >= 0 ? Handle(typeID, .datatype) : nil, plistID >= 0 ? Handle(plistID, .propertyList) : nil)
      guard let type, let plist, H5Tequal(type.id, chdf5_ieee_f32le()) > 0,
        Int32(H5Pget_layout(plist.id).rawValue) == Int32(chdf5_layout_contiguous()),
        H5Pget_external_count(plist.id) == 0, H5Pget_nfilters(plist.id) == 0
      else { return nil }
      let (length, overflow) = count.multipliedReportingOverflow(by: 4)
      let offset = H5Dget_offset(handle.id)
      guard !overflow, offset != chdf5_haddr_undef(), offset < UInt64(Int.max), H5Dget_storage_size(handle.id) == UInt64(length) else { return nil }
      let start = Int(offset)
      guard length <= bytes.size, start <= bytes.size - length else { return nil }
      return start
    #else
      return nil
    #endif
  }

  /// Reads the `count` stored float32 values at `offset` into `destination`, on every core and
  /// without libhdf5 (which reads a contiguous dataset with one read() on one core); false when
  /// the read failed, for libhdf5 to read it and report why.
  private func readStored(from offset: Int, into destination: UnsafeMutablePointer<Float>) -> Bool {
    switch file.storedBytes?.source {
    case .descriptor(let fd):
      return ckernels_parallel_pread(fd, destination, count * 4, Int64(offset)) == 0
    case .memory(let base):
      ckernels_parallel_copy(destination, base + offset, count * 4)
      return true
    case nil:
      return false
    }
  }

  /// Reads every element converted to Float (libhdf5 converts float16/float64/integers),
  /// refusing datasets larger than `maxBytes` before anything is allocated.
  ///
  /// bfloat16 weights are stored as uint16; read those with ``readUInt16(maxBytes:)``.
  public func readFloats(maxBytes: Int) throws(HDF5Error) -> [Float] {
    try readFloats(maxBytes: maxBytes, fromStoredBytes: true)
  }

  /// ``readFloats(maxBytes:)``, with the read from the file's bytes allowed or not (tests compare
  /// the two).
  func readFloats(maxBytes: Int, fromStoredBytes: Bool) throws(HDF5Error) -> [Float] {
    H5.enter()
    defer { H5.lock.unlock() }
    switch elementType {
    case .float, .integer: break
    default:
      throw HDF5Error(operation: "read", path: path, message: "element type \(elementType) is not numeric")
    }
    try checkSize(elementSize: 4, maxBytes: maxBytes)
    // Read straight into the array's storage: no zero-filling first, and large buffers are
    // backed by huge pages where the kernel allows (loading the 486 MB benchmark model: 1.46 GB/s
    // with 4 KiB pages, 2.17 GB/s with huge pages).
    let stored = fromStoredBytes ? storedFloat32Offset() : nil
    var failure: HDF5Error?
    let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      guard count > 0, let base = buffer.baseAddress else { return }
      adviseHugePages(UnsafeMutableRawPointer(base), bytes: count * 4)
      if let stored, readStored(from: stored, into: base) {
        initialized = count
        return
      }
      let status = H5Dread(handle.id, chdf5_native_float(), chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), base)
      do throws(HDF5Error) {
        try H5.check(status, "read", path)
      } catch {
        failure = error
        base.initialize(repeating: 0, count: count)
      }
      initialized = count
    }
    if let failure { throw failure }
    return values
  }

  /// Reads every element as raw 16-bit words: bfloat16, stored as uint16 or as 2-byte opaque
  /// data (little-endian), with a `dtype` attribute saying so.
  public func readUInt16(maxBytes: Int) throws(HDF5Error) -> [UInt16] {
    H5.enter()
    defer { H5.lock.unlock() }
    try checkSize(elementSize: 2, maxBytes: maxBytes)
    var values = [UInt16](repeating: 0, count: count)
    guard count > 0 else { return values }
    switch elementType {
    case .integer(16, false):
      try H5.check(H5Dread(handle.id, chdf5_native_uint16(), chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), &values), "read", path)
    case .opaque(2):
      let type = Handle(try H5.check(H5Dget_type(handle.id), "read type of", path), .datatype)
      try H5.check(H5Dread(handle.id, type.id, chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), &values), "read", path)
      values = values.map { UInt16(littleEndian: $0) }
    default:
      throw HDF5Error(operation: "read", path: path, message: "element type \(elementType) is not 16-bit")
    }
    return values
  }

  /// How many times larger than its stored bytes a dataset may declare itself. Compression of
  /// real weights stays far below this; a dataset that declares 10^12 elements over a few stored
  /// chunks (or none, relying on the fill value) is refused before anything is allocated.
  public static let maxExpansion = 4096

  private func checkSize(elementSize: Int, maxBytes: Int) throws(HDF5Error) {
    H5.enter()
    defer { H5.lock.unlock() }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: elementSize)
    if overflow || bytes > maxBytes {
      throw HDF5Error(operation: "read", path: path, message: "shape \(shape) needs more than the \(maxBytes) bytes allowed for one tensor")
    }
    let stored = Int(clamping: H5Dget_storage_size(handle.id))
    let (allowed, big) = max(stored, 1).multipliedReportingOverflow(by: Self.maxExpansion)
    if bytes > 1 << 20 && !big && bytes > allowed {
      throw HDF5Error(operation: "read", path: path, message: "shape \(shape) declares \(bytes) bytes but the file stores only \(stored) for it")
    }
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
