// ONNXExportTests: every zoo model, Chainer NPZ → .onnx by MoeKit → onnx.checker (full) and ONNX Runtime vs Chainer.
import Foundation
import MoeFormats
import MoeTestSupport
import XCTest

final class ONNXExportTests: XCTestCase {
  func testZooThroughONNXRuntimeMatchesChainer() throws {
    let work = try TestSupport.temporaryDirectory("onnx")
    defer { try? FileManager.default.removeItem(at: work) }
    let zoo: [(String, [String])] = [("srresnet-generator", ["--C", "8", "--B", "2", "--U", "1", "--n", "162"]),
                                     ("acgan-discriminator", ["--widths", "4,8", "--size", "16", "--tags", "3"]),
                                     ("dcgan-generator", ["--C", "16", "--n", "20"])]
    for (arch, hp) in zoo {
      let f = try ChainerFixture.make(arch, hp + ["--batch", "1", "--batch", "4"], in: work)
      for optimize in [["--opset", "21"], ["--no-optimize"]] {
        let onnx = URL(fileURLWithPath: f.dir).appendingPathComponent("m\(optimize[0]).onnx")
        let c = try TestSupport.moe(["convert", f.checkpointURL.path, "-o", onnx.path] + optimize)
        XCTAssertEqual(c.status, 0, c.stderr)
        try TestSupport.python(["Converters/onnx/check_onnx.py", "--model", onnx.path, "--fixture", f.dir, "--atol", "1e-4"])
        // And back: MoeKit imports its own export and matches Chainer natively.
        let out = URL(fileURLWithPath: f.dir).appendingPathComponent("back\(optimize[0])")
        let b = f.batches[1]
        var args = ["run", onnx.path, "-o", out.path + (b.outputs.count == 1 ? ".npy" : "")]
        for (i, x) in b.inputs.enumerated() { args += ["--input", (b.inputs.count == 1 ? "" : "\(x.name)=") + f.url(x).path]; _ = i }
        let r = try TestSupport.moe(args)
        XCTAssertEqual(r.status, 0, r.stderr)
        if b.outputs.count == 1 {
          let d = TestSupport.maxAbsDiff(try Npy.read(URL(fileURLWithPath: out.path + ".npy")).floats(), try Npy.read(f.url(b.outputs[0])).floats())
          XCTAssertLessThanOrEqual(d, chainerParityTolerance, arch)
        }
      }
    }
  }
}
