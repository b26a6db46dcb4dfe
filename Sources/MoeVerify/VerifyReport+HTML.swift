// VerifyReport+HTML: one self-contained page — the runtimes, the per-output table, each runtime's first image with
// a heat map of its difference from the reference, and (layerwise) a chart of every node's error over its tolerance.
import Foundation
import MoeFormats
import MoeIR
import MoeQuant

/// An image output as each runtime computed it (first sample), for the HTML report.
public struct VerifyImages: Sendable {
  public var output: String
  public var side: Int
  /// Runtime name → CHW floats in [-1, 1] of the first sample; the reference first.
  public var images: [(runtime: String, chw: [Float])]

  /// The first sample of every output shaped [N, 3, S, S], as each runtime computed it.
  static func collect(outputs: [String], reference: String, results: [(String, [String: Tensor])]) -> [VerifyImages] {
    var list: [VerifyImages] = []
    for o in outputs {
      var images: [(String, [Float])] = []
      var side = 0
      for (r, out) in results {
        guard let t = out[o], t.shape.count == 4, t.shape[1] == 3, t.shape[2] == t.shape[3], t.shape[2] > 0 else { continue }
        side = t.shape[2]
        images.append((r, Array(t.data[0..<(3 * side * side)])))
      }
      guard images.count >= 2, images[0].0 == reference else { continue }
      list.append(VerifyImages(output: o, side: side, images: images))
    }
    return list
  }
}

extension VerifyReport {
  /// The page, with the image outputs `CrossRuntimeVerifier.verify` kept (none when no output is an RGB image).
  public func html() -> String {
    func num(_ x: Double?) -> String { x.map { Self.num($0) } ?? "—" }
    var runtimeRows = ""
    for r in runtimes {
      let status = r.error.map { "<td class=bad>failed: \(QuantReport.escape($0))</td>" } ?? "<td>\(QuantReport.escape(r.version))</td>"
      runtimeRows += "<tr><td>\(r.name)\(r.name == reference ? " (reference)" : "")</td>\(status)<td class=n>\(String(format: "%.2f", r.seconds)) s</td>"
      runtimeRows += "<td>\(r.notes.map(QuantReport.escape).joined(separator: "<br>"))</td></tr>\n"
    }
    var outputRows = ""
    for r in rows {
      let c = r.comparison
      outputRows += "<tr><td>\(r.runtime)</td><td>\(QuantReport.escape(r.value))</td><td class=n>\(num(c?.maxAbs))</td><td class=n>\(num(c?.maxRel))</td>"
      outputRows += "<td class=n>\(num(c?.meanAbs))</td><td class=n>\(c.map { $0.psnr.isFinite ? String(format: "%.1f", $0.psnr) : "∞" } ?? "—")</td>"
      outputRows += "<td class=n>\(num(c?.minimumAtol))</td><td class=\(r.passed ? "ok" : "bad")>\(r.error.map(QuantReport.escape) ?? (r.passed ? "pass" : "FAIL"))</td></tr>\n"
    }
    var divergence = ""
    if let l = firstDivergingLayer {
      divergence = "<p class=bad>First divergence: node <b>\(QuantReport.escape(l.node))</b> (\(l.op)) → %\(QuantReport.escape(l.value))"
      divergence += l.weights.isEmpty ? "" : ", reading \(l.weights.map(QuantReport.escape).joined(separator: ", "))"
      divergence += ".</p>"
    } else if layers != nil {
      divergence = "<p>No node diverges beyond tolerance.</p>"
    }
    return """
      <!doctype html>
      <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
      <title>moe verify — \(QuantReport.escape(model))</title>
      <style>
      body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
      h1{font-size:20px} h2{font-size:16px;margin-top:28px} .tick{font-size:11px;fill:#555} .label{font-size:11px}
      table{border-collapse:collapse;font-size:12px} td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:left}
      .n{text-align:right;font-variant-numeric:tabular-nums} .ok{color:#2a7a2a} .bad{color:#c0392b;font-weight:bold}
      .verdict{font-size:22px;font-weight:bold} figure{display:inline-block;margin:0 12px 12px 0;text-align:center}
      figure img{width:192px;height:192px;image-rendering:pixelated;border:1px solid #ccc} figcaption{font-size:12px;max-width:290px;margin:auto}
      .heat{display:flex;gap:4px} .bar{width:12px;height:192px;border:1px solid #ccc;background:linear-gradient(to top,#000,#f00 33.3%,#ff0 66.7%,#fff)}
      .ticks{display:flex;flex-direction:column;justify-content:space-between;height:194px;font-size:11px;text-align:left;color:#555}
      </style></head><body>
      <h1>moe verify — \(QuantReport.escape(model))</h1>
      <p class="verdict \(passed ? "ok" : "bad")">\(passed ? "PASS" : "FAIL")</p>
      <p>Inputs: \(inputs.map { "\(QuantReport.escape($0.name)) \($0.shape)" }.joined(separator: ", ")). Reference: <b>\(reference)</b>.
      An output passes when |a − b| ≤ atol + rtol·|ref| everywhere (atol \(Self.num(atol)), rtol \(Self.num(rtol))).\(perturbations.isEmpty ? "" : " Fault injection: \(perturbations.map(QuantReport.escape).joined(separator: ", ")).")</p>
      \(fatal.map { "<p class=bad>\(QuantReport.escape($0))</p>" } ?? "")
      <h2>Runtimes</h2>
      <table><thead><tr><th>runtime</th><th>version</th><th>time</th><th>notes</th></tr></thead><tbody>
      \(runtimeRows)</tbody></table>
      <h2>Outputs against \(reference)</h2>
      <table><thead><tr><th>runtime</th><th>output</th><th>max-abs</th><th>max-rel</th><th>mean-abs</th><th>PSNR dB</th><th>min atol</th><th></th></tr></thead><tbody>
      \(outputRows)</tbody></table>
      \(images.map(imageSection).joined())
      \(layers.map { lw in "<h2>Layerwise (\(lw.runtimes.joined(separator: ", ")) against \(lw.reference))</h2>\(divergence)\(layerChart(lw))" } ?? "")
      </body></html>
      """
  }

  /// Each runtime's first image, then its difference from the reference as a heat map scaled to the tolerance.
  func imageSection(_ v: VerifyImages) -> String {
    let ref = v.images[0].chw
    func dataURI(_ rgb: [UInt8]) -> String { "data:image/png;base64," + PNG.encode(rgb: rgb, width: v.side, height: v.side).base64EncodedString() }
    var s = "<h2>Output \(QuantReport.escape(v.output)), first sample</h2><div>"
    for (r, img) in v.images {
      s += "<figure><img alt=\"\(r) image\" src=\"\(dataURI(PNG.rgb(fromCHW: img[...], side: v.side)))\"><figcaption>\(r)\(r == v.images[0].runtime ? " (reference)" : "")</figcaption></figure>"
    }
    s += "</div><div>"
    let scale = "black = 0, white = the tolerance atol + rtol·|ref| (atol \(Self.num(atol)), rtol \(Self.num(rtol))) or more"
    for (r, img) in v.images.dropFirst() {
      let map = Self.toleranceHeatMap(ref, img, side: v.side, atol: atol, rtol: rtol)
      let over = map.worst >= 1 ? "<span class=bad>\(map.overTolerance) pixel(s) at or over tolerance</span>" : "all pixels under tolerance"
      // The map, and beside it its colour scale from 0 to the tolerance.
      s += "<figure><div class=heat><img alt=\"\(r) difference\" src=\"\(dataURI(map.rgb))\"><div class=bar></div>"
      s += "<div class=ticks><span>≥ tolerance<br>(\(rtol == 0 ? Self.num(atol) : "atol + rtol·|ref|"))</span><span>0</span></div></div>"
      s += "<figcaption>|\(r) − \(v.images[0].runtime)|<br>largest: \(Self.num(map.worst))× tolerance; \(over)</figcaption></figure>"
    }
    return s + "</div><p>Heat maps: per pixel the largest channel difference divided by its tolerance, \(scale): a white pixel fails.</p>"
  }

  /// A heat map of `img` against `ref` (CHW, 3 channels): per pixel the largest over the channels of
  /// |img − ref| / (atol + rtol·|ref|), drawn black → red → yellow → white, white from 1 (the tolerance) up.
  /// `worst` is the largest such ratio, `overTolerance` the pixels whose ratio is ≥ 1.
  static func toleranceHeatMap(_ ref: [Float], _ img: [Float], side: Int, atol: Double, rtol: Double) -> (rgb: [UInt8], worst: Double, overTolerance: Int) {
    let plane = side * side
    var rgb = [UInt8](repeating: 0, count: plane * 3)
    var worst = 0.0, over = 0
    for i in 0..<plane {
      var t = 0.0
      for c in 0..<3 {
        let a = Double(img[c * plane + i]), b = Double(ref[c * plane + i])
        let d = abs(a - b), tol = atol + rtol * abs(b)
        // A NaN or infinite difference is as far off as it gets; a zero tolerance makes any difference fail.
        let ratio = d.isNaN ? .infinity : (tol > 0 ? d / tol : (d > 0 ? .infinity : 0))
        t = max(t, ratio)
      }
      worst = max(worst, t)
      if t >= 1 { over += 1 }
      let u = min(t, 1)
      rgb[3 * i] = UInt8(min(255, 3 * u * 255))
      rgb[3 * i + 1] = UInt8(max(0, min(255, (3 * u - 1) * 255)))
      rgb[3 * i + 2] = UInt8(max(0, min(255, (3 * u - 2) * 255)))
    }
    return (rgb, worst, over)
  }

  /// Per node (x, graph order): log10(max-abs / tolerance) for each runtime; above 0 fails.
  func layerChart(_ lw: Layerwise) -> String {
    guard !lw.layers.isEmpty else { return "<p>\(QuantReport.escape(lw.note ?? "no layers"))</p>" }
    let w = 900.0, h = 320.0, left = 60.0, right = 20.0, top = 20.0, bottom = 40.0
    let runtimes = Array(lw.runtimes.dropFirst())
    // log10(max-abs / tolerance), clamped to [-12, 6] (an infinite or NaN difference, or a missing value, is drawn at 6).
    func ratio(_ r: Row) -> Double? {
      guard let c = r.comparison, r.tolerance > 0 else { return r.error == nil ? nil : 6 }
      let v = log10(max(c.maxAbs, 1e-12) / r.tolerance)
      return v.isFinite ? min(v, 6) : 6
    }
    let values = lw.layers.flatMap { $0.rows.compactMap(ratio) }
    let y0 = min(-4, floor(values.min() ?? -4)), y1 = max(1, ceil(values.max() ?? 1))
    let n = Double(max(lw.layers.count - 1, 1))
    func px(_ i: Int) -> Double { left + Double(i) / n * (w - left - right) }
    func py(_ v: Double) -> Double { top + (1 - (v - y0) / (y1 - y0)) * (h - top - bottom) }
    var svg = "<svg viewBox=\"0 0 \(Int(w)) \(Int(h))\" width=\"\(Int(w))\" height=\"\(Int(h))\" role=\"img\" aria-label=\"error over tolerance per node\">"
    svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(w - left - right)\" height=\"\(h - top - bottom)\" fill=\"#fafafa\" stroke=\"#ccc\"/>"
    var y = y0
    while y <= y1 {
      svg += "<line x1=\"\(left)\" x2=\"\(w - right)\" y1=\"\(py(y))\" y2=\"\(py(y))\" stroke=\"\(y == 0 ? "#c0392b" : "#e5e5e5")\"/>"
      svg += "<text x=\"\(left - 6)\" y=\"\(py(y) + 4)\" text-anchor=\"end\" class=\"tick\">10^\(Int(y))</text>"
      y += 1
    }
    svg += "<text x=\"\(w - right - 4)\" y=\"\(py(0) - 4)\" text-anchor=\"end\" class=\"label\" fill=\"#c0392b\">tolerance</text>"
    if let i = lw.firstDivergence {
      svg += "<line x1=\"\(px(i))\" x2=\"\(px(i))\" y1=\"\(top)\" y2=\"\(h - bottom)\" stroke=\"#c0392b\" stroke-dasharray=\"4 3\"/>"
      svg += "<text x=\"\(px(i) + 4)\" y=\"\(top + 12)\" class=\"label\" fill=\"#c0392b\">\(QuantReport.escape(lw.layers[i].node))</text>"
    }
    svg += "<text x=\"\((left + w - right) / 2)\" y=\"\(h - 10)\" text-anchor=\"middle\">node (graph order)</text>"
    svg += "<text transform=\"translate(14 \((top + h - bottom) / 2)) rotate(-90)\" text-anchor=\"middle\">max-abs ÷ tolerance</text>"
    for (k, r) in runtimes.enumerated() {
      let color = QuantReport.palette[k % QuantReport.palette.count]
      var points: [String] = []
      for (i, l) in lw.layers.enumerated() {
        guard let row = l.rows.first(where: { $0.runtime == r }), let v = ratio(row) else { continue }
        points.append("\(px(i)),\(py(v))")
        svg += "<circle cx=\"\(px(i))\" cy=\"\(py(v))\" r=\"2.5\" fill=\"\(color)\"><title>\(QuantReport.escape(l.node)) (\(l.op)) \(r): max-abs \(Self.num(row.comparison?.maxAbs ?? .nan))</title></circle>"
      }
      svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(points.joined(separator: " "))\"/>"
      svg += "<text x=\"\(left + 10 + Double(k) * 120)\" y=\"\(h - bottom - 8)\" class=\"label\" fill=\"\(color)\">■ \(r)</text>"
    }
    return svg + "</svg>"
  }
}
