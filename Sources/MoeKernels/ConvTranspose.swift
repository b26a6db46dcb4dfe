// ConvTranspose: conv_transpose2d with fused epilogues — per tile of input rows one packed GEMM, then col2im.

/// Scratch floats of a conv_transpose2d: every group's packed weights (`shared`: A = og·taps × cg), then per part
/// (thread) a `slice` for its packed input tile and its product rows.
func transposedScratch(_ g: ConvDesc) -> (shared: Int, slice: Int) {
  let m = g.og &* g.taps, cols = g.inputTileRows &* g.w
  return (packedASize(m: m, k: g.cg) &* g.groups, packedBSize(k: g.cg, n: cols) &+ m &* cols)
}

/// Scratch floats `moe_conv_transpose2d` needs for this descriptor.
@_cdecl("moe_conv_transpose2d_scratch")
public func moe_conv_transpose2d_scratch(_ d: UnsafePointer<Int32>) -> Int32 {
  let (shared, slice) = transposedScratch(ConvDesc(d))
  return Int32(shared &+ slice)
}

/// y = epilogue(conv_transpose2d(x, w) + bias [, r]) for NCHW x and w (C, O/g, KH, KW) (Chainer Deconvolution2D);
/// the descriptor's OH/OW include any output padding. Per image, group and tile of input rows:
/// col = W_gᵀ · x_g (one GEMM), then col2im accumulation.
@_cdecl("moe_conv_transpose2d")
public func moe_conv_transpose2d(
  _ d: UnsafePointer<Int32>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
  _ r: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>
) {
  let g = ConvDesc(d)
  packTransposedWeights(g, w, scratch)
  transposedPart(g, x, bias, r, y, scratch, part: 0, parts: 1)
}

/// Packs every group's weights Wᵀ (og·taps × cg) into the head of the scratch.
func packTransposedWeights(_ g: ConvDesc, _ w: UnsafePointer<Float>, _ scratch: UnsafeMutablePointer<Float>) {
  let cg = g.cg, m = g.og &* g.taps, aSize = packedASize(m: m, k: cg)
  for grp in 0..<g.groups {
    packA(w + grp &* cg &* m, m: m, k: cg, inner: m, outerStride: 0, rowStride: 1, colStride: m, into: scratch + grp &* aSize)
  }
}

/// Part `part` of `parts` of a conv_transpose2d whose weights `packTransposedWeights` has packed: output channels
/// [l0, l1) of every group (runs whose first product row starts a 4-row A panel). Per image, group and tile of input
/// rows: B = the rows' input pixels, the channels' og·taps product rows, added into the output by `col2im`; the bias
/// before and the epilogue after. Each output element adds its products in the same order whatever the split, so the
/// result does not depend on `parts`. Not inlined: `moe_conv_transpose2d` and its parts share one copy.
@inline(never)
func transposedPart(
  _ g: ConvDesc, _ x: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ r: UnsafePointer<Float>?,
  _ y: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>, part: Int, parts: Int
) {
  let cg = g.cg, og = g.og, taps = g.taps, tileRows = g.inputTileRows
  let unit = taps % 4 == 0 ? 1 : taps % 2 == 0 ? 2 : 4
  let (l0, l1) = partRange(og, unit: unit, part, parts)
  if l0 >= l1 { return }
  let (shared, slice) = transposedScratch(g), aSize = packedASize(m: og &* taps, k: cg)
  let pb = scratch + (shared &+ part &* slice), col = pb + packedBSize(k: cg, n: tileRows &* g.w)
  for n in 0..<g.n {
    let xn = x + n &* g.c &* g.inPlane
    for grp in 0..<g.groups {
      let xg = xn + grp &* cg &* g.inPlane, first = (n &* g.o &+ grp &* og &+ l0) &* g.outPlane, yg = y + first
      fillBias(yg, bias.map { $0 + (grp &* og &+ l0) }, channels: l1 &- l0, plane: g.outPlane)
      var row0 = 0
      while row0 < g.h {
        let rows = min(tileRows, g.h &- row0), cols = rows &* g.w
        packB(xg, k: cg, n0: row0 &* g.w, n: cols, ld: g.inPlane, into: pb)
        gemmPacked(
          m: (l1 &- l0) &* taps, n: cols, k: cg, a: scratch + (grp &* aSize &+ l0 &* taps &* cg), b: pb, c: col,
          ldc: cols, bias: nil, accumulate: false)
        col2im(g, channels: l1 &- l0, col: col, firstRow: row0, rows: rows, into: yg, flipped: false, outRows: 0, g.oh)
        row0 &+= rows
      }
      applyEpilogue(g.epilogue, yg, r.map { $0 + first }, (l1 &- l0) &* g.outPlane)
    }
  }
}
