// EightbitWebDNNTests: `--quantize eightbit` bundles hold exactly the records WebDNN's encoder writes, biases included.
import Foundation
import MoeTestSupport
import XCTest

final class EightbitWebDNNTests: XCTestCase {
  /// Every tensor (weights, biases, BN-folded vectors) of an eightbit bundle equals the record that an independent
  /// NumPy re-implementation of WebDNN's `ConstantEncoderEightbit` writes for the float32 bundle's values.
  func testEveryConstantMatchesWebDNNsEncoder() throws {
    let work = try TestSupport.temporaryDirectory("eightbit-webdnn")
    defer { try? FileManager.default.removeItem(at: work) }
    let f = try ChainerFixture.make("srresnet-generator", ["--C", "8", "--B", "2", "--U", "1", "--n", "20", "--batch", "1"], in: work)
    let floatBundle = work.appendingPathComponent("f32.moe"), eightbit = work.appendingPathComponent("eightbit.moe")
    for (out, q) in [(floatBundle, "none"), (eightbit, "eightbit")] {
      let c = try TestSupport.moe(["convert", f.checkpointURL.path, "-o", out.path, "--quantize", q])
      XCTAssertEqual(c.status, 0, c.stderr)
    }
    let check = try TestSupport.run(TestSupport.root.appendingPathComponent("Converters/py"),
                                    ["Converters/webdnn/eightbit.py", "--float", floatBundle.path, "--eightbit", eightbit.path],
                                    cwd: TestSupport.root)
    XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
    XCTAssertTrue(check.stdout.contains("identical to WebDNN's eightbit records"), check.stdout)
  }
}
