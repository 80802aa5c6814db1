import Foundation
import Testing

/// `Fixtures/outside`: files that would make a reader read other files. The outside files sit
/// in the same folder, holding a marker value no fixture contains, and the commands run from
/// there, where the relative names inside the hostile files would find them.
let outsideFolder = fixtures.appendingPathComponent("outside")
let outsideCorpus: [CorpusEntry] = corpusEntries("outside")
/// The value the outside files hold, as any output would print it.
let outsideMarker = "31337.25"

@Suite("A model file is read alone")
struct OutsideTests {
  @Test("nothing outside the file is followed: exit and message as expected, the outside value never shown", arguments: outsideCorpus)
  func readAlone(_ entry: CorpusEntry) throws {
    let name = URL(fileURLWithPath: entry.file).lastPathComponent
    for command in [[name], ["summary", name], ["weights", name], ["weights", "--format", "json", name], ["verify", name]] {
      let result = try run(command, directory: outsideFolder)
      #expect(result.status == entry.exit ?? result.status, "\(command): \(result.stderr)")
      #expect(result.status != 0 || entry.exit == 0, "\(command) exited 0")
      #expect(!result.stdout.contains(outsideMarker) && !result.stderr.contains(outsideMarker), "\(command) showed the outside file's values")
      guard entry.exit == 2 else { continue }
      if command.first == "verify" {
        // verify reports each file it could not read in its report, and goes on with the others.
        #expect(result.stdout.contains("ERROR \(name): ") && result.stdout.contains(entry.message), "\(command): \(result.stdout)")
      } else {
        #expect(result.stderr.contains(entry.message), "\(command): \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(command): more than one line: \(result.stderr)")
      }
    }
  }

  @Test("the corpus covers every way out the issue names")
  func complete() {
    let names = Set(outsideCorpus.map { URL(fileURLWithPath: $0.file).lastPathComponent })
    for expected in ["external_storage.h5", "external_link_weight.h5", "external_link_group.h5", "virtual_dataset.h5", "plugin_filter.h5",
                     "soft_link_loop.h5", "soft_link_dangling.h5", "archive_external_link.keras", "archive_hard_link_cycle.keras",
                     "archive_duplicate_entry.keras", "archive_escaping_entries.keras"] {
      #expect(names.contains(expected), "missing \(expected)")
    }
  }
}
