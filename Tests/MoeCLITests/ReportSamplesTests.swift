// ReportSamplesTests: `moe report --html` shows float32 and quantized samples side by side, each the image `moe run`
// makes from the same inputs (the float checkpoint, and the bundle `moe convert --quantize` writes), decoded by libpng.
import Foundation
import MoeData
import MoeFormats
import MoeTestSupport
import XCTest

final class ReportSamplesTests: XCTestCase {
  func testFloatAndQuantizedSamplesSideBySide() throws {
    let work = try TestSupport.temporaryDirectory("report-samples")
    defer { try? FileManager.default.removeItem(at: work) }
    let f = try ChainerFixture.make("srresnet-generator", ["--C", "8", "--B", "1", "--U", "1", "--n", "20", "--batch", "1"], in: work)
    let ckpt = f.checkpointURL.path
    let page = work.appendingPathComponent("report.html")
    let r = try TestSupport.moe(["report", ckpt, "--quantize", "int4-g32", "--calibration", "2", "--no-sweep", "--html", page.path])
    XCTAssertEqual(r.status, 0, r.stderr)
    // The calibration inputs (2 from the prior, seed 2024), as `moe generate` draws them, run by `moe run`.
    let z = work.appendingPathComponent("z.npy"), fOut = work.appendingPathComponent("f.npy"), qOut = work.appendingPathComponent("q.npy")
    let bundle = work.appendingPathComponent("q.moe")
    XCTAssertEqual(try TestSupport.moe(["generate", ckpt, "--count", "2", "--seed", "2024", "--save-inputs", z.path, "-o", work.appendingPathComponent("g.png").path]).status, 0)
    XCTAssertEqual(try TestSupport.moe(["run", ckpt, "--input", z.path, "-o", fOut.path]).status, 0)
    XCTAssertEqual(try TestSupport.moe(["convert", ckpt, "--quantize", "int4-g32", "-o", bundle.path]).status, 0)
    XCTAssertEqual(try TestSupport.moe(["run", bundle.path, "--input", z.path, "-o", qOut.path]).status, 0)
    let float = try Npy.read(fOut), quantized = try Npy.read(qOut)
    let side = float.shape[2], plane = 3 * side * side
    let floatData = try float.floats(), quantizedData = try quantized.floats()

    let html = try String(contentsOf: page, encoding: .utf8)
    let pairs = html.components(separatedBy: "<div class=pair>").dropFirst().map { $0.components(separatedBy: "</div>")[0] }
    XCTAssertEqual(pairs.count, 2, "one pair per calibration input")
    var differs = false
    for (i, pair) in pairs.enumerated() {
      func image(_ alt: String) throws -> RGBImage {
        let marker = "alt=\"sample \(i) \(alt)\" src=\"data:image/png;base64,"
        let start = try XCTUnwrap(pair.range(of: marker), "sample \(i) \(alt) in its pair")
        let b64 = pair[start.upperBound...].prefix { $0 != "\"" }
        return try ImageFile.decode([UInt8](try XCTUnwrap(Data(base64Encoded: String(b64)))), file: "sample \(i) \(alt)")
      }
      let shownFloat = try image("float32"), shownQuantized = try image("quantized")
      XCTAssertLessThan(pair.range(of: "float32\"")!.lowerBound, pair.range(of: "quantized\"")!.lowerBound, "float32 left, quantized right")
      for (shown, data) in [(shownFloat, floatData), (shownQuantized, quantizedData)] {
        XCTAssertEqual(shown.width, side)
        let expected = PNG.rgb(fromCHW: data[(i * plane)..<((i + 1) * plane)], side: side)
        let worst = zip(shown.pixels, expected).map { abs(Int($0) - Int($1)) }.max() ?? 255
        XCTAssertLessThanOrEqual(worst, 1, "sample \(i): the page's image is moe run's output on the same input")
      }
      if shownFloat.pixels != shownQuantized.pixels { differs = true }
    }
    XCTAssertTrue(differs, "int4 changes some pixel, so float and quantized images are told apart")
  }
}
