// NumpyOracle: runs python3 + numpy at test time to make reference files and check ours.
import Foundation
import MoeFormats
import XCTest

/// Runs Python scripts with numpy; the reference implementation every test compares against.
enum NumpyOracle {
  /// Imported by every script.
  static let prelude = "import sys, os, json, zipfile\nimport numpy as np\n"

  /// Runs `script` with `python3 -c`, passing `arguments` as `sys.argv[1...]`; returns stdout.
  /// Fails the calling test (no skipping) when python3 or numpy is missing or the script fails.
  static func run(_ script: String, _ arguments: [String] = [], file: StaticString = #filePath, line: UInt = #line)
    throws -> String
  {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", prelude + script] + arguments
    let stdout = Pipe()
    let stderrURL = FileManager.default.temporaryDirectory.appendingPathComponent("oracle-\(UUID().uuidString).err")
    _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: stderrURL) }
    process.standardOutput = stdout
    process.standardError = try FileHandle(forWritingTo: stderrURL)
    try process.run()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      let errors = (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
      XCTFail("python3 + numpy failed (status \(process.terminationStatus)): \(errors)", file: file, line: line)
      throw OracleError.failed(errors)
    }
    return String(decoding: output, as: UTF8.self)
  }

  enum OracleError: Error { case failed(String) }
}

/// A fresh directory removed when the value is released.
final class TemporaryDirectory {
  let url: URL
  init() throws {
    url = FileManager.default.temporaryDirectory.appendingPathComponent("moeformats-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }
  deinit { try? FileManager.default.removeItem(at: url) }
  func file(_ name: String) -> URL { url.appendingPathComponent(name) }
}

/// The one-line error contract: a `MoeFormatError`, one line, naming `path` (and `key` if given).
func assertFormatError(
  _ body: () throws -> Void, kind: MoeFormatErrorKindCheck = .any, path: String? = nil, key: String? = nil,
  contains: String? = nil, file: StaticString = #filePath, line: UInt = #line
) {
  do {
    try body()
    XCTFail("expected a MoeFormatError, got success", file: file, line: line)
  } catch let error as MoeFormatError {
    let text = error.description
    XCTAssertFalse(text.contains("\n"), "multi-line error: \(text)", file: file, line: line)
    if case .kind(let expected) = kind { XCTAssertEqual(error.kind, expected, text, file: file, line: line) }
    if let path { XCTAssertTrue(text.hasPrefix(path + ": "), "error does not start with the path: \(text)", file: file, line: line) }
    if let key { XCTAssertTrue(text.contains("key '\(key)'"), "error does not name key '\(key)': \(text)", file: file, line: line) }
    if let contains { XCTAssertTrue(text.contains(contains), "error lacks '\(contains)': \(text)", file: file, line: line) }
  } catch {
    XCTFail("expected a MoeFormatError, got \(type(of: error)): \(error)", file: file, line: line)
  }
}

/// Which error kind `assertFormatError` requires.
enum MoeFormatErrorKindCheck {
  case any
  case kind(MoeFormatError.Kind)
}

/// Compares two arrays, reporting dtype, shape or the first differing byte (never the whole data).
func assertSameArray(
  _ actual: NpyArray?, _ expected: NpyArray?, _ label: String, file: StaticString = #filePath, line: UInt = #line
) {
  guard let actual, let expected else {
    if actual != nil || expected != nil { XCTFail("\(label): one array is missing", file: file, line: line) }
    return
  }
  XCTAssertEqual(actual.dtype, expected.dtype, label, file: file, line: line)
  XCTAssertEqual(actual.shape, expected.shape, label, file: file, line: line)
  XCTAssertEqual(actual.data.count, expected.data.count, "\(label): data length", file: file, line: line)
  if let index = zip(actual.data, expected.data).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
    XCTFail("\(label): data differs first at byte \(index)", file: file, line: line)
  }
}

/// Compares two key → array maps key by key.
func assertSameArrays(
  _ actual: [String: NpyArray], _ expected: [String: NpyArray], _ label: String,
  file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertEqual(actual.keys.sorted(), expected.keys.sorted(), label, file: file, line: line)
  for (key, array) in expected { assertSameArray(actual[key], array, "\(label): \(key)", file: file, line: line) }
}
