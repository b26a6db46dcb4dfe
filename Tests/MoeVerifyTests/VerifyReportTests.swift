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
}
