// QuietMisuseTests: the CLI says so when it is asked for something it would otherwise do differently or ignore.
import Foundation
import MoeFormats
import MoeTestSupport
import XCTest

/// Inputs of other dtypes or with NaN, unknown help topics, negative counts, directories given as files, `-o x.jpg`
/// and `--target-psnr` without `--quantize auto` (each used to run without a word or with a misleading message).
final class QuietMisuseTests: XCTestCase {
  static var dir: URL!
  static var fixture: ChainerFixture!

  override class func setUp() {
    super.setUp()
    dir = try! TestSupport.temporaryDirectory("misuse")
    fixture = try! ChainerFixture.make("srresnet-generator", ["--C", "8", "--B", "1", "--U", "1", "--n", "20", "--batch", "2"], in: dir)
  }

  override class func tearDown() {
    try? FileManager.default.removeItem(at: dir)
    super.tearDown()
  }

  var model: String { Self.fixture.checkpointURL.path }
  var z: URL { Self.fixture.url(Self.fixture.batches[0].inputs[0]) }

  func file(_ name: String) -> URL { Self.dir.appendingPathComponent(name) }

  /// Writes `expression` (numpy, with `z` the fixture's float32 input) to `name`.
  func npy(_ name: String, _ expression: String) throws -> URL {
    let url = file(name)
    try TestSupport.python(["-c", "import numpy as np, sys; z = np.load(sys.argv[1]); np.save(sys.argv[2], \(expression))", z.path, url.path])
    return url
  }

  /// Asserts a clean failure: exit ≠ 0, no trap, one line on stderr (ArgumentParser may add its usage lines after
  /// "Error: …") that contains every string of `mentions`.
  func assertRefused(_ args: [String], mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
    let r = try TestSupport.moe(args)
    XCTAssertFalse(r.crashed, r.stderr, file: file, line: line)
    XCTAssertNotEqual(r.status, 0, "moe \(args.joined(separator: " ")) must fail: \(r.stdout) \(r.stderr)", file: file, line: line)
    let first = r.stderr.split(separator: "\n").first { !$0.hasPrefix("note:") }.map(String.init) ?? ""
    for m in mentions {
      XCTAssertTrue(first.contains(m), "'\(first)' (of '\(r.stderr)') should mention \(m)", file: file, line: line)
    }
  }

  func run(_ input: URL, _ extra: [String] = []) throws -> (TestSupport.Result, [Float]?) {
    let out = file("out-\(UUID().uuidString.prefix(6)).npy")
    let r = try TestSupport.moe(["run", model, "--input", input.path, "-o", out.path] + extra)
    return (r, r.status == 0 ? try Npy.read(out).floats() : nil)
  }

  func testFloat64AndIntegerInputsAreConvertedWithANote() throws {
    let (plain, reference) = try run(z)
    XCTAssertEqual(plain.status, 0, plain.stderr)
    XCTAssertFalse(plain.stderr.contains("note:"), "float32 input: no note")
    // numpy's astype(float32) is the reference conversion: the outputs must be identical.
    let z64 = try npy("z64.npy", "z.astype(np.float64)")
    let (r64, out64) = try run(z64)
    XCTAssertEqual(r64.status, 0, r64.stderr)
    XCTAssertTrue(r64.stderr.contains("note: \(z64.path)") && r64.stderr.contains("float64") && r64.stderr.contains("float32"), r64.stderr)
    XCTAssertEqual(out64, reference)
    let zInt = try npy("zint.npy", "np.rint(z * 3).astype(np.int32)")
    let zIntAsFloat = try npy("zint-f32.npy", "np.rint(z * 3).astype(np.int32).astype(np.float32)")
    let (rInt, outInt) = try run(zInt)
    XCTAssertEqual(rInt.status, 0, rInt.stderr)
    XCTAssertTrue(rInt.stderr.contains("note: \(zInt.path)") && rInt.stderr.contains("int32"), rInt.stderr)
    XCTAssertEqual(outInt, try run(zIntAsFloat).1)
  }

  func testNonFiniteInputsAreRefusedUnlessAllowed() throws {
    let bad = try npy("znan.npy", "np.where(np.arange(z.size).reshape(z.shape) % 7 == 3, np.nan, z).astype(np.float32)")
    let count = try Npy.read(bad).floats().filter(\.isNaN).count
    XCTAssertGreaterThan(count, 1)
    let out = file("nan-out.npy")
    try assertRefused(["run", model, "--input", bad.path, "-o", out.path], mentions: [bad.path, "\(count) non-finite", "--allow-non-finite"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    try assertRefused(["verify", model, "--runtimes", "native", "--input", bad.path], mentions: [bad.path, "\(count) non-finite"])
    let inf = try npy("zinf.npy", "np.where(np.arange(z.size).reshape(z.shape) == 5, -np.inf, z).astype(np.float32)")
    try assertRefused(["run", model, "--input", inf.path, "-o", out.path], mentions: [inf.path, "1 non-finite", "1 ±Inf"])
    // float64 values beyond float32's range become ±Inf: refused too.
    let huge = try npy("zhuge.npy", "np.where(np.arange(z.size).reshape(z.shape) == 0, 1e300, z)")
    try assertRefused(["run", model, "--input", huge.path, "-o", out.path], mentions: [huge.path, "1 non-finite"])
    let (allowed, _) = try run(bad, ["--allow-non-finite"])
    XCTAssertEqual(allowed.status, 0, allowed.stderr)
    XCTAssertTrue(allowed.stderr.contains("note: \(bad.path)") && allowed.stderr.contains("\(count) non-finite"), allowed.stderr)
  }

  func testUnknownHelpTopicFails() throws {
    try assertRefused(["help", "nosuch"], mentions: ["nosuch", "convert"])
    try assertRefused(["help", "convert", "nosuch"], mentions: ["nosuch", "moe convert"])
    let ok = try TestSupport.moe(["help", "convert"])
    XCTAssertEqual(ok.status, 0, ok.stderr)
    XCTAssertTrue(ok.stdout.contains("USAGE: moe convert"), ok.stdout)
  }

  func testNegativeAndZeroCountsGetARealValidationError() throws {
    let png = file("g.png").path
    for value in ["-3", "0"] {
      try assertRefused(["generate", model, "--count", value, "-o", png], mentions: ["--count must be 1…256, got \(value)"])
      try assertRefused(["bench", model, "--batch", value], mentions: ["--batch must be ≥ 1, got \(value)"])
      try assertRefused(["bench", model, "--runs", value], mentions: ["--runs must be ≥ 1, got \(value)"])
      try assertRefused(["run", model, "--input", z.path, "-o", file("t.npy").path, "--threads", value], mentions: ["--threads must be ≥ 1, got \(value)"])
      try assertRefused(["verify", model, "--inputs", value], mentions: ["--inputs must be ≥ 1, got \(value)"])
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: png))
  }

  func testADirectoryGivenAsAFileIsNamedAsOne() throws {
    let folder = file("a-folder.npz")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try assertRefused(["run", folder.path, "--input", z.path, "-o", file("d.npy").path], mentions: [folder.path, "is a directory"])
    try assertRefused(["convert", folder.path, "-o", file("d.moe").path], mentions: [folder.path, "is a directory"])
    try assertRefused(["run", model, "--input", folder.path, "-o", file("d.npy").path], mentions: [folder.path, "is a directory"])
  }

  func testGenerateRefusesNonPNGOutput() throws {
    for name in ["x.jpg", "x.jpeg", "x"] {
      try assertRefused(["generate", model, "--count", "1", "-o", file(name).path], mentions: [name, "PNG"])
      XCTAssertFalse(FileManager.default.fileExists(atPath: file(name).path))
    }
  }

  func testTargetPSNRWithoutAutoIsRefused() throws {
    let out = file("q.moe")
    try assertRefused(["convert", model, "-o", out.path, "--target-psnr", "25"], mentions: ["--target-psnr", "--quantize auto"])
    try assertRefused(["convert", model, "-o", out.path, "--quantize", "int8", "--target-psnr", "25"], mentions: ["--target-psnr", "int8"])
    try assertRefused(["report", model, "--quantize", "f16", "--target-psnr", "25"], mentions: ["--target-psnr", "f16"])
    try assertRefused(["export-site", model, "-o", file("site").path, "--target-psnr", "25"], mentions: ["--target-psnr"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
  }
}
