// Elementwise: activations and the other pointwise functions, fused epilogues, inference batch norm, depth-to-space.

/// Activation (unary) codes of the C ABI: 0 none, 1 relu, 2 leaky_relu(alpha), 3 tanh, 4 sigmoid, 5 softplus,
/// 6 neg, 7 exp, 8 log, 9 sqrt, 10 reciprocal, 11 abs, 12 square, 13 sign, 14 cast to bool (x ≠ 0 → 1, else 0),
/// 15 cast to an integer type (truncation toward zero), 16 cast to f16 (round to the nearest half, ties to even), 17 erf,
/// 18 mish.
/// Epilogues use codes 0…5 only.
/// Residual codes: 0 none, 1 before (y = act(z + r)), 2 after (y = act(z) + r).
struct Epilogue {
  var activation: Int32
  var alpha: Float
  var residual: Int32
}

/// Applies activation `act` to `n` floats in place; false (and `y` unchanged) when no kernel has code `act`.
/// A new unary function of the IR adds its `case CODE:` here (its code from `UnaryFunction.wasmCode`): the native
/// runtime runs it through `unaryKernel` as well, so this one case is its kernel everywhere.
@discardableResult
func activate(_ act: Int32, alpha: Float, _ y: UnsafeMutablePointer<Float>, _ n: Int) -> Bool {
  switch act {
  case 0: break
  case 1, 2:
    let a = act == 1 ? Float(0) : alpha
    let va = SIMD4<Float>(repeating: a), zero = SIMD4<Float>()
    var i = 0
    while i &+ 4 <= n {
      let v = load4(y + i)
      store4(v.replacing(with: v * va, where: v .< zero), y + i)
      i &+= 4
    }
    while i < n {
      if y[i] < 0 { y[i] = a * y[i] }
      i &+= 1
    }
  case 3: for i in 0..<n { y[i] = moeTanh(y[i]) }
  case 4: for i in 0..<n { y[i] = moeSigmoid(y[i]) }
  case 5: for i in 0..<n { y[i] = moeSoftplus(y[i]) }
  case 6: map4(y, n) { -$0 }
  case 7: for i in 0..<n { y[i] = moeExp(y[i]) }
  case 8: for i in 0..<n { y[i] = moeLog(y[i]) }
  case 9: for i in 0..<n { y[i] = y[i].squareRoot() }
  case 10: map4(y, n) { 1 / $0 }
  case 11: map4(y, n) { $0.replacing(with: -$0, where: $0 .< SIMD4<Float>()) }
  case 12: map4(y, n) { $0 * $0 }
  case 13:
    for i in 0..<n {
      let v = y[i]
      y[i] = v > 0 ? 1 : v < 0 ? -1 : v  // ±0 and NaN stay
    }
  case 14: for i in 0..<n { y[i] = y[i] != 0 ? 1 : 0 }
  case 15: for i in 0..<n { y[i] = y[i].rounded(.towardZero) }
  case 16: for i in 0..<n { y[i] = roundToHalf(y[i]) }
  case 17: for i in 0..<n { y[i] = moeErf(y[i]) }
  case 18: for i in 0..<n { let v = y[i]; y[i] = v * moeTanh(moeSoftplus(v)) }
  default: return false
  }
  return true
}

/// x rounded to the nearest binary16 value (ties to even), as a float: ±inf beyond the half range; NaN stays.
func roundToHalf(_ x: Float) -> Float {
  if x != x { return x }
  let e = Int32(bitPattern: (x.bitPattern >> 23) & 0xFF) &- 127
  if e > 15 { return x < 0 ? -.infinity : .infinity }
  let ulp = pow2(max(e, -14) &- 10)  // spacing of halves at x's binade (subnormal halves below 2^−14)
  let y = (x / ulp).rounded(.toNearestOrEven) * ulp
  return y > 65504 ? .infinity : y < -65504 ? -.infinity : y
}

/// y = f(y) four lanes at a time (the tail through splatted vectors).
@inline(__always) func map4(_ y: UnsafeMutablePointer<Float>, _ n: Int, _ f: (SIMD4<Float>) -> SIMD4<Float>) {
  var i = 0
  while i &+ 4 <= n {
    store4(f(load4(y + i)), y + i)
    i &+= 4
  }
  while i < n {
    y[i] = f(SIMD4(repeating: y[i]))[0]
    i &+= 1
  }
}

@inline(__always) func addInPlace(_ y: UnsafeMutablePointer<Float>, _ r: UnsafePointer<Float>, _ n: Int) {
  var i = 0
  while i &+ 4 <= n {
    store4(load4(y + i) + load4(r + i), y + i)
    i &+= 4
  }
  while i < n {
    y[i] += r[i]
    i &+= 1
  }
}

/// y = act(y [+ r]) [+ r] over `n` floats (r at the same offsets as y).
func applyEpilogue(_ e: Epilogue, _ y: UnsafeMutablePointer<Float>, _ r: UnsafePointer<Float>?, _ n: Int) {
  if e.residual == 1, let r { addInPlace(y, r, n) }
  activate(e.activation, alpha: e.alpha, y, n)
  if e.residual == 2, let r { addInPlace(y, r, n) }
}

/// y = f(x) for `n` floats (`y` may be `x`); `op` is an activation (unary) code (the list above).
@_cdecl("moe_unary")
public func moe_unary(_ op: Int32, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int32, _ alpha: Float) {
  unaryKernel(op, x, y, count: Int(n), alpha: alpha)
}

/// y = f(x) for `count` floats (`y` may be `x`) by the kernel of unary code `code`, the same code kernels.wasm runs
/// (the native runtime's path for functions without a native fast path); false when no kernel has that code.
@discardableResult
public func unaryKernel(_ code: Int32, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, alpha: Float = 0) -> Bool {
  if UnsafePointer(y) != x { for i in 0..<count { y[i] = x[i] } }
  return activate(code, alpha: alpha, y, count)
}

/// y = min(max(x, lo), hi) for `n` floats (`y` may be `x`); NaN stays NaN (ONNX Clip, NumPy clip).
@_cdecl("moe_clip")
public func moe_clip(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int32, _ lo: Float, _ hi: Float) {
  let n = Int(n)
  if UnsafePointer(y) != x { for i in 0..<n { y[i] = x[i] } }
  let vlo = SIMD4<Float>(repeating: lo), vhi = SIMD4<Float>(repeating: hi)
  map4(y, n) { v in v.replacing(with: vlo, where: v .< vlo).replacing(with: vhi, where: v .> vhi) }
}

/// Inference batch norm over axis 1 of (batch, channels, inner): y = (x − mean) / √(var + eps) · gamma + beta.
@_cdecl("moe_batch_norm")
public func moe_batch_norm(
  _ x: UnsafePointer<Float>, _ gamma: UnsafePointer<Float>, _ beta: UnsafePointer<Float>, _ mean: UnsafePointer<Float>,
  _ variance: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ batch: Int32, _ channels: Int32, _ inner: Int32,
  _ eps: Float
) {
  let channels = Int(channels), inner = Int(inner)
  var at = 0
  for _ in 0..<Int(batch) {
    for c in 0..<channels {
      let scale = gamma[c] / (variance[c] + eps).squareRoot(), m = mean[c], shift = beta[c]
      for i in 0..<inner { y[at &+ i] = (x[at &+ i] - m) * scale + shift }
      at &+= inner
    }
  }
}

/// ONNX DepthToSpace of (batch, channels, height, width) by `block`; mode 0 DCR (Chainer depth2space: channel
/// (i·b + j)·C′ + c → y[c, h·b + i, w·b + j]), mode 1 CRD (PyTorch pixel_shuffle: channel c·b² + i·b + j).
@_cdecl("moe_depth_to_space")
public func moe_depth_to_space(
  _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ batch: Int32, _ channels: Int32, _ height: Int32,
  _ width: Int32, _ block: Int32, _ mode: Int32
) {
  depthToSpaceChannels(x, y, Int(batch), Int(channels), Int(height), Int(width), Int(block), mode, 0, Int(batch) &* Int(channels) / (Int(block) &* Int(block)))
}

/// Output planes [p0, p1) (image-major: plane = n·C′ + c) of `moe_depth_to_space`. Not inlined: the whole call and
/// its parts share one copy.
@inline(never)
func depthToSpaceChannels(
  _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ batch: Int, _ c0: Int, _ h0: Int, _ w0: Int,
  _ b: Int, _ mode: Int32, _ p0: Int, _ p1: Int
) {
  let cOut = c0 / (b &* b), outW = w0 &* b, outH = h0 &* b
  for plane in p0..<p1 {
    let n = plane / cOut, c = plane % cOut
    for h in 0..<h0 {
      for i in 0..<b {
        let row = y + ((n &* cOut &+ c) &* outH &+ h &* b &+ i) &* outW
        for j in 0..<b {
          let ch = mode == 0 ? (i &* b &+ j) &* cOut &+ c : (c &* b &+ i) &* b &+ j
          let src = x + ((n &* c0 &+ ch) &* h0 &+ h) &* w0
          for w in 0..<w0 { row[w &* b &+ j] = src[w] }
        }
      }
    }
  }
}
