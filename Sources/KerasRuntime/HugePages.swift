/// Transparent huge pages for a process that reads a model: glibc's malloc asks for them over its
/// heap and its mapped blocks when started with `glibc.malloc.hugetlb=1` in `GLIBC_TUNABLES`
/// (glibc 2.35 and later; older versions ignore a tunable they do not know). The tunable is read
/// by the dynamic loader, so it takes effect in a process started with it: the CLI starts its
/// reading process so, and the benchmarks their loading processes.
///
/// Reading is thousands of small libhdf5 objects and, to run a model, tens to hundreds of MB of
/// weights touched once; with 4 KiB pages each first touch is a page fault, and faults are slow on
/// virtual machines. Measured on an AMD EPYC (Zen 4), 2 cores, interleaved runs: ResNet50 `verify
/// --bundle` 398 -> 331 ms median, DenseNet121 `summary` 51.5 -> 46.0 ms, loading 486 MB of
/// weights 0.62-0.77 -> 1.27-2.28 GB/s with the same peak memory, peak RSS of `bench` +1-2 MB.
/// The kernel's THP setting still decides (`never` keeps 4 KiB pages).
public enum HugePages {
  /// glibc's tunables variable.
  public static let tunablesVariable = "GLIBC_TUNABLES"
  static let tunable = "glibc.malloc.hugetlb"

  /// The tunables to start a reading process with: `user`'s own (the variable's value, if any),
  /// with huge pages for malloc added unless `user` already sets that tunable, either way.
  public static func tunables(_ user: String?) -> String {
    let hugePages = "\(tunable)=1"
    guard let user, !user.isEmpty else { return hugePages }
    let names = user.split(separator: ":").map { $0.split(separator: "=", maxSplits: 1).first.map(String.init) ?? "" }
    return names.contains(tunable) ? user : "\(user):\(hugePages)"
  }
}
