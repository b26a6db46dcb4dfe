// VerifyReportTests: metrics with NaN/inf differences, and the report's text/HTML/JSON when a value is non-finite.
import Foundation
import MoeQuant
@testable import MoeVerify
import XCTest

final class VerifyReportTests: XCTestCase {
  func testNaNAndInfinityAreAsFarOffAsItGets() {
    for (ref, approx) in [([1, Float.nan], [1, 2]), ([1, 2], [1, Float.nan]), ([1, 2], [1, Float.infinity])] as [([Float], [Float])] {
      let c = Comparison(reference: ref, approx: approx)
      XCTAssertEqual(c.maxAbs, .infinity, "\(ref) vs \(approx)")
      XCTAssertEqual(c.minimumAtol, .infinity, "\(ref) vs \(approx)")
      XCTAssertEqual(c.maxRel, .infinity, "\(ref) vs \(approx)")
    }
    // Finite values: the minimum passing atol at rtol r is max(|a − b| − r·|b|), checked against a direct loop.
    let ref: [Float] = [0.5, -2, 4, 0], approx: [Float] = [0.51, -2.1, 4, 0.001]
    let c = Comparison(reference: ref, approx: approx, rtol: 0.01)
    let direct = zip(ref, approx).map { abs(Double($1) - Double($0)) - 0.01 * abs(Double($0)) }.max()!
    XCTAssertEqual(c.minimumAtol, max(0, direct), accuracy: 1e-12)
  }

  func testReportWithInfiniteLayerErrorRendersAndFails() throws {
    var report = VerifyReport(model: "m", reference: "native", atol: 1e-4, rtol: 0, inputs: [.init(name: "z", shape: [1, 4])])
    report.runtimes = [.init(name: "native", version: "n", seconds: 0, error: nil, notes: []),
                       .init(name: "wasm", version: "w", seconds: 0, error: nil, notes: [])]
    var row = VerifyReport.Row(runtime: "wasm", value: "y")
    row.comparison = Comparison(reference: [1, 2], approx: [1, .nan])
    row.tolerance = 1e-4
    report.rows = [row]
    var lw = VerifyReport.Layerwise(runtimes: ["native", "wasm"], reference: "native")
    var ok = VerifyReport.Row(runtime: "wasm", value: "h")
    ok.comparison = Comparison(reference: [1, 2], approx: [1, 2])
    ok.tolerance = 1e-4
    ok.passed = true
    lw.layers = [VerifyReport.Layer(node: "a", op: "relu", value: "h", weights: [], rows: [ok]),
                 VerifyReport.Layer(node: "b", op: "tanh", value: "y", weights: ["w"], rows: [row])]
    lw.firstDivergence = 1
    report.layers = lw
    XCTAssertFalse(report.passed)
    let html = report.html()
    XCTAssertTrue(html.contains("<svg") && html.contains("First divergence: node <b>b</b>"))
    XCTAssertTrue(report.text().contains("first divergence: node 'b' (tanh)"))
    let json = try JSONSerialization.jsonObject(with: Data(try report.json().utf8)) as? [String: Any]
    XCTAssertEqual(json?["passed"] as? Bool, false)
  }

  /// Heat maps are scaled to the tolerance atol + rtol·|ref|: exactly the tolerance is the top colour (white) even when
  /// another pixel differs 10× more, a tenth of it is not; the page writes the scale beside the maps.
  func testHeatMapIsScaledToTheTolerance() throws {
    let side = 2, plane = side * side
    let atol = 0.25, rtol = 0.5
    var ref = [Float](repeating: 0.5, count: 3 * plane)
    ref[2 * plane + 2] = 0  // pixel 2, channel 2: the tolerance is atol alone
    var img = ref
    // Pixel 0: exactly the tolerance (0.25 + 0.5·0.5 = 0.5) in channel 1; pixel 1: a tenth of it; pixel 2: 10× atol
    // (what a max-difference scale would make white instead); pixel 3: equal.
    img[1 * plane + 0] = 0.5 + 0.5
    img[0 * plane + 1] = 0.5 + 0.05
    img[2 * plane + 2] = 2.5
    let map = VerifyReport.toleranceHeatMap(ref, img, side: side, atol: atol, rtol: rtol)
    func pixel(_ i: Int) -> [UInt8] { Array(map.rgb[(3 * i)..<(3 * i + 3)]) }
    XCTAssertEqual(pixel(0), [255, 255, 255], "a difference of exactly the tolerance is the top colour")
    XCTAssertNotEqual(pixel(1), [255, 255, 255], "a tenth of the tolerance is not the top colour")
    XCTAssertLessThan(Int(pixel(1)[0]), 255, "a tenth of the tolerance is low on the scale: \(pixel(1))")
    XCTAssertEqual(pixel(2), [255, 255, 255], "over the tolerance stays the top colour")
    XCTAssertEqual(pixel(3), [0, 0, 0])
    XCTAssertEqual(map.overTolerance, 2)
    XCTAssertEqual(map.worst, 2.5 / 0.25, accuracy: 1e-9)
    // The page says what white means, with the tolerance's terms.
    var report = VerifyReport(model: "m", reference: "native", atol: atol, rtol: rtol, inputs: [.init(name: "z", shape: [1, 4])])
    report.images = [VerifyImages(output: "y", side: side, images: [("native", ref), ("wasm", img)])]
    let html = report.html()
    XCTAssertTrue(html.contains("white = the tolerance atol + rtol·|ref| (atol 0.25, rtol 0.5) or more"), html)
    XCTAssertTrue(html.contains("largest: 10× tolerance") && html.contains("2 pixel(s) at or over tolerance"), html)
  }
}
