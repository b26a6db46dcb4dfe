// Kernels+Conv: conv2d through OpenBLAS sgemm: im2col tiles, direct 1x1 products, or shifted products for few outputs.
import MoeIR

/// Namespace of the executor's kernels. Each works on raw float pointers with geometry fixed at plan time.
enum Kernels {}

/// Floats of column matrix built at once by im2col / consumed at once by col2im: 1 MB, within a core's L2.
let columnTileBudget = 1 << 18
/// A stride-1 conv uses shifted products instead of im2col when in/out channels per group is at least this.
let shiftAddChannelRatio = 4

/// Concrete geometry of a conv2d or convTranspose2d node (NCHW).
struct ConvGeometry: Equatable {
  var batch = 0, inChannels = 0, inHeight = 0, inWidth = 0
  var outChannels = 0, outHeight = 0, outWidth = 0
  var kernelHeight = 0, kernelWidth = 0
  var strideH = 1, strideW = 1, padTop = 0, padLeft = 0, dilationH = 1, dilationW = 1
  var groups = 1
  var hasBias = false
  /// conv2d: output rows per im2col tile; convTranspose2d: input rows per col2im tile.
  var tileRows = 1
  /// Floats of scratch (the column tile).
  var scratchCount = 0
  /// 1x1, stride 1, no padding: the input plane already is the column matrix.
  var isPointwise = false
  /// Stride-1 conv with few output channels per group: computed as shifted products (W_o,ki,kj · x added at an
  /// offset, via col2im) instead of im2col, whose column matrix would be `inChannels / outChannels` times larger.
  var isShiftAdd = false

  var inPlane: Int { inHeight * inWidth }
  var outPlane: Int { outHeight * outWidth }

  /// conv2d geometry; `x` (N,C,H,W), `w` (O,C/g,kh,kw), `y` (N,O,OH,OW).
  static func conv(
    _ a: ConvAttrs, x: [Int], w: [Int], y: [Int], hasBias: Bool,
    tileBudget: Int = columnTileBudget
  ) -> ConvGeometry {
    var g = ConvGeometry(
      batch: x[0], inChannels: x[1], inHeight: x[2], inWidth: x[3],
      outChannels: y[1], outHeight: y[2], outWidth: y[3], kernelHeight: w[2], kernelWidth: w[3],
      strideH: a.strides[0], strideW: a.strides[1], padTop: a.pads[0], padLeft: a.pads[1],
      dilationH: a.dilations[0], dilationW: a.dilations[1], groups: a.groups, hasBias: hasBias)
    g.isPointwise = g.kernelHeight == 1 && g.kernelWidth == 1 && a.strides == [1, 1] && a.pads == [0, 0, 0, 0]
    let cg = g.inChannels / g.groups, og = g.outChannels / g.groups
    g.isShiftAdd = !g.isPointwise && a.strides == [1, 1] && og * shiftAddChannelRatio <= cg
    if g.isShiftAdd {
      // Tiles of input rows; the scratch holds og·kh·kw product rows per input row.
      let rowFloats = og * g.kernelHeight * g.kernelWidth * g.inWidth
      g.tileRows = max(1, min(g.inHeight, tileBudget / max(rowFloats, 1)))
      g.scratchCount = rowFloats * g.tileRows
    } else if !g.isPointwise {
      let rowFloats = cg * g.kernelHeight * g.kernelWidth * g.outWidth
      g.tileRows = max(1, min(g.outHeight, tileBudget / max(rowFloats, 1)))
      g.scratchCount = rowFloats * g.tileRows
    }
    return g
  }
}

extension Kernels {
  /// y = conv2d(x, w) + bias, per image and group, by one of three paths fixed at plan time: 1x1 stride-1 unpadded
  /// convs multiply the input plane directly; stride-1 convs with few output channels use `shiftAdd`; the rest build
  /// im2col column tiles of output rows, one sgemm per tile.
  static func conv2d(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let cg = g.inChannels / g.groups, og = g.outChannels / g.groups
    let k = cg * g.kernelHeight * g.kernelWidth
    let beta: Float = bias == nil ? 0 : 1
    for n in 0..<g.batch {
      let xn = x + n * g.inChannels * g.inPlane, yn = y + n * g.outChannels * g.outPlane
      if bias != nil || g.isShiftAdd {
        for o in 0..<g.outChannels { (yn + o * g.outPlane).update(repeating: bias?[o] ?? 0, count: g.outPlane) }
      }
      for grp in 0..<g.groups {
        let xg = xn + grp * cg * g.inPlane, wg = w + grp * og * k, yg = yn + grp * og * g.outPlane
        if g.isShiftAdd {
          shiftAdd(g, channels: cg, outChannels: og, x: xg, w: wg, y: yg, scratch: scratch)
          continue
        }
        if g.isPointwise {
          sgemm(m: og, n: g.outPlane, k: cg, a: wg, lda: k, b: xg, ldb: g.inPlane, beta: beta, c: yg, ldc: g.outPlane)
          continue
        }
        var row0 = 0
        while row0 < g.outHeight {
          let rows = min(g.tileRows, g.outHeight - row0)
          let cols = rows * g.outWidth
          im2col(g, channels: cg, x: xg, firstRow: row0, rows: rows, into: scratch)
          sgemm(m: og, n: cols, k: k, a: wg, lda: k, b: scratch, ldb: cols, beta: beta, c: yg + row0 * g.outWidth, ldc: g.outPlane)
          row0 += rows
        }
      }
    }
  }

  /// Stride-1 conv of one group as products P[o,ki,kj] = W[o,:,ki,kj] · x (one sgemm per output channel over a tile of
  /// input rows), each added into y shifted by (padTop − ki·dh, padLeft − kj·dw). `y` must hold the bias (or zeros).
  static func shiftAdd(
    _ g: ConvGeometry, channels cg: Int, outChannels og: Int, x: UnsafePointer<Float>,
    w: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let taps = g.kernelHeight * g.kernelWidth
    var row0 = 0
    while row0 < g.inHeight {
      let rows = min(g.tileRows, g.inHeight - row0)
      let cols = rows * g.inWidth
      for o in 0..<og {
        // W[o] is [cg, taps] row-major; its transpose [taps, cg] times the input rows [cg, cols].
        sgemm(
          transA: true, m: taps, n: cols, k: cg, a: w + o * cg * taps, lda: taps, b: x + row0 * g.inWidth,
          ldb: g.inPlane, beta: 0, c: scratch + o * taps * cols, ldc: cols)
      }
      col2im(g, channels: og, col: scratch, firstRow: row0, rows: rows, into: y, flipped: true)
      row0 += rows
    }
  }

  /// Column matrix [channels·kh·kw, rows·OW] of output rows `firstRow..<firstRow+rows`: each (c, ki, kj, oh) row is
  /// a zero prefix, a contiguous copy (stride 1) or strided gather, and a zero suffix.
  static func im2col(
    _ g: ConvGeometry, channels: Int, x: UnsafePointer<Float>, firstRow: Int, rows: Int,
    into col: UnsafeMutablePointer<Float>
  ) {
    let ow = g.outWidth, sw = g.strideW, cols = rows * ow
    withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * g.kernelWidth) { range in
      // Valid output columns [lo, hi) for each kernel column kj: 0 ≤ ow·sw + kj·dw − padLeft < W.
      for kj in 0..<g.kernelWidth {
        let off = kj * g.dilationW - g.padLeft
        let lo = off >= 0 ? 0 : min(ow, (-off + sw - 1) / sw)
        let last = g.inWidth - 1 - off
        let hi = last < 0 ? 0 : min(ow, last / sw + 1)
        range[2 * kj] = lo
        range[2 * kj + 1] = max(lo, hi)
      }
      var dst = col
      for c in 0..<channels {
        let plane = x + c * g.inPlane
        for ki in 0..<g.kernelHeight {
          for kj in 0..<g.kernelWidth {
            let off = kj * g.dilationW - g.padLeft
            let lo = range[2 * kj], hi = range[2 * kj + 1]
            var d = dst
            for oh in firstRow..<(firstRow + rows) {
              let ih = oh * g.strideH - g.padTop + ki * g.dilationH
              if ih < 0 || ih >= g.inHeight {
                zeroFloats(d, ow)
              } else {
                let src = plane + ih * g.inWidth + off
                if lo > 0 { zeroFloats(d, lo) }
                if sw == 1 {
                  copyFloats(d + lo, src + lo, hi - lo)
                } else {
                  for j in lo..<hi { d[j] = src[j * sw] }
                }
                if hi < ow { zeroFloats(d + hi, ow - hi) }
              }
              d += ow
            }
            dst += cols
          }
        }
      }
    }
  }
}

/// Copies `n` floats; short runs (narrow images) with SIMD moves instead of a memmove call per row.
@inline(__always)
func copyFloats(_ d: UnsafeMutablePointer<Float>, _ s: UnsafePointer<Float>, _ n: Int) {
  if n >= 64 || n < 8 {
    if n > 0 { d.update(from: s, count: n) }
    return
  }
  var j = 0
  while j + 8 <= n {
    UnsafeMutableRawPointer(d + j).storeBytes(
      of: UnsafeRawPointer(s + j).loadUnaligned(as: SIMD8<Float>.self),
      as: SIMD8<Float>.self)
    j += 8
  }
  if j < n {
    // The last 8, overlapping what is already copied.
    UnsafeMutableRawPointer(d + n - 8).storeBytes(
      of: UnsafeRawPointer(s + n - 8).loadUnaligned(as: SIMD8<Float>.self),
      as: SIMD8<Float>.self)
  }
}

/// Zeroes `n` floats; short runs (padding) without a memset call.
@inline(__always)
func zeroFloats(_ d: UnsafeMutablePointer<Float>, _ n: Int) {
  if n >= 64 {
    d.update(repeating: 0, count: n)
    return
  }
  var j = 0
  while j + 8 <= n {
    UnsafeMutableRawPointer(d + j).storeBytes(of: SIMD8<Float>(), as: SIMD8<Float>.self)
    j += 8
  }
  while j < n {
    d[j] = 0
    j += 1
  }
}
