// Conv: conv2d, conv_transpose2d and linear with fused epilogues, on the packed GEMM (im2col / shifted products).

/// Geometry of a conv2d or conv_transpose2d call, read from the Int32 descriptor of the C ABI:
/// [0] N, [1] C, [2] H, [3] W, [4] O, [5] OH, [6] OW, [7] KH, [8] KW, [9] SH, [10] SW, [11] pad top, [12] pad left,
/// [13] DH, [14] DW, [15] groups, [16] activation code, [17] alpha (float32 bits), [18] residual code.
struct ConvDesc {
  var n, c, h, w, o, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw, groups: Int
  var epilogue: Epilogue

  init(_ d: UnsafePointer<Int32>) {
    n = Int(d[0]); c = Int(d[1]); h = Int(d[2]); w = Int(d[3]); o = Int(d[4]); oh = Int(d[5]); ow = Int(d[6])
    kh = Int(d[7]); kw = Int(d[8]); sh = Int(d[9]); sw = Int(d[10]); pt = Int(d[11]); pl = Int(d[12])
    dh = Int(d[13]); dw = Int(d[14]); groups = Int(d[15])
    epilogue = Epilogue(activation: d[16], alpha: Float(bitPattern: UInt32(bitPattern: d[17])), residual: d[18])
  }

  var cg: Int { c / groups }
  var og: Int { o / groups }
  var taps: Int { kh &* kw }
  var inPlane: Int { h &* w }
  var outPlane: Int { oh &* ow }
  /// 1×1, stride 1, unpadded: the input plane is the column matrix.
  var isPointwise: Bool { kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && oh == h && ow == w }
  /// Stride-1 conv with few outputs per group (≤ ¼ of the inputs): shifted products beat a wide im2col.
  var isShiftAdd: Bool { !isPointwise && sh == 1 && sw == 1 && og &* 4 <= cg }
  /// Input rows per tile of shifted products / transposed-conv columns (about 512 KB of columns).
  var inputTileRows: Int { max(1, min(h, 131072 / max(1, og &* taps &* w))) }
}

// MARK: conv2d

/// Scratch floats `moe_conv2d` needs for this descriptor.
@_cdecl("moe_conv2d_scratch")
public func moe_conv2d_scratch(_ d: UnsafePointer<Int32>) -> Int32 {
  let (shared, slice) = convScratch(ConvDesc(d))
  return Int32(shared &+ slice)
}

/// Scratch floats of a conv2d: the packed weights of every group (`shared`), then per part (thread) a `slice` for
/// its packed input tile (and, for shifted products, the product tile).
func convScratch(_ g: ConvDesc) -> (shared: Int, slice: Int) {
  if g.isShiftAdd {
    let m = g.og &* g.taps, cols = g.inputTileRows &* g.w
    return (packedASize(m: m, k: g.cg) &* g.groups, packedBSize(k: g.cg, n: cols) &+ m &* cols)
  }
  let k = g.cg &* g.taps
  return (packedASize(m: g.og, k: k) &* g.groups, packedBSize(k: k, n: tileColumns(k: k, n: g.outPlane)))
}

/// y = epilogue(conv2d(x, w) + bias [, r]) for NCHW x, w (O, C/g, KH, KW), optional bias (O) and residual r (y's shape).
/// `scratch` holds `moe_conv2d_scratch(d)` floats; y must not overlap x or r.
@_cdecl("moe_conv2d")
public func moe_conv2d(
  _ d: UnsafePointer<Int32>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
  _ r: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>
) {
  let g = ConvDesc(d)
  packConvWeights(g, w, scratch)
  convPart(g, x, bias, r, y, scratch, part: 0, parts: 1)
}

/// Packs every group's weights into the head of the scratch: GEMM A panels (og × cg·taps), or for shifted products
/// (og·taps × cg).
func packConvWeights(_ g: ConvDesc, _ w: UnsafePointer<Float>, _ scratch: UnsafeMutablePointer<Float>) {
  let cg = g.cg, og = g.og, taps = g.taps
  if g.isShiftAdd {
    let m = og &* taps, aSize = packedASize(m: m, k: cg)
    for grp in 0..<g.groups {
      packA(
        w + grp &* og &* cg &* taps, m: m, k: cg, inner: taps, outerStride: cg &* taps, rowStride: 1, colStride: taps,
        into: scratch + grp &* aSize)
    }
    return
  }
  let k = cg &* taps, aSize = packedASize(m: og, k: k)
  for grp in 0..<g.groups {
    packA(w + grp &* og &* k, m: og, k: k, inner: og, outerStride: 0, rowStride: k, colStride: 1, into: scratch + grp &* aSize)
  }
}

/// Part `part` of `parts` of a conv2d whose weights `packConvWeights` has packed: output pixels (im2col) or output
/// rows (shifted products) split in equal runs. Every output element gets the arithmetic of the whole call, in the
/// same order, so the result does not depend on `parts`.
func convPart(
  _ g: ConvDesc, _ x: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ r: UnsafePointer<Float>?,
  _ y: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>, part: Int, parts: Int
) {
  let (shared, slice) = convScratch(g)
  let own = scratch + (shared &+ part &* slice)
  if g.isShiftAdd {
    let (row0, row1) = partRange(g.oh, unit: 1, part, parts)
    return shiftedProductsRows(g, x, bias, r, y, packedA: scratch, tile: own, outRows: row0, row1)
  }
  let cg = g.cg, og = g.og, k = cg &* g.taps
  let aSize = packedASize(m: og, k: k)
  let tile = tileColumns(k: k, n: g.outPlane)
  let (first, end) = partRange(g.outPlane, unit: blockCols, part, parts)
  for n in 0..<g.n {
    let xn = x + n &* g.c &* g.inPlane, yn = y + n &* g.o &* g.outPlane
    let rn = r.map { $0 + n &* g.o &* g.outPlane }
    for grp in 0..<g.groups {
      let xg = xn + grp &* cg &* g.inPlane, yg = yn + grp &* og &* g.outPlane
      var n0 = first
      while n0 < end {
        let cols = min(tile, end &- n0)
        if g.isPointwise {
          packB(xg, k: cg, n0: n0, n: cols, ld: g.inPlane, into: own)
        } else {
          packIm2col(g, xg, n0: n0, cols: cols, into: own)
        }
        gemmPacked(
          m: og, n: cols, k: k, a: scratch + grp &* aSize, b: own, c: yg + n0, ldc: g.outPlane,
          bias: bias.map { $0 + grp &* og }, accumulate: false)
        for o in 0..<og {
          let at = (grp &* og &+ o) &* g.outPlane &+ n0
          applyEpilogue(g.epilogue, yn + at, rn.map { $0 + at }, cols)
        }
        n0 &+= cols
      }
    }
  }
}

/// [lo, hi): part `part` of `parts` of 0..<n cut at multiples of `unit`.
@inline(__always) func partRange(_ n: Int, unit: Int, _ part: Int, _ parts: Int) -> (Int, Int) {
  let units = (n &+ unit &- 1) / unit
  return (min(n, units &* part / parts &* unit), min(n, units &* (part &+ 1) / parts &* unit))
}

/// Output rows [row0, row1) of a stride-1 conv as shifted products (weights packed at `packedA`, `tile` the part's
/// slice): the input rows reaching them, tile by tile, B = the rows' pixels, P = A·B, P's rows added into y shifted,
/// then the epilogue. Each output pixel adds its taps in (ki, kj) order whatever the tiling, so any row split gives
/// the same bits.
func shiftedProductsRows(
  _ g: ConvDesc, _ x: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ r: UnsafePointer<Float>?,
  _ y: UnsafeMutablePointer<Float>, packedA: UnsafeMutablePointer<Float>, tile: UnsafeMutablePointer<Float>,
  outRows row0: Int, _ row1: Int
) {
  if row0 >= row1 { return }
  let cg = g.cg, og = g.og, m = og &* g.taps, aSize = packedASize(m: m, k: cg)
  let tileRows = g.inputTileRows
  let pb = tile, col = pb + packedBSize(k: cg, n: tileRows &* g.w)
  // Output row oh takes input rows oh − pt + ki·dh.
  let in0 = max(0, row0 &- g.pt), in1 = min(g.h, row1 &- g.pt &+ (g.kh &- 1) &* g.dh)
  let span = (row1 &- row0) &* g.ow, skip = row0 &* g.ow
  for n in 0..<g.n {
    let xn = x + n &* g.c &* g.inPlane, yn = y + n &* g.o &* g.outPlane
    for o in 0..<g.o {
      let v = bias?[o] ?? 0
      let p = yn + (o &* g.outPlane &+ skip)
      for i in 0..<span { p[i] = v }
    }
    for grp in 0..<g.groups {
      let xg = xn + grp &* cg &* g.inPlane, yg = yn + grp &* og &* g.outPlane
      var ih = in0
      while ih < in1 {
        let rows = min(tileRows, in1 &- ih), cols = rows &* g.w
        packB(xg, k: cg, n0: ih &* g.w, n: cols, ld: g.inPlane, into: pb)
        gemmPacked(m: m, n: cols, k: cg, a: packedA + grp &* aSize, b: pb, c: col, ldc: cols, bias: nil, accumulate: false)
        col2im(g, channels: og, col: col, firstRow: ih, rows: rows, into: yg, flipped: true, outRows: row0, row1)
        ih &+= rows
      }
    }
    let rn = r.map { $0 + n &* g.o &* g.outPlane }
    for o in 0..<g.o {
      let at = o &* g.outPlane &+ skip
      applyEpilogue(g.epilogue, yn + at, rn.map { $0 + at }, span)
    }
  }
}

/// Column tile of output pixels [n0, n0+cols) of one group, packed as GEMM B panels: for each panel of 8 pixels and
/// each row (c, ki, kj), the 8 inputs under that tap (zero in the padding).
func packIm2col(_ g: ConvDesc, _ x: UnsafePointer<Float>, n0: Int, cols: Int, into dst: UnsafeMutablePointer<Float>) {
  var d = dst
  var p = 0
  while p < cols {
    let start = n0 &+ p
    let oh = start / g.ow, ow0 = start % g.ow
    if g.sw == 1 && ow0 &+ blockCols <= g.ow && p &+ blockCols <= cols {
      // The panel is 8 neighbouring pixels of one output row: each tap reads 8 neighbouring inputs.
      for c in 0..<g.cg {
        let plane = x + c &* g.inPlane
        for ki in 0..<g.kh {
          let ih = oh &* g.sh &- g.pt &+ ki &* g.dh
          if ih < 0 || ih >= g.h {
            for _ in 0..<g.kw {
              store4(SIMD4<Float>(), d)
              store4(SIMD4<Float>(), d + 4)
              d += blockCols
            }
            continue
          }
          let row = plane + ih &* g.w
          for kj in 0..<g.kw {
            let iw0 = ow0 &- g.pl &+ kj &* g.dw
            if iw0 >= 0 && iw0 &+ blockCols <= g.w {
              store4(load4(row + iw0), d)
              store4(load4(row + iw0 + 4), d + 4)
            } else {
              for t in 0..<blockCols {
                let iw = iw0 &+ t
                d[t] = iw >= 0 && iw < g.w ? row[iw] : 0
              }
            }
            d += blockCols
          }
        }
      }
    } else {
      // General panel: pixels may span rows (or the tile's end); gather each one.
      var pix: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
      withUnsafeMutableBytes(of: &pix) { raw in
        let pos = raw.baseAddress!.assumingMemoryBound(to: Int.self)
        for t in 0..<blockCols {
          let q = start &+ t
          pos[t] = p &+ t < cols ? q : -1
        }
        for c in 0..<g.cg {
          let plane = x + c &* g.inPlane
          for ki in 0..<g.kh {
            for kj in 0..<g.kw {
              for t in 0..<blockCols {
                let q = pos[t]
                var v: Float = 0
                if q >= 0 {
                  let ih = (q / g.ow) &* g.sh &- g.pt &+ ki &* g.dh
                  let iw = (q % g.ow) &* g.sw &- g.pl &+ kj &* g.dw
                  if ih >= 0 && ih < g.h && iw >= 0 && iw < g.w { v = plane[ih &* g.w &+ iw] }
                }
                d[t] = v
              }
              d += blockCols
            }
          }
        }
      }
    }
    p &+= blockCols
  }
}

/// Sets each of `channels` planes to its bias (or zero).
func fillBias(_ y: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>?, channels: Int, plane: Int) {
  for o in 0..<channels {
    let v = bias?[o] ?? 0
    let p = y + o &* plane
    for i in 0..<plane { p[i] = v }
  }
}

/// Adds a column tile [channels·kh·kw, rows·W] (input rows firstRow..<firstRow+rows) into the output planes: entry
/// (o, ki, kj, ih, iw) goes to y[o, ih·sh + ki·dh − pt, iw·sw + kj·dw − pl] (transposed conv), or when `flipped`
/// (stride-1 conv as shifted products) to y[o, ih − ki·dh + pt, iw − kj·dw + pl]; only output rows [row0, row1).
/// Not inlined (called per tile; one copy serves every caller).
@inline(never)
func col2im(
  _ g: ConvDesc, channels: Int, col: UnsafePointer<Float>, firstRow: Int, rows: Int,
  into y: UnsafeMutablePointer<Float>, flipped: Bool, outRows row0: Int, _ row1: Int
) {
  let iw = g.w, sw = flipped ? 1 : g.sw, sh = flipped ? 1 : g.sh, cols = rows &* iw
  let rowStep = flipped ? -g.dh : g.dh, rowBase = flipped ? g.pt : -g.pt
  let colStep = flipped ? -g.dw : g.dw, colBase = flipped ? g.pl : -g.pl
  var src = col
  for o in 0..<channels {
    let plane = y + o &* g.outPlane
    for ki in 0..<g.kh {
      for kj in 0..<g.kw {
        // Input columns [lo, hi) that land inside the output: 0 ≤ iw·sw + off < OW.
        let off = colBase &+ kj &* colStep
        let lo = off >= 0 ? 0 : min(iw, (-off &+ sw &- 1) / sw)
        let last = g.ow &- 1 &- off
        let hi = max(lo, last < 0 ? 0 : min(iw, last / sw &+ 1))
        var s = src
        for ih in firstRow..<(firstRow &+ rows) {
          let oh = ih &* sh &+ rowBase &+ ki &* rowStep
          if oh >= row0 && oh < row1 {
            let dst = plane + (oh &* g.ow &+ off)
            if sw == 1 {
              var j = lo
              while j &+ 4 <= hi {
                store4(load4(dst + j) + load4(s + j), dst + j)
                j &+= 4
              }
              while j < hi {
                dst[j] += s[j]
                j &+= 1
              }
            } else {
              for j in lo..<hi { dst[j &* sw] += s[j] }
            }
          }
          s += iw
        }
        src += cols
      }
    }
  }
}

// MARK: linear

/// y (rows, out) = epilogue(x (rows, in) · Wᵀ + bias [, r]) for W (out, in): four rows at a time, each W row read once
/// per four rows and dotted with SIMD4 partial sums. Activation codes as `moe_unary`, residual as `moe_conv2d`.
@_cdecl("moe_linear")
public func moe_linear(
  _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ r: UnsafePointer<Float>?,
  _ y: UnsafeMutablePointer<Float>, _ rows: Int32, _ inFeatures: Int32, _ outFeatures: Int32,
  _ act: Int32, _ alpha: Float, _ residual: Int32
) {
  linearOutputs(x, w, bias, r, y, Int(rows), Int(inFeatures), Int(outFeatures),
                Epilogue(activation: act, alpha: alpha, residual: residual), 0, Int(outFeatures))
}

/// Output features [o0, o1) of every row of `moe_linear`, epilogue included. Not inlined: `moe_linear` and
/// `moe_linear_part` share one copy.
@inline(never)
func linearOutputs(
  _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ r: UnsafePointer<Float>?,
  _ y: UnsafeMutablePointer<Float>, _ rows: Int, _ k: Int, _ outs: Int, _ e: Epilogue, _ o0: Int, _ o1: Int
) {
  let k4 = k & ~3
  var r0 = 0
  while r0 < rows {
    let nr = min(4, rows &- r0)
    let x0 = x + r0 &* k
    let x1 = x0 + (nr > 1 ? k : 0), x2 = x0 + (nr > 2 ? 2 &* k : 0), x3 = x0 + (nr > 3 ? 3 &* k : 0)
    if nr == 1 {
      // A lone row (batch 1): its sum alone, in the same order as below.
      for o in o0..<o1 {
        let wo = w + o &* k
        var s0 = SIMD4<Float>()
        var j = 0
        while j < k4 {
          s0 += load4(wo + j) * load4(x0 + j)
          j &+= 4
        }
        var t0 = s0.sum()
        while j < k {
          t0 += wo[j] * x0[j]
          j &+= 1
        }
        y[r0 &* outs &+ o] = t0 + (bias?[o] ?? 0)
      }
      break
    }
    for o in o0..<o1 {
      let wo = w + o &* k
      var s0 = SIMD4<Float>(), s1 = SIMD4<Float>(), s2 = SIMD4<Float>(), s3 = SIMD4<Float>()
      var j = 0
      while j < k4 {
        let wv = load4(wo + j)
        s0 += wv * load4(x0 + j); s1 += wv * load4(x1 + j)
        s2 += wv * load4(x2 + j); s3 += wv * load4(x3 + j)
        j &+= 4
      }
      var t0 = s0.sum(), t1 = s1.sum(), t2 = s2.sum(), t3 = s3.sum()
      while j < k {
        let wv = wo[j]
        t0 += wv * x0[j]; t1 += wv * x1[j]; t2 += wv * x2[j]; t3 += wv * x3[j]
        j &+= 1
      }
      let b = bias?[o] ?? 0
      let yo = y + (r0 &* outs &+ o)
      yo[0] = t0 + b
      if nr > 1 { yo[outs] = t1 + b }
      if nr > 2 { yo[2 &* outs] = t2 + b }
      if nr > 3 { yo[3 &* outs] = t3 + b }
    }
    r0 &+= 4
  }
  for row in 0..<rows {
    let at = row &* outs &+ o0
    applyEpilogue(e, y + at, r.map { $0 + at }, o1 &- o0)
  }
}
