internal import CHDF5

/// Owns one libhdf5 identifier and closes it exactly once, when the owner goes away.
final class Handle {
  enum Kind { case file, group, dataset, attribute, datatype, dataspace, propertyList, object }

  let id: hid_t
  let kind: Kind

  init(_ id: hid_t, _ kind: Kind) {
    H5.enter()
    defer { H5.lock.unlock() }
    self.id = id
    self.kind = kind
  }

  deinit {
    H5.enter()
    defer { H5.lock.unlock() }
    switch kind {
    case .file: _ = H5Fclose(id)
    case .group: _ = H5Gclose(id)
    case .dataset: _ = H5Dclose(id)
    case .attribute: _ = H5Aclose(id)
    case .datatype: _ = H5Tclose(id)
    case .dataspace: _ = H5Sclose(id)
    case .propertyList: _ = H5Pclose(id)
    case .object: _ = H5Oclose(id)
    }
  }
}
