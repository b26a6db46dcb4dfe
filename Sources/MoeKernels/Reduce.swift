// Reduce: sum/mean/max/min over axes (also sum-to-shape and global pooling), softmax, and the batch-statistics norms.

/// Reduces `x` into `y` (`outCount` floats). `geometry` is a one-operand `StridedGeometry` over the input's (merged)
/// axes whose strides are those of the output (0 along reduced axes); the input is contiguous. Reduction codes:
/// 0 sum, 1 mean (sum / (input count / outCount)), 2 max, 3 min (NaN propagates). Sums accumulate in double in
/// `scratch`, which holds `outCount` doubles (2 · outCount floats, 8-byte aligned).
@_cdecl("moe_reduce")
public func moe_reduce(
  _ op: Int32, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ geometry: UnsafePointer<Int32>,
  _ outCount: Int32, _ scratch: UnsafeMutableRawPointer
) {
  let g = StridedGeometry(geometry), outCount = Int(outCount), r = g.rank
  if outCount == 0 { return }
  let inner = g.extent(r &- 1), s = g.stride(0, r &- 1)
  if op <= 1 {
    let acc = scratch.bindMemory(to: Double.self, capacity: outCount)
    for i in 0..<outCount { acc[i] = 0 }
    forEachRow(g, operands: 1) { o, _, _, at in
      let xp = x + at
      if s == 0 {
        var t = 0.0
        for i in 0..<inner { t += Double(xp[i]) }
        acc[o] += t
      } else {
        for i in 0..<inner { acc[o &+ i &* s] += Double(xp[i]) }
      }
    }
    let scale = op == 1 ? Double(outCount) / Double(g.count) : 1
    for i in 0..<outCount { y[i] = Float(acc[i] * scale) }
    return
  }
  let isMax = op == 2
  for i in 0..<outCount { y[i] = isMax ? -.infinity : .infinity }
  forEachRow(g, operands: 1) { o, _, _, at in
    let xp = x + at
    for i in 0..<inner {
      let v = xp[i], p = y + (o &+ i &* s), m = p.pointee
      if v != v || m != m { p.pointee = .nan } else if isMax ? v > m : v < m { p.pointee = v }
    }
  }
}

/// Softmax (log 0) or log-softmax (log 1) over the middle axis of x viewed as (outer, n, inner); `y` may be `x`.
@_cdecl("moe_softmax")
public func moe_softmax(
  _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ outer: Int32, _ n: Int32, _ inner: Int32, _ log: Int32
) {
  let n = Int(n), inner = Int(inner)
  for o in 0..<Int(outer) {
    for j in 0..<inner {
      let base = o &* n &* inner &+ j
      var m = -Float.infinity
      for k in 0..<n { let v = x[base &+ k &* inner]; if v > m || v != v { m = v } }
      var sum = 0.0
      for k in 0..<n { sum += Double(moeExp(x[base &+ k &* inner] - m)) }
      if log == 1 {
        let lse = m + moeLog(Float(sum))
        for k in 0..<n { y[base &+ k &* inner] = x[base &+ k &* inner] - lse }
      } else {
        let inv = 1 / sum
        for k in 0..<n { y[base &+ k &* inner] = Float(Double(moeExp(x[base &+ k &* inner] - m)) * inv) }
      }
    }
  }
}

/// Mean and biased variance (two passes in double) of `runs` runs of `count` contiguous floats, `runStride` apart.
func meanAndVariance(_ x: UnsafePointer<Float>, count: Int, runs: Int, runStride: Int) -> (Double, Double) {
  let total = Double(count &* runs)
  if total == 0 { return (0, 0) }
  var sum = 0.0
  for r in 0..<runs { let p = x + r &* runStride; for i in 0..<count { sum += Double(p[i]) } }
  let mean = sum / total
  var sq = 0.0
  for r in 0..<runs { let p = x + r &* runStride; for i in 0..<count { let d = Double(p[i]) - mean; sq += d * d } }
  return (mean, sq / total)
}

/// Group normalization of x (batch, channels, inner): y = (x − mean_g) / √(var_g + eps) · scale_c + bias_c with
/// statistics per (sample, group of channels / groups channels); instance normalization is groups = channels.
@_cdecl("moe_group_norm")
public func moe_group_norm(
  _ x: UnsafePointer<Float>, _ scale: UnsafePointer<Float>, _ bias: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
  _ batch: Int32, _ channels: Int32, _ inner: Int32, _ groups: Int32, _ eps: Float
) {
  let channels = Int(channels), inner = Int(inner), groups = Int(groups), perGroup = channels / groups
  for n in 0..<Int(batch) {
    for grp in 0..<groups {
      let base = (n &* channels &+ grp &* perGroup) &* inner
      let (mean, variance) = meanAndVariance(x + base, count: perGroup &* inner, runs: 1, runStride: 0)
      let inv = 1 / (variance + Double(eps)).squareRoot()
      for c in 0..<perGroup {
        let ch = grp &* perGroup &+ c, s = Double(scale[ch]) * inv, b = Double(bias[ch]), at = base &+ c &* inner
        for i in 0..<inner { y[at &+ i] = Float((Double(x[at &+ i]) - mean) * s + b) }
      }
    }
  }
}

/// Batch normalization with batch statistics over axis 1 of (batch, channels, inner): writes y, the per-channel
/// mean and the biased variance. `y` may be `x`.
@_cdecl("moe_batch_norm_training")
public func moe_batch_norm_training(
  _ x: UnsafePointer<Float>, _ gamma: UnsafePointer<Float>, _ beta: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
  _ mean: UnsafeMutablePointer<Float>, _ variance: UnsafeMutablePointer<Float>, _ batch: Int32, _ channels: Int32,
  _ inner: Int32, _ eps: Float
) {
  let batch = Int(batch), channels = Int(channels), inner = Int(inner)
  for c in 0..<channels {
    let (m, v) = meanAndVariance(x + c &* inner, count: inner, runs: batch, runStride: channels &* inner)
    mean[c] = Float(m)
    variance[c] = Float(v)
    let s = Double(gamma[c]) / (v + Double(eps)).squareRoot(), b = Double(beta[c])
    for n in 0..<batch {
      let at = (n &* channels &+ c) &* inner
      for i in 0..<inner { y[at &+ i] = Float((Double(x[at &+ i]) - m) * s + b) }
    }
  }
}
