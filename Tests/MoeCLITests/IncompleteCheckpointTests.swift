// IncompleteCheckpointTests: a checkpoint missing part of a repeated block is refused, never run as a smaller model.
import Foundation
import MoeFormats
import MoeTestSupport
import XCTest

/// Real Chainer checkpoints (NPZ and HDF5) with one key of a residual, upsampling or discriminator block removed,
/// replaced by a pickled `None` / empty dataset, or added beyond the blocks: `moe run` and `moe convert` must fail
/// with one line naming the key (before, the block count was read off the `c1/W` keys and a smaller model ran).
final class IncompleteCheckpointTests: XCTestCase {
  static var dir: URL!
  static var generators: [ChainerFixture] = []
  static var discriminators: [ChainerFixture] = []

  override class func setUp() {
    super.setUp()
    dir = try! TestSupport.temporaryDirectory("incomplete")
    for format in ["npz", "h5"] {
      generators.append(try! ChainerFixture.make("srresnet-generator", ["--C", "8", "--B", "3", "--U", "2", "--n", "20", "--batch", "1", "--format", format], in: dir))
      discriminators.append(try! ChainerFixture.make("acgan-discriminator", ["--widths", "8,16", "--size", "16", "--tags", "3", "--batch", "1", "--format", format], in: dir))
    }
  }

  override class func tearDown() {
    try? FileManager.default.removeItem(at: dir)
    super.tearDown()
  }

  /// A copy of `fixture`'s checkpoint with one corruption (`corrupt_npz.py FLAG KEY`).
  func corrupt(_ fixture: ChainerFixture, _ flag: String, _ key: String) throws -> URL {
    let url = fixture.checkpointURL
    let out = Self.dir.appendingPathComponent("\(flag.dropFirst(2))-\(UUID().uuidString.prefix(6)).\(url.pathExtension)")
    try TestSupport.python(["Converters/chainer/corrupt_npz.py", url.path, out.path, flag, key])
    return out
  }

  /// The fixture's checkpoint without every key under `block` (e.g. `res/1/`).
  func withoutBlock(_ fixture: ChainerFixture, _ block: String) throws -> URL {
    let url = fixture.checkpointURL
    let out = Self.dir.appendingPathComponent("noblock-\(UUID().uuidString.prefix(6)).\(url.pathExtension)")
    try TestSupport.python(["-c", """
      import sys; sys.path.insert(0, 'Converters/chainer'); import corrupt_npz as c
      a = c.load_all(sys.argv[1]); a = {k: v for k, v in a.items() if not k.startswith(sys.argv[3])}
      c.save_all(sys.argv[2], a)
      """, url.path, out.path, block])
    return out
  }

  /// `moe run` and `moe convert` on `model` fail: exit ≠ 0, no trap, one error line naming the file and every string
  /// of `mentions`, no output file.
  func assertRefused(_ model: URL, _ fixture: ChainerFixture, mentions: [String], extra: [String] = [],
                     file: StaticString = #filePath, line: UInt = #line) throws {
    let input = fixture.url(fixture.batches[0].inputs[0])
    let out = Self.dir.appendingPathComponent("out-\(UUID().uuidString.prefix(6))")
    for args in [["run", model.path, "--input", input.path, "-o", out.path + ".npy"], ["convert", model.path, "-o", out.path + ".moe"]] {
      let r = try TestSupport.moe(args + extra)
      XCTAssertFalse(r.crashed, "moe \(args[0]) crashed: \(r.stderr)", file: file, line: line)
      XCTAssertNotEqual(r.status, 0, "moe \(args.joined(separator: " ")) must fail; stderr: \(r.stderr)", file: file, line: line)
      let errors = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("note:") }
      XCTAssertEqual(errors.count, 1, "one error line, got: \(r.stderr)", file: file, line: line)
      for m in mentions + [model.path] {
        XCTAssertTrue(r.stderr.contains(m), "'\(r.stderr)' should mention \(m)", file: file, line: line)
      }
    }
    for ext in ["npy", "moe"] {
      XCTAssertFalse(FileManager.default.fileExists(atPath: out.path + "." + ext), "no output written", file: file, line: line)
    }
  }

  /// `moe run` on `model` succeeds and reproduces Chainer's recorded output for the fixture's first batch.
  func assertRunsLikeChainer(_ model: URL, _ fixture: ChainerFixture, extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws {
    let batch = fixture.batches[0]
    let out = Self.dir.appendingPathComponent("ok-\(UUID().uuidString.prefix(6))")
    let r = try TestSupport.moe(["run", model.path, "--input", fixture.url(batch.inputs[0]).path, "-o", out.path] + extra)
    XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
    guard r.status == 0 else { return }
    for item in batch.outputs {
      let got = batch.outputs.count == 1 ? out : out.appendingPathComponent("\(item.name).npy")
      let d = TestSupport.maxAbsDiff(try Npy.read(got).floats(), try Npy.read(fixture.url(item)).floats(), file: file, line: line)
      XCTAssertLessThanOrEqual(d, 1e-4, "output \(item.name) vs Chainer", file: file, line: line)
    }
  }

  func testMissingResidualOrUpsamplingWeightIsAnError() throws {
    for f in Self.generators {
      for key in ["res/1/c1/W", "res/2/c1/W", "res/0/c1/W", "up/1/c/W", "res/2/b2/avg_var"] {
        try assertRefused(try corrupt(f, "--missing", key), f, mentions: [key, "missing", "B=3 U=2"])
      }
    }
  }

  func testNoneInPlaceOfABlockWeightIsAnError() throws {
    for f in Self.generators {
      let what = f.checkpoint.hasSuffix(".h5") ? "empty dataset" : "None"
      for key in ["res/1/c1/W", "res/2/c1/W", "up/1/c/W"] {
        try assertRefused(try corrupt(f, "--object", key), f, mentions: [key, what])
      }
    }
  }

  func testAWholeBlockMissingFromTheMiddleIsAGap() throws {
    for f in Self.generators {
      try assertRefused(try withoutBlock(f, "res/1/"), f, mentions: ["res/1", "block missing", "0,2"])
      try assertRefused(try withoutBlock(f, "up/0/"), f, mentions: ["up/0", "block missing"])
    }
  }

  func testAKeyBeyondTheLastBlockIsAnIncompleteBlock() throws {
    for f in Self.generators {
      // res/3/b1/gamma beside blocks 0…2: a fourth block with only that key, not a stray to ignore.
      try assertRefused(try corrupt(f, "--extra", "res/3/b1/gamma"), f, mentions: ["res/3/c1/W", "missing", "B=4", "res/3/b1/gamma"])
    }
  }

  func testDiscriminatorBlocksAreCheckedToo() throws {
    for f in Self.discriminators {
      let what = f.checkpoint.hasSuffix(".h5") ? "empty dataset" : "None"
      try assertRefused(try corrupt(f, "--missing", "downs/1/W"), f, mentions: ["downs/1/W", "missing"])
      try assertRefused(try corrupt(f, "--object", "downs/1/W"), f, mentions: ["downs/1/W", what])
      try assertRefused(try corrupt(f, "--missing", "stages/1/1/c2/W"), f, mentions: ["stages/1/1/c2/W", "missing"])
      try assertRefused(try corrupt(f, "--object", "stages/1/0/c1/b"), f, mentions: ["stages/1/0/c1/b", what])
      try assertRefused(try withoutBlock(f, "downs/1/"), f, mentions: ["downs/1/W", "missing"])
    }
  }

  /// A key shaped like a parameter of the architecture that it does not use (a third residual pair of stage 0) is an
  /// error naming it; `--allow-unused` runs the model, which is then still exactly Chainer's.
  func testParameterLookalikeIsAnErrorUnlessAllowed() throws {
    for f in Self.discriminators {
      let model = try corrupt(f, "--extra", "stages/0/2/c1/b")
      try assertRefused(model, f, mentions: ["stages/0/2/c1/b", "--allow-unused"])
      try assertRunsLikeChainer(model, f, extra: ["--allow-unused"])
    }
    // An unrelated extra key stays a note.
    let f = Self.generators[0]
    let extra = try corrupt(f, "--extra", "res/0/extra/W")
    try assertRunsLikeChainer(extra, f)
  }

  /// Trainer snapshots: Adam state, iterators and the other model are not parameters of the chosen one: notes only.
  func testTrainerSnapshotStateStaysANote() throws {
    let f = try ChainerFixture.make("srresnet-generator", ["--C", "8", "--B", "2", "--U", "1", "--n", "130", "--batch", "1", "--snapshot"], in: Self.dir)
    let batch = f.batches[0]
    let out = Self.dir.appendingPathComponent("snap.npy")
    let r = try TestSupport.moe(["run", f.checkpointURL.path, "--prefix", f.prefix, "--input", f.url(batch.inputs[0]).path, "-o", out.path])
    XCTAssertEqual(r.status, 0, r.stderr)
    XCTAssertTrue(r.stderr.contains("note:") && r.stderr.contains("unused"), r.stderr)
    let d = TestSupport.maxAbsDiff(try Npy.read(out).floats(), try Npy.read(f.url(batch.outputs[0])).floats())
    XCTAssertLessThanOrEqual(d, 1e-4)
  }
}
