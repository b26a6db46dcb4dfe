// AutoQuantizerTests: metrics against direct formulas; auto meets its PSNR target for fewer bytes; reports add up.
import Foundation
import MoeIR
import MoeModels
import MoePasses
@testable import MoeQuant
import XCTest

final class AutoQuantizerTests: XCTestCase {
  func testComparisonMatchesDirectFormulas() {
    var rng = SeededGenerator(seed: 5)
    let a = (0..<1000).map { _ in Float.random(in: -1...1, using: &rng) }
    let b = a.map { $0 + Float.random(in: -0.01...0.01, using: &rng) }
    let c = Comparison(reference: a, approx: b, peak: 2)
    var se = 0.0, m = 0.0
    for (x, y) in zip(a, b) {
      se += Double(x - y) * Double(x - y)
      m = max(m, Double(abs(x - y)))
    }
    XCTAssertEqual(c.mse, se / 1000, accuracy: 1e-12)
    XCTAssertEqual(c.maxAbs, m, accuracy: 1e-12)
    XCTAssertEqual(c.psnr, 10 * log10(4 / (se / 1000)), accuracy: 1e-9)
    XCTAssertEqual(c.minimumAtol, m, accuracy: 1e-12)
    XCTAssertEqual(Comparison(reference: a, approx: a).psnr, .infinity)
  }

  func model() throws -> Graph { try Self.makeModel() }

  /// A small generator with seeded weights and non-trivial BN, optimized like `moe convert` does.
  static func makeModel() throws -> Graph {
    var g = SRResNetGenerator(channels: 8, blocks: 2, upsamplings: 1, inputLength: 162).graph()
    var rng = SeededGenerator(seed: 9)
    for w in g.weights {
      let shape = w.shape.fixed!
      let n = elementCount(shape)
      let last = w.name.split(separator: "/").last!
      let fanIn = shape.count > 1 ? n / shape[0] : 1
      g.initializers[w.name] = Tensor(shape: shape, data: (0..<n).map { _ in
        switch last {
        case "gamma", "avg_var": return Float.random(in: 0.5..<1.5, using: &rng)
        case "beta", "avg_mean", "b": return 0.1 * rng.normal()
        default: return rng.normal() / Float(fanIn).squareRoot()
        }
      })
    }
    try Pipeline.preset("default")!.run(on: &g)
    return g
  }

  func testAutoMeetsTargetsAndSpendsBytesMonotonically() throws {
    let cal = try CalibrationSet(graph: try model(), batch: 4)
    let floatBytes = cal.graph.weights.reduce(0) { $0 + 4 * cal.graph.initializers[$1.name]!.count }
    var previousBytes = 0
    for target in [25.0, 35.0, 45.0] {
      let r = try AutoQuantizer().run(cal, targetPSNR: target)
      XCTAssertGreaterThanOrEqual(r.measured.psnr, target, "target \(target)")
      XCTAssertLessThan(r.bytes, floatBytes)
      XCTAssertGreaterThanOrEqual(r.bytes, previousBytes, "a higher target never costs fewer bytes")
      previousBytes = r.bytes
      // The measurement is real: re-measure the plan independently.
      var replaced: [String: Tensor] = [:]
      for (name, s) in r.plan.schemes { replaced[name] = try Quantizer.decode(try Quantizer.encode(cal.graph.initializers[name]!, as: s)) }
      XCTAssertEqual(cal.compare(try cal.outputs(replacing: replaced)).psnr, r.measured.psnr, accuracy: 1e-6)
    }
  }

  func testReportAddsUpAndRenders() throws {
    let cal = try CalibrationSet(graph: try model(), batch: 2)
    let plan = try QuantizationPlan.uniform("int4-g32", for: cal.graph)
    let points = try QuantReport.sweep(["f16", "int8"], cal: cal, deflate: false)
    let r = try QuantReport.build(model: "t", planName: "int4-g32", plan: plan, cal: cal, deflate: false, schemes: points)
    XCTAssertEqual(r.layers.reduce(0) { $0 + $1.bytes }, r.encodedBytes)
    XCTAssertEqual(r.layers.reduce(0) { $0 + 4 * $1.params }, r.rawBytes)
    for l in r.layers where l.shape.count >= 2 {
      XCTAssertEqual(l.encoding, "int4-g32")
      XCTAssertEqual(l.bytes, try Quantizer.payloadSize(.int4(axis: 0, groupSize: 32), shape: l.shape))
      XCTAssertNotNil(l.onlyThisPSNR)
    }
    XCTAssertGreaterThan(points[0].psnr, points[1].psnr)
    XCTAssertGreaterThan(points[1].psnr, r.output.psnr)
    let json = try JSONSerialization.jsonObject(with: Data(try r.json().utf8)) as? [String: Any]
    XCTAssertEqual((json?["layers"] as? [Any])?.count, r.layers.count)
    XCTAssertTrue(r.html.contains("<svg") && r.html.contains("</html>"))
    XCTAssertTrue(r.text.contains("int4-g32"))
  }
}
