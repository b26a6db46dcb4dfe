// Kernels+Reduce: reductions (sum/mean/max/min over axes, sum-to-shape), softmax, and the batch-statistics norms.
import Foundation
import MoeIR

/// A reduction: input element at row-major index i adds into output offset Σ idx_d · outStrides_d
/// (stride 0 along reduced axes). Dimensions of extent 1 are dropped and compatible runs merged.
struct ReduceGeometry: Equatable {
  var function: ReduceFunction
  var shape: [Int]
  var outStrides: [Int]
  var inCount: Int
  var outCount: Int
  /// Input elements per output element (the mean's divisor).
  var perOutput: Int

  init(_ f: ReduceFunction, input x: [Int], outStrides s: [Int], outCount: Int) {
    function = f
    inCount = elementCount(x)
    self.outCount = outCount
    perOutput = outCount == 0 ? 0 : inCount / outCount
    shape = []
    outStrides = []
    for d in 0..<x.count where x[d] != 1 {
      if let p = shape.indices.last, outStrides[p] == s[d] * x[d] {
        shape[p] *= x[d]
        outStrides[p] = s[d]
      } else {
        shape.append(x[d])
        outStrides.append(s[d])
      }
    }
    if shape.isEmpty {
      shape = [1]
      outStrides = [0]
    }
  }

  /// Reduction of `x` over `axes` (normalized, sorted).
  static func over(_ f: ReduceFunction, input x: [Int], axes: [Int]) -> ReduceGeometry {
    let kept = x.indices.filter { !axes.contains($0) }
    let ks = contiguousStrides(kept.map { x[$0] })
    var s = [Int](repeating: 0, count: x.count)
    for (j, d) in kept.enumerated() { s[d] = ks[j] }
    return ReduceGeometry(f, input: x, outStrides: s, outCount: elementCount(kept.map { x[$0] }))
  }

  /// Sum of `x` down to `like`, the shape `x` was broadcast from (the adjoint of broadcasting).
  static func sumTo(input x: [Int], like: [Int]) -> ReduceGeometry {
    let ls = contiguousStrides(like), lead = x.count - like.count
    let s = x.indices.map { d in d < lead || (like[d - lead] == 1 && x[d] != 1) ? 0 : ls[d - lead] }
    return ReduceGeometry(.sum, input: x, outStrides: s, outCount: elementCount(like))
  }

  /// Doubles of scratch the kernel needs (the accumulators).
  var scratchDoubles: Int { outCount }
}

/// softmax / log-softmax over one axis of a tensor viewed as (outer, n, inner).
struct SoftmaxGeometry: Equatable {
  var outer: Int, n: Int, inner: Int
  var log: Bool
  init(_ x: [Int], axis: Int, log: Bool) {
    outer = elementCount(Array(x[..<axis]))
    n = x[axis]
    inner = elementCount(Array(x[(axis + 1)...]))
    self.log = log
  }
}

/// Normalization by statistics of the input itself, over (N, groups, C/groups · spatial): instance norm
/// (groups = C) and group norm; batch norm in training form uses (C, N · spatial) with `batchStatistics`.
struct StatisticsNormGeometry: Equatable {
  var batch: Int, channels: Int, inner: Int
  var groups: Int
  var eps: Float
}

extension Kernels {
  static func reduce(_ g: ReduceGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
    if g.outCount == 0 { return }
    switch g.function {
    case .sum, .mean:
      // Accumulate in double so long sums match NumPy's pairwise float32 summation to ~1e-7.
      let acc = UnsafeMutablePointer<Double>.allocate(capacity: g.outCount)
      defer { acc.deallocate() }
      acc.initialize(repeating: 0, count: g.outCount)
      forEachRun(g, x) { xp, o, n, s in
        if s == 0 {
          acc[o] += sumInDouble(xp, n)
        } else {
          for i in 0..<n { acc[o + i * s] += Double(xp[i]) }
        }
      }
      let scale = g.function == .mean ? 1 / Double(g.perOutput) : 1
      for i in 0..<g.outCount { y[i] = Float(acc[i] * scale) }
    case .max, .min:
      let isMax = g.function == .max
      y.update(repeating: isMax ? -.infinity : .infinity, count: g.outCount)
      forEachRun(g, x) { xp, o, n, s in
        for i in 0..<n {
          let v = xp[i], p = y + o + i * s
          if v.isNaN || p.pointee.isNaN { p.pointee = .nan } else if isMax ? v > p.pointee : v < p.pointee { p.pointee = v }
        }
      }
    }
  }

  /// Calls `body(xRun, outOffset, length, outStride)` for each contiguous run of the input's last merged axis.
  @inline(__always)
  private static func forEachRun(
    _ g: ReduceGeometry, _ x: UnsafePointer<Float>, _ body: (UnsafePointer<Float>, Int, Int, Int) -> Void
  ) {
    let r = g.shape.count, inner = g.shape[r - 1], s = g.outStrides[r - 1]
    var idx = [Int](repeating: 0, count: r)
    var o = 0
    var xp = x
    for _ in 0..<(g.inCount / inner) {
      body(xp, o, inner, s)
      xp += inner
      var d = r - 2
      while d >= 0 {
        idx[d] += 1
        o += g.outStrides[d]
        if idx[d] < g.shape[d] { break }
        o -= g.outStrides[d] * g.shape[d]
        idx[d] = 0
        d -= 1
      }
    }
  }

  static func softmax(_ g: SoftmaxGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
    for o in 0..<g.outer {
      for j in 0..<g.inner {
        let base = o * g.n * g.inner + j
        var m = -Float.infinity
        for k in 0..<g.n { m = Swift.max(m, x[base + k * g.inner]) }
        var sum = 0.0
        for k in 0..<g.n { sum += Double(Foundation.exp(x[base + k * g.inner] - m)) }
        if g.log {
          let lse = m + Float(Foundation.log(sum))
          for k in 0..<g.n { y[base + k * g.inner] = x[base + k * g.inner] - lse }
        } else {
          let inv = 1 / sum
          for k in 0..<g.n { y[base + k * g.inner] = Float(Double(Foundation.exp(x[base + k * g.inner] - m)) * inv) }
        }
      }
    }
  }

  /// Group / instance norm: y = (x − mean_g) / √(var_g + eps) · scale_c + bias_c, statistics per (n, group).
  static func groupNorm(
    _ g: StatisticsNormGeometry, x: UnsafePointer<Float>, scale: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    y: UnsafeMutablePointer<Float>, workers: Int = 1
  ) {
    let perGroup = g.channels / g.groups, count = perGroup * g.inner, items = g.batch * g.groups
    // (image, group) items over the workers; statistics in double, then y = (x − mean)·s + b in float (x − mean is
    // exact near the mean, so no cancellation).
    Parallel.forEach(items, workers: items * count >= parallelChunk ? workers : 1) { item, _ in
      let n = item / g.groups, grp = item % g.groups
      let base = (n * g.channels + grp * perGroup) * g.inner
      let (mean, variance) = meanAndVariance(x + base, count: count, stride: 1, runs: 1, runStride: 0)
      let inv = 1 / (Double(variance) + Double(g.eps)).squareRoot(), m = Float(mean)
      for c in 0..<perGroup {
        let ch = grp * perGroup + c, s = Float(Double(scale[ch]) * inv), b = bias[ch]
        let xp = x + base + c * g.inner, yp = y + base + c * g.inner
        for i in 0..<g.inner { yp[i] = (xp[i] - m) * s + b }
      }
    }
  }

  /// Batch normalization with batch statistics: per channel over (N, spatial); writes y, the mean and the biased
  /// variance. Channels are split over the workers (each channel's arithmetic is the same whatever the split).
  static func batchNormTraining(
    _ g: BatchNormGeometry, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
    y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>,
    workers: Int = 1
  ) {
    let parts = min(g.channels, g.batch * g.channels * g.inner >= parallelChunk ? 4 * workers : 1)
    Parallel.forEach(parts, workers: workers) { p, _ in
      for c in Parallel.range(p, of: parts, total: g.channels) {
        let (m, v) = meanAndVariance(x + c * g.inner, count: g.inner, stride: 1, runs: g.batch, runStride: g.channels * g.inner)
        mean[c] = Float(m)
        variance[c] = Float(v)
        let inv = 1 / (v + Double(g.eps)).squareRoot(), s = Double(gamma[c]) * inv
        let scale = Float(s), shift = Float(Double(beta[c]) - m * s)
        for n in 0..<g.batch {
          let off = (n * g.channels + c) * g.inner
          let xp = x + off, yp = y + off
          for i in 0..<g.inner { yp[i] = xp[i] * scale + shift }
        }
      }
    }
  }

  /// Mean and biased variance (two passes, in double) of `runs` runs of `count` elements.
  private static func meanAndVariance(
    _ x: UnsafePointer<Float>, count: Int, stride: Int, runs: Int, runStride: Int
  ) -> (Double, Double) {
    let total = Double(count * runs)
    guard total > 0 else { return (0, 0) }
    var sum = 0.0
    for r in 0..<runs {
      let p = x + r * runStride
      if stride == 1 { sum += sumInDouble(p, count) } else { for i in 0..<count { sum += Double(p[i * stride]) } }
    }
    let mean = sum / total
    var sq = 0.0
    for r in 0..<runs {
      let p = x + r * runStride
      if stride == 1 {
        sq += squaredDeviationsInDouble(p, count, mean)
      } else {
        for i in 0..<count { let d = Double(p[i * stride]) - mean; sq += d * d }
      }
    }
    return (mean, sq / total)
  }

  /// Σ x[i] in double, over four interleaved accumulators (independent additions, vectorised).
  @inline(__always)
  static func sumInDouble(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
    var acc = SIMD4<Double>()
    var i = 0
    while i + 4 <= n {
      acc += SIMD4<Double>(Double(x[i]), Double(x[i + 1]), Double(x[i + 2]), Double(x[i + 3]))
      i += 4
    }
    var t = acc.sum()
    while i < n { t += Double(x[i]); i += 1 }
    return t
  }

  /// Σ (x[i] − mean)² in double, as `sumInDouble`.
  @inline(__always)
  static func squaredDeviationsInDouble(_ x: UnsafePointer<Float>, _ n: Int, _ mean: Double) -> Double {
    var acc = SIMD4<Double>()
    let m = SIMD4<Double>(repeating: mean)
    var i = 0
    while i + 4 <= n {
      let d = SIMD4<Double>(Double(x[i]), Double(x[i + 1]), Double(x[i + 2]), Double(x[i + 3])) - m
      acc += d * d
      i += 4
    }
    var t = acc.sum()
    while i < n { let d = Double(x[i]) - mean; t += d * d; i += 1 }
    return t
  }
}
