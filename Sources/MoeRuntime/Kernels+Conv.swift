// Kernels+Conv: conv2d through OpenBLAS sgemm: im2col tiles, direct 1x1 products, or shifted products for few outputs.
import MoeIR
import MoeNativeShim

/// Namespace of the executor's kernels. Each works on raw float pointers with geometry fixed at plan time.
enum Kernels {}

/// Floats of column matrix built at once by im2col / consumed at once by col2im: 1 MB, within a core's L2.
let columnTileBudget = 1 << 18
/// A stride-1 conv uses shifted products instead of im2col when in/out channels per group is at least this.
let shiftAddChannelRatio = 4
/// Stride-1 convs with at most this many output channels per group are computed directly (no im2col, no products):
/// a generator's last conv to RGB, a small U-Net's 16-channel convs.
let directMaxOutChannels = 16

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
  /// Floats of scratch (one column tile per worker, plus a weight-gradient accumulator per worker for filter grads).
  var scratchCount = 0
  /// Threads that share the work (`Parallel.forEach`); each has `workerScratch` floats of the scratch.
  var workers = 1
  var workerScratch = 0
  /// Work items per image and group when there are fewer images than workers: output-channel ranges (shifted
  /// products, convTranspose2d) or column ranges (1x1).
  var chunks = 1
  /// 1x1, stride 1, no padding: the input plane already is the column matrix.
  var isPointwise = false
  /// Stride-1 conv with few output channels per group: computed as shifted products (W_o,ki,kj · x added at an
  /// offset, via col2im) instead of im2col, whose column matrix would be `inChannels / outChannels` times larger.
  var isShiftAdd = false
  /// Stride-1 conv with at most `directMaxOutChannels` outputs per group: a direct convolution vectorised along
  /// output rows (MoeNativeShim), in blocks of 4 output channels; work items of output rows.
  var isDirect = false
  /// 3×3 stride-1 conv with enough channels: Winograd F(2×2, 3×3) (Kernels+Winograd); `tileRows` then holds the
  /// 2×2 output tiles per chunk and `chunks` the chunks over the whole batch.
  var isWinograd = false
  /// convTranspose2d with few output channels per group and fewer images than workers: each tile's product is split
  /// over the workers by columns, then col2im by output rows (every worker busy, however few the channels).
  var isRowSplit = false
  /// conv2d on the output-channel-blocked direct kernel (Kernels+BlockedConv) instead of im2col + sgemm.
  var isBlocked = false

  var inPlane: Int { inHeight * inWidth }
  var outPlane: Int { outHeight * outWidth }

  /// conv2d geometry; `x` (N,C,H,W), `w` (O,C/g,kh,kw), `y` (N,O,OH,OW).
  static func conv(
    _ a: ConvAttrs, x: [Int], w: [Int], y: [Int], hasBias: Bool,
    tileBudget: Int = columnTileBudget, workers: Int = 1
  ) -> ConvGeometry {
    var g = ConvGeometry(
      batch: x[0], inChannels: x[1], inHeight: x[2], inWidth: x[3],
      outChannels: y[1], outHeight: y[2], outWidth: y[3], kernelHeight: w[2], kernelWidth: w[3],
      strideH: a.strides[0], strideW: a.strides[1], padTop: a.pads[0], padLeft: a.pads[1],
      dilationH: a.dilations[0], dilationW: a.dilations[1], groups: a.groups, hasBias: hasBias)
    g.isPointwise = g.kernelHeight == 1 && g.kernelWidth == 1 && a.strides == [1, 1] && a.pads == [0, 0, 0, 0]
    let cg = g.inChannels / g.groups, og = g.outChannels / g.groups
    g.isShiftAdd = !g.isPointwise && a.strides == [1, 1] && og * shiftAddChannelRatio <= cg
    g.workers = max(1, workers)
    // The scratch budget is shared by the workers: the working memory does not grow with the thread count.
    let budget = max(tileBudget / g.workers, 1 << 12)
    let fewImages = g.batch * g.groups < 2 * g.workers
    g.isDirect = !g.isPointwise && a.strides == [1, 1] && og <= directMaxOutChannels && g.kernelHeight <= 64
    if g.isDirect {
      g.isShiftAdd = false
      g.workerScratch = Int(moe_direct_conv_work_floats(Int32(cg), Int32(g.kernelHeight), Int32(g.kernelWidth),
                                                        Int32(g.dilationH), Int32(g.dilationW), Int32(g.outWidth)))
      g.chunks = fewImages ? min(g.outHeight, 8 * g.workers) : 1
    } else if g.isShiftAdd {
      // Tiles of input rows; the scratch holds og·kh·kw product rows per input row.
      let rowFloats = og * g.kernelHeight * g.kernelWidth * g.inWidth
      g.tileRows = max(1, min(g.inHeight, budget / max(rowFloats, 1)))
      g.workerScratch = rowFloats * g.tileRows
      g.chunks = fewImages ? min(og, g.workers) : 1
    } else if g.isPointwise {
      g.chunks = fewImages ? g.workers : 1
    } else {
      let rowFloats = cg * g.kernelHeight * g.kernelWidth * g.outWidth
      g.tileRows = max(1, min(g.outHeight, budget / max(rowFloats, 1)))
      g.tileRows = balancedTileRows(g.tileRows, height: g.outHeight, images: g.batch * g.groups, workers: g.workers)
      g.workerScratch = rowFloats * g.tileRows
    }
    g.scratchCount = g.workerScratch * g.workers
    g.chooseWinograd(a)
    g.chooseBlocked(a)
    return g
  }
}

/// Rows per tile such that few tiles (under 8 per worker) are of equal height and their count a multiple of the
/// workers: 16 rows on 2 workers as 8 + 8, not 14 + 2. Never more rows than `rows`.
func balancedTileRows(_ rows: Int, height: Int, images: Int, workers: Int) -> Int {
  let tiles = (height + rows - 1) / rows
  guard workers > 1, images * tiles < 8 * workers else { return rows }
  let want = (images * tiles + workers - 1) / workers * workers
  let perImage = (want + images - 1) / images
  return min(rows, max(1, (height + perImage - 1) / perImage))
}

extension Kernels {
  /// y = conv2d(x, w) + bias, per image and group, by one of three paths fixed at plan time: 1x1 stride-1 unpadded
  /// convs multiply the input plane directly; stride-1 convs with few output channels use `shiftAdd`; the rest build
  /// im2col column tiles of output rows, one sgemm per tile. Work items (tiles, or channel/column ranges) run on
  /// `g.workers` threads; each writes its own part of y.
  static func conv2d(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, prepared: PreparedWeights? = nil,
    weightsVersion: Int = 0
  ) {
    if g.isWinograd {
      return winogradConv2d(g, x: x, w: w, bias: bias, y: y, scratch: scratch, prepared: prepared, weightsVersion: weightsVersion)
    }
    if g.isBlocked {
      return blockedConv2d(g, x: x, w: w, bias: bias, y: y, scratch: scratch, prepared: prepared, weightsVersion: weightsVersion)
    }
    let cg = g.inChannels / g.groups, og = g.outChannels / g.groups
    let k = cg * g.kernelHeight * g.kernelWidth
    let beta: Float = bias == nil ? 0 : 1
    let tiles = (g.outHeight + g.tileRows - 1) / g.tileRows
    let perGroup = g.isShiftAdd || g.isPointwise || g.isDirect ? g.chunks : tiles
    let perImage = g.groups * perGroup
    Parallel.forEach(g.batch * perImage, workers: g.workers) { item, worker in
      let n = item / perImage, grp = (item % perImage) / perGroup, part = item % perGroup
      let xg = x + n * g.inChannels * g.inPlane + grp * cg * g.inPlane
      let wg = w + grp * og * k, yg = y + n * g.outChannels * g.outPlane + grp * og * g.outPlane
      let work = scratch + worker * g.workerScratch
      /// Sets y[o, first..<first+count] to the bias (or zero) for the group's channels `os`.
      func fill(_ os: Range<Int>, _ first: Int, _ count: Int) {
        for o in os { (yg + o * g.outPlane + first).update(repeating: bias?[grp * og + o] ?? 0, count: count) }
      }
      if g.isDirect {
        let rs = Parallel.range(part, of: g.chunks, total: g.outHeight)
        guard !rs.isEmpty else { return }
        moe_direct_conv_rows(
          xg, wg, bias.map { $0 + grp * og }, yg, Int32(cg), Int32(g.inHeight), Int32(g.inWidth), Int32(og),
          Int32(g.kernelHeight), Int32(g.kernelWidth), Int32(g.padTop), Int32(g.padLeft), Int32(g.dilationH),
          Int32(g.dilationW), Int32(g.outHeight), Int32(g.outWidth), Int32(rs.lowerBound), Int32(rs.count), work)
      } else if g.isShiftAdd {
        let os = Parallel.range(part, of: g.chunks, total: og)
        guard !os.isEmpty else { return }
        fill(os, 0, g.outPlane)
        shiftAdd(g, channels: cg, outChannels: os.count, x: xg, w: wg + os.lowerBound * k,
                 y: yg + os.lowerBound * g.outPlane, scratch: work)
      } else if g.isPointwise {
        let cs = Parallel.range(part, of: g.chunks, total: g.outPlane)
        guard !cs.isEmpty else { return }
        if bias != nil { fill(0..<og, cs.lowerBound, cs.count) }
        sgemm(m: og, n: cs.count, k: cg, a: wg, lda: k, b: xg + cs.lowerBound, ldb: g.inPlane, beta: beta,
              c: yg + cs.lowerBound, ldc: g.outPlane)
      } else {
        let row0 = part * g.tileRows, rows = min(g.tileRows, g.outHeight - row0)
        let cols = rows * g.outWidth
        if bias != nil { fill(0..<og, row0 * g.outWidth, cols) }
        im2col(g, channels: cg, x: xg, firstRow: row0, rows: rows, into: work)
        sgemm(m: og, n: cols, k: k, a: wg, lda: k, b: work, ldb: cols, beta: beta, c: yg + row0 * g.outWidth,
              ldc: g.outPlane)
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
