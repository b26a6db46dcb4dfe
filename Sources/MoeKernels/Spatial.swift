// Spatial: padding (constant, reflect, edge), max/average pooling and resize (nearest, bilinear) of NCHW planes.

/// The input index output index `o` of an axis of extent `n` reads when `begin` elements are padded in front:
/// −1 for the constant. Modes: 0 constant, 1 reflect (mirror without repeating the edge), 2 edge.
@inline(__always) func padSource(_ o: Int, _ n: Int, _ begin: Int, _ mode: Int32) -> Int {
  var i = o &- begin
  if i >= 0 && i < n { return i }
  switch mode {
  case 0: return -1
  case 2: return i < 0 ? 0 : n &- 1
  default:
    while i < 0 || i >= n { i = i < 0 ? -i : 2 &* (n &- 1) &- i }
    return i
  }
}

/// Pads x into y. `geometry` is Int32 `[rank, input extents…, output extents…, begin pads…, mode]` (1 ≤ rank ≤ 8,
/// begin pads may be negative: cropping); `value` fills constant padding.
@_cdecl("moe_pad")
public func moe_pad(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ geometry: UnsafePointer<Int32>, _ value: Float) {
  let r = Int(geometry[0]), mode = geometry[1 &+ 3 &* r]
  func inExtent(_ d: Int) -> Int { Int(geometry[1 &+ d]) }
  func outExtent(_ d: Int) -> Int { Int(geometry[1 &+ r &+ d]) }
  func begin(_ d: Int) -> Int { Int(geometry[1 &+ 2 &* r &+ d]) }
  var count = 1
  for d in 0..<r { count &*= outExtent(d) }
  let inner = outExtent(r &- 1), n = inExtent(r &- 1), b = begin(r &- 1)
  if count == 0 { return }
  var idx = SIMD8<Int32>()
  var yp = y
  for _ in 0..<(count / inner) {
    var base = 0, inside = true
    for d in 0..<(r &- 1) {
      let s = padSource(Int(idx[d]), inExtent(d), begin(d), mode)
      if s < 0 { inside = false; break }
      base = base &* inExtent(d) &+ s
    }
    if inside {
      let row = x + base &* n
      for i in 0..<inner { let s = padSource(i, n, b, mode); yp[i] = s < 0 ? value : row[s] }
    } else {
      for i in 0..<inner { yp[i] = value }
    }
    yp += inner
    var d = r &- 2
    while d >= 0 {
      idx[d] &+= 1
      if Int(idx[d]) < outExtent(d) { break }
      idx[d] = 0
      d &-= 1
    }
  }
}

/// Max (isMax 1) or average pooling of NCHW planes. `geometry` is Int32 `[planes, H, W, OH, OW, KH, KW, SH, SW, DH,
/// DW, pad top, pad left, pad bottom, pad right, isMax, countIncludePad]`. Max pooling ignores padding (NaN wins);
/// average pooling divides by the in-input window size, or with countIncludePad by the window clipped to the padded input.
@_cdecl("moe_pool")
public func moe_pool(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ geometry: UnsafePointer<Int32>) {
  func at(_ i: Int) -> Int { Int(geometry[i]) }
  let (planes, h, w, oh, ow, kh, kw) = (at(0), at(1), at(2), at(3), at(4), at(5), at(6))
  let (sh, sw, dh, dw, pt, pl) = (at(7), at(8), at(9), at(10), at(11), at(12))
  let padH = h &+ at(13), padW = w &+ at(14), isMax = at(15) == 1, includePad = at(16) == 1
  for p in 0..<planes {
    let xp = x + p &* h &* w, yp = y + p &* oh &* ow
    for i in 0..<oh {
      let h0 = i &* sh &- pt
      for j in 0..<ow {
        let w0 = j &* sw &- pl
        var acc: Float = isMax ? -.infinity : 0
        var inside = 0, padded = 0
        for ki in 0..<kh {
          let r = h0 &+ ki &* dh
          if r >= padH { break }
          for kj in 0..<kw {
            let c = w0 &+ kj &* dw
            if c >= padW { break }
            padded &+= 1
            if r < 0 || c < 0 || r >= h || c >= w { continue }
            let v = xp[r &* w &+ c]
            inside &+= 1
            if isMax { if v > acc || v != v { acc = v } } else { acc += v }
          }
        }
        if !isMax { acc /= Float(includePad ? padded : max(inside, 1)) }
        yp[i &* ow &+ j] = acc
      }
    }
  }
}

/// Resizes NCHW planes (planes, H, W) to (planes, OH, OW) by separable taps: output row i reads input rows
/// taps[2i], taps[2i+1] with weight weights[i] on the second; columns follow at taps[2·OH…], weights[OH…].
/// value = top + (bottom − top)·wr with top/bottom = a + (b − a)·wc (nearest: both taps equal, weight 0).
@_cdecl("moe_resize")
public func moe_resize(
  _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ planes: Int32, _ height: Int32, _ width: Int32,
  _ outHeight: Int32, _ outWidth: Int32, _ taps: UnsafePointer<Int32>, _ weights: UnsafePointer<Float>
) {
  let (h, w, oh, ow) = (Int(height), Int(width), Int(outHeight), Int(outWidth))
  let colTaps = taps + 2 &* oh, colWeights = weights + oh
  for p in 0..<Int(planes) {
    let xp = x + p &* h &* w, yp = y + p &* oh &* ow
    for i in 0..<oh {
      let a = xp + Int(taps[2 &* i]) &* w, b = xp + Int(taps[2 &* i &+ 1]) &* w, wr = weights[i], out = yp + i &* ow
      for j in 0..<ow {
        let c0 = Int(colTaps[2 &* j]), c1 = Int(colTaps[2 &* j &+ 1]), wc = colWeights[j]
        let top = a[c0] + (a[c1] - a[c0]) * wc, bottom = b[c0] + (b[c1] - b[c0]) * wc
        out[j] = top + (bottom - top) * wr
      }
    }
  }
}
