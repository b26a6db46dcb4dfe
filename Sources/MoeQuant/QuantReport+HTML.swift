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
    // Labels beside their points where they fit, clear of every point and label; the rest in a legend under the chart.
    let mineIndex = points.count - 1
    let dots = points.enumerated().map { (i, p) in (x: px(log10(max(p.1, 1))), y: py(p.2), r: i == mineIndex ? 7.0 : 5.0) }
    let order = [mineIndex] + Array(0..<mineIndex)  // this plan's label is placed first
    let ordered = ChartLabels.place(points: order.map { dots[$0] }, labels: order.map { (text: points[$0].0, bold: $0 == mineIndex) },
                                    plot: ChartBox(x: left, y: top, width: w - left - right, height: h - top - bottom), legendTop: h + 2)
    var placements = ordered
    for (k, i) in order.enumerated() { placements[i] = ordered[k] }
    let legendRows = placements.filter(\.inLegend).count
    let fullH = h + (legendRows > 0 ? Double(legendRows) * ChartLabels.rowHeight + 8 : 0)
    var svg = "<svg viewBox=\"0 0 \(Int(w)) \(Int(fullH))\" width=\"\(Int(w))\" height=\"\(Int(fullH))\" role=\"img\" aria-label=\"bytes versus output PSNR per scheme\">"
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
    for (i, p) in points.enumerated() {
      let mine = i == mineIndex
      let color = mine ? "#d62728" : Self.palette[i % Self.palette.count]
      let d = dots[i], b = placements[i].box
      if placements[i].leader {
        let ex = b.x > d.x ? b.x : b.x + b.width
        svg += "<line x1=\"\(d.x)\" y1=\"\(d.y)\" x2=\"\(ex)\" y2=\"\(b.y + b.height / 2)\" stroke=\"#999\" stroke-width=\"0.75\"/>"
      }
      svg += "<circle cx=\"\(d.x)\" cy=\"\(d.y)\" r=\"\(d.r)\" fill=\"\(color)\" stroke=\"#333\"><title>\(Self.escape(p.0)): \(Int(p.1)) B, \(String(format: "%.2f", p.2)) dB</title></circle>"
      if placements[i].inLegend {
        svg += "<circle cx=\"\(b.x - 9)\" cy=\"\(b.y + b.height / 2)\" r=\"4\" fill=\"\(color)\" stroke=\"#333\"/>"
      }
      svg += "<text x=\"\(b.x + 2)\" y=\"\(b.y + b.height - 3)\" class=\"label\"\(mine ? " font-weight=\"bold\"" : "")>\(Self.escape(p.0))</text>"
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

  /// Float and quantized outputs of the same calibration inputs side by side, one row per sample; `imageURI` turns
  /// a CHW image in [-1, 1] of the given side into an `<img>` source (a PNG data URI).
  func sampleSection(_ imageURI: (ArraySlice<Float>, Int) -> String) -> String {
    guard !samples.isEmpty else { return "" }
    var s = "<h2>Samples: float32 and this plan, same inputs</h2>"
    for v in samples {
      s += "<p>Output \(Self.escape(v.output)), the first \(v.float.count) calibration input(s); left float32, right this plan.</p><div class=samples>"
      for (i, (f, q)) in zip(v.float, v.quantized).enumerated() {
        s += "<div class=pair><figure><img alt=\"sample \(i) float32\" src=\"\(imageURI(f[...], v.side))\"><figcaption>\(i): float32</figcaption></figure>"
        s += "<figure><img alt=\"sample \(i) quantized\" src=\"\(imageURI(q[...], v.side))\"><figcaption>\(i): this plan</figcaption></figure></div>"
      }
      s += "</div>"
    }
    return s
  }

  /// The whole page, without sample images.
  public var html: String { html(imageURI: nil) }

  /// The whole page; with `imageURI` (CHW in [-1, 1], side → `<img>` source) also the float and quantized samples.
  public func html(imageURI: ((ArraySlice<Float>, Int) -> String)?) -> String {
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
      .summary b{display:block;font-size:20px} .samples{display:flex;flex-wrap:wrap;gap:12px}
      .pair{display:flex;gap:4px;background:#f4f6f8;padding:6px;border-radius:6px} figure{margin:0;text-align:center}
      figure img{width:128px;height:128px;image-rendering:pixelated;border:1px solid #ccc} figcaption{font-size:12px}
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
      \(imageURI.map(sampleSection) ?? "")
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
