// BadInputTests: broken checkpoints (NPZ and HDF5) give one clear line naming file and key, exit ≠ 0, no trap, no output.
import Foundation
import MoeTestSupport
import XCTest

final class BadInputTests: XCTestCase {
  static var dir: URL!
  static var npz: URL!
  static var h5: URL!
  static var z: URL!

  override class func setUp() {
    super.setUp()
    dir = try! TestSupport.temporaryDirectory("bad")
    let a = try! ChainerFixture.make("srresnet-generator", ["--C", "8", "--B", "2", "--U", "1", "--n", "20", "--batch", "1"], in: dir)
    let b = try! ChainerFixture.make("srresnet-generator", ["--C", "8", "--B", "2", "--U", "1", "--n", "20", "--batch", "1", "--format", "h5"], in: dir)
    npz = a.checkpointURL
    h5 = b.checkpointURL
    z = a.url(a.batches[0].inputs[0])
  }

  override class func tearDown() {
    try? FileManager.default.removeItem(at: dir)
    super.tearDown()
  }

  var checkpoints: [URL] { [Self.npz, Self.h5] }

  /// Runs `moe run` and `moe convert` on `model`; both must fail cleanly and mention every string in `mentions`.
  func assertFailsCleanly(_ model: URL, mentions: [String], extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws {
    let out = Self.dir.appendingPathComponent("out-\(UUID().uuidString.prefix(6)).npy")
    let converted = ["moeir", "npz", "h5"].map { Self.dir.appendingPathComponent("out-\(UUID().uuidString.prefix(6)).\($0)") }
    let commands = [["run", model.path, "--input", Self.z.path, "-o", out.path]] + converted.map { ["convert", model.path, "-o", $0.path] }
    for args in commands {
      let r = try TestSupport.moe(args + extra)
      XCTAssertFalse(r.crashed, "moe \(args[0]) crashed: \(r.stderr)", file: file, line: line)
      XCTAssertNotEqual(r.status, 0, "moe \(args.joined(separator: " ")) should fail", file: file, line: line)
      let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("note:") }
      XCTAssertEqual(lines.count, 1, "one error line, got: \(r.stderr)", file: file, line: line)
      for m in mentions + [model.path] {
        XCTAssertTrue(r.stderr.contains(m), "'\(r.stderr)' should mention \(m)", file: file, line: line)
      }
    }
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: Self.dir.path).filter { $0.contains("out-") }
    XCTAssertEqual(leftovers, [], "no output or temp file left behind", file: file, line: line)
  }

  func corrupt(_ source: URL, _ flag: String, _ value: String) throws -> URL {
    let out = Self.dir.appendingPathComponent("\(flag.dropFirst(2))-\(UUID().uuidString.prefix(4)).\(source.pathExtension)")
    try TestSupport.python(["Converters/chainer/corrupt_npz.py", source.path, out.path, flag, value])
    return out
  }

  /// Broken ONNX files through the CLI: truncated, not protobuf, empty; one line, no trap, no output.
  func testBrokenONNXThroughTheCLI() throws {
    let onnx = Self.dir.appendingPathComponent("model.onnx")
    XCTAssertEqual(try TestSupport.moe(["convert", Self.npz.path, "-o", onnx.path]).status, 0)
    let data = try Data(contentsOf: onnx)
    for (name, bytes) in [("truncated", data.prefix(data.count / 2)), ("text", Data("not a protobuf\n".utf8)), ("empty", Data())] {
      let bad = Self.dir.appendingPathComponent("broken-\(name).onnx")
      try bytes.write(to: bad)
      try assertFailsCleanly(bad, mentions: [])
    }
  }

  func testTruncatedFiles() throws {
    for source in checkpoints {
      let data = try Data(contentsOf: source)
      for fraction in [0.002, 0.02, 0.5, 0.9, 0.999] {
        let cut = Self.dir.appendingPathComponent("truncated-\(fraction).\(source.pathExtension)")
        try data.prefix(Int(Double(data.count) * fraction)).write(to: cut)
        try assertFailsCleanly(cut, mentions: [])
      }
    }
  }

  func testNeitherFormatAndEmptyFile() throws {
    for ext in ["npz", "h5"] {
      let junk = Self.dir.appendingPathComponent("junk.\(ext)")
      try Data("this is not a checkpoint at all, just text\n".utf8).write(to: junk)
      try assertFailsCleanly(junk, mentions: [ext == "npz" ? "zip" : "HDF5"])
      let empty = Self.dir.appendingPathComponent("empty.\(ext)")
      try Data().write(to: empty)
      try assertFailsCleanly(empty, mentions: [])
    }
    let other = Self.dir.appendingPathComponent("model.pkl")
    try Data("x".utf8).write(to: other)
    try assertFailsCleanly(other, mentions: ["unknown model format"])
  }

  func testMissingKey() throws {
    for source in checkpoints {
      try assertFailsCleanly(try corrupt(source, "--missing", "res/1/c2/W"), mentions: ["res/1/c2/W", "missing"])
    }
  }

  func testShapeContradictingTheInferredArchitecture() throws {
    for source in checkpoints {
      try assertFailsCleanly(try corrupt(source, "--wrong-shape", "res/0/b1/gamma"), mentions: ["res/0/b1/gamma", "expected [8]"])
    }
  }

  func testWrongDtype() throws {
    for source in checkpoints {
      try assertFailsCleanly(try corrupt(source, "--wrong-dtype", "cm/W:int32"), mentions: ["cm/W", "<i4", "float"])
    }
  }

  func testLazyNoneParameter() throws {
    try assertFailsCleanly(try corrupt(Self.npz, "--object", "out/b"), mentions: ["out/b", "None"])
    try assertFailsCleanly(try corrupt(Self.h5, "--object", "out/b"), mentions: ["out/b", "empty dataset", "None"])
  }

  func testExtraKeyIsANoteUnlessStrict() throws {
    for source in checkpoints {
      let extra = try corrupt(source, "--extra", "res/0/extra/W")
      let out = Self.dir.appendingPathComponent("extra-ok.npy")
      let r = try TestSupport.moe(["run", extra.path, "--input", Self.z.path, "-o", out.path])
      XCTAssertEqual(r.status, 0, r.stderr)
      XCTAssertTrue(r.stderr.contains("unused") && r.stderr.contains("res/0/extra/W"), r.stderr)
      try? FileManager.default.removeItem(at: out)
      try assertFailsCleanly(extra, mentions: ["res/0/extra/W", "--strict"], extra: ["--strict"])
    }
  }

  func testMissingModelFile() throws {
    try assertFailsCleanly(Self.dir.appendingPathComponent("nowhere.npz"), mentions: ["no such file"])
  }

  func testInputOfTheWrongShape() throws {
    let z = Self.dir.appendingPathComponent("z-wrong.npy")
    try TestSupport.python(["-c", "import numpy as n; n.save('\(z.path)', n.zeros((1, 7), n.float32))"])
    let out = Self.dir.appendingPathComponent("out-wrong.npy")
    let r = try TestSupport.moe(["run", Self.npz.path, "--input", z.path, "-o", out.path])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.stderr.contains(z.path) && r.stderr.contains("[1, 7]"), r.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
  }
}
