// WinogradWide: conv2d with 3k×3l kernels, stride 1, as 3×3 sub-kernels by Winograd F(3×3, 3×3) on 3×3 output tiles.

/// A conv2d whose kernel is SP×SQ blocks of 3×3 (6×6, 9×9, …; stride 1, dilation 1, one group) by Winograd
/// F(3×3, 3×3): with 3×3 output tiles, sub-kernel (p, q) of output tile (i, j) reads the 5×5 input patch of input
/// tile (i + p, j + q) (origin 3·(i + p) − pt, 3·(j + q) − pl), so every input tile is transformed once (Bᵀ·d·B), the
/// 25 products P = U·V (rows: output channel × sub-kernel, columns: a row of input tiles) run on the packed GEMM, and
/// output tile (i, j) sums P[o, p, q] at input tile (i + p, j + q) before Aᵀ·m·A. The weights U = G·g·Gᵀ of every
/// sub-kernel are transformed once at load (`moe_winograd_weights`) into 25 packed A matrices (O·SP·SQ × C).
struct WideWinogradPlan {
  let g: ConvDesc
  /// Sub-kernels down and across; output tiles down and across; input tiles across.
  let sp: Int, sq: Int, tilesY: Int, tilesX: Int, inputTilesX: Int
  /// Product rows (O·SP·SQ) and columns (input tiles across, padded to whole quads and the widest shifted read).
  let rows: Int, columns: Int

  init(_ g: ConvDesc) {
    self.g = g
    sp = g.kh / 3
    sq = g.kw / 3
    tilesY = (g.oh &+ 2) / 3
    tilesX = (g.ow &+ 2) / 3
    inputTilesX = tilesX &+ sq &- 1
    rows = g.o &* sp &* sq
    columns = roundUp(max(inputTilesX, roundUp(tilesX, 4) &+ sq &- 1), 4)
  }

  /// Floats of one transformed input row (C × columns in whole 8-column panels) and one product matrix.
  var inputSize: Int { g.c &* roundUp(columns, 8) }
  var productSize: Int { rows &* columns }
  /// Floats of one part's scratch: 25 transformed inputs, SP rows of 25 products, 180 floats of workspace.
  var slice: Int { 25 &* (inputSize &+ sp &* productSize) &+ 180 }
  /// Floats of one packed weight matrix.
  var weightSize: Int { packedASize(m: rows, k: g.c) }
}

/// Scratch floats `moe_winograd_wide_part` needs for `parts` parts.
@_cdecl("moe_winograd_wide_scratch")
public func moe_winograd_wide_scratch(_ d: UnsafePointer<Int32>, _ parts: Int32) -> Int32 {
  Int32(WideWinogradPlan(ConvDesc(d)).slice &* Int(parts))
}

/// y = epilogue(conv2d(x, w) + bias [, r]) by `WideWinogradPlan`, `u` holding the transformed weights; `scratch` holds
/// `moe_winograd_wide_scratch(d, 1)` floats; y must not overlap x or r.
@_cdecl("moe_winograd_wide")
public func moe_winograd_wide(
  _ d: UnsafePointer<Int32>, _ x: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
  _ r: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>
) {
  moe_winograd_wide_part(d, x, u, bias, r, y, scratch, 0, 1)
}

/// Part `part` of `parts` of `moe_winograd_wide`: a run of output tile rows. A part transforms the input tile rows it
/// reads (SP − 1 of them also read by the part before) into a ring of SP product rows; every tile gets the same
/// arithmetic whatever the split, so the result does not depend on `parts`. Not inlined into `moe_winograd_wide`.
@inline(never)
@_cdecl("moe_winograd_wide_part")
public func moe_winograd_wide_part(
  _ d: UnsafePointer<Int32>, _ x: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
  _ r: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>,
  _ part: Int32, _ parts: Int32
) {
  let p = WideWinogradPlan(ConvDesc(d))
  let (first, end) = partRange(p.g.n &* p.tilesY, unit: 1, Int(part), Int(parts))
  let inputs = scratch + Int(part) &* p.slice, products = inputs + 25 &* p.inputSize
  let work = products + 25 &* p.sp &* p.productSize
  var image = -1, ready = 0
  for row in first..<end {
    let i = row % p.tilesY
    if row / p.tilesY != image {
      image = row / p.tilesY
      ready = i
    }
    // Input tile rows i … i + SP − 1 into the ring (row a at slot a mod SP).
    while ready < i &+ p.sp {
      wideInputs(p, x + image &* p.g.c &* p.g.inPlane, tileRow: ready, into: inputs, work: work)
      let slot = products + ready % p.sp &* 25 &* p.productSize
      for xi in 0..<25 {
        gemmPacked(
          m: p.rows, n: p.inputTilesX, k: p.g.c, a: u + xi &* p.weightSize, b: inputs + xi &* p.inputSize,
          c: slot + xi &* p.productSize, ldc: p.columns, bias: nil, accumulate: false)
      }
      ready &+= 1
    }
    wideOutputs(p, products, image: image, tileRow: i, bias, r, y, work: work)
  }
}

/// Bᵀ·d of five vectors (each lane a tile): Bᵀ = [2 −1 −2 1 0; 0 −2 −1 1 0; 0 2 −3 1 0; 0 −1 0 1 0; 0 2 −1 −2 1]
/// (points 0, 1, −1, 2, ∞), stored at `t`, `t + step`, … .
@inline(__always)
func wideInputTransform(
  _ d0: SIMD4<Float>, _ d1: SIMD4<Float>, _ d2: SIMD4<Float>, _ d3: SIMD4<Float>, _ d4: SIMD4<Float>,
  _ t: UnsafeMutablePointer<Float>, step: Int
) {
  let two = SIMD4<Float>(repeating: 2), e = d3 - d2, f = two * d1
  store4(two * (d0 - d2) - d1 + d3, t)
  store4(e - f, t + step)
  store4(e + f - two * d2, t + 2 &* step)
  store4(d3 - d1, t + 3 &* step)
  store4(f - d2 - two * d3 + d4, t + 4 &* step)
}

/// Transforms input tile row `tileRow` of one image (`x` at its first channel) into the 25 packed B matrices at `v`
/// (C rows × columns; column b is input tile b), four tiles (a quad, one per lane) at a time.
func wideInputs(
  _ p: WideWinogradPlan, _ x: UnsafePointer<Float>, tileRow: Int, into v: UnsafeMutablePointer<Float>,
  work: UnsafeMutablePointer<Float>
) {
  let g = p.g, iy0 = tileRow &* 3 &- g.pt, patch = work + 100
  for quad in 0..<((p.inputTilesX &+ 3) / 4) {
    let ix0 = quad &* 12 &- g.pl
    let inside = iy0 >= 0 && iy0 &+ 5 <= g.h && ix0 >= 0 && ix0 &+ 14 <= g.w
    let dst = v + ((quad >> 1) &* 8 &* g.c &+ (quad & 1) &* 4)
    for c in 0..<g.c {
      let plane = x + c &* g.inPlane
      // The patch's rows: x[iy0 + row, ix0 …] in place, or copied with zeros outside the image.
      var s = plane + (iy0 &* g.w &+ ix0), ld = g.w
      if !inside {
        for row in 0..<5 {
          let iy = iy0 &+ row
          for k in 0..<14 {
            let ix = ix0 &+ k
            patch[row &* 16 &+ k] = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? plane[iy &* g.w &+ ix] : 0
          }
        }
        s = UnsafePointer(patch)
        ld = 16
      }
      // Bᵀ·d down each of the five columns (lane t: column k of tile t), then (Bᵀ·d)·B along each row.
      for k in 0..<5 {
        let col = s + k
        @inline(__always) func lanes(_ q: UnsafePointer<Float>) -> SIMD4<Float> { SIMD4(q[0], q[3], q[6], q[9]) }
        wideInputTransform(
          lanes(col), lanes(col + ld), lanes(col + 2 &* ld), lanes(col + 3 &* ld), lanes(col + 4 &* ld),
          work + k &* 4, step: 20)
      }
      let out = dst + c &* 8
      for row in 0..<5 {
        let t = work + row &* 20
        wideInputTransform(
          load4(t), load4(t + 4), load4(t + 8), load4(t + 12), load4(t + 16), out + row &* 5 &* p.inputSize,
          step: p.inputSize)
      }
    }
  }
}

/// Aᵀ·m of five vectors: Aᵀ = [1 1 1 1 0; 0 1 −1 2 0; 0 1 1 4 1].
@inline(__always)
func wideOutputTransform(_ s: UnsafePointer<Float>, step: Int) -> (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>) {
  let m0 = load4(s), m1 = load4(s + step), m2 = load4(s + 2 &* step), m3 = load4(s + 3 &* step)
  let m4 = load4(s + 4 &* step), s12 = m1 + m2, d12 = m1 - m2
  return (m0 + s12 + m3, d12 + SIMD4(repeating: 2) * m3, s12 + SIMD4(repeating: 4) * m3 + m4)
}

/// Output tile row `tileRow` of `image`: per channel and quad of output tiles, the 25 transformed sums
/// Σ_{p,q} P[o, p, q] at input tile (i + p, j + q), then Aᵀ·m·A, the bias and the epilogue.
func wideOutputs(
  _ p: WideWinogradPlan, _ products: UnsafePointer<Float>, image: Int, tileRow i: Int, _ bias: UnsafePointer<Float>?,
  _ r: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, work: UnsafeMutablePointer<Float>
) {
  let g = p.g, oy0 = i &* 3, rows = min(3, g.oh &- oy0), ring = 25 &* p.productSize
  for o in 0..<g.o {
    let plane = (image &* g.o &+ o) &* g.outPlane
    for quad in 0..<((p.tilesX &+ 3) / 4) {
      // work[ξ·4 + lane]: the products summed over the sub-kernels.
      for xi in 0..<25 {
        var m = SIMD4<Float>()
        for sp in 0..<p.sp {
          let src = products + ((i &+ sp) % p.sp &* ring &+ xi &* p.productSize &+ (o &* p.sp &+ sp) &* p.sq &* p.columns &+ quad &* 4)
          for sq in 0..<p.sq { m += load4(src + (sq &* p.columns &+ sq)) }
        }
        store4(m, work + xi &* 4)
      }
      // Aᵀ·m down the columns (rows 0…2 of work[(i·5 + j)·4 …] in place), then along the rows.
      for j in 0..<5 {
        let (a0, a1, a2) = wideOutputTransform(work + j &* 4, step: 20)
        store4(a0, work + j &* 4); store4(a1, work + (20 &+ j &* 4)); store4(a2, work + (40 &+ j &* 4))
      }
      let b = bias?[o] ?? 0, ox0 = quad &* 12, width = min(12, g.ow &- ox0)
      for row in 0..<rows {
        let (t0, t1, t2) = wideOutputTransform(work + row &* 20, step: 4)
        let at = plane &+ (oy0 &+ row) &* g.ow &+ ox0, out = y + at
        for j in 0..<width {
          let lane = j / 3, col = j % 3
          out[j] = (col == 0 ? t0[lane] : col == 1 ? t1[lane] : t2[lane]) + b
        }
        applyEpilogue(g.epilogue, out, r.map { $0 + at }, width)
      }
    }
  }
}
