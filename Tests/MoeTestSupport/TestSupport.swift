// TestSupport: repo paths, subprocesses (the moe binary, the Chainer venv), temp folders and array comparison.
import Foundation
import MoeSite
import XCTest

/// Shared helpers for MoeKit's test targets.
public enum TestSupport {
  /// The repository root (this file is Tests/MoeTestSupport/TestSupport.swift).
  public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// The `moe` binary of the configuration the tests were built in (MOE_BIN overrides).
  public static var moeBinary: URL {
    if let p = ProcessInfo.processInfo.environment["MOE_BIN"] { return URL(fileURLWithPath: p) }
    // The test runner lives in the build folder beside the `moe` product built with it.
    let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var candidates = [runner.deletingLastPathComponent().appendingPathComponent("moe")]
    if runner.path.contains(".xctest/") {
      var u = runner
      while u.pathExtension != "xctest" && u.path != "/" { u = u.deletingLastPathComponent() }
      candidates.insert(u.deletingLastPathComponent().appendingPathComponent("moe"), at: 0)
    }
    candidates += [root.appendingPathComponent(".build/release/moe"), root.appendingPathComponent(".build/debug/moe")]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
  }

  /// A new empty folder under the system temp directory.
  public static func temporaryDirectory(_ label: String = "moekit") throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
  }

  /// The result of a finished subprocess.
  public struct Result {
    public var status: Int32
    /// True when the process ended by a signal (a Swift trap, a crash).
    public var crashed: Bool
    public var stdout: String
    public var stderr: String
  }

  /// Runs a program to completion with no stdin.
  @discardableResult
  public static func run(_ executable: URL, _ arguments: [String], cwd: URL? = nil) throws -> Result {
    let r = try Subprocess.run(executable, arguments, cwd: cwd)
    return Result(status: r.status, crashed: r.crashed, stdout: String(decoding: r.stdout, as: UTF8.self),
                  stderr: String(decoding: r.stderr, as: UTF8.self))
  }

  /// Runs `moe ARGS`.
  @discardableResult
  public static func moe(_ arguments: [String]) throws -> Result { try run(moeBinary, arguments) }

  /// Runs a Python script of Converters/ in the project's venv; fails the test on a non-zero exit.
  @discardableResult
  public static func python(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> Result {
    let r = try run(root.appendingPathComponent("Converters/py"), arguments, cwd: root)
    if r.status != 0 {
      XCTFail("python \(arguments.joined(separator: " ")) failed (\(r.status)): \(r.stderr.suffix(2000))", file: file, line: line)
      throw NSError(domain: "TestSupport", code: Int(r.status))
    }
    return r
  }

  /// Writes a Chainer fixture (checkpoint, inputs, Chainer outputs) for the SRResNet generator.
  public static func chainerGeneratorFixture(c: Int, b: Int, u: Int, n: Int, batches: [Int], seed: Int = 0,
                                             prefix: String? = nil, in dir: URL) throws -> URL {
    var args = ["Converters/chainer/make_fixture.py", "--arch", "srresnet-generator", "--C", "\(c)", "--B", "\(b)",
                "--U", "\(u)", "--n", "\(n)", "--seed", "\(seed)", "--out", dir.path]
    for batch in batches { args += ["--batch", "\(batch)"] }
    if let prefix { args += ["--prefix", prefix] }
    try python(args)
    return dir
  }

  /// Largest absolute difference; fails on a shape or count mismatch.
  public static func maxAbsDiff(_ a: [Float], _ b: [Float], file: StaticString = #filePath, line: UInt = #line) -> Float {
    XCTAssertEqual(a.count, b.count, "element counts", file: file, line: line)
    var m: Float = 0
    for (x, y) in zip(a, b) {
      let d = abs(x - y)
      if d.isNaN { return .infinity }
      m = max(m, d)
    }
    return m
  }

}

/// A fixture written by `Converters/chainer/make_fixture.py` (its `fixture.json`).
public struct ChainerFixture: Decodable {
  public struct Item: Decodable {
    public var name: String
    public var file: String
  }
  public struct Batch: Decodable {
    public var batch: Int
    public var inputs: [Item]
    public var outputs: [Item]
  }
  public var arch: String
  public var dir: String
  public var checkpoint: String
  public var prefix: String
  public var batches: [Batch]

  public var checkpointURL: URL { URL(fileURLWithPath: dir).appendingPathComponent(checkpoint) }
  public func url(_ item: Item) -> URL { URL(fileURLWithPath: dir).appendingPathComponent(item.file) }

  /// Runs make_fixture.py with `arguments` (after `--arch ARCH`) into a new folder of `parent`.
  public static func make(_ arch: String, _ arguments: [String], in parent: URL, file: StaticString = #filePath, line: UInt = #line) throws -> ChainerFixture {
    let dir = parent.appendingPathComponent("\(arch)-\(UUID().uuidString.prefix(6))")
    try TestSupport.python(["Converters/chainer/make_fixture.py", "--arch", arch, "--out", dir.path] + arguments, file: file, line: line)
    return try JSONDecoder().decode(ChainerFixture.self, from: Data(contentsOf: dir.appendingPathComponent("fixture.json")))
  }
}
