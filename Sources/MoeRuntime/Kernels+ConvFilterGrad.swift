// Kernels+ConvFilterGrad: the weight gradient of conv2d, ∂W = Σₙ ∂y · im2col(x)ᵀ, one sgemm per column tile.
import MoeIR
import MoeNativeShim

/// Stride-1 weight gradients with at most this many output channels per group are summed directly.
let directFilterGradMaxOutChannels = 8

extension ConvGeometry {
  /// Geometry of conv2d_filter_grad: the forward conv's geometry with the im2col path forced.
  static func filterGrad(_ a: ConvAttrs, x: [Int], gy: [Int], w: [Int], workers: Int = 1) -> ConvGeometry {
    var g = ConvGeometry.conv(a, x: x, w: w, y: gy, hasBias: false)
    g.isShiftAdd = false
    g.isPointwise = false
    g.isWinograd = false
    g.isBlocked = false
    // Few output channels at stride 1 (the gradient of a generator's last conv to RGB): summed directly.
    g.isDirect = a.strides == [1, 1] && (g.outChannels / g.groups) <= directFilterGradMaxOutChannels
    let cg = g.inChannels / g.groups
    g.workers = max(1, workers)
    // Work items are ranges of input channels (columns of gw), each summing over every image and tile in the same
    // order: the result does not depend on which thread ran what.
    g.chunks = min(cg, g.workers == 1 ? 1 : 2 * g.workers)
    let rowFloats = ((cg + g.chunks - 1) / g.chunks) * g.kernelHeight * g.kernelWidth * g.outWidth
    g.tileRows = max(1, min(g.outHeight, max(columnTileBudget / g.workers, 1 << 12) / max(rowFloats, 1)))
    g.workerScratch = rowFloats * g.tileRows
    if g.isDirect {
      g.workerScratch = Int(moe_direct_filter_grad_work_floats(
        Int32(g.kernelHeight), Int32(g.kernelWidth), Int32(g.dilationH), Int32(g.dilationW),
        Int32(g.outChannels / g.groups), Int32(g.outHeight), Int32(g.outWidth)))
    }
    g.scratchCount = g.workerScratch * g.workers
    g.chooseWinogradFilterGrad(a)
    return g
  }
}

extension Kernels {
  /// gw (O, C/g, kh, kw) = Σ over images and tiles of gy[n, group] (og, cols) · col(x)ᵀ (cols, C/g·kh·kw). Work items
  /// are (group, input-channel range): the im2col rows of those channels only, and the matching columns of gw.
  static func conv2dFilterGrad(
    _ g: ConvGeometry, x: UnsafePointer<Float>, gy: UnsafePointer<Float>, gw: UnsafeMutablePointer<Float>,
    scratch: UnsafeMutablePointer<Float>
  ) {
    if g.isWinograd { return winogradFilterGrad(g, x: x, gy: gy, gw: gw, scratch: scratch) }
    let cg = g.inChannels / g.groups, og = g.outChannels / g.groups
    let taps = g.kernelHeight * g.kernelWidth, k = cg * taps
    gw.update(repeating: 0, count: g.outChannels * k)
    Parallel.forEach(g.groups * g.chunks, workers: g.workers) { item, worker in
      let grp = item / g.chunks
      let cs = Parallel.range(item % g.chunks, of: g.chunks, total: cg)
      guard !cs.isEmpty else { return }
      let work = scratch + worker * g.workerScratch
      let n0 = cs.count * taps
      if g.isDirect {
        for n in 0..<g.batch {
          moe_direct_filter_grad(
            x + n * g.inChannels * g.inPlane + grp * cg * g.inPlane,
            gy + n * g.outChannels * g.outPlane + grp * og * g.outPlane, gw + grp * og * k,
            Int32(cs.lowerBound), Int32(cs.count), Int32(cg), Int32(g.inHeight), Int32(g.inWidth), Int32(og),
            Int32(g.kernelHeight), Int32(g.kernelWidth), Int32(g.padTop), Int32(g.padLeft), Int32(g.dilationH),
            Int32(g.dilationW), Int32(g.outHeight), Int32(g.outWidth), work)
        }
        return
      }
      for n in 0..<g.batch {
        let xg = x + n * g.inChannels * g.inPlane + (grp * cg + cs.lowerBound) * g.inPlane
        let gyg = gy + n * g.outChannels * g.outPlane + grp * og * g.outPlane
        var row0 = 0
        while row0 < g.outHeight {
          let rows = min(g.tileRows, g.outHeight - row0)
          let cols = rows * g.outWidth
          im2col(g, channels: cs.count, x: xg, firstRow: row0, rows: rows, into: work)
          sgemm(transB: true, m: og, n: n0, k: cols, a: gyg + row0 * g.outWidth, lda: g.outPlane, b: work, ldb: cols,
                beta: 1, c: gw + grp * og * k + cs.lowerBound * taps, ldc: k)
          row0 += rows
        }
      }
    }
  }
}
