// ChartLabelTests: the labels of the bytes-vs-PSNR chart never overlap each other or a point, however crowded the schemes.
import Foundation
@testable import MoeQuant
import MoeTestSupport
import XCTest

final class ChartLabelTests: XCTestCase {
  /// A report whose uniform schemes crowd together as a real sweep's do (close sizes, close PSNRs).
  func crowdedReport(_ count: Int, seed: UInt64) -> QuantReport {
    var rng = SplitMix64(seed: seed)
    let names = ["f16", "int8", "int4-g64", "int4-g32", "int4-g16", "palette16-pc", "palette8-pc", "palette4-pc", "palette256", "eightbit",
                 "palette16", "palette32-pc", "int4-g128", "palette64-pc", "palette2-pc", "int4-g8", "palette128", "palette4"]
    let schemes = (0..<count).map { i in
      QuantReport.SchemePoint(scheme: names[i % names.count] + (i >= names.count ? "-\(i)" : ""),
                              bytes: 1_000_000 + Int(rng.uniform() * 300_000), psnr: 30 + rng.uniform() * 4)
    }
    return QuantReport(model: "m", plan: "auto (target 30.0 dB)", passes: [:], layers: [], rawBytes: 4_000_000, encodedBytes: 1_100_000,
                       bundleBytes: 0, bundleGzipBytes: 0, output: Comparison(reference: [0, 1], approx: [0, 0.99], peak: 2),
                       calibration: "", schemes: schemes)
  }

  /// The drawn labels' boxes, estimated from the SVG alone: 11 px text is at most 6.6 px a character wide, and spans
  /// from 9 px above its baseline to 3 px below.
  func drawnLabelBoxes(_ svg: String) -> [(String, ChartBox)] {
    svg.components(separatedBy: "<text ").dropFirst().compactMap { t -> (String, ChartBox)? in
      guard t.contains("class=\"label\""), let x = attribute(t, "x"), let y = attribute(t, "y"),
        let open = t.firstIndex(of: ">"), let close = t.range(of: "</text>") else { return nil }
      let text = String(t[t.index(after: open)..<close.lowerBound])
      return (text, ChartBox(x: x, y: y - 9, width: Double(text.count) * 6.6, height: 12))
    }
  }

  func attribute(_ tag: String, _ name: String) -> Double? {
    guard let r = tag.range(of: " \(name)=\"") ?? (tag.hasPrefix("\(name)=\"") ? tag.range(of: "\(name)=\"") : nil) else { return nil }
    return Double(tag[r.upperBound...].prefix { $0 != "\"" })
  }

  func testCrowdedSchemeChartLabelsDoNotOverlap() {
    for (count, seed) in [(8, 1), (12, 2), (18, 3), (30, 4)] as [(Int, UInt64)] {
      let report = crowdedReport(count, seed: seed)
      let svg = report.schemeChart()
      let boxes = drawnLabelBoxes(svg)
      XCTAssertEqual(boxes.count, count + 1, "one label per scheme and one for the plan")
      for i in boxes.indices {
        for j in boxes.indices where j > i {
          XCTAssertFalse(boxes[i].1.intersects(boxes[j].1), "\(count) schemes: '\(boxes[i].0)' \(boxes[i].1) overlaps '\(boxes[j].0)' \(boxes[j].1)")
        }
      }
    }
  }

  func testLayoutBoxesAreDisjointInsideThePlotAndClearOfPoints() {
    var rng = SplitMix64(seed: 99)
    let plot = ChartBox(x: 70, y: 20, width: 630, height: 310)
    for round in 0..<200 {
      let n = 1 + round % 40
      // Points in a small cluster somewhere in the plot, some on the same spot.
      let cx = plot.x + 20 + rng.uniform() * (plot.width - 40), cy = plot.y + 20 + rng.uniform() * (plot.height - 40)
      let points = (0..<n).map { _ in (x: cx + rng.uniform() * 60 - 30, y: cy + rng.uniform() * 40 - 20, r: 5.0) }
      let labels = (0..<n).map { i in (text: String(repeating: "x", count: 3 + i % 20), bold: i == 0) }
      let placed = ChartLabels.place(points: points, labels: labels, plot: plot, legendTop: plot.y + plot.height + 60)
      XCTAssertEqual(placed.count, n)
      for (i, p) in placed.enumerated() {
        XCTAssertGreaterThanOrEqual(p.box.width, Double(labels[i].text.count) * 6.6, "boxes cover the drawn text")
        if p.inLegend {
          XCTAssertGreaterThanOrEqual(p.box.y, plot.y + plot.height + 60)
        } else {
          XCTAssertTrue(plot.contains(p.box), "round \(round): label \(i) \(p.box) leaves the plot")
          for q in points {
            let circle = ChartBox(x: q.x - q.r, y: q.y - q.r, width: 2 * q.r, height: 2 * q.r)
            XCTAssertFalse(p.box.intersects(circle), "round \(round): label \(i) covers a point")
          }
        }
        for j in placed.indices where j > i {
          XCTAssertFalse(p.box.intersects(placed[j].box), "round \(round): labels \(i) and \(j) overlap")
        }
      }
    }
  }
}
