// WinogradWeights: the load-time filter transforms G·g·Gᵀ of Winograd.swift and WinogradWide.swift, packed for the GEMM.

/// G·(a, b, c), each lane an output channel, stored at `t`, `t + step`, …: for `alpha` 6 (F(4×4, 3×3))
/// G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1⁄24 1⁄12 ⅙; 1⁄24 −1⁄12 ⅙; 0 0 1], for 5 (F(3×3, 3×3)) G = [½ 0 0; −½ −½ −½;
/// −⅙ ⅙ −⅙; ⅙ ⅓ ⅔; 0 0 1]. Not inlined (load time only).
@inline(never)
func filterTransform(
  _ alpha: Int, _ a: SIMD4<Float>, _ b: SIMD4<Float>, _ c: SIMD4<Float>, _ t: UnsafeMutablePointer<Float>, step: Int
) {
  let two = SIMD4<Float>(repeating: 2), six = SIMD4<Float>(repeating: 6), s = a + c
  if alpha == 6 {
    let q = a / SIMD4(repeating: 24) + c / six, h = b / SIMD4(repeating: 12)
    store4(a / SIMD4(repeating: 4), t)
    store4(-(s + b) / six, t + step)
    store4((b - s) / six, t + 2 &* step)
    store4(q + h, t + 3 &* step)
    store4(q - h, t + 4 &* step)
    store4(c, t + 5 &* step)
  } else {
    store4(a / two, t)
    store4(-(s + b) / two, t + step)
    store4((b - s) / six, t + 2 &* step)
    store4((a + two * b + SIMD4(repeating: 4) * c) / six, t + 3 &* step)
    store4(c, t + 4 &* step)
  }
}

/// Transforms a conv2d weight w (O, C, KH, KW) into the packed A matrices of a Winograd conv at `u`, four rows (lanes)
/// at a time: `alpha` 6 (F(4×4, 3×3), KH = KW = 3, rows = output channels) or 5 (F(3×3, 3×3) over the 3×3 sub-kernels
/// of a 3·SP × 3·SQ kernel, row (o·SP + p)·SQ + q). Matrix ξ (of alpha²) holds G·g·Gᵀ at ξ in panels of 4 rows, each
/// C-major (`packA`'s layout), rows past the last zero. `work` holds 256 floats.
@_cdecl("moe_winograd_weights")
public func moe_winograd_weights(
  _ w: UnsafePointer<Float>, _ o: Int32, _ c: Int32, _ kh: Int32, _ kw: Int32, _ alpha: Int32,
  _ u: UnsafeMutablePointer<Float>, _ work: UnsafeMutablePointer<Float>
) {
  let c = Int(c), kh = Int(kh), kw = Int(kw), alpha = Int(alpha), sp = kh / 3, sq = kw / 3
  let rows = Int(o) &* sp &* sq, size = packedASize(m: rows, k: c), t = work + 36, out = t + 12 &* alpha
  var panel = 0
  while panel < rows {
    for ch in 0..<c {
      // work[(i·3 + j)·4 + l]: tap (i, j) of row panel + l's sub-kernel for input channel ch (0 past the last row).
      for l in 0..<4 {
        let row = panel &+ l, base = ((row / (sp &* sq) &* c &+ ch) &* kh &+ row / sq % sp &* 3) &* kw &+ row % sq &* 3
        for k in 0..<9 { work[k &* 4 &+ l] = row < rows ? w[base &+ k / 3 &* kw &+ k % 3] : 0 }
      }
      // G·g down the columns into t (alpha × 3), then G·g·Gᵀ along the rows into out (alpha × alpha).
      for j in 0..<3 {
        let g = work + j &* 4
        filterTransform(alpha, load4(g), load4(g + 12), load4(g + 24), t + j &* 4, step: 12)
      }
      for i in 0..<alpha {
        let s = t + i &* 12
        filterTransform(alpha, load4(s), load4(s + 4), load4(s + 8), out + i &* alpha &* 4, step: 4)
      }
      let dst = u + (panel &* c &+ ch &* 4)
      for xi in 0..<(alpha &* alpha) { store4(load4(out + xi &* 4), dst + xi &* size) }
    }
    panel &+= 4
  }
}
