// QuantizeCLITests: bundles from every zoo model run natively; auto meets its target; report prints text, JSON, HTML.
import Foundation
import MoeFormats
import MoeTestSupport
import XCTest

final class QuantizeCLITests: XCTestCase {
  func psnr(_ a: [Float], _ b: [Float]) -> Double {
    let mse = zip(a, b).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) } / Double(a.count)
    return 10 * log10(4 / mse)
  }

  func testFloatBundlesOfTheZooMatchChainer() throws {
    let work = try TestSupport.temporaryDirectory("bundle")
    defer { try? FileManager.default.removeItem(at: work) }
    let zoo: [(String, [String])] = [("srresnet-generator", ["--C", "8", "--B", "2", "--U", "1", "--n", "162"]),
                                     ("acgan-discriminator", ["--widths", "4,8", "--size", "16", "--tags", "3"]),
                                     ("dcgan-generator", ["--C", "16", "--n", "20"])]
    for (arch, hp) in zoo {
      let f = try ChainerFixture.make(arch, hp + ["--batch", "2"], in: work)
      let bundle = URL(fileURLWithPath: f.dir).appendingPathComponent("m.moe")
      let c = try TestSupport.moe(["convert", f.checkpointURL.path, "-o", bundle.path])
      XCTAssertEqual(c.status, 0, c.stderr)
      let b = f.batches[0]
      let out = URL(fileURLWithPath: f.dir).appendingPathComponent("bundle-out")
      var args = ["run", bundle.path, "-o", out.path + (b.outputs.count == 1 ? ".npy" : "")]
      for i in b.inputs { args += ["--input", "\(i.name)=\(f.url(i).path)"] }
      XCTAssertEqual(try TestSupport.moe(args).status, 0)
      for o in b.outputs {
        let ours = try Npy.read(b.outputs.count == 1 ? URL(fileURLWithPath: out.path + ".npy") : out.appendingPathComponent("\(o.name).npy"))
        XCTAssertLessThanOrEqual(TestSupport.maxAbsDiff(try ours.floats(), try Npy.read(f.url(o)).floats()), chainerParityTolerance, arch)
      }
    }
  }

  func testAutoBundleAndReport() throws {
    let work = try TestSupport.temporaryDirectory("auto")
    defer { try? FileManager.default.removeItem(at: work) }
    let f = try ChainerFixture.make("srresnet-generator", ["--C", "8", "--B", "2", "--U", "1", "--n", "162", "--batch", "8"], in: work)
    let dir = URL(fileURLWithPath: f.dir)
    let z = f.url(f.batches[0].inputs[0]), reference = try Npy.read(f.url(f.batches[0].outputs[0])).floats()
    let bundle = dir.appendingPathComponent("auto.moe")
    let c = try TestSupport.moe(["convert", f.checkpointURL.path, "-o", bundle.path, "--quantize", "auto", "--target-psnr", "30", "--deflate"])
    XCTAssertEqual(c.status, 0, c.stderr)
    XCTAssertTrue(c.stdout.contains("measured output PSNR"), c.stdout)
    XCTAssertTrue(c.stderr.contains("auto: sensitivity"), "progress is shown")
    let out = dir.appendingPathComponent("auto.npy")
    XCTAssertEqual(try TestSupport.moe(["run", bundle.path, "--input", z.path, "-o", out.path]).status, 0)
    // Fresh inputs (not the calibration set): the quantized model stays close to Chainer's float output.
    XCTAssertGreaterThan(psnr(try Npy.read(out).floats(), reference), 28)
    let floatBundle = dir.appendingPathComponent("f32.moe")
    XCTAssertEqual(try TestSupport.moe(["convert", f.checkpointURL.path, "-o", floatBundle.path]).status, 0)
    let sizes = try [bundle, floatBundle].map { try Data(contentsOf: $0).count }
    XCTAssertLessThan(sizes[0], sizes[1] / 3, "auto at 30 dB is much smaller than float32")

    let html = dir.appendingPathComponent("report.html")
    let r = try TestSupport.moe(["report", f.checkpointURL.path, "--quantize", "int8", "--json", "--html", html.path, "--calibration", "2"])
    XCTAssertEqual(r.status, 0, r.stderr)
    let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
    XCTAssertNotNil(json?["layers"])
    XCTAssertEqual((json?["schemes"] as? [Any])?.count, 8)
    let page = try String(contentsOf: html, encoding: .utf8)
    XCTAssertTrue(page.contains("<svg") && page.contains("eightbit"))
    let t = try TestSupport.moe(["report", f.checkpointURL.path, "--quantize", "f16", "--no-sweep", "--calibration", "2"])
    XCTAssertTrue(t.stdout.contains("output vs float model") && t.stdout.contains("fc/W"), t.stdout)
  }
}
