import CSandbox
import KerasRuntime
import Foundation

/// What the reading process gives up before it parses anything (Linux, defence in depth behind
/// the HDF5 module's own refusals): with Landlock, read access only to the files and folders
/// named on the command line and write access only to the `--output` files; no new privileges;
/// caps on address space, written file size and open files. Where the kernel has no Landlock,
/// the rest still applies and `--verbose` says so. `KERAS_INSPECT_NO_SANDBOX=1` turns it off.
enum Sandbox {
  /// Paths any run reads that hold nothing of the user's: the processor count glibc reads.
  /// (/proc stays out: the runtime's parallel loops use their own threads, not libdispatch's,
  /// whose pool monitor reads /proc/<tid>/stat and traps when it cannot.)
  static let systemReads = ["/sys/devices/system/cpu"]

  struct Plan: Equatable {
    var reads: [String] = []
    var writes: [String] = []
    /// Bytes of the files read (the limits scale with them).
    var bytes: UInt64 = 0
  }

  /// The paths a command line names: every argument, or the value of `--option=value`, or the
  /// file of `BUNDLE.npz:NAME`, that exists is read; the value of `--output` is written.
  static func plan(_ arguments: [String]) -> Plan {
    var plan = Plan()
    var outputNext = false, lockNext = false
    for argument in arguments {
      var value = argument
      var isOutput = outputNext, isLock = lockNext
      outputNext = false
      lockNext = false
      if argument.hasPrefix("--") {
        guard let equals = argument.firstIndex(of: "=") else {
          outputNext = argument == "--output"
          lockNext = argument == "--lock"
          continue
        }
        isOutput = argument[..<equals] == "--output"
        isLock = argument[..<equals] == "--lock"
        value = String(argument[argument.index(after: equals)...])
      }
      if isOutput {
        plan.writes.append(value)
        continue
      }
      if isLock { lockedModels(value, into: &plan) }
      for candidate in [value, value.lastIndex(of: ":").map { String(value[..<$0]) }].compactMap({ $0 }) where !candidate.isEmpty {
        guard let found = status(candidate) else { continue }
        plan.reads.append(candidate)
        plan.bytes += found.isDirectory ? folderBytes(candidate) : found.bytes
        break
      }
    }
    return plan
  }

  /// `verify --lock FILE`: the lockfile's folder (where models not yet listed are looked for)
  /// and every model it lists that lies in that folder or in the current one (a lockfile, which a
  /// pull request can change too, opens nothing else to the reader).
  static func lockedModels(_ lock: String, into plan: inout Plan) {
    let folder = URL(fileURLWithPath: lock).deletingLastPathComponent()
    plan.reads.append(folder.path)
    plan.bytes += folderBytes(folder.path)
    let roots = [folder.standardizedFileURL.path, URL(fileURLWithPath: FileManager.default.currentDirectoryPath).standardizedFileURL.path]
      .map { $0.hasSuffix("/") ? $0 : $0 + "/" }
    guard let data = FileManager.default.contents(atPath: lock),
      let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let models = json["models"] as? [[String: Any]]
    else { return }
    for case let path? in models.map({ $0["path"] as? String }) where !path.hasPrefix("/") {
      let model = folder.appendingPathComponent(path).standardizedFileURL.path
      guard roots.contains(where: { model.hasPrefix($0) }), let found = status(model), !found.isDirectory else { continue }
      plan.reads.append(model)
      plan.bytes = max(plan.bytes, found.bytes)
    }
  }

  /// Whether `path` exists, is a folder, and its size: one stat (FileManager's attributes also
  /// look up the owner's and group's names, which costs more than the rest of the sandbox).
  static func status(_ path: String) -> (isDirectory: Bool, bytes: UInt64)? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return ((info.st_mode & S_IFMT) == S_IFDIR, UInt64(max(0, info.st_size)))
  }

  /// The bytes of the model files in a folder `verify` reads (.h5, .hdf5, .keras; it reads two
  /// at a time at most, so the two largest), looking at no more than 100,000 entries and counting
  /// no more than 64 GiB.
  static func folderBytes(_ path: String) -> UInt64 {
    guard let entries = FileManager.default.enumerator(atPath: path) else { return 0 }
    var largest: [UInt64] = [0, 0]
    var seen = 0
    while let entry = entries.nextObject() as? String, seen < 100_000 {
      seen += 1
      guard [".h5", ".hdf5", ".keras"].contains(where: { entry.lowercased().hasSuffix($0) }) else { continue }
      let bytes = status(path + "/" + entry)?.bytes ?? 0
      if bytes > largest[1] { largest = [bytes, largest[0]].sorted(by: >) }
    }
    return min(largest[0] + largest[1], 64 << 30)
  }

  /// Address space allowed: 6 GiB plus four times the files read, or `KERAS_INSPECT_MEMORY_LIMIT` MiB.
  static func addressSpace(_ plan: Plan, environment: Environment) -> UInt64 {
    if let mib = environment["KERAS_INSPECT_MEMORY_LIMIT"].flatMap(UInt64.init), mib > 0 { return mib << 20 }
    return (6 << 30) + 4 * plan.bytes
  }

  /// Applies the sandbox to this process; returns what `--verbose` reports.
  @discardableResult
  static func apply(_ arguments: [String], environment: Environment) -> String {
    if environment["KERAS_INSPECT_NO_SANDBOX"].map({ !$0.isEmpty && $0 != "0" }) ?? false {
      return "sandbox: off (KERAS_INSPECT_NO_SANDBOX)"
    }
    let plan = plan(arguments)
    // An output that does not exist yet is created now, empty, so that the rule can name the
    // file itself rather than its whole folder.
    for path in plan.writes where !FileManager.default.fileExists(atPath: path) {
      _ = FileManager.default.createFile(atPath: path, contents: nil)
    }
    let limit = addressSpace(plan, environment: environment)
    let limited = csandbox_limits(limit, limit, 1024) == 0
    var abi = csandbox_landlock_abi()
    #if DEBUG
      // Tests only: the path of a kernel without Landlock, on one that has it.
      if environment["KERAS_INSPECT_TEST_NO_LANDLOCK"] == "1" { abi = 0 }
    #endif
    guard abi > 0 else {
      let privileges = noNewPrivileges()
      #if DEBUG
        if let probe = environment["KERAS_INSPECT_TEST_SANDBOX_PROBE"] { Self.probe(probe) }
      #endif
      return "sandbox: no Landlock on this system\(privileges)" + (limited ? "; resource limits set" : "")
    }
    let ruleset = csandbox_ruleset(abi)
    guard ruleset >= 0 else {
      return "sandbox: Landlock ruleset refused; running without it\(noNewPrivileges())"
    }
    for path in plan.reads + systemReads { _ = csandbox_allow(ruleset, abi, path, Int32(CSANDBOX_READ)) }
    for path in plan.writes { _ = csandbox_allow(ruleset, abi, path, Int32(CSANDBOX_WRITE)) }
    guard csandbox_enforce(ruleset) == 0 else {
      return "sandbox: Landlock could not be enforced; running without it\(noNewPrivileges())"
    }
    #if DEBUG
      if let probe = environment["KERAS_INSPECT_TEST_SANDBOX_PROBE"] { Self.probe(probe) }
    #endif
    return "sandbox: Landlock ABI \(abi): reads \(plan.reads.count) path(s), writes \(plan.writes.count); no new privileges; address space \(limit >> 20) MiB"
  }

  /// Sets no-new-privileges where Landlock is not enforced; what `--verbose` says of it.
  static func noNewPrivileges() -> String {
    csandbox_no_new_privileges() == 0 ? "; no new privileges" : ""
  }

  /// Tests only: whether this process may still read and write `path` and create a file beside
  /// it, whether it has no-new-privileges, its address-space cap and the glibc tunables it was
  /// started with, on stderr.
  static func probe(_ path: String) {
    let read = FileHandle(forReadingAtPath: path) != nil
    let write = FileHandle(forWritingAtPath: path) != nil
    let beside = path + ".created"
    let created = FileManager.default.createFile(atPath: beside, contents: Data("x".utf8))
    if created { try? FileManager.default.removeItem(atPath: beside) }
    func said(_ allowed: Bool) -> String { allowed ? "allowed" : "denied" }
    printError(
      "keras-inspect: sandbox probe \(path): read \(said(read)), write \(said(write)), create beside \(said(created)); "
        + "no_new_privs \(csandbox_has_no_new_privileges()); address space \(csandbox_address_space() >> 20) MiB; "
        + "tunables \(Environment()[HugePages.tunablesVariable] ?? "none")")
  }
}
