// Kernels+Gemm: the sgemm wrapper and the contraction ops built on it (linear, gemm, matmul).
import CBLAS
import MoeIR

/// linear: x (rows, inFeatures) flattened from axis 1, W (outFeatures, inFeatures), optional bias.
struct LinearGeometry: Equatable {
  var rows: Int
  var inFeatures: Int
  var outFeatures: Int
  var hasBias: Bool
}

/// gemm: Y (m, n) = alpha · op(A) · op(B) + beta · C, with C broadcast through (row, column) strides.
struct GemmGeometry: Equatable {
  var m: Int, n: Int, k: Int
  var transA: Bool, transB: Bool
  var lda: Int, ldb: Int
  var alpha: Float, beta: Float
  var hasC: Bool
  var cRowStride: Int, cColumnStride: Int

  init(_ a: GemmAttrs, aShape: [Int], bShape: [Int], cShape: [Int]?) {
    m = a.transA ? aShape[1] : aShape[0]
    k = a.transA ? aShape[0] : aShape[1]
    n = a.transB ? bShape[0] : bShape[1]
    transA = a.transA
    transB = a.transB
    lda = aShape[1]
    ldb = bShape[1]
    alpha = a.alpha
    beta = a.beta
    hasC = cShape != nil
    let c = cShape ?? []
    let rows = c.count == 2 ? c[0] : 1, columns = c.last ?? 1
    cRowStride = rows == 1 ? 0 : columns
    cColumnStride = columns == 1 ? 0 : 1
  }
}

/// matmul: a batch of (m, k)·(k, n) products; `offsets` holds the (A, B) element offsets of each output matrix.
struct MatmulGeometry: Equatable {
  var m: Int, n: Int, k: Int
  var aOffsets: [Int]
  var bOffsets: [Int]

  init(a: [Int], b: [Int], y: [Int]) {
    m = a[a.count - 2]
    k = a[a.count - 1]
    n = b[b.count - 1]
    let batch = Array(y.dropLast(2))
    let aBatch = Array(a.dropLast(2)), bBatch = Array(b.dropLast(2))
    if elementCount(bBatch) == 1 && aBatch.count == batch.count {
      // B is one matrix shared by every A: one product with the A batch stacked into rows.
      m *= elementCount(aBatch)
      aOffsets = [0]
      bOffsets = [0]
      return
    }
    let aStrides = broadcastStrides(aBatch, to: batch, elementStride: m * k)
    let bStrides = broadcastStrides(bBatch, to: batch, elementStride: k * n)
    aOffsets = []
    bOffsets = []
    forEachIndex(batch) { idx in
      var ao = 0, bo = 0
      for d in 0..<idx.count {
        ao += idx[d] * aStrides[d]
        bo += idx[d] * bStrides[d]
      }
      aOffsets.append(ao)
      bOffsets.append(bo)
    }
  }
}

/// Strides (in elements) of `shape` right-aligned against `target`, 0 where it is broadcast.
func broadcastStrides(_ shape: [Int], to target: [Int], elementStride: Int = 1) -> [Int] {
  var strides = [Int](repeating: 0, count: target.count)
  var s = elementStride
  for i in stride(from: shape.count - 1, through: 0, by: -1) {
    let t = i + target.count - shape.count
    strides[t] = shape[i] == 1 ? 0 : s
    s *= shape[i]
  }
  return strides
}

/// Calls `body` with every index of `shape` in row-major order (once, with [], for rank 0).
func forEachIndex(_ shape: [Int], _ body: ([Int]) -> Void) {
  if shape.contains(0) { return }
  var idx = [Int](repeating: 0, count: shape.count)
  while true {
    body(idx)
    var d = shape.count - 1
    while d >= 0 {
      idx[d] += 1
      if idx[d] < shape[d] { break }
      idx[d] = 0
      d -= 1
    }
    if d < 0 { return }
  }
}

extension Kernels {
  /// Row-major C = alpha · op(A) · op(B) + beta · C through OpenBLAS; empty products only scale C.
  static func sgemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    if m == 0 || n == 0 { return }
    if k == 0 {
      for i in 0..<m {
        for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] }
      }
      return
    }
    cblas_sgemm(
      CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
      Int32(m), Int32(n), Int32(k), alpha, a, Int32(max(lda, 1)), b, Int32(max(ldb, 1)),
      beta, c, Int32(max(ldc, 1)))
  }

  /// `sgemm` on up to `workers` threads: C split into column ranges (or row ranges when it has more rows), each one
  /// product. Small products (under ~1 MFLOP) run on the calling thread.
  static func parallelSgemm(
    workers: Int, transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    let parts = min(workers, max(m, n) / 16)
    if parts <= 1 || m * n * k < (1 << 19) {
      return sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                   beta: beta, c: c, ldc: ldc)
    }
    let byColumns = n >= m
    Parallel.forEach(parts, workers: workers) { p, _ in
      let r = Parallel.range(p, of: parts, total: byColumns ? n : m)
      if byColumns {
        sgemm(transA: transA, transB: transB, m: m, n: r.count, k: k, alpha: alpha, a: a, lda: lda,
              b: b + (transB ? r.lowerBound * ldb : r.lowerBound), ldb: ldb, beta: beta, c: c + r.lowerBound, ldc: ldc)
      } else {
        sgemm(transA: transA, transB: transB, m: r.count, n: n, k: k, alpha: alpha,
              a: a + (transA ? r.lowerBound : r.lowerBound * lda), lda: lda, b: b, ldb: ldb, beta: beta,
              c: c + r.lowerBound * ldc, ldc: ldc)
      }
    }
  }

  /// y = x · Wᵀ + bias.
  static func linear(
    _ g: LinearGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    y: UnsafeMutablePointer<Float>, workers: Int = 1
  ) {
    if let bias {
      for r in 0..<g.rows { (y + r * g.outFeatures).update(from: bias, count: g.outFeatures) }
    }
    parallelSgemm(
      workers: workers, transB: true, m: g.rows, n: g.outFeatures, k: g.inFeatures, a: x, lda: g.inFeatures, b: w, ldb: g.inFeatures,
      beta: bias == nil ? 0 : 1, c: y, ldc: g.outFeatures)
  }

  /// Y = alpha · op(A) · op(B) + beta · C.
  static func gemm(
    _ g: GemmGeometry, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafePointer<Float>?,
    y: UnsafeMutablePointer<Float>, workers: Int = 1
  ) {
    var blasBeta: Float = 0
    if let c, g.beta != 0 {
      for i in 0..<g.m {
        for j in 0..<g.n { y[i * g.n + j] = g.beta * c[i * g.cRowStride + j * g.cColumnStride] }
      }
      blasBeta = 1
    }
    parallelSgemm(
      workers: workers, transA: g.transA, transB: g.transB, m: g.m, n: g.n, k: g.k, alpha: g.alpha, a: a, lda: g.lda, b: b, ldb: g.ldb,
      beta: blasBeta, c: y, ldc: g.n)
  }

  /// Batched (broadcast) matrix product.
  static func matmul(
    _ g: MatmulGeometry, a: UnsafePointer<Float>, b: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
    workers: Int = 1
  ) {
    for i in 0..<g.aOffsets.count {
      parallelSgemm(
        workers: workers, m: g.m, n: g.n, k: g.k, a: a + g.aOffsets[i], lda: g.k, b: b + g.bOffsets[i], ldb: g.n,
        beta: 0, c: y + i * g.m * g.n, ldc: g.n)
    }
  }
}
