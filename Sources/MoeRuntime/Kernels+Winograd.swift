// Kernels+Winograd: stride-1 3×3 convolutions as Winograd F(2×2, 3×3): 16 sgemm products between transforms.
import Foundation
import MoeIR
import MoeNativeShim

/// Floats of one worker's transformed tiles (input and products) per chunk: about 1 MB, within a core's L2.
let winogradChunkBudget = 1 << 18
/// Winograd is used for 3×3 stride-1 convolutions with at least this many input channels per product (and more
/// output channels than the direct path takes): below it the products are too thin to gain from 2.25× fewer FLOPs.
let winogradMinInChannels = 16

extension ConvGeometry {
  /// Output tiles (2×2 pixels) of every image, in row-major order over (batch, tile rows, tile columns).
  var winogradTileRows: Int { (outHeight + 1) / 2 }
  var winogradTileColumns: Int { (outWidth + 1) / 2 }
  var winogradTileCount: Int { batch * winogradTileRows * winogradTileColumns }
  /// Floats of the transformed weights U (16 × O × C), shared by the workers at the head of the scratch.
  var winogradWeightFloats: Int { MemoryPlan.aligned(16 * outChannels * inChannels) }

  /// Whether a conv2d of this geometry runs as Winograd F(2×2, 3×3), and its tiles per chunk (a function of the
  /// shapes only, never of the thread count, so results do not depend on it).
  mutating func chooseWinograd(_ a: ConvAttrs) {
    guard Kernels.winogradAllowed, kernelHeight == 3, kernelWidth == 3, a.strides == [1, 1], a.dilations == [1, 1],
          groups == 1, inChannels >= winogradMinInChannels, outChannels >= winogradMinInChannels,
          winogradTileCount >= Kernels.winogradMinTiles else { return }
    isWinograd = true
    isShiftAdd = false
    isDirect = false
    let perTile = 16 * (inChannels + outChannels)
    // The budget includes the rows' slack of 8 tiles, so the working memory stays within it.
    var tiles = max(8, (winogradChunkBudget / perTile - 8) / 8 * 8)
    // At least four chunks when there are enough tiles, so both cores get work at batch 1.
    tiles = min(tiles, max(8, (winogradTileCount + 31) / 32 * 8))
    chunks = (winogradTileCount + tiles - 1) / tiles
    tileRows = tiles
    let ld = tiles + 8
    workerScratch = MemoryPlan.aligned(16 * (moe_wino_xi_stride(Int32(inChannels), ld) + moe_wino_xi_stride(Int32(outChannels), ld)))
      + Int(moe_wino_work_floats(Int32(winogradTileColumns), Int32(tiles)))
    scratchCount = winogradWeightFloats + workerScratch * workers
  }
}

extension Kernels {
  /// Set to false (tests) to compare the Winograd path with the im2col path on the same shapes.
  /// conv2d takes Winograd only with at least this many 2×2 output tiles over the batch: fewer make the products too
  /// narrow to beat im2col (a 16×16 plane at batch 1 has 64). Tests lower it to reach small shapes.
  nonisolated(unsafe) static var winogradMinTiles = 128
  nonisolated(unsafe) static var winogradAllowed = getenv("MOE_WINOGRAD").map { String(cString: $0) != "0" } ?? true

  /// y = conv2d(x, w) + bias by Winograd F(2×2, 3×3): U = G·w·Gᵀ once per call (parallel over output channels), then
  /// per chunk of `g.tileRows` tiles: V = Bᵀ·d·B, sixteen products M[ξ] = U[ξ]·V[ξ] (O × C · C × tiles), y = Aᵀ·M·A.
  /// Each output element is computed by one chunk with a fixed order of operations.
  /// With `prepared` (the weights are constants of the run), U is kept there between runs and recomputed only when
  /// the weights' version changed.
  static func winogradConv2d(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, prepared: PreparedWeights? = nil,
    weightsVersion: Int = 0
  ) {
    let o = g.outChannels, c = g.inChannels, tc = g.tileRows, total = g.winogradTileCount
    // Rows of V and M have 8 floats of slack (the transforms work in vectors of 8 tiles); the 16 matrices are
    // `moe_wino_xi_stride` apart.
    let ld = tc + 8, vXi = moe_wino_xi_stride(Int32(c), ld), mXi = moe_wino_xi_stride(Int32(o), ld)
    let u = prepared.map { $0.buffer(floats: 16 * o * c) } ?? scratch
    if prepared == nil || prepared!.version != weightsVersion {
      let blocks = min(o, 4 * g.workers)
      Parallel.forEach(blocks, workers: g.workers) { item, _ in
        let os = Parallel.range(item, of: blocks, total: o)
        moe_wino_weights(w, Int32(o), Int32(c), Int32(os.lowerBound), Int32(os.count), u)
      }
      prepared?.version = weightsVersion
    }
    Parallel.forEach(g.chunks, workers: g.workers) { item, worker in
      let t0 = item * tc, count = min(tc, total - t0)
      let v = scratch + g.winogradWeightFloats + worker * g.workerScratch
      let m = v + 16 * vXi, work = m + 16 * mXi
      moe_wino_input(x, Int32(c), 0, Int32(c), Int32(g.inHeight), Int32(g.inWidth), Int32(g.padTop), Int32(g.padLeft),
                     Int32(g.winogradTileRows), Int32(g.winogradTileColumns), t0, Int32(count), v, ld, work)
      for xi in 0..<16 {
        sgemm(m: o, n: count, k: c, a: u + xi * o * c, lda: c, b: v + xi * vXi, ldb: ld, beta: 0,
              c: m + xi * mXi, ldc: ld)
      }
      moe_wino_output(m, Int32(o), ld, Int32(g.outHeight), Int32(g.outWidth), Int32(g.winogradTileRows),
                      Int32(g.winogradTileColumns), t0, Int32(count), bias, y, work)
    }
  }
}

/// Floats of transformed tiles (input and output gradient) per chunk of a Winograd weight gradient: 4 MB.
let winogradFilterGradChunkBudget = 1 << 20

extension ConvGeometry {
  /// Whether conv2d_filter_grad of this geometry runs as the adjoint of Winograd F(2×2, 3×3); `tileRows` then holds
  /// the tiles per chunk (a function of the shapes only).
  mutating func chooseWinogradFilterGrad(_ a: ConvAttrs) {
    guard Kernels.winogradAllowed, kernelHeight == 3, kernelWidth == 3, a.strides == [1, 1], a.dilations == [1, 1],
          groups == 1, inChannels >= winogradMinInChannels, outChannels >= winogradMinInChannels else { return }
    isWinograd = true
    isDirect = false
    let tiles = min(max(8, winogradFilterGradChunkBudget / (16 * (inChannels + outChannels)) / 8 * 8),
                    (winogradTileCount + 7) / 8 * 8)
    tileRows = tiles
    chunks = (winogradTileCount + tiles - 1) / tiles
    let ld = tiles + 8
    let shared = winogradWeightFloats
      + MemoryPlan.aligned(16 * (moe_wino_xi_stride(Int32(inChannels), ld) + moe_wino_xi_stride(Int32(outChannels), ld)))
    workerScratch = MemoryPlan.aligned(Int(moe_wino_work_floats(Int32(winogradTileColumns), Int32(tiles))))
    scratchCount = shared + workerScratch * workers
  }
}

extension Kernels {
  /// gw = the weight gradient of a 3×3 stride-1 conv by the adjoint of Winograd F(2×2, 3×3): per chunk of tiles (in
  /// order), V = Bᵀ·d·B of x and ∂M = A·∂Y·Aᵀ of gy (tile ranges over the workers), then ∂U[ξ] += ∂M[ξ]·V[ξ]ᵀ
  /// (the 16 products over the workers); finally gw = Gᵀ·∂U·G. Each ∂U[ξ] sums its chunks in order, whatever the
  /// thread count.
  static func winogradFilterGrad(
    _ g: ConvGeometry, x: UnsafePointer<Float>, gy: UnsafePointer<Float>, gw: UnsafeMutablePointer<Float>,
    scratch: UnsafeMutablePointer<Float>
  ) {
    let o = g.outChannels, c = g.inChannels, tc = g.tileRows, total = g.winogradTileCount
    let ld = tc + 8, vXi = moe_wino_xi_stride(Int32(c), ld), mXi = moe_wino_xi_stride(Int32(o), ld)
    let du = scratch, v = scratch + g.winogradWeightFloats, dm = v + 16 * vXi
    let works = v + MemoryPlan.aligned(16 * (vXi + mXi))
    let th = Int32(g.winogradTileRows), tw = Int32(g.winogradTileColumns)
    for chunk in 0..<g.chunks {
      let t0 = chunk * tc, count = min(tc, total - t0)
      // Channel ranges (rows of V and ∂M), one per worker: vectors that run over a row's end stay in its slack.
      let parts = min(g.workers, c, o)
      Parallel.forEach(parts, workers: g.workers) { p, worker in
        let cs = Parallel.range(p, of: parts, total: c), os = Parallel.range(p, of: parts, total: o)
        let work = works + worker * g.workerScratch
        moe_wino_input(x, Int32(c), Int32(cs.lowerBound), Int32(cs.count), Int32(g.inHeight), Int32(g.inWidth),
                       Int32(g.padTop), Int32(g.padLeft), th, tw, t0, Int32(count), v, ld, work)
        moe_wino_grad_output(gy, Int32(o), Int32(os.lowerBound), Int32(os.count), Int32(g.outHeight), Int32(g.outWidth),
                             th, tw, t0, Int32(count), dm, ld, work)
      }
      Parallel.forEach(16, workers: g.workers) { xi, _ in
        sgemm(transB: true, m: o, n: c, k: count, a: dm + xi * mXi, lda: ld, b: v + xi * vXi, ldb: ld,
              beta: chunk == 0 ? 0 : 1, c: du + xi * o * c, ldc: c)
      }
    }
    let blocks = min(o, 4 * g.workers)
    Parallel.forEach(blocks, workers: g.workers) { item, _ in
      let os = Parallel.range(item, of: blocks, total: o)
      moe_wino_weights_grad(du, Int32(o), Int32(c), Int32(os.lowerBound), Int32(os.count), gw)
    }
  }
}

/// Weights transformed once and kept across runs (Winograd's U of a conv whose weights are constants of the plan),
/// valid while `version` equals the executor's weights version (bumped by every variable update).
final class PreparedWeights {
  private var storage: UnsafeMutablePointer<Float>?
  private var count = 0
  var version = -1

  /// The buffer, of at least `floats` floats (a new one invalidates the contents).
  func buffer(floats: Int) -> UnsafeMutablePointer<Float> {
    if let s = storage, count >= floats { return s }
    storage?.deallocate()
    storage = .allocate(capacity: max(floats, 1))
    count = floats
    version = -1
    return storage!
  }

  deinit { storage?.deallocate() }
}
