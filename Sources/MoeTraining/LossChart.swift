// LossChart: the losses of a training run as an SVG line chart (RUN/losses.svg), smoothed, one panel per model.
import Foundation
import MoeFormats

/// Renders `log.jsonl` lines as stacked panels: the adversarial losses of D and G, their tag (classification) losses,
/// the gradient penalty and ‖∂D/∂x‖ at the perturbed points. Each series is a moving average
/// over `window` iterations (about 1% of the run), drawn on a linear axis spanning its panel's smoothed values.
public enum LossChart {
  /// One plotted series: a log field and its colour.
  struct Series { let name: String; let label: String; let colour: String; let value: (DraganLosses) -> Float }
  /// One panel and its series.
  struct Panel { let title: String; let series: [Series] }

  static let panels: [Panel] = [
    Panel(title: "adversarial losses", series: [
      Series(name: "advD", label: "D (real vs generated)", colour: "#d62728", value: { $0.advD }),
      Series(name: "advG", label: "G (fool D)", colour: "#ff7f0e", value: { $0.advG }),
    ]),
    Panel(title: "tag losses (sigmoid cross-entropy per tag)", series: [
      Series(name: "clsD", label: "D on real images", colour: "#1f77b4", value: { $0.clsD }),
      Series(name: "clsG", label: "G's requested tags", colour: "#17becf", value: { $0.clsG }),
    ]),
    Panel(title: "gradient penalty", series: [
      Series(name: "gp", label: "(‖∂D/∂x‖ − 1)²", colour: "#2ca02c", value: { $0.gp }),
    ]),
    Panel(title: "‖∂D/∂x‖ at perturbed points (DRAGAN keeps it near 1)", series: [
      Series(name: "gradNorm", label: "mean norm", colour: "#9467bd", value: { $0.gradNorm }),
    ]),
  ]

  static let width = 760.0, panelHeight = 130.0, left = 56.0, right = 170.0, top = 28.0, gap = 34.0

  /// The moving-average window for `count` iterations.
  public static func window(count: Int) -> Int { max(1, count / 100) }

  /// Trailing moving average: element i is the mean of values[max(0, i − window + 1)…i].
  public static func smoothed(_ values: [Float], window: Int) -> [Double] {
    var out: [Double] = [], sum = 0.0
    out.reserveCapacity(values.count)
    for (i, v) in values.enumerated() {
      sum += Double(v)
      if i >= window { sum -= Double(values[i - window]) }
      out.append(sum / Double(min(i + 1, window)))
    }
    return out
  }

  /// The SVG document for `lines` (in iteration order); `title` names the run.
  public static func svg(_ lines: [DraganLogLine], title: String) -> String {
    let height = top + Double(panels.count) * (panelHeight + gap)
    var s = """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" \
      font-family="sans-serif" font-size="11" role="img" aria-label="training losses">
      <rect width="100%" height="100%" fill="white"/>
      <text x="\(left)" y="16" font-size="13" font-weight="bold">\(escape(title)) — \(lines.count) iterations, moving average over \(window(count: lines.count))</text>

      """
    guard let first = lines.first?.iteration, let last = lines.last?.iteration else { return s + "</svg>\n" }
    let w = window(count: lines.count), plotWidth = width - left - right
    let xSpan = Double(max(last - first, 1))
    for (p, panel) in panels.enumerated() {
      let y0 = top + Double(p) * (panelHeight + gap) + 14
      let curves = panel.series.map { series in smoothed(lines.map { series.value($0.losses) }, window: w) }
      let finite = curves.joined().filter(\.isFinite)
      var lo = finite.min() ?? 0, hi = finite.max() ?? 1
      if hi - lo < 1e-12 { lo -= 0.5; hi += 0.5 }
      let pad = (hi - lo) * 0.05
      lo -= pad; hi += pad
      func y(_ v: Double) -> Double { y0 + panelHeight * (1 - (v - lo) / (hi - lo)) }
      func x(_ it: Int) -> Double { left + plotWidth * Double(it - first) / xSpan }
      s += """
        <g data-panel="\(escape(panel.title))" data-min="\(lo)" data-max="\(hi)" data-top="\(y0)" data-height="\(panelHeight)" \
        data-left="\(left)" data-width="\(plotWidth)" data-first="\(first)" data-last="\(last)">
        <text x="\(left)" y="\(y0 - 4)" font-weight="bold">\(escape(panel.title))</text>
        <rect x="\(left)" y="\(y0)" width="\(plotWidth)" height="\(panelHeight)" fill="none" stroke="#999"/>

        """
      for k in 0...4 {
        let v = lo + (hi - lo) * Double(k) / 4
        s += "<text x=\"\(left - 4)\" y=\"\(f(y(v) + 4))\" text-anchor=\"end\" fill=\"#555\">\(tick(v))</text>"
        s += "<line x1=\"\(left)\" x2=\"\(left + plotWidth)\" y1=\"\(f(y(v)))\" y2=\"\(f(y(v)))\" stroke=\"#eee\"/>\n"
      }
      s += "<text x=\"\(left)\" y=\"\(f(y0 + panelHeight + 13))\" fill=\"#555\">\(first)</text>"
      s += "<text x=\"\(left + plotWidth)\" y=\"\(f(y0 + panelHeight + 13))\" text-anchor=\"end\" fill=\"#555\">iteration \(last)</text>\n"
      for (series, curve) in zip(panel.series, curves) {
        let points = zip(lines, curve).filter { $0.1.isFinite }.map { "\(f(x($0.0.iteration))),\(f(y($0.1)))" }
        s += "<polyline data-series=\"\(series.name)\" fill=\"none\" stroke=\"\(series.colour)\" stroke-width=\"1.5\" points=\"\(points.joined(separator: " "))\"/>\n"
      }
      for (k, series) in panel.series.enumerated() {
        let ly = y0 + 12 + Double(k) * 16
        s += "<line x1=\"\(left + plotWidth + 10)\" x2=\"\(left + plotWidth + 28)\" y1=\"\(f(ly - 4))\" y2=\"\(f(ly - 4))\" stroke=\"\(series.colour)\" stroke-width=\"2\"/>"
        s += "<text x=\"\(left + plotWidth + 32)\" y=\"\(f(ly))\">\(escape(series.label))</text>\n"
      }
      s += "</g>\n"
    }
    return s + "</svg>\n"
  }

  /// Reads RUN/log.jsonl and writes RUN/losses.svg atomically.
  public static func write(run directory: URL, title: String) throws {
    let log = try String(contentsOf: directory.appendingPathComponent("log.jsonl"), encoding: .utf8)
    let decoder = JSONDecoder()
    let lines = try log.split(separator: "\n").map { try decoder.decode(DraganLogLine.self, from: Data($0.utf8)) }
    try AtomicFile.write(Data(svg(lines, title: title).utf8), to: directory.appendingPathComponent("losses.svg"))
  }

  static func f(_ v: Double) -> String { String(format: "%.2f", v) }
  static func tick(_ v: Double) -> String { abs(v) >= 100 ? String(format: "%.0f", v) : String(format: "%.3g", v) }
  static func escape(_ t: String) -> String {
    t.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
      .replacingOccurrences(of: "\"", with: "&quot;")
  }
}
