// Kernels+ConvFilterGrad: the weight gradient of conv2d, ∂W = Σₙ ∂y · im2col(x)ᵀ, one sgemm per column tile.
import MoeIR

extension ConvGeometry {
  /// Geometry of conv2d_filter_grad: the forward conv's geometry with the im2col path forced.
  static func filterGrad(_ a: ConvAttrs, x: [Int], gy: [Int], w: [Int]) -> ConvGeometry {
    var g = ConvGeometry.conv(a, x: x, w: w, y: gy, hasBias: false)
    g.isShiftAdd = false
    g.isPointwise = false
    let cg = g.inChannels / g.groups
    let rowFloats = cg * g.kernelHeight * g.kernelWidth * g.outWidth
    g.tileRows = max(1, min(g.outHeight, columnTileBudget / max(rowFloats, 1)))
    g.scratchCount = rowFloats * g.tileRows
    return g
  }
}

extension Kernels {
  /// gw (O, C/g, kh, kw) = Σ over images and tiles of gy[n, group] (og, cols) · col(x)ᵀ (cols, C/g·kh·kw).
  static func conv2dFilterGrad(
    _ g: ConvGeometry, x: UnsafePointer<Float>, gy: UnsafePointer<Float>, gw: UnsafeMutablePointer<Float>,
    scratch: UnsafeMutablePointer<Float>
  ) {
    let cg = g.inChannels / g.groups, og = g.outChannels / g.groups
    let k = cg * g.kernelHeight * g.kernelWidth
    gw.update(repeating: 0, count: g.outChannels * k)
    for n in 0..<g.batch {
      let xn = x + n * g.inChannels * g.inPlane, gyn = gy + n * g.outChannels * g.outPlane
      for grp in 0..<g.groups {
        let xg = xn + grp * cg * g.inPlane, gyg = gyn + grp * og * g.outPlane, wg = gw + grp * og * k
        var row0 = 0
        while row0 < g.outHeight {
          let rows = min(g.tileRows, g.outHeight - row0)
          let cols = rows * g.outWidth
          im2col(g, channels: cg, x: xg, firstRow: row0, rows: rows, into: scratch)
          sgemm(transB: true, m: og, n: k, k: cols, a: gyg + row0 * g.outWidth, lda: g.outPlane, b: scratch, ldb: cols,
                beta: 1, c: wg, ldc: k)
          row0 += rows
        }
      }
    }
  }
}
