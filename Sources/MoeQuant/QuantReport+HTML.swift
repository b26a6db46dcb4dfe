// QuantReport+HTML: one self-contained HTML page with SVG charts (bytes vs PSNR per scheme; bytes and PSNR per layer).
import Foundation

extension QuantReport {
  /// `s` with the HTML special characters escaped (shared by the verify report's page).
  public static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
      .replacingOccurrences(of: "\"", with: "&quot;")
  }

  /// The chart colours (shared by the verify report's page).
  public static let palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]

  static func family(_ encoding: String) -> String { String(encoding.prefix { $0 != "-" }) }

  /// Bytes (log x) against PSNR (y): one point per uniform scheme, plus this plan.
  func schemeChart() -> String {
    let w = 720.0, h = 380.0, left = 70.0, right = 20.0, top = 20.0, bottom = 50.0
    var points = schemes.map { ($0.scheme, Double($0.bytes), $0.psnr.isFinite ? $0.psnr : 80) }
    points.append(("this plan (\(plan))", Double(encodedBytes), output.psnr.isFinite ? output.psnr : 80))
    let xs = points.map { log10(max($0.1, 1)) }, ys = points.map(\.2)
    let x0 = floor((xs.min() ?? 5) * 4) / 4 - 0.1, x1 = ceil((xs.max() ?? 7) * 4) / 4 + 0.1
    let y0 = floor(((ys.min() ?? 10) - 2) / 5) * 5, y1 = ceil(((ys.max() ?? 50) + 2) / 5) * 5
    func px(_ v: Double) -> Double { left + (v - x0) / (x1 - x0) * (w - left - right) }
    func py(_ v: Double) -> Double { top + (1 - (v - y0) / (y1 - y0)) * (h - top - bottom) }
    var svg = "<svg viewBox=\"0 0 \(Int(w)) \(Int(h))\" width=\"\(Int(w))\" height=\"\(Int(h))\" role=\"img\" aria-label=\"bytes versus output PSNR per scheme\">"
    svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(w - left - right)\" height=\"\(h - top - bottom)\" fill=\"#fafafa\" stroke=\"#ccc\"/>"
    var y = y0
    while y <= y1 {
      svg += "<line x1=\"\(left)\" x2=\"\(w - right)\" y1=\"\(py(y))\" y2=\"\(py(y))\" stroke=\"#e5e5e5\"/><text x=\"\(left - 8)\" y=\"\(py(y) + 4)\" text-anchor=\"end\" class=\"tick\">\(Int(y))</text>"
      y += 5
    }
    var e = ceil(x0 * 4) / 4
    while e <= x1 {
      let label = pow(10, e) >= 1e6 ? String(format: "%.1f MB", pow(10, e) / 1e6) : String(format: "%.0f kB", pow(10, e) / 1e3)
      svg += "<line x1=\"\(px(e))\" x2=\"\(px(e))\" y1=\"\(top)\" y2=\"\(h - bottom)\" stroke=\"#eee\"/><text x=\"\(px(e))\" y=\"\(h - bottom + 18)\" text-anchor=\"middle\" class=\"tick\">\(label)</text>"
      e += 0.25
    }
    svg += "<text x=\"\((left + w - right) / 2)\" y=\"\(h - 8)\" text-anchor=\"middle\">weight bytes (log scale)</text>"
    svg += "<text transform=\"translate(16 \((top + h - bottom) / 2)) rotate(-90)\" text-anchor=\"middle\">output PSNR (dB)</text>"
    // Labels alternate above and below in x order so that neighbouring points stay readable.
    let rank = Dictionary(uniqueKeysWithValues: points.indices.sorted { points[$0].1 < points[$1].1 }.enumerated().map { ($1, $0) })
    for (i, p) in points.enumerated() {
      let mine = i == points.count - 1
      let color = mine ? "#d62728" : Self.palette[i % Self.palette.count]
      let cx = px(log10(max(p.1, 1))), cy = py(p.2)
      svg += "<circle cx=\"\(cx)\" cy=\"\(cy)\" r=\"\(mine ? 7 : 5)\" fill=\"\(color)\" stroke=\"#333\"><title>\(Self.escape(p.0)): \(Int(p.1)) B, \(String(format: "%.2f", p.2)) dB</title></circle>"
      let dy = rank[i]! % 2 == 0 ? -8.0 : 16.0
      svg += "<text x=\"\(cx + 9)\" y=\"\(cy + dy)\" class=\"label\"\(mine ? " font-weight=\"bold\"" : "")>\(Self.escape(p.0))</text>"
    }
    return svg + "</svg>"
  }

  /// Per layer: a bar of encoded bytes (colour = encoding) and a dot of the output PSNR with only that layer encoded.
  func layerChart() -> String {
    let rows = layers.filter { $0.shape.count >= 2 }
    let rowH = 16.0, left = 150.0, mid = 470.0, w = 760.0, top = 30.0
    let h = top + Double(rows.count) * rowH + 30
    let maxBytes = Double(rows.map(\.bytes).max() ?? 1)
    let psnrs = rows.compactMap(\.onlyThisPSNR).filter(\.isFinite)
    let p0 = floor(((psnrs.min() ?? 20) - 2) / 10) * 10, p1 = ceil(((psnrs.max() ?? 60) + 2) / 10) * 10
    let families = Array(Set(rows.map { Self.family($0.encoding) })).sorted()
    var svg = "<svg viewBox=\"0 0 \(Int(w)) \(Int(h))\" width=\"\(Int(w))\" height=\"\(Int(h))\" role=\"img\" aria-label=\"bytes and PSNR per layer\">"
    svg += "<text x=\"\(left)\" y=\"16\">encoded bytes</text><text x=\"\(mid + 10)\" y=\"16\">PSNR, this layer alone (\(Int(p0))–\(Int(p1)) dB)</text>"
    for (i, l) in rows.enumerated() {
      let y = top + Double(i) * rowH
      let color = Self.palette[(families.firstIndex(of: Self.family(l.encoding)) ?? 0) % Self.palette.count]
      let bw = Double(l.bytes) / maxBytes * (mid - left - 10)
      svg += "<text x=\"\(left - 6)\" y=\"\(y + 11)\" text-anchor=\"end\" class=\"tick\">\(Self.escape(l.weight))</text>"
      svg += "<rect x=\"\(left)\" y=\"\(y + 2)\" width=\"\(max(bw, 1))\" height=\"\(rowH - 4)\" fill=\"\(color)\"><title>\(Self.escape(l.weight)): \(l.encoding), \(l.bytes) B</title></rect>"
      if let p = l.onlyThisPSNR, p.isFinite {
        let x = mid + 10 + (p - p0) / (p1 - p0) * (w - mid - 30)
        svg += "<circle cx=\"\(x)\" cy=\"\(y + rowH / 2)\" r=\"4\" fill=\"\(color)\" stroke=\"#333\"><title>\(String(format: "%.1f", p)) dB</title></circle>"
      }
    }
    for (i, f) in families.enumerated() {
      let x = left + Double(i) * 110
      svg += "<rect x=\"\(x)\" y=\"\(h - 18)\" width=\"12\" height=\"12\" fill=\"\(Self.palette[i % Self.palette.count])\"/><text x=\"\(x + 16)\" y=\"\(h - 8)\" class=\"tick\">\(Self.escape(f))</text>"
    }
    return svg + "</svg>"
  }

  /// The whole page.
  public var html: String {
    func db(_ v: Double?) -> String { guard let v else { return "—" }; return v.isInfinite ? "∞" : String(format: "%.1f", v) }
    var rows = ""
    for l in layers {
      rows += "<tr><td>\(Self.escape(l.weight))</td><td>\(Self.escape(l.op))</td><td>\(l.shape.map(String.init).joined(separator: "×"))</td>"
      rows += "<td class=n>\(l.params)</td><td>\(Self.escape(l.encoding))</td><td class=n>\(l.bytes)</td><td class=n>\(db(l.sqnr))</td>"
      rows += "<td class=n>\(db(l.onlyThisPSNR))</td><td class=n>\(l.onlyThisMaxAbs.map { String(format: "%.2e", $0) } ?? "—")</td></tr>\n"
    }
    return """
      <!doctype html>
      <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
      <title>MoeKit report — \(Self.escape(model))</title>
      <style>
      body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
      h1{font-size:20px} h2{font-size:16px;margin-top:28px} .tick{font-size:11px;fill:#555} .label{font-size:11px}
      table{border-collapse:collapse;font-size:12px} td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:left} .n{text-align:right;font-variant-numeric:tabular-nums}
      .summary{display:flex;gap:24px;flex-wrap:wrap} .summary div{background:#f4f6f8;padding:10px 14px;border-radius:6px}
      .summary b{display:block;font-size:20px}
      </style></head><body>
      <h1>\(Self.escape(model))</h1>
      <p>Encoding plan <b>\(Self.escape(plan))</b>; calibration: \(Self.escape(calibration)).</p>
      <div class="summary">
      <div>float32 weights<b>\(rawBytes) B</b></div>
      <div>encoded weights<b>\(encodedBytes) B</b></div>
      <div>bundle / deflated<b>\(bundleBytes) / \(bundleGzipBytes) B</b></div>
      <div>output PSNR vs float<b>\(db(output.psnr)) dB</b></div>
      <div>max-abs<b>\(String(format: "%.3g", output.maxAbs))</b></div>
      </div>
      \(eightbitComparison.map { "<p>\(Self.escape($0))</p>" } ?? "")
      <h2>Bytes vs output PSNR</h2>
      \(schemeChart())
      <h2>Per layer</h2>
      \(layerChart())
      <h2>Table</h2>
      <table><thead><tr><th>weight</th><th>op</th><th>shape</th><th>params</th><th>encoding</th><th>bytes</th><th>SQNR dB</th><th>PSNR dB*</th><th>max-abs*</th></tr></thead>
      <tbody>
      \(rows)</tbody></table>
      <p>* output of the model when only this weight is encoded.</p>
      </body></html>
      """
  }
}
