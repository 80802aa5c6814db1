import ArgumentParser
import Foundation
import KerasInspect

enum GraphFormat: String, ExpressibleByArgument, CaseIterable {
  case dot, mermaid, svg
}

struct GraphCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "graph",
    abstract: "Draw the model's graph as plot_model does: Graphviz DOT, Mermaid, or SVG (through Graphviz's dot).",
    discussion: """
      One node per layer (name, class, output shape, params), edges from the calls' inputs, nested
      models as clusters with --expand-nested. `--format svg` runs Graphviz's `dot -Tsvg` on the DOT
      (outside the sandboxed reader); install Graphviz for it (Debian: apt-get install graphviz).
      """
  )
  @OptionGroup var verboseOption: VerboseOption

  @OptionGroup var model: ModelArgument

  @Option(help: "Output format: dot (Graphviz source), mermaid (renders in GitHub Markdown) or svg.")
  var format: GraphFormat = .dot

  @Flag(help: "Nested models' layers as clusters instead of one node each.")
  var expandNested = false

  func run() throws {
    // svg is made in the parent (Entry.svgGraph) from this command's DOT; here it is DOT.
    let inspection = try model.open()
    let graph = ModelGraph(analysis: inspection.analysis, expandNested: expandNested)
    print(format == .mermaid ? graph.mermaid() : graph.dot(), terminator: "")
  }
}

extension GraphCommand {
  /// `graph ... --format svg`: this program (contained and sandboxed as always) writes the DOT,
  /// and Graphviz's `dot`, run here outside the sandbox, turns it into SVG on stdout. Nil when
  /// the arguments are not such a command.
  static func svg(_ arguments: [String]) -> Int32? {
    guard arguments.first == configuration.commandName else { return nil }
    var rest = Array(arguments.dropFirst())
    guard let index = rest.firstIndex(where: { $0 == "--format" || $0 == "--format=svg" }) else { return nil }
    if rest[index] == "--format=svg" {
      rest[index] = "--format=dot"
    } else {
      guard index + 1 < rest.count, rest[index + 1] == "svg" else { return nil }
      rest[index + 1] = "dot"
    }
    let graphviz = ["/usr/bin/dot", "/usr/local/bin/dot", "/opt/homebrew/bin/dot"].first { FileManager.default.isExecutableFile(atPath: $0) }
    guard let graphviz else {
      printError("keras-inspect: --format svg needs Graphviz's dot, which is not installed (Debian: apt-get install graphviz; macOS: brew install graphviz); --format dot prints its source")
      return 2
    }
    let reader = Process(), drawer = Process()
    reader.executableURL = FileManager.default.fileExists(atPath: "/proc/self/exe")
      ? URL(fileURLWithPath: "/proc/self/exe") : Bundle.main.executableURL
    reader.arguments = [configuration.commandName!] + rest
    drawer.executableURL = URL(fileURLWithPath: graphviz)
    drawer.arguments = ["-Tsvg"]
    let source = Pipe()
    reader.standardOutput = source
    drawer.standardInput = source
    do {
      try reader.run()
      try drawer.run()
      // Only the two processes hold the pipe now: dot sees its end when the reader is done.
      try source.fileHandleForWriting.close()
      try source.fileHandleForReading.close()
    } catch {
      printError("keras-inspect: cannot run \(graphviz): \(error.localizedDescription)")
      return 2
    }
    reader.waitUntilExit()
    drawer.waitUntilExit()
    // Output into a pipe that closed early (`| head`): quiet, as everywhere else.
    if drawer.terminationReason == .uncaughtSignal, drawer.terminationStatus == SIGPIPE { return 141 }
    // dot's own failure first: the reader may then have died writing to it.
    if drawer.terminationStatus != 0 {
      printError("keras-inspect: \(graphviz) -Tsvg failed (exit \(drawer.terminationStatus))")
      return 2
    }
    return reader.terminationStatus
  }
}
