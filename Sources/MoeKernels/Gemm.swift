// Gemm: single-precision matrix products on packed panels with a 4×8 SIMD4 register block.

/// Rows of A (output channels) per register block.
let blockRows = 4
/// Columns of B (output pixels) per register block.
let blockCols = 8

@inline(__always) func roundUp(_ n: Int, _ m: Int) -> Int { (n &+ m &- 1) / m &* m }

@inline(__always) func load4(_ p: UnsafePointer<Float>) -> SIMD4<Float> {
  UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self)
}

@inline(__always) func store4(_ v: SIMD4<Float>, _ p: UnsafeMutablePointer<Float>) {
  UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD4<Float>.self)
}

/// Floats a packed A of `m` rows and `k` columns takes (rows padded to `blockRows`).
func packedASize(m: Int, k: Int) -> Int { roundUp(m, blockRows) &* k }

/// Floats a packed B of `k` rows and `n` columns takes (columns padded to `blockCols`).
func packedBSize(k: Int, n: Int) -> Int { roundUp(n, blockCols) &* k }

/// Packs A (m×k) into panels of `blockRows` rows, each k-major (`blockRows` values per k), zero rows padding m.
/// Element (i, j) is read at `src[(i / inner)·outerStride + (i % inner)·rowStride + j·colStride]`: plain row-major
/// A is `inner: m, rowStride: k, colStride: 1`; the decomposition also reads transposed and per-tap weights.
/// Not inlined (called per tile; one copy serves every caller).
@inline(never)
func packA(
  _ src: UnsafePointer<Float>, m: Int, k: Int, inner: Int, outerStride: Int, rowStride: Int, colStride: Int,
  into dst: UnsafeMutablePointer<Float>
) {
  var d = dst
  var i0 = 0
  while i0 < m {
    var rows: (Int, Int, Int, Int) = (-1, -1, -1, -1)
    withUnsafeMutableBytes(of: &rows) { raw in
      let r = raw.baseAddress!.assumingMemoryBound(to: Int.self)
      for t in 0..<blockRows where i0 &+ t < m {
        let i = i0 &+ t
        r[t] = (i / inner) &* outerStride &+ (i % inner) &* rowStride
      }
    }
    for j in 0..<k {
      let c = j &* colStride
      d[0] = rows.0 >= 0 ? src[rows.0 &+ c] : 0
      d[1] = rows.1 >= 0 ? src[rows.1 &+ c] : 0
      d[2] = rows.2 >= 0 ? src[rows.2 &+ c] : 0
      d[3] = rows.3 >= 0 ? src[rows.3 &+ c] : 0
      d += blockRows
    }
    i0 &+= blockRows
  }
}

/// Packs columns [n0, n0+n) of a k-row matrix B (B[j, c] = src[j·ld + c]) into panels of `blockCols` columns,
/// each k-major, zero columns padding the last panel.
/// Not inlined (called per tile; one copy serves every caller).
@inline(never)
func packB(_ src: UnsafePointer<Float>, k: Int, n0: Int, n: Int, ld: Int, into dst: UnsafeMutablePointer<Float>) {
  var d = dst
  var c0 = 0
  while c0 < n {
    let w = n &- c0
    var s = src + (n0 &+ c0)
    if w >= blockCols {
      for _ in 0..<k {
        store4(load4(s), d)
        store4(load4(s + 4), d + 4)
        s += ld
        d += blockCols
      }
    } else {
      for _ in 0..<k {
        for t in 0..<blockCols { d[t] = t < w ? s[t] : 0 }
        s += ld
        d += blockCols
      }
    }
    c0 &+= blockCols
  }
}

/// C[0..<rows, 0..<cols] (row stride ldc) = bias + A-panel · B-panel over k, for one 4×8 register block.
/// `bias` is per row (already offset to the block's first row); `accumulate` adds to what C holds.
@inline(__always)
func kernel4x8(
  k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
  rows: Int, cols: Int, bias: UnsafePointer<Float>?, accumulate: Bool
) {
  var c00 = SIMD4<Float>(), c01 = SIMD4<Float>(), c10 = SIMD4<Float>(), c11 = SIMD4<Float>()
  var c20 = SIMD4<Float>(), c21 = SIMD4<Float>(), c30 = SIMD4<Float>(), c31 = SIMD4<Float>()
  if let bias {
    c00 = SIMD4(repeating: bias[0]); c01 = c00
    if rows > 1 { c10 = SIMD4(repeating: bias[1]); c11 = c10 }
    if rows > 2 { c20 = SIMD4(repeating: bias[2]); c21 = c20 }
    if rows > 3 { c30 = SIMD4(repeating: bias[3]); c31 = c30 }
  }
  var pa = a, pb = b
  for _ in 0..<k {
    let b0 = load4(pb), b1 = load4(pb + 4)
    let a0 = SIMD4<Float>(repeating: pa[0])
    c00 += a0 * b0; c01 += a0 * b1
    let a1 = SIMD4<Float>(repeating: pa[1])
    c10 += a1 * b0; c11 += a1 * b1
    let a2 = SIMD4<Float>(repeating: pa[2])
    c20 += a2 * b0; c21 += a2 * b1
    let a3 = SIMD4<Float>(repeating: pa[3])
    c30 += a3 * b0; c31 += a3 * b1
    pa += blockRows
    pb += blockCols
  }
  if rows == blockRows && cols == blockCols {
    let c0 = c, c1 = c + ldc, c2 = c1 + ldc, c3 = c2 + ldc
    if accumulate {
      c00 += load4(c0); c01 += load4(c0 + 4); c10 += load4(c1); c11 += load4(c1 + 4)
      c20 += load4(c2); c21 += load4(c2 + 4); c30 += load4(c3); c31 += load4(c3 + 4)
    }
    store4(c00, c0); store4(c01, c0 + 4); store4(c10, c1); store4(c11, c1 + 4)
    store4(c20, c2); store4(c21, c2 + 4); store4(c30, c3); store4(c31, c3 + 4)
    return
  }
  // Partial block: spill the registers and copy the valid part.
  var tile = (c00, c01, c10, c11, c20, c21, c30, c31)
  withUnsafeBytes(of: &tile) { raw in
    let t = raw.baseAddress!.assumingMemoryBound(to: Float.self)
    for r in 0..<rows {
      let row = c + r &* ldc
      for j in 0..<cols { row[j] = accumulate ? row[j] + t[r &* blockCols &+ j] : t[r &* blockCols &+ j] }
    }
  }
}

#if MOE_FMA
/// The relaxed-SIMD build's `gemmPacked` (Sources/MoeWeb/gemm-fma.c): the same blocks with f32x4.relaxed_madd.
@_extern(c, "moe_gemm_fma")
func gemmFMA(
  _ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
  _ ldc: Int, _ bias: UnsafePointer<Float>?, _ accumulate: Int32)
#endif

/// C (m×n, row stride ldc) = bias + A·B for packed A (all m rows) and packed B (n columns), block by block:
/// each B panel (k×8, L1-resident) meets every A panel. Not inlined: one copy of the register block serves every caller.
@inline(never)
func gemmPacked(
  m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>,
  ldc: Int, bias: UnsafePointer<Float>?, accumulate: Bool
) {
  #if MOE_FMA
  gemmFMA(m, n, k, a, b, c, ldc, bias, accumulate ? 1 : 0)
  #else
  var j0 = 0
  while j0 < n {
    let cols = n &- j0 < blockCols ? n &- j0 : blockCols
    let pb = b + j0 &* k
    var i0 = 0
    while i0 < m {
      let rows = m &- i0 < blockRows ? m &- i0 : blockRows
      kernel4x8(
        k: k, a: a + i0 &* k, b: pb, c: c + (i0 &* ldc &+ j0), ldc: ldc, rows: rows, cols: cols,
        bias: bias.map { $0 + i0 }, accumulate: accumulate)
      i0 &+= blockRows
    }
    j0 &+= blockCols
  }
  #endif
}

/// Columns of B packed at once: a tile of about 256 KB (L2-resident), at least one panel.
func tileColumns(k: Int, n: Int) -> Int {
  let budget = max(blockCols, (65536 / max(k, 1)) / blockCols * blockCols)
  return min(budget, roundUp(n, blockCols))
}

/// Scratch floats `moe_matmul` needs.
@_cdecl("moe_matmul_scratch")
public func moe_matmul_scratch(_ m: Int32, _ k: Int32, _ n: Int32) -> Int32 {
  let m = Int(m), k = Int(k), n = Int(n)
  return Int32(packedASize(m: m, k: k) &+ packedBSize(k: k, n: tileColumns(k: k, n: n)))
}

/// y (m×n) = a (m×k) · b (k×n), all row-major; `scratch` holds `moe_matmul_scratch(m, k, n)` floats.
@_cdecl("moe_matmul")
public func moe_matmul(
  _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
  _ m: Int32, _ k: Int32, _ n: Int32, _ scratch: UnsafeMutablePointer<Float>
) {
  matmulColumns(a, b, y, Int(m), Int(k), Int(n), scratch, 0, Int(n))
}

/// Columns [first, end) of `moe_matmul` (A packed into `scratch` by this call).
func matmulColumns(
  _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
  _ m: Int, _ k: Int, _ n: Int, _ scratch: UnsafeMutablePointer<Float>, _ first: Int, _ end: Int
) {
  if m == 0 || first >= end { return }
  if k == 0 {
    for i in 0..<m { for j in first..<end { y[i &* n &+ j] = 0 } }
    return
  }
  packA(a, m: m, k: k, inner: m, outerStride: 0, rowStride: k, colStride: 1, into: scratch)
  let pb = scratch + packedASize(m: m, k: k)
  let tile = tileColumns(k: k, n: n)
  var n0 = first
  while n0 < end {
    let cols = min(tile, end &- n0)
    packB(b, k: k, n0: n0, n: cols, ld: n, into: pb)
    gemmPacked(m: m, n: cols, k: k, a: scratch, b: pb, c: y + n0, ldc: n, bias: nil, accumulate: false)
    n0 &+= cols
  }
}
