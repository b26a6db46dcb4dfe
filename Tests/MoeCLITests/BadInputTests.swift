// BadInputTests: broken checkpoints give one clear line naming file and key, exit ≠ 0, no trap, no output file.
import Foundation
import MoeTestSupport
import XCTest

final class BadInputTests: XCTestCase {
  static var dir: URL!
  static var good: URL { dir.appendingPathComponent("model.npz") }
  static var z: URL { dir.appendingPathComponent("z_b1.npy") }

  override class func setUp() {
    super.setUp()
    dir = try! TestSupport.temporaryDirectory("bad")
    _ = try! TestSupport.chainerGeneratorFixture(c: 8, b: 2, u: 1, n: 20, batches: [1], in: dir)
  }

  override class func tearDown() {
    try? FileManager.default.removeItem(at: dir)
    super.tearDown()
  }

  /// Runs `moe run` and `moe convert` on `model`; both must fail cleanly and mention every string in `mentions`.
  func assertFailsCleanly(_ model: URL, mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
    let out = Self.dir.appendingPathComponent("out-\(UUID().uuidString.prefix(6)).npy")
    let ir = Self.dir.appendingPathComponent("out-\(UUID().uuidString.prefix(6)).moeir")
    for args in [["run", model.path, "--input", Self.z.path, "-o", out.path], ["convert", model.path, "-o", ir.path]] {
      let r = try TestSupport.moe(args)
      XCTAssertFalse(r.crashed, "moe \(args[0]) crashed: \(r.stderr)", file: file, line: line)
      XCTAssertNotEqual(r.status, 0, "moe \(args[0]) should fail", file: file, line: line)
      let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("note:") && !$0.hasPrefix("Usage:") && !$0.contains("--help") }
      XCTAssertEqual(lines.count, 1, "one error line, got: \(r.stderr)", file: file, line: line)
      for m in mentions + [model.path] {
        XCTAssertTrue(r.stderr.contains(m), "'\(r.stderr)' should mention \(m)", file: file, line: line)
      }
    }
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: Self.dir.path).filter { $0.contains("out-") }
    XCTAssertEqual(leftovers, [], "no output or temp file left behind", file: file, line: line)
  }

  func corrupt(_ flag: String, _ value: String, name: String) throws -> URL {
    let out = Self.dir.appendingPathComponent(name)
    try TestSupport.python(["Converters/chainer/corrupt_npz.py", Self.good.path, out.path, flag, value])
    return out
  }

  func testTruncatedNPZ() throws {
    let data = try Data(contentsOf: Self.good)
    for fraction in [0.02, 0.5, 0.9, 0.999] {
      let cut = Self.dir.appendingPathComponent("truncated-\(fraction).npz")
      try data.prefix(Int(Double(data.count) * fraction)).write(to: cut)
      try assertFailsCleanly(cut, mentions: [])
    }
  }

  func testNotAZipFile() throws {
    let junk = Self.dir.appendingPathComponent("junk.npz")
    try Data("this is not a zip archive at all, just text\n".utf8).write(to: junk)
    try assertFailsCleanly(junk, mentions: ["zip"])
    let empty = Self.dir.appendingPathComponent("empty.npz")
    try Data().write(to: empty)
    try assertFailsCleanly(empty, mentions: [])
  }

  func testMissingKey() throws {
    try assertFailsCleanly(try corrupt("--missing", "res/1/c2/W", name: "missing.npz"), mentions: ["res/1/c2/W", "missing"])
  }

  func testWrongShapedKey() throws {
    try assertFailsCleanly(try corrupt("--wrong-shape", "res/0/b1/gamma", name: "shape.npz"), mentions: ["res/0/b1/gamma", "expected [8]"])
  }

  func testWrongDtype() throws {
    try assertFailsCleanly(try corrupt("--wrong-dtype", "cm/W:int32", name: "dtype.npz"), mentions: ["cm/W", "float"])
  }

  func testPickledObjectArray() throws {
    try assertFailsCleanly(try corrupt("--object", "out/b", name: "object.npz"), mentions: ["out/b"])
  }

  func testMissingModelFile() throws {
    try assertFailsCleanly(Self.dir.appendingPathComponent("nowhere.npz"), mentions: ["no such file"])
  }
}
