import Foundation
import Testing

/// A bad-file corpus entry: the answer keras-inspect must give.
struct CorpusEntry: Decodable, CustomStringConvertible, Sendable {
  let exit: Int32?
  let message: String
  var file = ""

  enum CodingKeys: String, CodingKey { case exit, message }
  var description: String { file }
}

/// The entries of a corpus folder's `expected.json`, with their file paths, in name order.
func corpusEntries(_ folder: String) -> [CorpusEntry] {
  let dir = fixtures.appendingPathComponent(folder)
  guard let data = try? Data(contentsOf: dir.appendingPathComponent("expected.json")),
    let entries = try? JSONDecoder().decode([String: CorpusEntry].self, from: data)
  else { return [] }
  return entries.sorted { $0.key < $1.key }.map { name, entry in
    var e = entry
    e.file = dir.appendingPathComponent(name).path
    return e
  }
}

/// `Fixtures/corrupt` (generated) and `Fixtures/fuzz-found` (inputs the fuzzer found).
let corpus: [CorpusEntry] = corpusEntries("corrupt") + corpusEntries("fuzz-found")

/// `Fixtures/corrupt/npy`: damaged input arrays.
let npyCorpus: [CorpusEntry] = corpusEntries("corrupt/npy")

func run(_ arguments: [String], timeout: String) throws -> (Run, Double) {
  var environment = ProcessInfo.processInfo.environment
  environment["KERAS_INSPECT_TIMEOUT"] = timeout
  let start = Date()
  let result = try run(arguments, environment: environment)
  return (result, Date().timeIntervalSince(start))
}

@Suite("Broken and hostile files")
struct CorpusTests {
  @Test("the corpus is there")
  func present() {
    #expect(corpus.count >= 70)
  }

  @Test("every corpus file: the documented exit code, one clear line, within 2 s, never a signal", arguments: corpus)
  func answered(_ entry: CorpusEntry) throws {
    let (result, seconds) = try run([entry.file], timeout: "1.5")
    #expect(seconds < 2.0, "took \(seconds) s")
    if let code = entry.exit {
      #expect(result.status == code, "\(result.stderr)")
    } else {
      #expect([0, 1, 2].contains(result.status), "\(result.stderr)")
    }
    if result.status == 2 {
      let lines = result.stderr.split(separator: "\n")
      #expect(lines.count == 1, "\(result.stderr)")
      #expect(lines.first?.hasPrefix("keras-inspect: \(entry.file): ") == true)
      #expect(entry.message.isEmpty || result.stderr.contains(entry.message))
    } else {
      #expect(result.stdout.contains("Checks:"))
    }
  }

  @Test("damaged input arrays for predict: exit 2 naming the file (64 for a readable array of the wrong shape)", arguments: npyCorpus)
  func arrays(_ entry: CorpusEntry) throws {
    let (result, seconds) = try run(["predict", fixture("keras2/lstm_worked_example.h5"), "--input", entry.file, "--output", "/dev/null"], timeout: "1.5")
    #expect(seconds < 2.0)
    #expect(result.status == entry.exit)
    #expect(result.stderr.contains(entry.message), "\(result.stderr)")
    if entry.exit == 2 {
      #expect(result.stderr.split(separator: "\n").count == 1)
      #expect(result.stderr.hasPrefix("keras-inspect: \(entry.file): "))
    }
  }

  @Test("no corpus run needed more than 200 MB, and the files were left untouched")
  func memoryAndReadOnly() throws {
    let manager = FileManager.default
    func snapshot(_ folder: String) throws -> [String: (Data, Date?)] {
      let dir = fixtures.appendingPathComponent(folder)
      var result: [String: (Data, Date?)] = [:]
      for name in try manager.contentsOfDirectory(atPath: dir.path) {
        let path = dir.appendingPathComponent(name).path
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { continue }
        result[name] = (try Data(contentsOf: URL(fileURLWithPath: path)), try manager.attributesOfItem(atPath: path)[.modificationDate] as? Date)
      }
      return result
    }
    let before = try snapshot("corrupt")
    for entry in corpus where entry.file.contains("/corrupt/") {
      _ = try run(["verify", entry.file], timeout: "1.5")
    }
    let after = try snapshot("corrupt")
    #expect(Set(before.keys) == Set(after.keys), "no file created or removed beside the inputs")
    for (name, (bytes, date)) in before {
      #expect(after[name]?.0 == bytes && after[name]?.1 == date, "\(name) changed")
    }
    var usage = rusage()
    getrusage(RUSAGE_CHILDREN.rawValue, &usage)
    // ru_maxrss is in KiB: the largest of every keras-inspect process this test run waited for.
    #expect(usage.ru_maxrss < 200 * 1024, "peak \(usage.ru_maxrss / 1024) MB")
  }

  @Test("verify over many files: a file that crashes or hangs libhdf5 is named, the others still reported")
  func verifyIsolatesCrashes() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keras-inspect-crashes-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    for source in ["keras2/lstm_worked_example.h5", "keras3/multi_io.keras", "fuzz-found/global_heap_segv.h5", "fuzz-found/global_heap_reference_hang.h5"] {
      try FileManager.default.copyItem(atPath: fixture(source), toPath: dir.appendingPathComponent(URL(fileURLWithPath: source).lastPathComponent).path)
    }
    let (result, _) = try run(["verify", dir.path, "--format", "json"], timeout: "1.5")
    #expect(result.status == 2)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    let files = try #require(json["files"] as? [[String: Any]])
    let status = Dictionary(uniqueKeysWithValues: files.map { (URL(fileURLWithPath: $0["file"] as! String).lastPathComponent, $0["status"] as! String) })
    #expect(status == ["lstm_worked_example.h5": "passed", "multi_io.keras": "passed", "global_heap_segv.h5": "error", "global_heap_reference_hang.h5": "error"])
    let errors = files.compactMap { $0["error"] as? String }
    #expect(errors.contains { $0.contains("reading crashed with signal 11") })
    #expect(errors.contains { $0.contains("reading took longer than 1.5 s") })
  }

  @Test("summary, whose reader is forked at start-up: a file that crashes or hangs libhdf5 is one line, exit 2, within the limit")
  func summaryContained() throws {
    // A crash in what a summary reads: the file's attributes (global_heap_segv.h5 crashes in a
    // weight listing, which the summary of a model whose config accounts for its weights skips).
    let crash = fixtures.appendingPathComponent("fuzz-found/global_heap_overlapping_copy.h5").path
    let hang = fixtures.appendingPathComponent("fuzz-found/global_heap_reference_hang.h5").path
    let (crashed, _) = try run(["summary", crash], timeout: "1.5")
    #expect(crashed.status == 2 && crashed.stdout.isEmpty)
    #expect(crashed.stderr == "keras-inspect: \(crash): reading crashed with signal 11 (Segmentation fault), most likely inside the HDF5 library: the file is corrupt\n")
    let (hung, seconds) = try run(["summary", hang], timeout: "1.5")
    #expect(seconds < 2.5, "took \(seconds) s")
    #expect(hung.status == 2)
    #expect(hung.stderr == "keras-inspect: \(hang): reading took longer than 1.5 s and was stopped: the file is corrupt or hostile (KERAS_INSPECT_TIMEOUT sets the limit)\n")
  }

  @Test("a process killed by a signal while reading is reported as a corrupt file, exit 2")
  func signalContained() throws {
    let hang = fixtures.appendingPathComponent("fuzz-found/global_heap_reference_hang.h5").path
    let process = Process()
    process.executableURL = binary
    process.arguments = [hang]
    var environment = ProcessInfo.processInfo.environment
    environment["KERAS_INSPECT_TIMEOUT"] = "20"
    process.environment = environment
    let err = Pipe()
    process.standardError = err
    process.standardOutput = Pipe()
    try process.run()
    // The reading happens in a child of keras-inspect: find it and crash it as libhdf5 might.
    /// The process whose parent is keras-inspect, from /proc/PID/stat (field 4 is the parent).
    func childOf(_ parent: Int32) -> Int32? {
      for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
          let close = stat.range(of: ") ", options: .backwards)
        else { continue }
        let fields = stat[close.upperBound...].split(separator: " ")
        if fields.count > 1, Int32(fields[1]) == parent { return pid }
      }
      return nil
    }
    var child: Int32?
    for _ in 0..<200 where child == nil {
      usleep(10_000)
      child = childOf(process.processIdentifier)
    }
    let pid = try #require(child)
    usleep(200_000)
    kill(pid, SIGSEGV)
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationReason == .exit)
    #expect(process.terminationStatus == 2)
    #expect(String(decoding: stderr, as: UTF8.self) == "keras-inspect: \(hang): reading crashed with signal 11 (Segmentation fault), most likely inside the HDF5 library: the file is corrupt\n")
  }
}
