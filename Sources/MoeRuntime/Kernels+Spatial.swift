// Kernels+Spatial: padding (constant, reflect, edge), max/average pooling and resize (nearest, bilinear).
import Foundation
import MoeIR
import MoeNativeShim

/// pad: for each axis, the input index each output index reads (−1: the constant value).
struct PadGeometry: Equatable {
  var outShape: [Int]
  var inStrides: [Int]
  var sources: [[Int]]
  var value: Float

  init(_ a: PadAttrs, input x: [Int], output y: [Int]) {
    outShape = y
    inStrides = contiguousStrides(x)
    value = a.value
    let r = x.count
    sources = (0..<r).map { d in
      let n = x[d], begin = a.pads[d]
      return (0..<y[d]).map { o in
        let i = o - begin
        if i >= 0 && i < n { return i }
        switch a.mode {
        case .constant: return -1
        case .edge: return Swift.min(Swift.max(i, 0), n - 1)
        case .reflect:
          var j = i
          while j < 0 || j >= n { j = j < 0 ? -j : 2 * (n - 1) - j }
          return j
        }
      }
    }
  }
}

/// Pooling of (batch·channels, H, W) planes.
struct PoolGeometry: Equatable {
  var planes: Int, height: Int, width: Int, outH: Int, outW: Int
  var attrs: PoolAttrs
  var isMax: Bool
}

/// Resize of (batch·channels, H, W) planes: per output row/column the source index pairs and weights.
struct ResizeGeometry: Equatable {
  var planes: Int, height: Int, width: Int, outH: Int, outW: Int
  var rows: [(Int, Int, Float)]
  var cols: [(Int, Int, Float)]
  /// The column taps are those of a 2× upsampling, bilinear with half-pixel centres (1) or nearest (2), which a
  /// vectorised row kernel computes with the same arithmetic; 0 otherwise.
  var cols2x: Int32

  static func == (a: ResizeGeometry, b: ResizeGeometry) -> Bool {
    a.planes == b.planes && a.height == b.height && a.width == b.width && a.outH == b.outH && a.outW == b.outW
      && a.rows.elementsEqual(b.rows, by: ==) && a.cols.elementsEqual(b.cols, by: ==)
  }

  /// 1 when `taps` (for n inputs) are the bilinear half-pixel 2× taps, 2 when the nearest 2× ones, else 0.
  static func upsample2xPattern(_ taps: [(Int, Int, Float)], n: Int) -> Int32 {
    guard n >= 2, taps.count == 2 * n else { return 0 }
    var linear = taps[0] == (0, 1, 0) && taps[2 * n - 1] == (n - 1, n - 1, 0)
    var nearest = true
    for i in 0..<n {
      if taps[2 * i] != (i, i, 0) || taps[2 * i + 1] != (i, i, 0) { nearest = false }
      if i >= 1 && (taps[2 * i - 1] != (i - 1, i, 0.25) || taps[2 * i] != (i - 1, i, 0.75)) { linear = false }
    }
    return linear ? 1 : (nearest ? 2 : 0)
  }

  init(_ r: ResizeAttrs, input x: [Int], output y: [Int]) {
    planes = x[0] * x[1]
    height = x[2]
    width = x[3]
    outH = y[2]
    outW = y[3]
    rows = ResizeGeometry.taps(r, n: x[2], out: y[2], scale: r.scales[0])
    cols = ResizeGeometry.taps(r, n: x[3], out: y[3], scale: r.scales[1])
    cols2x = ResizeGeometry.upsample2xPattern(cols, n: x[3])
  }

  /// For each output index: (i0, i1, w) with value = (1 − w)·x[i0] + w·x[i1] (nearest: w = 0).
  static func taps(_ r: ResizeAttrs, n: Int, out: Int, scale: Float) -> [(Int, Int, Float)] {
    (0..<out).map { o in
      let s = Double(scale)
      var c: Double
      switch r.coordinates {
      case .halfPixel: c = (Double(o) + 0.5) / s - 0.5
      case .pytorchHalfPixel: c = out > 1 ? (Double(o) + 0.5) / s - 0.5 : 0
      case .alignCorners: c = out > 1 ? Double(o) * Double(n - 1) / Double(out - 1) : 0
      case .asymmetric: c = Double(o) / s
      }
      switch r.mode {
      case .nearest:
        var i: Double
        switch r.nearest {
        case .roundPreferFloor: i = c - c.rounded(.down) == 0.5 ? c.rounded(.down) : c.rounded()
        case .roundPreferCeil: i = c - c.rounded(.down) == 0.5 ? c.rounded(.up) : c.rounded()
        case .floor: i = c.rounded(.down)
        case .ceil: i = c.rounded(.up)
        }
        let k = Swift.min(Swift.max(Int(i), 0), n - 1)
        return (k, k, 0)
      case .linear:
        c = Swift.min(Swift.max(c, 0), Double(n - 1))
        let i0 = Int(c.rounded(.down)), i1 = Swift.min(i0 + 1, n - 1)
        return (i0, i1, Float(c - Double(i0)))
      }
    }
  }
}

extension Kernels {
  static func pad(_ g: PadGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
    let r = g.outShape.count, count = elementCount(g.outShape)
    if count == 0 { return }
    if r == 0 { y[0] = x[0]; return }
    let inner = g.outShape[r - 1], last = g.sources[r - 1], ls = g.inStrides[r - 1]
    var idx = [Int](repeating: 0, count: r)
    var yp = y
    for _ in 0..<(count / inner) {
      // Base offset of this row, or nil when an outer index falls in constant padding.
      var base: Int? = 0
      for d in 0..<(r - 1) {
        let s = g.sources[d][idx[d]]
        if s < 0 { base = nil; break }
        base! += s * g.inStrides[d]
      }
      if let b = base {
        for i in 0..<inner { let s = last[i]; yp[i] = s < 0 ? g.value : x[b + s * ls] }
      } else {
        yp.update(repeating: g.value, count: inner)
      }
      yp += inner
      var d = r - 2
      while d >= 0 {
        idx[d] += 1
        if idx[d] < g.outShape[d] { break }
        idx[d] = 0
        d -= 1
      }
    }
  }

  /// Max pooling ignores padding; average pooling divides by the in-input window size, or with `countIncludePad`
  /// by the window clipped to the padded input (ONNX Runtime's rule).
  /// Max or average pooling, planes split over the workers. Windows lying wholly inside the input take a loop
  /// without bounds checks; windows over the padding (or past it, ceil_mode) count what ONNX counts.
  static func pool(_ g: PoolGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, workers: Int = 1) {
    let a = g.attrs, (kh, kw) = (a.kernel[0], a.kernel[1]), (sh, sw) = (a.strides[0], a.strides[1])
    let (dh, dw) = (a.dilations[0], a.dilations[1]), (pt, pl) = (a.pads[0], a.pads[1])
    let (padH, padW) = (g.height + a.pads[2], g.width + a.pads[3])
    let (height, width, outH, outW, isMax) = (g.height, g.width, g.outH, g.outW, g.isMax)
    let includePad = a.countIncludePad, full = Float(kh * kw)
    let perChunk = max(1, (1 << 15) / max(height * width, 1))
    let chunks = (g.planes + perChunk - 1) / perChunk
    if isMax && a.kernel == [2, 2] && a.strides == [2, 2] && a.dilations == [1, 1] && a.pads.allSatisfy({ $0 == 0 })
        && 2 * outH <= height && 2 * outW <= width {
      // The common 2×2 max pool, every window inside the plane: vectorised, NaN propagating as below.
      Parallel.forEach(chunks, workers: workers) { chunk, _ in
        for p in (chunk * perChunk)..<min(g.planes, (chunk + 1) * perChunk) {
          moe_maxpool2x2(x + p * height * width, width, y + p * outH * outW, outH, outW)
        }
      }
      return
    }
    Parallel.forEach(chunks, workers: workers) { chunk, _ in
      for p in (chunk * perChunk)..<min(g.planes, (chunk + 1) * perChunk) {
        let xp = x + p * height * width, yp = y + p * outH * outW
        for oh in 0..<outH {
          let h0 = oh * sh - pt
          let rowInside = h0 >= 0 && h0 + (kh - 1) * dh < height
          for ow in 0..<outW {
            let w0 = ow * sw - pl
            if rowInside && w0 >= 0 && w0 + (kw - 1) * dw < width {
              let base = xp + h0 * width + w0
              if isMax && kh == 2 && kw == 2 && dh == 1 && dw == 1 {
                // The common 2x2 max pool: NaN propagates as in the loop below.
                let v0 = base[0], v1 = base[1], v2 = base[width], v3 = base[width + 1]
                let m = Swift.max(Swift.max(v0, v1), Swift.max(v2, v3))
                yp[oh * outW + ow] = v0.isNaN || v1.isNaN || v2.isNaN || v3.isNaN ? .nan : m
                continue
              }
              var acc: Float = isMax ? -.infinity : 0
              for i in 0..<kh {
                let r = base + i * dh * width
                for j in 0..<kw {
                  let v = r[j * dw]
                  if isMax { if v > acc || v.isNaN { acc = v } } else { acc += v }
                }
              }
              yp[oh * outW + ow] = isMax ? acc : acc / full
              continue
            }
            var acc: Float = isMax ? -.infinity : 0
            var inside = 0, padded = 0
            for i in 0..<kh {
              let h = h0 + i * dh
              if h >= padH { break }
              for j in 0..<kw {
                let w = w0 + j * dw
                if w >= padW { break }
                padded += 1
                guard h >= 0, w >= 0, h < height, w < width else { continue }
                let v = xp[h * width + w]
                inside += 1
                if isMax { if v > acc || v.isNaN { acc = v } } else { acc += v }
              }
            }
            if !isMax { acc /= Float(includePad ? padded : Swift.max(inside, 1)) }
            yp[oh * outW + ow] = acc
          }
        }
      }
    }
  }

  /// Resize (nearest or linear: each output a blend of up to four inputs), planes split over the workers.
  /// Separable: each input row a plane needs is interpolated along the width once (two rows kept), then each output
  /// row is the interpolation of two such rows along the height — the same arithmetic as the 2-D formula.
  static func resize(_ g: ResizeGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, workers: Int = 1) {
    let outW = g.outW
    withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * max(outW, 1)) { idx in
      withUnsafeTemporaryAllocation(of: Float.self, capacity: max(outW, 1)) { wts in
        for (ow, (c0, c1, wc)) in g.cols.enumerated() {
          idx[2 * ow] = c0
          idx[2 * ow + 1] = c1
          wts[ow] = wc
        }
        let cols = UnsafePointer(idx.baseAddress!), weights = UnsafePointer(wts.baseAddress!)
        Parallel.forEach(g.planes, workers: g.planes * g.outH * outW >= (1 << 15) ? workers : 1) { p, _ in
          let xp = x + p * g.height * g.width, yp = y + p * g.outH * outW
          withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * max(outW, 1)) { buf in
            let rowsBuf = buf.baseAddress!
            var cached = (-1, -1)  // input rows held in rowsBuf[0..<outW] and rowsBuf[outW..<2·outW]
            /// The width-interpolated input row `r`, computed into one of the two slots unless already there.
            func row(_ r: Int, avoiding other: Int) -> UnsafeMutablePointer<Float> {
              if cached.0 == r { return rowsBuf }
              if cached.1 == r { return rowsBuf + outW }
              let slot = cached.0 == other ? 1 : 0
              let dst = rowsBuf + slot * outW, src = xp + r * g.width
              if g.cols2x != 0 {
                moe_upsample2x_row(src, g.width, dst, g.cols2x == 1 ? 1 : 0)
                if slot == 0 { cached.0 = r } else { cached.1 = r }
                return dst
              }
              for ow in 0..<outW {
                let c0 = cols[2 * ow], c1 = cols[2 * ow + 1]
                dst[ow] = src[c0] + (src[c1] - src[c0]) * weights[ow]
              }
              if slot == 0 { cached.0 = r } else { cached.1 = r }
              return dst
            }
            for (oh, (r0, r1, wr)) in g.rows.enumerated() {
              let top = UnsafePointer(row(r0, avoiding: r1)), bottom = UnsafePointer(row(r1, avoiding: r0))
              let out = yp + oh * outW
              for ow in 0..<outW { out[ow] = top[ow] + (bottom[ow] - top[ow]) * wr }
            }
          }
        }
      }
    }
  }
}
