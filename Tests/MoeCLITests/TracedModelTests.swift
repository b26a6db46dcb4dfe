// TracedModelTests: a Chainer model outside the zoo, traced to IR, converted with --arch traced.moeir, matches Chainer.
import Foundation
import MoeFormats
import MoeTestSupport
import XCTest

final class TracedModelTests: XCTestCase {
  func testTinyUNetThroughTheTracer() throws {
    let dir = try TestSupport.temporaryDirectory("traced")
    defer { try? FileManager.default.removeItem(at: dir) }
    try TestSupport.python(["Converters/chainer/examples/make_unet_fixture.py", "--out", dir.path, "--ch", "4", "--size", "16",
                            "--batch", "1", "--batch", "4"])
    // Trace a fresh model (structure only); the weights come from the checkpoint at conversion.
    let traced = dir.appendingPathComponent("unet.moeir")
    try TestSupport.python(["Converters/chainer/trace.py", "--module", "Converters/chainer/examples/tiny_unet.py", "--model", "TinyUNet",
                            "--kwargs", "{\"ch\": 4}", "--input-shape", "x:2,3,16,16", "--output-names", "img", "-o", traced.path])
    let model = dir.appendingPathComponent("model.npz")
    for b in [1, 4] {
      for optimize in [[], ["--no-optimize"]] {
        let out = dir.appendingPathComponent("moe_b\(b).npy")
        let r = try TestSupport.moe(["run", model.path, "--arch", traced.path, "--input", "x=" + dir.appendingPathComponent("x_b\(b).npy").path,
                                     "-o", out.path] + optimize)
        XCTAssertEqual(r.status, 0, r.stderr)
        let d = TestSupport.maxAbsDiff(try Npy.read(out).floats(), try Npy.read(dir.appendingPathComponent("out_b\(b).npy")).floats())
        XCTAssertLessThanOrEqual(d, chainerParityTolerance, "batch \(b) \(optimize): max-abs \(d)")
      }
    }
    // Converting through the traced architecture writes IR that runs the same.
    let ir = dir.appendingPathComponent("converted.moeir")
    XCTAssertEqual(try TestSupport.moe(["convert", model.path, "--arch", traced.path, "-o", ir.path]).status, 0)
    let out = dir.appendingPathComponent("ir_b4.npy")
    XCTAssertEqual(try TestSupport.moe(["run", ir.path, "--input", dir.appendingPathComponent("x_b4.npy").path, "-o", out.path]).status, 0)
    XCTAssertLessThanOrEqual(TestSupport.maxAbsDiff(try Npy.read(out).floats(), try Npy.read(dir.appendingPathComponent("out_b4.npy")).floats()),
                             chainerParityTolerance)
    // A checkpoint missing a key the traced graph needs is refused by name.
    let broken = dir.appendingPathComponent("broken.npz")
    try TestSupport.python(["Converters/chainer/corrupt_npz.py", model.path, broken.path, "--missing", "up1/W"])
    let r = try TestSupport.moe(["run", broken.path, "--arch", traced.path, "--input", dir.appendingPathComponent("x_b1.npy").path, "-o", out.path])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.stderr.contains("up1/W") && r.stderr.contains(broken.path), r.stderr)
  }

  func testUnsupportedFunctionIsNamed() throws {
    let dir = try TestSupport.temporaryDirectory("traced")
    defer { try? FileManager.default.removeItem(at: dir) }
    let module = dir.appendingPathComponent("pooled.py")
    try """
      import chainer, chainer.functions as F, chainer.links as L
      class Pooled(chainer.Chain):
          def __init__(self):
              super().__init__()
              with self.init_scope():
                  self.c = L.Convolution2D(3, 4, 3, pad=1)
          def forward(self, x):
              return F.max_pooling_2d(self.c(x), 2)
      """.write(to: module, atomically: true, encoding: .utf8)
    let r = try TestSupport.run(TestSupport.root.appendingPathComponent("Converters/py"),
                                ["Converters/chainer/trace.py", "--module", module.path, "--model", "Pooled", "--input-shape", "x:2,3,8,8",
                                 "--output-names", "y", "-o", dir.appendingPathComponent("p.moeir").path], cwd: TestSupport.root)
    XCTAssertEqual(r.status, 1)
    XCTAssertTrue(r.stderr.contains("MaxPooling"), r.stderr + r.stdout)
    XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("p.moeir").path))
  }
}
