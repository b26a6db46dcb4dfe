// Broadcast: NumPy-broadcasting binary functions, PReLU and where over strided geometries (SIMD128 inner loops).

/// A broadcast geometry read from the Int32 descriptor of the C ABI: `[rank, extents…, strides of operand 0…,
/// strides of operand 1…, …]` with element strides (0 along broadcast axes), 1 ≤ rank ≤ 8, the output contiguous.
/// The last axis is the row; callers merge contiguous axes so rows are long.
struct StridedGeometry {
  let d: UnsafePointer<Int32>
  init(_ d: UnsafePointer<Int32>) { self.d = d }
  var rank: Int { Int(d[0]) }
  func extent(_ axis: Int) -> Int { Int(d[1 &+ axis]) }
  func stride(_ operand: Int, _ axis: Int) -> Int { Int(d[1 &+ rank &* (1 &+ operand) &+ axis]) }
  var count: Int {
    var n = 1
    for a in 0..<rank { n &*= extent(a) }
    return n
  }
}

/// Operand offsets at the start of a row of a `StridedGeometry`, and the row's index along each outer axis.
struct RowCursor {
  var index = SIMD8<Int32>()
  var o0 = 0, o1 = 0, o2 = 0
}

/// Moves `c` to the next row of `g` (operands past `operands` stay at 0). Not inlined: one copy serves every
/// specialised row loop.
@inline(never)
func nextRow(_ g: StridedGeometry, operands: Int, _ c: inout RowCursor) {
  var d = g.rank &- 2
  while d >= 0 {
    c.index[d] &+= 1
    let s0 = g.stride(0, d), s1 = operands > 1 ? g.stride(1, d) : 0, s2 = operands > 2 ? g.stride(2, d) : 0
    c.o0 &+= s0
    c.o1 &+= s1
    c.o2 &+= s2
    if Int(c.index[d]) < g.extent(d) { return }
    let n = g.extent(d)
    c.o0 &-= s0 &* n
    c.o1 &-= s1 &* n
    c.o2 &-= s2 &* n
    c.index[d] = 0
    d &-= 1
  }
}

/// Calls `body(offset of operand 0, of operand 1, of operand 2, output offset)` at the start of each row of `g`
/// (operands past `operands` report 0).
@inline(__always)
func forEachRow(_ g: StridedGeometry, operands: Int, _ body: (Int, Int, Int, Int) -> Void) {
  let r = g.rank, inner = g.extent(r &- 1)
  if inner == 0 { return }
  let rows = g.count / inner
  var c = RowCursor(), y = 0
  for _ in 0..<rows {
    body(c.o0, c.o1, c.o2, y)
    y &+= inner
    nextRow(g, operands: operands, &c)
  }
}

/// y = f(a, b) over a two-operand geometry; rows whose operands are contiguous or constant run four lanes at a time.
@inline(__always)
func binaryRows(
  _ g: StridedGeometry, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
  _ f: (SIMD4<Float>, SIMD4<Float>) -> SIMD4<Float>
) {
  let r = g.rank, inner = g.extent(r &- 1), sa = g.stride(0, r &- 1), sb = g.stride(1, r &- 1)
  forEachRow(g, operands: 2) { oa, ob, _, oy in
    let pa = a + oa, pb = b + ob, py = y + oy
    var i = 0
    if sa == 1 && sb == 1 {
      while i &+ 4 <= inner { store4(f(load4(pa + i), load4(pb + i)), py + i); i &+= 4 }
    } else if sa == 1 {
      let vb = SIMD4<Float>(repeating: pb[0])
      while i &+ 4 <= inner { store4(f(load4(pa + i), vb), py + i); i &+= 4 }
    } else if sb == 1 {
      let va = SIMD4<Float>(repeating: pa[0])
      while i &+ 4 <= inner { store4(f(va, load4(pb + i)), py + i); i &+= 4 }
    }
    while i < inner {
      py[i] = f(SIMD4(repeating: pa[i &* sa]), SIMD4(repeating: pb[i &* sb]))[0]
      i &+= 1
    }
  }
}

@inline(__always) func flag(_ m: SIMDMask<SIMD4<Int32>>) -> SIMD4<Float> {
  SIMD4<Float>().replacing(with: 1, where: m)
}

@inline(__always) func propagateNaN(_ v: SIMD4<Float>, _ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> {
  v.replacing(with: .nan, where: (a .!= a) .| (b .!= b))
}

/// y = a ∘ b with NumPy broadcasting, `geometry` a two-operand `StridedGeometry` (a, b). Binary codes: 0 add, 1 sub,
/// 2 mul, 3 div, 4 pow, 5 max, 6 min (NaN propagates), 7 greater, 8 less, 9 equal (1 or 0), 10 PReLU (a ≥ 0 ? a : a·b).
/// `y` may be `a` or `b` where that operand has the output's shape.
@_cdecl("moe_binary")
public func moe_binary(
  _ op: Int32, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
  _ geometry: UnsafePointer<Int32>
) {
  let g = StridedGeometry(geometry)
  switch op {
  case 0: binaryRows(g, a, b, y) { $0 + $1 }
  case 1: binaryRows(g, a, b, y) { $0 - $1 }
  case 2: binaryRows(g, a, b, y) { $0 * $1 }
  case 3: binaryRows(g, a, b, y) { $0 / $1 }
  case 4: binaryRows(g, a, b, y) { SIMD4(moePow($0[0], $1[0]), moePow($0[1], $1[1]), moePow($0[2], $1[2]), moePow($0[3], $1[3])) }
  case 5: binaryRows(g, a, b, y) { propagateNaN($0.replacing(with: $1, where: $1 .> $0), $0, $1) }
  case 6: binaryRows(g, a, b, y) { propagateNaN($0.replacing(with: $1, where: $1 .< $0), $0, $1) }
  case 7: binaryRows(g, a, b, y) { flag($0 .> $1) }
  case 8: binaryRows(g, a, b, y) { flag($0 .< $1) }
  case 9: binaryRows(g, a, b, y) { flag($0 .== $1) }
  case 10: binaryRows(g, a, b, y) { $0.replacing(with: $0 * $1, where: $0 .< SIMD4<Float>()) }
  default: break
  }
}

/// y = cond ≠ 0 ? a : b with NumPy broadcasting, `geometry` a three-operand `StridedGeometry` (cond, a, b).
@_cdecl("moe_where")
public func moe_where(
  _ cond: UnsafePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
  _ geometry: UnsafePointer<Int32>
) {
  let g = StridedGeometry(geometry), r = g.rank, inner = g.extent(r &- 1)
  let sc = g.stride(0, r &- 1), sa = g.stride(1, r &- 1), sb = g.stride(2, r &- 1)
  forEachRow(g, operands: 3) { oc, oa, ob, oy in
    let pc = cond + oc, pa = a + oa, pb = b + ob, py = y + oy
    for i in 0..<inner { py[i] = pc[i &* sc] != 0 ? pa[i &* sa] : pb[i &* sb] }
  }
}
