// Parts: the entry points the wasm thread pool (moe.js) calls, each doing part `part` of `parts` of one kernel call;
// every output element gets exactly the arithmetic of the whole call, so results do not depend on the thread count.

/// Scratch floats `moe_conv2d_part` needs for `parts` parts: the packed weights once, then one slice per part.
@_cdecl("moe_conv2d_parts_scratch")
public func moe_conv2d_parts_scratch(_ d: UnsafePointer<Int32>, _ parts: Int32) -> Int32 {
  let (shared, slice) = convScratch(ConvDesc(d))
  return Int32(shared &+ slice &* Int(parts))
}

/// Packs a conv2d's weights into the head of `scratch`; call once before the parts of `moe_conv2d_part`.
@_cdecl("moe_conv2d_pack")
public func moe_conv2d_pack(_ d: UnsafePointer<Int32>, _ w: UnsafePointer<Float>, _ scratch: UnsafeMutablePointer<Float>) {
  packConvWeights(ConvDesc(d), w, scratch)
}

/// Part `part` of `parts` of `moe_conv2d` (output pixels, or output rows for shifted products), after `moe_conv2d_pack`.
@_cdecl("moe_conv2d_part")
public func moe_conv2d_part(
  _ d: UnsafePointer<Int32>, _ x: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ r: UnsafePointer<Float>?,
  _ y: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>, _ part: Int32, _ parts: Int32
) {
  convPart(ConvDesc(d), x, bias, r, y, scratch, part: Int(part), parts: Int(parts))
}

/// Scratch floats `moe_conv_transpose2d_part` needs for `parts` parts: the packed weights once, then one slice per part.
@_cdecl("moe_conv_transpose2d_parts_scratch")
public func moe_conv_transpose2d_parts_scratch(_ d: UnsafePointer<Int32>, _ parts: Int32) -> Int32 {
  let (shared, slice) = transposedScratch(ConvDesc(d))
  return Int32(shared &+ slice &* Int(parts))
}

/// Packs a conv_transpose2d's weights into the head of `scratch`; call once before the parts of
/// `moe_conv_transpose2d_part`.
@_cdecl("moe_conv_transpose2d_pack")
public func moe_conv_transpose2d_pack(_ d: UnsafePointer<Int32>, _ w: UnsafePointer<Float>, _ scratch: UnsafeMutablePointer<Float>) {
  packTransposedWeights(ConvDesc(d), w, scratch)
}

/// Part `part` of `parts` of `moe_conv_transpose2d` (output channel runs), after `moe_conv_transpose2d_pack`.
@_cdecl("moe_conv_transpose2d_part")
public func moe_conv_transpose2d_part(
  _ d: UnsafePointer<Int32>, _ x: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ r: UnsafePointer<Float>?,
  _ y: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>, _ part: Int32, _ parts: Int32
) {
  transposedPart(ConvDesc(d), x, bias, r, y, scratch, part: Int(part), parts: Int(parts))
}

/// Part `part` of `parts` of `moe_linear`: output features in runs of 4.
@_cdecl("moe_linear_part")
public func moe_linear_part(
  _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ r: UnsafePointer<Float>?,
  _ y: UnsafeMutablePointer<Float>, _ rows: Int32, _ inFeatures: Int32, _ outFeatures: Int32,
  _ act: Int32, _ alpha: Float, _ residual: Int32, _ part: Int32, _ parts: Int32
) {
  let (o0, o1) = partRange(Int(outFeatures), unit: 4, Int(part), Int(parts))
  linearOutputs(x, w, bias, r, y, Int(rows), Int(inFeatures), Int(outFeatures),
                Epilogue(activation: act, alpha: alpha, residual: residual), o0, o1)
}

/// Part `part` of `parts` of `moe_matmul`: output columns in runs of 8; each part uses its own
/// `moe_matmul_scratch(m, k, n)` floats at `scratch + part · that`.
@_cdecl("moe_matmul_part")
public func moe_matmul_part(
  _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
  _ m: Int32, _ k: Int32, _ n: Int32, _ scratch: UnsafeMutablePointer<Float>, _ part: Int32, _ parts: Int32
) {
  let (first, end) = partRange(Int(n), unit: blockCols, Int(part), Int(parts))
  let own = scratch + Int(part) &* Int(moe_matmul_scratch(m, k, n))
  matmulColumns(a, b, y, Int(m), Int(k), Int(n), own, first, end)
}

/// Part `part` of `parts` of `moe_depth_to_space`: output planes.
@_cdecl("moe_depth_to_space_part")
public func moe_depth_to_space_part(
  _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ batch: Int32, _ channels: Int32, _ height: Int32,
  _ width: Int32, _ block: Int32, _ mode: Int32, _ part: Int32, _ parts: Int32
) {
  let b = Int(block), planes = Int(batch) &* Int(channels) / (b &* b)
  let (p0, p1) = partRange(planes, unit: 1, Int(part), Int(parts))
  depthToSpaceChannels(x, y, Int(batch), Int(channels), Int(height), Int(width), b, mode, p0, p1)
}

/// Part `part` of `parts` of `moe_unary`: runs of 64 floats.
@_cdecl("moe_unary_part")
public func moe_unary_part(
  _ op: Int32, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int32, _ alpha: Float,
  _ part: Int32, _ parts: Int32
) {
  let (lo, hi) = partRange(Int(n), unit: 64, Int(part), Int(parts))
  if lo < hi { unaryKernel(op, x + lo, y + lo, count: hi &- lo, alpha: alpha) }
}
