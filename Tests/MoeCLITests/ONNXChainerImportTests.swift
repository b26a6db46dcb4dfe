// ONNXChainerImportTests: zoo models exported by onnx-chainer (real Chainer, opset 11) → `moe run` vs Chainer's outputs.
import Foundation
import MoeFormats
import MoeTestSupport
import XCTest

final class ONNXChainerImportTests: XCTestCase {
  /// For each zoo architecture: a seeded Chainer fixture → onnx-chainer export (fixed batch, parameters also
  /// listed as graph inputs) → `moe run model.onnx` natively → max-abs against Chainer's own output ≤ 1e-4.
  func testOnnxChainerExportsMatchChainer() throws {
    let work = try TestSupport.temporaryDirectory("onnx-chainer")
    defer { try? FileManager.default.removeItem(at: work) }
    let zoo: [(String, [String])] = [("srresnet-generator", ["--C", "8", "--B", "2", "--U", "2", "--n", "162"]),
                                     ("acgan-discriminator", ["--widths", "4,8", "--size", "16", "--tags", "3"]),
                                     ("dcgan-generator", ["--C", "16", "--n", "20"])]
    for (arch, hp) in zoo {
      let f = try ChainerFixture.make(arch, hp + ["--batch", "1", "--batch", "3"], in: work)
      for b in f.batches {
        let onnx = URL(fileURLWithPath: f.dir).appendingPathComponent("onnx-chainer-b\(b.batch).onnx")
        let e = try TestSupport.python(["Converters/onnx/export_onnx_chainer.py", "--fixture", f.dir, "--batch", "\(b.batch)",
                                        "--out", onnx.path])
        let info = try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as! [String: Any]
        XCTAssertLessThanOrEqual(info["opset"] as! Int, 11, "\(arch): onnx-chainer exports opset ≤ 11")
        XCTAssertGreaterThan(info["initializers"] as! Int, 0, arch)
        let out = URL(fileURLWithPath: f.dir).appendingPathComponent("moe-b\(b.batch)")
        let single = b.outputs.count == 1
        var args = ["run", onnx.path, "-o", out.path + (single ? ".npy" : "")]
        for x in b.inputs { args += ["--input", (b.inputs.count == 1 ? "" : "\(x.name)=") + f.url(x).path] }
        let r = try TestSupport.moe(args)
        XCTAssertEqual(r.status, 0, "\(arch): \(r.stderr)")
        guard r.status == 0 else { continue }
        for y in b.outputs {
          let got = single ? URL(fileURLWithPath: out.path + ".npy") : out.appendingPathComponent("\(y.name).npy")
          let d = TestSupport.maxAbsDiff(try Npy.read(got).floats(), try Npy.read(f.url(y)).floats())
          print("onnx-chainer \(arch) batch \(b.batch) \(y.name): max-abs moe vs Chainer \(d) (ops \(info["ops"]!))")
          XCTAssertLessThanOrEqual(d, chainerParityTolerance, "\(arch) batch \(b.batch) \(y.name)")
        }
      }
    }
  }
}
