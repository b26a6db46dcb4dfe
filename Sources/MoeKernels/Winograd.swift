// Winograd: conv2d 3×3 stride 1 as Winograd F(4×4, 3×3) — input tiles transformed, 36 packed GEMMs, output transform.

/// A Winograd F(4×4, 3×3) conv2d (3×3 kernel, stride 1, dilation 1, one group): each 4×4 output tile is
/// Aᵀ·[(G·g·Gᵀ) ⊙ (Bᵀ·d·B)]·A over the 6×6 input patch d under it, the products summed over input channels by 36 GEMMs
/// (one per transformed position ξ). Tiles go four side by side (a quad: the four SIMD lanes of every transform), and
/// quads in chunks that keep the transformed inputs and products cache-resident. The weights G·g·Gᵀ are transformed
/// once at load (`moe_winograd_weights`) into 36 packed A matrices (O × C, `packA`'s panels) at `u`.
struct WinogradPlan {
  let g: ConvDesc
  /// Tile rows of an image and quads per tile row.
  let tilesY: Int, quadsX: Int
  /// Quads per chunk (even: whole 8-column B panels).
  let chunkQuads: Int

  init(_ g: ConvDesc) {
    self.g = g
    tilesY = (g.oh &+ 3) / 4
    quadsX = (g.ow &+ 15) / 16
    // About 1 MB of transformed inputs and products per chunk.
    let perQuad = 36 &* 4 &* (g.c &+ g.o)
    chunkQuads = max(2, min(16, 262144 / perQuad) & ~1)
  }

  /// Quads of the whole call (every image).
  var quads: Int { g.n &* tilesY &* quadsX }
  /// GEMM columns (tiles) of a chunk.
  var columns: Int { chunkQuads &* 4 }
  /// Floats of one transformed input matrix (C × columns, packed B) and one product matrix (O × columns).
  var inputSize: Int { g.c &* columns }
  var productSize: Int { g.o &* columns }
  /// Floats of one part's scratch: the 36 transformed inputs, the 36 products, 36 SIMD4 of transform workspace.
  var slice: Int { 36 &* (inputSize &+ productSize &+ 4) }
  /// Floats of one packed weight matrix.
  var weightSize: Int { packedASize(m: g.o, k: g.c) }
}

/// Scratch floats `moe_winograd_part` needs for `parts` parts.
@_cdecl("moe_winograd_scratch")
public func moe_winograd_scratch(_ d: UnsafePointer<Int32>, _ parts: Int32) -> Int32 {
  Int32(WinogradPlan(ConvDesc(d)).slice &* Int(parts))
}

/// y = epilogue(conv2d(x, w) + bias [, r]) by Winograd F(4×4, 3×3), `u` holding the transformed weights (see
/// `WinogradPlan`); `scratch` holds `moe_winograd_scratch(d, 1)` floats; y must not overlap x or r.
@_cdecl("moe_winograd")
public func moe_winograd(
  _ d: UnsafePointer<Int32>, _ x: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
  _ r: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>
) {
  moe_winograd_part(d, x, u, bias, r, y, scratch, 0, 1)
}

/// Part `part` of `parts` of `moe_winograd`: a run of quads (in pairs: whole 8-column panels), each part in its own
/// scratch slice. Every tile gets the same arithmetic whatever the chunk or part it falls in, so the result does not
/// depend on `parts`. Not inlined into `moe_winograd`.
@inline(never)
@_cdecl("moe_winograd_part")
public func moe_winograd_part(
  _ d: UnsafePointer<Int32>, _ x: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
  _ r: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>,
  _ part: Int32, _ parts: Int32
) {
  let p = WinogradPlan(ConvDesc(d))
  let (first, end) = partRange(p.quads, unit: 2, Int(part), Int(parts))
  let inputs = scratch + Int(part) &* p.slice, products = inputs + 36 &* p.inputSize
  let work = products + 36 &* p.productSize
  var q = first
  while q < end {
    let count = min(p.chunkQuads, end &- q)
    winogradInputs(p, x, firstQuad: q, count: count, into: inputs, work: work)
    for xi in 0..<36 {
      gemmPacked(
        m: p.g.o, n: count &* 4, k: p.g.c, a: u + xi &* p.weightSize, b: inputs + xi &* p.inputSize,
        c: products + xi &* p.productSize, ldc: p.columns, bias: nil, accumulate: false)
    }
    winogradOutputs(p, products, firstQuad: q, count: count, bias, r, y, work: work)
    q &+= count
  }
}

/// Bᵀ·d of six rows d0…d5 (each lane a tile): Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0;
/// 0 2 −1 −2 1 0; 0 4 0 −5 0 1], the transform stored back at `t`, `t + step`, … .
@inline(__always)
func inputTransform(_ s: UnsafePointer<Float>, _ t: UnsafeMutablePointer<Float>, step: Int) {
  let d0 = load4(s), d1 = load4(s + step), d2 = load4(s + 2 &* step)
  let d3 = load4(s + 3 &* step), d4 = load4(s + 4 &* step), d5 = load4(s + 5 &* step)
  let four = SIMD4<Float>(repeating: 4), five = SIMD4<Float>(repeating: 5), two = SIMD4<Float>(repeating: 2)
  let a = d4 - d2, b = (d3 - d1) * two
  store4(four * d0 - five * d2 + d4, t)
  store4((d3 + d4) - four * (d1 + d2), t + step)
  store4((d4 - d3) + four * (d1 - d2), t + 2 &* step)
  store4(a + b, t + 3 &* step)
  store4(a - b, t + 4 &* step)
  store4(four * d1 - five * d3 + d5, t + 5 &* step)
}

/// Transforms the input patches of quads [firstQuad, firstQuad + count) into the 36 packed B matrices at `v`
/// (C rows × 4·count columns each; column 4·q + lane is the tile `lane` of the chunk's quad q).
func winogradInputs(
  _ p: WinogradPlan, _ x: UnsafePointer<Float>, firstQuad: Int, count: Int, into v: UnsafeMutablePointer<Float>,
  work: UnsafeMutablePointer<Float>
) {
  let g = p.g, perImage = p.tilesY &* p.quadsX
  for q in 0..<count {
    let quad = firstQuad &+ q, image = quad / perImage, ty = quad % perImage / p.quadsX, qx = quad % p.quadsX
    let iy0 = ty &* 4 &- g.pt, ix0 = qx &* 16 &- g.pl
    let inside = iy0 >= 0 && iy0 &+ 6 <= g.h && ix0 >= 0 && ix0 &+ 18 <= g.w
    // Column of tile q in its 8-column B panel.
    let dst = v + ((q >> 1) &* 8 &* g.c &+ (q & 1) &* 4)
    for c in 0..<g.c {
      let plane = x + (image &* g.c &+ c) &* g.inPlane
      // work[(row·6 + k)·4 + lane] = x[iy0 + row, ix0 + 4·lane + k] (zero outside the image).
      var at = work
      for row in 0..<6 {
        let iy = iy0 &+ row
        for k in 0..<6 {
          if inside {
            let s = plane + (iy &* g.w &+ ix0 &+ k)
            store4(SIMD4(s[0], s[4], s[8], s[12]), at)
          } else {
            for lane in 0..<4 {
              let ix = ix0 &+ lane &* 4 &+ k
              at[lane] = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? plane[iy &* g.w &+ ix] : 0
            }
          }
          at += 4
        }
      }
      // Bᵀ·d down the columns, then (Bᵀ·d)·B along the rows, in place.
      for k in 0..<6 { inputTransform(work + k &* 4, work + k &* 4, step: 24) }
      for row in 0..<6 { inputTransform(work + row &* 24, work + row &* 24, step: 4) }
      let out = dst + c &* 8
      for xi in 0..<36 { store4(load4(work + xi &* 4), out + xi &* p.inputSize) }
    }
  }
}

/// Aᵀ·m of six rows m0…m5 (each lane a tile): Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1].
@inline(__always)
func outputTransform(_ s: UnsafePointer<Float>, step: Int) -> (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>) {
  let m0 = load4(s), m1 = load4(s + step), m2 = load4(s + 2 &* step)
  let m3 = load4(s + 3 &* step), m4 = load4(s + 4 &* step), m5 = load4(s + 5 &* step)
  let s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4
  return (
    m0 + s12 + s34, d12 + SIMD4(repeating: 2) * d34, s12 + SIMD4(repeating: 4) * s34,
    d12 + SIMD4(repeating: 8) * d34 + m5
  )
}

/// Transforms the products of quads [firstQuad, firstQuad + count) back into 4×4 output tiles, adds the bias and
/// applies the epilogue to what lands inside the output.
func winogradOutputs(
  _ p: WinogradPlan, _ m: UnsafePointer<Float>, firstQuad: Int, count: Int, _ bias: UnsafePointer<Float>?,
  _ r: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, work: UnsafeMutablePointer<Float>
) {
  let g = p.g, perImage = p.tilesY &* p.quadsX
  for q in 0..<count {
    let quad = firstQuad &+ q, image = quad / perImage, ty = quad % perImage / p.quadsX, qx = quad % p.quadsX
    let oy0 = ty &* 4, ox0 = qx &* 16, width = min(16, g.ow &- ox0), rows = min(4, g.oh &- oy0)
    for o in 0..<g.o {
      // work[(i·6 + j)·4 + lane]: Aᵀ·m down the columns, rows i < 4.
      let src = m + (o &* p.columns &+ q &* 4)
      for j in 0..<6 {
        let (a0, a1, a2, a3) = outputTransform(src + j &* p.productSize, step: 6 &* p.productSize)
        let w = work + j &* 4
        store4(a0, w); store4(a1, w + 24); store4(a2, w + 48); store4(a3, w + 72)
      }
      let b = SIMD4<Float>(repeating: bias?[o] ?? 0)
      let plane = (image &* g.o &+ o) &* g.outPlane
      for i in 0..<rows {
        var (t0, t1, t2, t3) = outputTransform(work + i &* 24, step: 4)
        t0 += b; t1 += b; t2 += b; t3 += b
        let at = plane &+ (oy0 &+ i) &* g.ow &+ ox0, row = y + at
        if width == 16 {
          // Lane = tile: transposed, each tile's four outputs are neighbours.
          store4(SIMD4(t0[0], t1[0], t2[0], t3[0]), row)
          store4(SIMD4(t0[1], t1[1], t2[1], t3[1]), row + 4)
          store4(SIMD4(t0[2], t1[2], t2[2], t3[2]), row + 8)
          store4(SIMD4(t0[3], t1[3], t2[3], t3[3]), row + 12)
        } else {
          for j in 0..<width {
            let lane = j >> 2, col = j & 3
            row[j] = col == 0 ? t0[lane] : col == 1 ? t1[lane] : col == 2 ? t2[lane] : t3[lane]
          }
        }
        applyEpilogue(g.epilogue, row, r.map { $0 + at }, width)
      }
    }
  }
}
