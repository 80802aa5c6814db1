import Foundation
import KerasModel

/// How verification results are written.
public enum ReportFormat: String, Sendable, CaseIterable {
  case text, json, junit, github, markdown
}

/// Renders verification reports. The JSON form is versioned (`"schema"`, `"version"`).
public struct VerificationReport: Sendable {
  public static let schema = "keras-inspect/verify"
  public static let version = 1

  public let files: [FileReport]

  public init(files: [FileReport]) {
    self.files = files
  }

  public var passed: Int { files.filter { $0.status == .passed }.count }
  public var failed: Int { files.filter { $0.status == .failed }.count }
  public var errors: Int { files.filter { $0.status == .error }.count }

  /// 0 all checks passed, 1 a check failed, 2 a file could not be read as a Keras model.
  public var exitCode: Int32 { errors > 0 ? 2 : failed > 0 ? 1 : 0 }

  public func render(_ format: ReportFormat, color: Bool = false) -> String {
    switch format {
    case .text: text(color: color)
    case .json: json().render() + "\n"
    case .junit: junit()
    case .github: github()
    case .markdown: markdown()
    }
  }

  // MARK: Markdown

  /// For `$GITHUB_STEP_SUMMARY` and pull-request comments: a headline, one table row per file
  /// (status, file, format, Keras version, params, failed checks), then the details of the
  /// failures and errors only.
  func markdown() -> String {
    func cell(_ s: String) -> String {
      s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
    func code(_ s: String) -> String { "`" + s.replacingOccurrences(of: "`", with: "'") + "`" }
    var lines = [
      "### keras-inspect: \(files.count) file(s), \(passed) passed, \(failed) failed, \(errors) could not be read", "",
      "| Status | File | Format | Keras | Params | Failed checks |",
      "|---|---|---|---|---:|---|",
    ]
    for file in files {
      let status = file.status == .passed ? "✅ passed" : file.status == .failed ? "❌ failed" : "⚠️ error"
      let failedChecks = file.status == .error ? "could not be read" : file.checks.filter { !$0.passed }.map(\.id).joined(separator: ", ")
      let row = [status, code(file.path), file.format ?? "", file.kerasVersion ?? "", file.totalParams.map(String.init) ?? "", failedChecks]
      lines.append("| " + row.map(cell).joined(separator: " | ") + " |")
    }
    let troubled = files.filter { $0.status != .passed }
    if !troubled.isEmpty {
      lines += ["", "#### Failures"]
      for file in troubled {
        lines += ["", "**\(code(file.path))**", ""]
        if let error = file.error {
          lines.append("- could not be read: \(error)")
        }
        for check in file.checks where !check.passed {
          lines.append("- **\(check.id)**: \(check.summary)")
          for detail in check.details.prefix(20) { lines.append("  - \(detail)") }
          if check.details.count > 20 { lines.append("  - (\(check.details.count - 20) more)") }
        }
      }
    }
    return lines.map { $0 + "\n" }.joined()
  }

  // MARK: Text

  func text(color: Bool) -> String {
    func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
    var lines: [String] = []
    for file in files {
      switch file.status {
      case .error:
        lines.append("\(paint("ERROR", "31;1")) \(file.path): \(file.error ?? "")")
      case .passed, .failed:
        let head = file.status == .passed ? paint("PASS", "32;1") : paint("FAIL", "31;1")
        let about = [file.format, file.kerasVersion.map { "Keras \($0)" }, file.totalParams.map { "\($0) params" }].compactMap { $0 }.joined(separator: ", ")
        lines.append("\(head)  \(file.path) (\(about))")
        for check in file.checks { lines += check.textLines(color: color) }
        if let sha = file.weightsSHA256 { lines.append("  weights SHA-256: \(sha)") }
      }
    }
    lines.append("\(files.count) file(s): \(passed) passed, \(failed) failed, \(errors) could not be read")
    return lines.map { $0 + "\n" }.joined()
  }

  // MARK: JSON

  /// `{"schema", "version", "keras_inspect_version", "files": [{"file", "status", "format", "keras_version", "error",
  /// "total_params", "weights_sha256", "checks": [{"id", "passed", "summary", "details"}]}],
  /// "passed", "failed", "errors"}`.
  public func json() -> OrderedJSON {
    .object([
      ("schema", .string(Self.schema)),
      ("version", .int(Self.version)),
      ("keras_inspect_version", .string(ToolVersion.semantic)),
      ("files", .array(files.map { file in
        .object([
          ("file", .string(file.path)),
          ("status", .string(file.status.rawValue)),
          ("format", file.format.map(OrderedJSON.string) ?? .null),
          ("keras_version", file.kerasVersion.map(OrderedJSON.string) ?? .null),
          ("error", file.error.map(OrderedJSON.string) ?? .null),
          ("total_params", file.totalParams.map(OrderedJSON.int) ?? .null),
          ("weights_sha256", file.weightsSHA256.map(OrderedJSON.string) ?? .null),
          ("checks", .array(file.checks.map { check in
            .object([
              ("id", .string(check.id)),
              ("passed", .bool(check.passed)),
              ("skipped", .bool(check.skipped)),
              ("summary", .string(check.summary)),
              ("details", .array(check.details.map(OrderedJSON.string))),
            ])
          })),
        ])
      })),
      ("passed", .int(passed)),
      ("failed", .int(failed)),
      ("errors", .int(errors)),
    ])
  }

  // MARK: JUnit XML

  static func xml(_ s: String) -> String {
    var out = ""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&apos;"
      case "\n": out += "&#10;"
      case "\t": out += "&#9;"
      default:
        // XML 1.0 allows no other control characters.
        if scalar.value < 0x20 || (0xD800...0xDFFF).contains(scalar.value) || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
          out += "?"
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out
  }

  /// One `<testsuite>` per file and one `<testcase>` per check; a file that cannot be read is one
  /// test case with an `<error>`.
  func junit() -> String {
    let failures = files.reduce(0) { $0 + $1.checks.filter { !$0.passed }.count }
    let tests = files.reduce(0) { $0 + max(1, $1.checks.count) }
    var lines = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
      "<testsuites name=\"keras-inspect\" tests=\"\(tests)\" failures=\"\(failures)\" errors=\"\(errors)\">"]
    let properties = "    <properties><property name=\"keras_inspect_version\" value=\"\(ToolVersion.semantic)\"/></properties>"
    for file in files {
      let name = Self.xml(file.path)
      if let error = file.error {
        lines.append("  <testsuite name=\"\(name)\" tests=\"1\" failures=\"0\" errors=\"1\">")
        lines.append(properties)
        lines.append("    <testcase classname=\"\(name)\" name=\"opens\">")
        lines.append("      <error message=\"\(Self.xml(error))\" type=\"unreadable\"></error>")
        lines.append("    </testcase>")
      } else {
        let failed = file.checks.filter { !$0.passed }.count
        let skipped = file.checks.filter(\.skipped).count
        lines.append("  <testsuite name=\"\(name)\" tests=\"\(file.checks.count)\" failures=\"\(failed)\" errors=\"0\" skipped=\"\(skipped)\">")
        lines.append(properties)
        for check in file.checks {
          if check.skipped {
            lines.append("    <testcase classname=\"\(name)\" name=\"\(Self.xml(check.id))\">")
            lines.append("      <skipped message=\"\(Self.xml(check.summary))\"></skipped>")
            lines.append("    </testcase>")
          } else if check.passed {
            lines.append("    <testcase classname=\"\(name)\" name=\"\(Self.xml(check.id))\"></testcase>")
          } else {
            lines.append("    <testcase classname=\"\(name)\" name=\"\(Self.xml(check.id))\">")
            lines.append("      <failure message=\"\(Self.xml(check.summary))\" type=\"\(Self.xml(check.id))\">\(Self.xml(check.details.joined(separator: "\n")))</failure>")
            lines.append("    </testcase>")
          }
        }
      }
      lines.append("  </testsuite>")
    }
    lines.append("</testsuites>")
    return lines.map { $0 + "\n" }.joined()
  }

  // MARK: GitHub Actions

  /// Workflow-command escaping: `%`, CR and LF in messages; also `:` and `,` in properties.
  static func escape(_ s: String, property: Bool = false) -> String {
    var out = s.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D").replacingOccurrences(of: "\n", with: "%0A")
    if property { out = out.replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C") }
    return out
  }

  /// `::error file=...,title=...::message` for every failed check and unreadable file.
  func github() -> String {
    var lines: [String] = []
    for file in files {
      let location = "file=\(Self.escape(file.path, property: true))"
      if let error = file.error {
        lines.append("::error \(location),title=\(Self.escape("keras-inspect: cannot read model", property: true))::\(Self.escape(error))")
        continue
      }
      for check in file.checks where !check.passed {
        let message = ([check.summary] + check.details).joined(separator: "\n")
        lines.append("::error \(location),title=\(Self.escape("keras-inspect \(check.id)", property: true))::\(Self.escape(message))")
      }
    }
    lines.append("keras-inspect: \(files.count) file(s): \(passed) passed, \(failed) failed, \(errors) could not be read")
    return lines.map { $0 + "\n" }.joined()
  }
}

extension FileReport {
  /// The files of a `verify --format json` report (schema version 1).
  public static func parse(json text: String) -> [FileReport] {
    guard let json = try? JSONValue.parse(text), json["schema"]?.string == VerificationReport.schema,
      let files = json["files"]?.array
    else { return [] }
    return files.compactMap { file in
      guard let path = file["file"]?.string else { return nil }
      let checks = (file["checks"]?.array ?? []).map { check in
        CheckResult(
          id: check["id"]?.string ?? "", passed: check["passed"]?.bool ?? false, summary: check["summary"]?.string ?? "",
          details: (check["details"]?.array ?? []).compactMap(\.string), skipped: check["skipped"]?.bool ?? false)
      }
      return FileReport(
        path: path, format: file["format"]?.string, kerasVersion: file["keras_version"]?.string, error: file["error"]?.string,
        checks: checks, weightsSHA256: file["weights_sha256"]?.string, totalParams: file["total_params"]?.int)
    }
  }
}
