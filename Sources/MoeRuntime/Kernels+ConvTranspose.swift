// Kernels+ConvTranspose: convTranspose2d as sgemm (Wᵀ·x into a column tile) followed by col2im accumulation.
import MoeIR

extension ConvGeometry {
  /// convTranspose2d geometry; `x` (N,C,H,W), `w` (C,O/g,kh,kw), `y` (N,O,OH,OW). Tiles run over input rows.
  static func convTranspose(
    _ a: ConvTransposeAttrs, x: [Int], w: [Int], y: [Int], hasBias: Bool,
    tileBudget: Int = columnTileBudget, workers: Int = 1
  ) -> ConvGeometry {
    var g = ConvGeometry(
      batch: x[0], inChannels: x[1], inHeight: x[2], inWidth: x[3],
      outChannels: y[1], outHeight: y[2], outWidth: y[3], kernelHeight: w[2], kernelWidth: w[3],
      strideH: a.strides[0], strideW: a.strides[1], padTop: a.pads[0], padLeft: a.pads[1],
      dilationH: a.dilations[0], dilationW: a.dilations[1], groups: a.groups, hasBias: hasBias)
    let og = g.outChannels / g.groups
    g.workers = max(1, workers)
    let budget = max(tileBudget / g.workers, 1 << 12)
    let rowFloats = og * g.kernelHeight * g.kernelWidth * g.inWidth
    g.tileRows = max(1, min(g.inHeight, budget / max(rowFloats, 1)))
    g.workerScratch = rowFloats * g.tileRows
    g.scratchCount = g.workerScratch * g.workers
    // Tiles of one image overlap in the output, so the work items are images, or output-channel ranges of an image;
    // with few output channels (a generator's last layer to RGB) the ranges would be thin or unequal: row split.
    let fewImages = g.batch * g.groups < 2 * g.workers
    // Per-phase blocked convs for the latency case (fewer images than two per worker: batch-1 inference); larger
    // batches (training's input gradients) keep sgemm + col2im, whose products are wide there.
    if fewImages { g.chooseBlockedTranspose() }
    if g.isBlocked { return g }
    g.isRowSplit = fewImages && og < rowSplitMaxOutChannels
    if g.isRowSplit {
      // One shared column tile (the product of a tile of input rows), split by columns over the workers.
      g.tileRows = max(1, min(g.inHeight, tileBudget / max(rowFloats, 1)))
      g.workerScratch = 0
      g.scratchCount = rowFloats * g.tileRows
      g.chunks = 1
      return g
    }
    g.chunks = fewImages ? min(og, g.workers) : 1
    return g
  }
}

/// convTranspose2d with fewer output channels per group than this (and fewer images than workers) splits its
/// products by columns and its col2im by output rows (`ConvGeometry.isRowSplit`).
let rowSplitMaxOutChannels = 8
/// Columns per product of a row-split convTranspose2d.
let rowSplitColumns = 512

extension ConvGeometry {
  /// A stride-1 convTranspose2d as the conv2d it equals (a full correlation with the kernel flipped and its
  /// in/out axes swapped), which runs as im2col + sgemm or the direct kernel instead of sgemm + col2im: much less
  /// memory traffic, and a well-shaped product when the transposed conv has few input channels (the input gradient
  /// of a generator's last conv to RGB). Nil when a pad would be negative or the shapes do not match.
  static func convTransposeAsConv(
    _ a: ConvTransposeAttrs, x: [Int], w: [Int], y: [Int], hasBias: Bool, workers: Int
  ) -> ConvGeometry? {
    guard a.strides == [1, 1], x.count == 4, w.count == 4, y.count == 4 else { return nil }
    let reachH = (w[2] - 1) * a.dilations[0], reachW = (w[3] - 1) * a.dilations[1]
    let pads = [reachH - a.pads[0], reachW - a.pads[1], reachH - a.pads[2] + a.outputPadding[0],
                reachW - a.pads[3] + a.outputPadding[1]]
    guard pads.allSatisfy({ $0 >= 0 }) else { return nil }
    let outH = x[2] + pads[0] + pads[2] - reachH, outW = x[3] + pads[1] + pads[3] - reachW
    guard outH == y[2], outW == y[3], y[1] == w[1] * a.groups else { return nil }
    let attrs = ConvAttrs(strides: [1, 1], pads: pads, dilations: a.dilations, groups: a.groups)
    let w2 = [y[1], x[1] / a.groups, w[2], w[3]]
    return ConvGeometry.conv(attrs, x: x, w: w2, y: y, hasBias: hasBias, workers: workers)
  }
}

extension Kernels {
  /// conv2d weights (O, C/g, kh, kw) of a stride-1 convTranspose2d with weights (C, O/g, kh, kw): flipped in both
  /// spatial axes, in/out swapped within each group. `g` is the conv2d geometry (`convTransposeAsConv`).
  static func flipTransposedWeights(_ g: ConvGeometry, w: UnsafePointer<Float>, into w2: UnsafeMutablePointer<Float>) {
    let cg = g.inChannels / g.groups, og = g.outChannels / g.groups
    let kh = g.kernelHeight, kw = g.kernelWidth, taps = kh * kw
    for grp in 0..<g.groups {
      for c in 0..<cg {
        for o in 0..<og {
          let src = w + ((grp * cg + c) * og + o) * taps, dst = w2 + ((grp * og + o) * cg + c) * taps
          for t in 0..<taps { dst[taps - 1 - t] = src[t] }
        }
      }
    }
  }

  /// y = convTranspose2d(x, w) + bias. Per image, group and tile of input rows: col = W_gᵀ · x_g (sgemm), then
  /// every column entry (o, ki, kj, ih, iw) is added to y[o, ih·sh − padTop + ki·dh, iw·sw − padLeft + kj·dw].
  /// Work items (images, or output-channel ranges of an image) run on `g.workers` threads.
  static func convTranspose2d(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
    scratch: UnsafeMutablePointer<Float>, prepared: PreparedWeights? = nil, weightsVersion: Int = 0
  ) {
    if g.isBlocked {
      return blockedConvTranspose2d(g, x: x, w: w, bias: bias, y: y, scratch: scratch, prepared: prepared,
                                    weightsVersion: weightsVersion)
    }
    if g.isRowSplit { return convTranspose2dRowSplit(g, x: x, w: w, bias: bias, y: y, scratch: scratch) }
    let cg = g.inChannels / g.groups, og = g.outChannels / g.groups
    let taps = g.kernelHeight * g.kernelWidth, colRows = og * taps
    let perImage = g.groups * g.chunks
    Parallel.forEach(g.batch * perImage, workers: g.workers) { item, worker in
      let n = item / perImage, grp = (item % perImage) / g.chunks, part = item % g.chunks
      let os = Parallel.range(part, of: g.chunks, total: og)
      guard !os.isEmpty else { return }
      let xg = x + n * g.inChannels * g.inPlane + grp * cg * g.inPlane, wg = w + grp * cg * colRows
      let yo = y + n * g.outChannels * g.outPlane + (grp * og + os.lowerBound) * g.outPlane
      let work = scratch + worker * g.workerScratch
      for o in os { (yo + (o - os.lowerBound) * g.outPlane).update(repeating: bias?[grp * og + o] ?? 0, count: g.outPlane) }
      var row0 = 0
      while row0 < g.inHeight {
        let rows = min(g.tileRows, g.inHeight - row0)
        let cols = rows * g.inWidth
        sgemm(
          transA: true, m: os.count * taps, n: cols, k: cg, a: wg + os.lowerBound * taps, lda: colRows,
          b: xg + row0 * g.inWidth, ldb: g.inPlane, beta: 0, c: work, ldc: cols)
        col2im(g, channels: os.count, col: work, firstRow: row0, rows: rows, into: yo, flipped: false)
        row0 += rows
      }
    }
  }

  /// convTranspose2d for few output channels (`isRowSplit`): per image, group and tile of input rows, the product
  /// col = W_gᵀ · x_g is split by columns over the workers; then each worker adds the tile into its own range of
  /// output rows (gathering, for each output row, the kernel rows and input rows that land on it), so no two workers
  /// write the same row. The same sums in the same order on any number of workers.
  static func convTranspose2dRowSplit(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let cg = g.inChannels / g.groups, og = g.outChannels / g.groups
    let kh = g.kernelHeight, taps = kh * g.kernelWidth, colRows = og * taps
    let (sh, dh, pt, iw) = (g.strideH, g.dilationH, g.padTop, g.inWidth)
    // Products of at most 512 columns, whatever the number of workers: the same bits on any thread count.
    let columnParts = { (cols: Int) in (cols + rowSplitColumns - 1) / rowSplitColumns }
    for n in 0..<g.batch {
      for grp in 0..<g.groups {
        let xg = x + n * g.inChannels * g.inPlane + grp * cg * g.inPlane, wg = w + grp * cg * colRows
        let yo = y + n * g.outChannels * g.outPlane + grp * og * g.outPlane
        for o in 0..<og { (yo + o * g.outPlane).update(repeating: bias?[grp * og + o] ?? 0, count: g.outPlane) }
        var row0 = 0
        while row0 < g.inHeight {
          let rows = min(g.tileRows, g.inHeight - row0), cols = rows * iw, parts = columnParts(cols)
          Parallel.forEach(parts, workers: g.workers) { part, _ in
            let r = (part * rowSplitColumns)..<min(cols, (part + 1) * rowSplitColumns)
            sgemm(
              transA: true, m: colRows, n: r.count, k: cg, a: wg, lda: colRows,
              b: xg + row0 * iw + r.lowerBound, ldb: g.inPlane, beta: 0, c: scratch + r.lowerBound, ldc: cols)
          }
          // Output rows this tile reaches: ih·sh − pt + ki·dh for ih in the tile, ki < kh.
          let lo = max(0, row0 * sh - pt), hi = min(g.outHeight, (row0 + rows - 1) * sh - pt + (kh - 1) * dh + 1)
          let outRows = max(0, hi - lo), rowParts = max(1, min(g.workers, outRows / 2))
          Parallel.forEach(rowParts, workers: g.workers) { part, _ in
            let r = Parallel.range(part, of: rowParts, total: outRows)
            guard !r.isEmpty else { return }
            col2imRows(g, channels: og, col: scratch, firstRow: row0, rows: rows, outRows: (lo + r.lowerBound)..<(lo + r.upperBound), into: yo)
          }
          row0 += rows
        }
      }
    }
  }

  /// Adds the entries of a column tile [channels·kh·kw, rows·W] (input rows `firstRow..<firstRow+rows`) that land on
  /// output rows `outRows` (transposed conv placement, see `col2im`).
  static func col2imRows(
    _ g: ConvGeometry, channels: Int, col: UnsafePointer<Float>, firstRow: Int, rows: Int, outRows: Range<Int>,
    into y: UnsafeMutablePointer<Float>
  ) {
    let iw = g.inWidth, sw = g.strideW, sh = g.strideH, cols = rows * iw, taps = g.kernelHeight * g.kernelWidth
    withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * g.kernelWidth) { range in
      landingColumns(g, base: -g.padLeft, step: g.dilationW, stride: sw, into: range.baseAddress!)
      for o in 0..<channels {
        for oh in outRows {
          let d0 = y + o * g.outPlane + oh * g.outWidth
          for ki in 0..<g.kernelHeight {
            // ih·sh = oh + padTop − ki·dh, for an input row of this tile.
            let t = oh + g.padTop - ki * g.dilationH
            guard t >= 0, t % sh == 0 else { continue }
            let ih = t / sh
            guard ih >= firstRow, ih < firstRow + rows else { continue }
            for kj in 0..<g.kernelWidth {
              let s = col + ((o * taps + ki * g.kernelWidth + kj) * cols + (ih - firstRow) * iw)
              let d = d0 + (-g.padLeft + kj * g.dilationW)
              addStrided(s, into: d, range[2 * kj]..<range[2 * kj + 1], stride: sw)
            }
          }
        }
      }
    }
  }

  /// Adds a column tile [channels·kh·kw, rows·W] (input rows `firstRow..<firstRow+rows`) into the output planes:
  /// entry (o, ki, kj, ih, iw) goes to y[o, ih·sh + ki·dh − padTop, iw·sw + kj·dw − padLeft] (transposed conv), or when
  /// `flipped` (stride-1 conv computed as shifted products) to y[o, ih − ki·dh + padTop, iw − kj·dw + padLeft].
  static func col2im(
    _ g: ConvGeometry, channels: Int, col: UnsafePointer<Float>, firstRow: Int, rows: Int,
    into y: UnsafeMutablePointer<Float>, flipped: Bool
  ) {
    let iw = g.inWidth, sw = flipped ? 1 : g.strideW, sh = flipped ? 1 : g.strideH, cols = rows * iw
    let rowStep = flipped ? -g.dilationH : g.dilationH, rowBase = flipped ? g.padTop : -g.padTop
    let colStep = flipped ? -g.dilationW : g.dilationW, colBase = flipped ? g.padLeft : -g.padLeft
    withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * g.kernelWidth) { range in
      landingColumns(g, base: colBase, step: colStep, stride: sw, into: range.baseAddress!)
      var src = col
      for o in 0..<channels {
        let plane = y + o * g.outPlane
        for ki in 0..<g.kernelHeight {
          for kj in 0..<g.kernelWidth {
            let off = colBase + kj * colStep
            let columns = range[2 * kj]..<range[2 * kj + 1]
            var s = UnsafePointer(src)
            for ih in firstRow..<(firstRow + rows) {
              let oh = ih * sh + rowBase + ki * rowStep
              if oh >= 0 && oh < g.outHeight { addStrided(s, into: plane + oh * g.outWidth + off, columns, stride: sw) }
              s += iw
            }
            src += cols
          }
        }
      }
    }
  }

  /// For each kernel column kj, the input columns [lo, hi) whose entries land inside an output row, at
  /// range[2·kj] and range[2·kj + 1]: 0 ≤ iw·stride + base + kj·step < OW.
  @inline(__always)
  static func landingColumns(_ g: ConvGeometry, base: Int, step: Int, stride sw: Int, into range: UnsafeMutablePointer<Int>) {
    let iw = g.inWidth
    for kj in 0..<g.kernelWidth {
      let off = base + kj * step
      let lo = off >= 0 ? 0 : min(iw, (-off + sw - 1) / sw)
      let last = g.outWidth - 1 - off
      let hi = last < 0 ? 0 : min(iw, last / sw + 1)
      range[2 * kj] = lo
      range[2 * kj + 1] = max(lo, hi)
    }
  }

  /// d[j·stride] += s[j] for j in `columns` (a contiguous loop at stride 1).
  @inline(__always)
  static func addStrided(_ s: UnsafePointer<Float>, into d: UnsafeMutablePointer<Float>, _ columns: Range<Int>, stride sw: Int) {
    if sw == 1 {
      for j in columns { d[j] += s[j] }
    } else {
      for j in columns { d[j * sw] += s[j] }
    }
  }
}
