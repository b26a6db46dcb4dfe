// ChainerParityTests: `moe run` on Chainer-written generator checkpoints matches real Chainer's outputs.
import Foundation
import MoeFormats
import MoeTestSupport
import XCTest

/// Chainer and MoeKit agree to this max-abs on generator outputs (tanh range [-1, 1]).
let chainerParityTolerance: Float = 1e-4

final class ChainerParityTests: XCTestCase {
  /// Runs `moe run` on `model` for each batch of the fixture and compares with Chainer's output.
  func assertMatchesChainer(_ dir: URL, model: URL, batches: [Int], extra: [String] = [],
                            file: StaticString = #filePath, line: UInt = #line) throws {
    for b in batches {
      let out = dir.appendingPathComponent("moe_b\(b).npy")
      let r = try TestSupport.moe(["run", model.path, "--input", dir.appendingPathComponent("z_b\(b).npy").path, "-o", out.path] + extra)
      XCTAssertEqual(r.status, 0, "moe run failed: \(r.stderr)", file: file, line: line)
      let ours = try Npy.read(out), theirs = try Npy.read(dir.appendingPathComponent("out_b\(b).npy"))
      XCTAssertEqual(ours.shape, theirs.shape, file: file, line: line)
      let d = TestSupport.maxAbsDiff(try ours.floats(), try theirs.floats(), file: file, line: line)
      XCTAssertLessThanOrEqual(d, chainerParityTolerance, "\(model.lastPathComponent) batch \(b): max-abs \(d)", file: file, line: line)
      // The comparison means something only if the output is not saturated.
      let values = try theirs.floats()
      let saturated = values.filter { abs($0) > 0.99 }.count
      XCTAssertLessThan(Double(saturated), 0.5 * Double(values.count), "reference output mostly saturated", file: file, line: line)
    }
  }

  func testPaperGeneratorBatch1And16() throws {
    let dir = try TestSupport.temporaryDirectory("paper")
    defer { try? FileManager.default.removeItem(at: dir) }
    try TestSupport.chainerGeneratorFixture(c: 64, b: 16, u: 3, n: 162, batches: [1, 16], in: dir)
    try assertMatchesChainer(dir, model: dir.appendingPathComponent("model.npz"), batches: [1, 16])
    // The same through IR text: convert, then run the .moeir.
    let ir = dir.appendingPathComponent("paper.moeir")
    let c = try TestSupport.moe(["convert", dir.appendingPathComponent("model.npz").path, "-o", ir.path, "--verbose"])
    XCTAssertEqual(c.status, 0, c.stderr)
    XCTAssertTrue(c.stdout.contains("srresnet-generator"), c.stdout)
    try assertMatchesChainer(dir, model: ir, batches: [1])
    // `convert` ran the default passes: no BatchNorm is left; the fused graph still matches Chainer (above).
    let text = try String(contentsOf: ir, encoding: .utf8)
    XCTAssertFalse(text.contains("batch_norm"), "BatchNorm left after the default passes")
    XCTAssertTrue(text.contains("act=relu") && text.contains("residual=before"), "epilogues fused")
    XCTAssertTrue(c.stdout.contains("pass fold-batch-norm: 37 change(s)"), c.stdout)
    // And the unoptimized graph matches too.
    try assertMatchesChainer(dir, model: dir.appendingPathComponent("model.npz"), batches: [1], extra: ["--no-optimize"])
    let i = try TestSupport.moe(["inspect", dir.appendingPathComponent("model.npz").path])
    XCTAssertTrue(i.stdout.contains("srresnet-generator C=64 B=16 U=3 n=162"), i.stdout)
  }

  func testOtherHyperParametersInferredFromShapes() throws {
    let sets: [(c: Int, b: Int, u: Int, n: Int, prefix: String?)] = [
      (32, 4, 2, 162, nil), (16, 2, 1, 50, "updater/model:main/"), (24, 3, 0, 7, "predictor/"),
    ]
    for s in sets {
      let dir = try TestSupport.temporaryDirectory("hp")
      defer { try? FileManager.default.removeItem(at: dir) }
      try TestSupport.chainerGeneratorFixture(c: s.c, b: s.b, u: s.u, n: s.n, batches: [1, 16], seed: s.c, prefix: s.prefix, in: dir)
      let i = try TestSupport.moe(["inspect", dir.appendingPathComponent("model.npz").path])
      XCTAssertTrue(i.stdout.contains("C=\(s.c) B=\(s.b) U=\(s.u) n=\(s.n)"), i.stdout)
      XCTAssertTrue(i.stdout.contains("prefix: '\(s.prefix ?? "")'"), i.stdout)
      try assertMatchesChainer(dir, model: dir.appendingPathComponent("model.npz"), batches: [1, 16])
    }
  }
}
