// LossChartTests: losses.svg plots the trailing moving average of each log field on its panel's axis.
import Foundation
import MoeTraining
import XCTest

final class LossChartTests: XCTestCase {
  /// Log lines whose fields follow known curves (a decaying D loss, a noisy G loss, a constant gradient norm).
  func lines(_ n: Int) -> [DraganLogLine] {
    (1...n).map { i in
      let t = Float(i)
      let losses = DraganLosses(lossD: 0, advD: 2 / (1 + t / 50), clsD: 0.35 - t / Float(10 * n), gp: (i % 7 == 0) ? 1 : 0.1,
                                gradNorm: 1, lossG: 0, advG: 3 + (i % 2 == 0 ? 1 : -1), clsG: 0.4)
      return DraganLogLine(iteration: i + 10, epoch: 0, losses: losses, secondsPerIteration: 1)
    }
  }

  func attribute(_ name: String, in tag: Substring) -> String? {
    guard let r = tag.range(of: " \(name)=\"") else { return nil }
    return String(tag[r.upperBound...].prefix { $0 != "\"" })
  }

  func testEverySeriesIsTheMovingAverageOnItsPanelsAxis() throws {
    let n = 450, log = lines(n), w = LossChart.window(count: n)
    XCTAssertEqual(w, 4)
    let svg = LossChart.svg(log, title: "run <1>")
    XCTAssertTrue(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
    XCTAssertTrue(svg.contains("run &lt;1&gt;"), "the title is escaped")
    let fields: [String: (DraganLosses) -> Float] = ["advD": { $0.advD }, "clsD": { $0.clsD }, "gp": { $0.gp }, "advG": { $0.advG },
                                                      "clsG": { $0.clsG }, "gradNorm": { $0.gradNorm }]
    let groups = svg.components(separatedBy: "<g data-panel=").dropFirst()
    XCTAssertEqual(groups.count, 4)
    var seen = 0
    for group in groups {
      let head = Substring(group.prefix { $0 != ">" })
      let lo = Double(attribute("data-min", in: " " + head)!)!, hi = Double(attribute("data-max", in: head)!)!
      let top = Double(attribute("data-top", in: head)!)!, height = Double(attribute("data-height", in: head)!)!
      let left = Double(attribute("data-left", in: head)!)!, width = Double(attribute("data-width", in: head)!)!
      for line in group.split(separator: "\n") where line.hasPrefix("<polyline") {
        let name = attribute("data-series", in: line)!
        let value = try XCTUnwrap(fields[name], name)
        let points = attribute("points", in: line)!.split(separator: " ").map { $0.split(separator: ",").map { Double($0)! } }
        XCTAssertEqual(points.count, n, name)
        // The independent reference: a trailing mean over the last w values, mapped onto the panel.
        let raw = log.map { Double(value($0.losses)) }
        for i in stride(from: 0, to: n, by: 37) {
          let from = max(0, i - w + 1)
          let mean = raw[from...i].reduce(0, +) / Double(i - from + 1)
          XCTAssertEqual(points[i][0], left + width * Double(i) / Double(n - 1), accuracy: 0.01, "\(name) x at \(i)")
          XCTAssertEqual(points[i][1], top + height * (1 - (mean - lo) / (hi - lo)), accuracy: 0.01, "\(name) y at \(i)")
          XCTAssertTrue(points[i][1] >= top && points[i][1] <= top + height, "\(name) inside its panel")
        }
        seen += 1
      }
    }
    XCTAssertEqual(seen, fields.count)
    // The alternating G loss is smoothed to its mean; the decaying D loss goes down.
    XCTAssertEqual(LossChart.smoothed(log.map { $0.losses.advG }, window: w).last!, 3, accuracy: 1e-6)
  }

  func testEmptyAndNaNLogsStillGiveADocument() {
    XCTAssertTrue(LossChart.svg([], title: "empty").hasSuffix("</svg>\n"))
    var log = lines(20)
    log[5].losses.advD = .nan
    let svg = LossChart.svg(log, title: "nan")
    XCTAssertFalse(svg.contains("nan,") || svg.contains(",nan"), "no NaN coordinates")
  }
}
