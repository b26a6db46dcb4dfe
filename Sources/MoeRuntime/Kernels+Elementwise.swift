// Kernels+Elementwise: broadcasting binary functions, where, PReLU, the pointwise functions and inference batch norm (in-place safe).
import Foundation
import MoeIR
import MoeKernels
import MoeNativeShim

/// A one-input elementwise function as the kernels run it: the IR's unary family plus the parameterised ones.
/// Values of dtype bool are stored as 0/1 floats and integer dtypes as integral floats.
enum PointwiseFunction: Equatable {
  case unary(UnaryFunction)
  case leakyRelu(Float)
  case clip(Float, Float)
  case cast(DType)
}

/// NumPy broadcasting of `a` and `b` to `y`, with dimensions of size 1 dropped and contiguous runs merged.
/// Strides are 0 along broadcast dimensions; the last dimension has strides 0 or 1 for both operands.
struct BroadcastGeometry: Equatable {
  var shape: [Int]
  var aStrides: [Int]
  var bStrides: [Int]
  var count: Int

  init(a: [Int], b: [Int], y: [Int]) {
    count = elementCount(y)
    let sa = broadcastStrides(a, to: y), sb = broadcastStrides(b, to: y)
    shape = []
    aStrides = []
    bStrides = []
    for d in 0..<y.count where y[d] != 1 {
      if let p = shape.indices.last, aStrides[p] == sa[d] * y[d], bStrides[p] == sb[d] * y[d] {
        shape[p] *= y[d]
        aStrides[p] = sa[d]
        bStrides[p] = sb[d]
      } else {
        shape.append(y[d])
        aStrides.append(sa[d])
        bStrides.append(sb[d])
      }
    }
    if shape.isEmpty {
      shape = [1]
      aStrides = [0]
      bStrides = [0]
    }
  }
}

/// where(cond, a, b): the three operands broadcast to the output.
struct SelectGeometry: Equatable {
  var cond: StridedGather, a: StridedGather, b: StridedGather
  /// Every operand has the output's shape (stride 1) or one element (stride 0): one pass, no gathers, no scratch.
  var flatStrides: (cond: Int, a: Int, b: Int)?
  init(cond: [Int], a: [Int], b: [Int], y: [Int]) {
    self.cond = .broadcast(cond, to: y)
    self.a = .broadcast(a, to: y)
    self.b = .broadcast(b, to: y)
    func stride(_ s: [Int]) -> Int? { s == y ? 1 : (elementCount(s) == 1 ? 0 : nil) }
    if let sc = stride(cond), let sa = stride(a), let sb = stride(b) { flatStrides = (sc, sa, sb) }
  }
  var scratchCount: Int { flatStrides != nil ? 0 : 2 * a.count }

  static func == (l: SelectGeometry, r: SelectGeometry) -> Bool {
    l.cond == r.cond && l.a == r.a && l.b == r.b
  }
}

/// Inference batch norm over axis 1 of (batch, channels, inner…).
struct BatchNormGeometry: Equatable {
  var batch: Int, channels: Int, inner: Int
  var eps: Float
}

extension Kernels {
  /// Large element counts are split into ranges of at least this many elements, one per worker.
  static let parallelChunk = 1 << 15

  /// Calls `body` on disjoint ranges covering `0..<count`, on up to `workers` threads when `count` is large.
  @inline(__always)
  static func parallelRanges(_ count: Int, workers: Int, minChunk: Int = parallelChunk, _ body: (Range<Int>) -> Void) {
    let parts = min(workers, max(1, count / max(minChunk, 1)))
    if parts <= 1 { return body(0..<count) }
    Parallel.forEach(parts, workers: workers) { p, _ in body(Parallel.range(p, of: parts, total: count)) }
  }

  static func binary(
    _ f: BinaryFunction, _ g: BroadcastGeometry, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    y: UnsafeMutablePointer<Float>, workers: Int = 1
  ) {
    switch f {
    case .add: broadcastLoop(g, a, b, y, workers, BinaryOpAdd.self)
    case .sub: broadcastLoop(g, a, b, y, workers, BinaryOpSub.self)
    case .mul: broadcastLoop(g, a, b, y, workers, BinaryOpMul.self)
    case .div: broadcastLoop(g, a, b, y, workers, BinaryOpDiv.self)
    case .pow: broadcastLoop(g, a, b, y, workers, BinaryOpPow.self)
    case .max: broadcastLoop(g, a, b, y, workers, BinaryOpMax.self)
    case .min: broadcastLoop(g, a, b, y, workers, BinaryOpMin.self)
    case .greater: broadcastLoop(g, a, b, y, workers, BinaryOpGreater.self)
    case .less: broadcastLoop(g, a, b, y, workers, BinaryOpLess.self)
    case .equal: broadcastLoop(g, a, b, y, workers, BinaryOpEqual.self)
    }
  }

  /// PReLU: y = x where x ≥ 0, else slope · x (slope broadcast to x).
  static func prelu(
    _ g: BroadcastGeometry, x: UnsafePointer<Float>, slope: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
    workers: Int = 1
  ) {
    broadcastLoop(g, x, slope, y, workers, BinaryOpPRelu.self)
  }

  /// where(cond, a, b): each operand gathered to the output shape (scratch holds the condition and `b`).
  static func select(
    _ g: SelectGeometry, c: UnsafePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, workers: Int = 1
  ) {
    if let (sc, sa, sb) = g.flatStrides {
      // Selects without branches (a condition that flips at random, e.g. a ReLU's mask, would mispredict half the
      // time): the common layouts (all full, or a scalar a or b) in loops the compiler vectorises.
      parallelRanges(g.a.count, workers: workers) { r in
        switch (sc, sa, sb) {
        case (1, 1, 1): for i in r { y[i] = select(c[i], a[i], b[i]) }
        case (1, 1, 0): let bv = b[0]; for i in r { y[i] = select(c[i], a[i], bv) }
        case (1, 0, 1): let av = a[0]; for i in r { y[i] = select(c[i], av, b[i]) }
        default: for i in r { y[i] = select(c[i * sc], a[i * sa], b[i * sb]) }
        }
      }
      return
    }
    let n = g.a.count, cb = scratch, bb = scratch + n
    gather(g.cond, x: c, y: cb)
    gather(g.b, x: b, y: bb)
    gather(g.a, x: a, y: y)
    for i in 0..<n where cb[i] == 0 { y[i] = bb[i] }
  }

  /// c ≠ 0 ? a : b, as a blend of bit patterns (no branch).
  @inline(__always)
  static func select(_ c: Float, _ a: Float, _ b: Float) -> Float {
    let mask: UInt32 = c != 0 ? ~0 : 0
    return Float(bitPattern: (a.bitPattern & mask) | (b.bitPattern & ~mask))
  }

  /// y = op(a, b) over the broadcast geometry; large outputs are split into row ranges (or element ranges of a
  /// single row) over the workers.
  @inline(__always)
  private static func broadcastLoop<Op: ElementwiseBinaryOp>(
    _ g: BroadcastGeometry, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    _ y: UnsafeMutablePointer<Float>, _ workers: Int, _: Op.Type
  ) {
    @inline(__always) func op(_ a: Float, _ b: Float) -> Float { Op.apply(a, b) }
    if g.count == 0 { return }
    let r = g.shape.count, inner = g.shape[r - 1]
    let sa = g.aStrides[r - 1], sb = g.bStrides[r - 1]
    let rows = g.count / inner
    /// n outputs of one row: each operand advances by its innermost stride (1) or stays (0, broadcast).
    /// In place (yp is ap or bp) the loops read yp itself, so that they vectorise (see `map`).
    @inline(__always) func row(_ ap: UnsafePointer<Float>, _ bp: UnsafePointer<Float>, _ yp: UnsafeMutablePointer<Float>, _ n: Int) {
      let onA = UnsafePointer(yp) == ap, onB = UnsafePointer(yp) == bp
      if sa == 1 && sb == 1 {
        if onA && onB {
          for i in 0..<n { yp[i] = op(yp[i], yp[i]) }
        } else if onA {
          for i in 0..<n { yp[i] = op(yp[i], bp[i]) }
        } else if onB {
          for i in 0..<n { yp[i] = op(ap[i], yp[i]) }
        } else {
          for i in 0..<n { yp[i] = op(ap[i], bp[i]) }
        }
      } else if sa == 1 {
        let bv = bp[0]
        map(n, ap, yp) { op($0, bv) }
      } else if sb == 1 {
        let av = ap[0]
        map(n, bp, yp) { op(av, $0) }
      } else {
        yp.update(repeating: op(ap[0], bp[0]), count: n)
      }
    }
    if rows == 1 {
      parallelRanges(inner, workers: workers) { range in
        let lo = range.lowerBound
        row(a + lo * sa, b + lo * sb, y + lo, range.count)
      }
      return
    }
    parallelRanges(rows, workers: workers, minChunk: max(1, parallelChunk / inner)) { range in
      // Multi-index and operand offsets of the range's first row.
      var idx = [Int](repeating: 0, count: r)
      var ao = 0, bo = 0, rest = range.lowerBound
      for d in stride(from: r - 2, through: 0, by: -1) {
        idx[d] = rest % g.shape[d]
        rest /= g.shape[d]
        ao += idx[d] * g.aStrides[d]
        bo += idx[d] * g.bStrides[d]
      }
      var yp = y + range.lowerBound * inner
      for _ in range {
        row(a + ao, b + bo, yp, inner)
        yp += inner
        var d = r - 2
        while d >= 0 {
          idx[d] += 1
          ao += g.aStrides[d]
          bo += g.bStrides[d]
          if idx[d] < g.shape[d] { break }
          ao -= g.aStrides[d] * g.shape[d]
          bo -= g.bStrides[d] * g.shape[d]
          idx[d] = 0
          d -= 1
        }
      }
    }
  }

  /// y = f(x) elementwise (in place when y == x), in ranges over the workers when large.
  static func pointwise(
    _ f: PointwiseFunction, count: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, workers: Int
  ) {
    parallelRanges(count, workers: workers) { r in
      pointwise(f, count: r.count, x: x + r.lowerBound, y: y + r.lowerBound)
    }
  }

  static func pointwise(_ f: PointwiseFunction, count: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
    switch f {
    case .unary(let u): unary(u, count: count, x: x, y: y)
    case .leakyRelu(let alpha):
      map(count, x, y) { $0 >= 0 ? $0 : alpha * $0 }
    case .clip(let lo, let hi):
      // NaN stays NaN (ONNX Clip, NumPy clip).
      map(count, x, y) { $0.isNaN ? $0 : Swift.min(Swift.max($0, lo), hi) }
    case .cast(let t):
      switch t {
      case .bool: for i in 0..<count { y[i] = x[i] != 0 ? 1 : 0 }
      case .int64, .int32, .int8, .uint8: for i in 0..<count { y[i] = x[i].rounded(.towardZero) }
      case .float16: for i in 0..<count { y[i] = Float(Float16(x[i])) }
      case .float32, .float64: if UnsafePointer(y) != x { y.update(from: x, count: count) }
      }
    }
  }

  /// y = f(x): a native fast path (libm, loops the compiler vectorizes) where `f` has one, otherwise the shared
  /// kernel of Sources/MoeKernels that kernels.wasm runs too, so a new function needs no case here.
  static func unary(_ f: UnaryFunction, count: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
    switch f {
    case .relu: map(count, x, y) { Swift.max($0, 0) }
    case .tanh: moe_tanh_f32(x, y, count)
    case .sigmoid: moe_sigmoid_f32(x, y, count)
    case .softplus:
      // max(x, 0) + log1p(exp(−|x|)): no overflow for large |x|.
      for i in 0..<count { let v = x[i]; y[i] = Swift.max(v, 0) + log1p(exp(-abs(v))) }
    case .neg: map(count, x, y) { -$0 }
    case .exp: moe_exp_f32(x, y, count)
    case .log: for i in 0..<count { y[i] = Foundation.log(x[i]) }
    case .sqrt: map(count, x, y) { $0.squareRoot() }
    case .reciprocal: map(count, x, y) { 1 / $0 }
    case .abs: map(count, x, y) { Swift.abs($0) }
    case .square: map(count, x, y) { $0 * $0 }
    case .erf: for i in 0..<count { y[i] = Foundation.erf(x[i]) }
    default:
      // OpCoverageTests checks every UnaryFunction has a shared kernel, so this holds for any graph.
      let hasKernel = unaryKernel(f.wasmCode, x, y, count: count)
      precondition(hasKernel, "no moe_unary kernel for \(f.rawValue) (code \(f.wasmCode)) in Sources/MoeKernels/Elementwise.swift")
    }
  }

  /// y[i] = f(x[i]). In place (y == x) the loop reads y itself: the compiler's overlap check would otherwise send
  /// every in-place call (an activation after a conv, the common case) down its scalar loop.
  @inline(__always)
  static func map(_ count: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ f: (Float) -> Float) {
    if UnsafePointer(y) == x {
      for i in 0..<count { y[i] = f(y[i]) }
    } else {
      for i in 0..<count { y[i] = f(x[i]) }
    }
  }

  /// Applies a fused epilogue in place: y = act(y + r) (`before`), act(y) + r (`after`), or act(y).
  static func epilogue(
    _ f: FusedKernel, y: UnsafeMutablePointer<Float>, residual r: UnsafePointer<Float>?, workers: Int = 1
  ) {
    parallelRanges(f.count, workers: workers) { range in
      let yp = y + range.lowerBound, rp = r.map { $0 + range.lowerBound }, n = range.count
      if let rp, f.residual == .before { for i in 0..<n { yp[i] += rp[i] } }
      if let act = f.activation { pointwise(act, count: n, x: UnsafePointer(yp), y: yp) }
      if let rp, f.residual == .after { for i in 0..<n { yp[i] += rp[i] } }
    }
  }

  /// y = (x − mean) / sqrt(var + eps) · gamma + beta, per channel.
  static func batchNorm(
    _ g: BatchNormGeometry, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
    beta: UnsafePointer<Float>, mean: UnsafePointer<Float>, variance: UnsafePointer<Float>,
    y: UnsafeMutablePointer<Float>
  ) {
    for n in 0..<g.batch {
      for c in 0..<g.channels {
        let scale = gamma[c] / (variance[c] + g.eps).squareRoot(), m = mean[c], shift = beta[c]
        let offset = (n * g.channels + c) * g.inner
        map(g.inner, x + offset, y + offset) { ($0 - m) * scale + shift }
      }
    }
  }
}

/// A binary function as a type, so each broadcast loop is specialised for it (no call per element).
protocol ElementwiseBinaryOp { static func apply(_ a: Float, _ b: Float) -> Float }
enum BinaryOpAdd: ElementwiseBinaryOp { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a + b } }
enum BinaryOpSub: ElementwiseBinaryOp { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a - b } }
enum BinaryOpMul: ElementwiseBinaryOp { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a * b } }
enum BinaryOpDiv: ElementwiseBinaryOp { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a / b } }
enum BinaryOpPow: ElementwiseBinaryOp { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { Foundation.pow(a, b) } }
/// NaN propagates, as in NumPy's maximum/minimum and ONNX Max/Min.
enum BinaryOpMax: ElementwiseBinaryOp { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a.isNaN || b.isNaN ? .nan : Swift.max(a, b) } }
enum BinaryOpMin: ElementwiseBinaryOp { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a.isNaN || b.isNaN ? .nan : Swift.min(a, b) } }
enum BinaryOpGreater: ElementwiseBinaryOp { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a > b ? 1 : 0 } }
enum BinaryOpLess: ElementwiseBinaryOp { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a < b ? 1 : 0 } }
enum BinaryOpEqual: ElementwiseBinaryOp { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a == b ? 1 : 0 } }
enum BinaryOpPRelu: ElementwiseBinaryOp { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a >= 0 ? a : a * b } }
