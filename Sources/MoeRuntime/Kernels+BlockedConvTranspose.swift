// Kernels+BlockedConvTranspose: a strided convTranspose2d as one small stride-1 conv per output phase (every s-th
// output row and column), each on the output-channel-blocked direct kernel: the same multiply-adds as sgemm +
// col2im, without the column matrix or the scattered adds.
import MoeIR
import MoeNativeShim

/// One output phase (p, q) of a transposed conv: outputs (s_h·m + p, s_w·n + q) are a conv over input rows m + d
/// (d from `rowBase` on, one per tap) with the kernel rows `rowTaps` (descending), and likewise for columns.
struct TransposePhase {
  var p: Int, q: Int
  var rowTaps: [Int32], colTaps: [Int32]
  var rowBase: Int, colBase: Int
  var rows: Int, cols: Int
  /// Offset of the phase's packed weights in the packed block.
  var weightOffset: Int
}

extension ConvGeometry {
  /// Taps of output phase `p` along one axis (kernel size k, stride s, pad, `outSize` outputs): the kernel indices in
  /// descending order, the input offset of the first, and the phase's output count.
  static func phaseTaps(p: Int, k: Int, s: Int, pad: Int, outSize: Int) -> (taps: [Int32], base: Int, count: Int) {
    var taps: [Int32] = []
    var base = Int.max
    for t in stride(from: k - 1, through: 0, by: -1) {
      let num = p + pad - t
      // num ≡ 0 (mod s), as a true modulus for negative num.
      guard ((num % s) + s) % s == 0 else { continue }
      taps.append(Int32(t))
      base = min(base, num >= 0 ? num / s : -((-num) / s))
    }
    return (taps, base, p < outSize ? (outSize - p + s - 1) / s : 0)
  }

  /// The output phases of a transposed conv on the blocked kernel, with the padded input plane they read (rows,
  /// width, top and left offset of the input in it) and the floats of all phases' packed weights.
  var transposePhases: (phases: [TransposePhase], rows: Int, width: Int, top: Int, left: Int, weightFloats: Int) {
    let block = max(1, Int(moe_blocked_conv_block())), px = max(1, Int(moe_blocked_conv_pixels()))
    let blocks = (outChannels + block - 1) / block
    let rowPhases = (0..<strideH).map { ConvGeometry.phaseTaps(p: $0, k: kernelHeight, s: strideH, pad: padTop, outSize: outHeight) }
    let colPhases = (0..<strideW).map { ConvGeometry.phaseTaps(p: $0, k: kernelWidth, s: strideW, pad: padLeft, outSize: outWidth) }
    let top = max(0, -(rowPhases.map(\.base).min() ?? 0)), left = max(0, -(colPhases.map(\.base).min() ?? 0))
    var rows = inHeight + top, width = inWidth + left
    for r in rowPhases where r.count > 0 { rows = max(rows, top + r.base + r.count - 1 + r.taps.count) }
    for c in colPhases where c.count > 0 {
      width = max(width, left + c.base + (c.count + px - 1) / px * px - 1 + c.taps.count)
    }
    var phases: [TransposePhase] = [], offset = 0
    for (p, r) in rowPhases.enumerated() {
      for (q, c) in colPhases.enumerated() where r.count > 0 && c.count > 0 {
        phases.append(TransposePhase(p: p, q: q, rowTaps: r.taps, colTaps: c.taps, rowBase: r.base, colBase: c.base,
                                     rows: r.count, cols: c.count, weightOffset: offset))
        offset += MemoryPlan.aligned(blocks * block * inChannels * r.taps.count * c.taps.count)
      }
    }
    return (phases, rows, width, top, left, offset)
  }

  /// Whether a convTranspose2d of this geometry runs as per-phase blocked direct convs: AVX2 or AVX-512, one group,
  /// no dilation, at least one full block of output channels, and a kernel at least as large as the stride (every
  /// phase has taps). `convTranspose` asks only when there are fewer images than two per worker.
  mutating func chooseBlockedTranspose() {
    let block = Int(moe_blocked_conv_block())
    guard Kernels.blockedConvAllowed, block > 0, groups == 1, dilationH == 1, dilationW == 1, outChannels >= block,
          kernelHeight >= strideH, kernelWidth >= strideW, kernelHeight <= 64, kernelWidth <= 64 else { return }
    let t = transposePhases
    guard t.phases.allSatisfy({ !$0.rowTaps.isEmpty && !$0.colTaps.isEmpty }) else { return }
    isBlocked = true
    isRowSplit = false
    workerScratch = 0
    chunks = 1
    scratchCount = t.weightFloats + inChannels * t.rows * t.width
  }
}

extension Kernels {
  /// y = convTranspose2d(x, w) + bias as one blocked direct conv per output phase: weights packed per phase once per
  /// call, then per image the input padded and (phase, channel block, rows) items over the workers. Every output is
  /// written once, by its phase, as one fixed sum over (c, taps): the same bits on any number of workers.
  /// With `prepared` (constant weights) the packed weights are kept there across runs, re-laid on a new version.
  static func blockedConvTranspose2d(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, prepared: PreparedWeights? = nil,
    weightsVersion: Int = 0
  ) {
    let block = Int(moe_blocked_conv_block()), blocks = (g.outChannels + block - 1) / block
    let t = g.transposePhases
    let padded = scratch + t.weightFloats
    let packed = prepared.map { $0.buffer(floats: t.weightFloats) } ?? scratch
    let (c, o) = (Int32(g.inChannels), Int32(g.outChannels))
    let repack = prepared == nil || prepared!.version != weightsVersion
    Parallel.forEach(repack ? t.phases.count * blocks : 0, workers: g.workers) { item, _ in
      let ph = t.phases[item / blocks]
      ph.rowTaps.withUnsafeBufferPointer { rt in
        ph.colTaps.withUnsafeBufferPointer { ct in
          moe_blocked_convT_pack_weights(w, c, o, Int32(g.kernelHeight), Int32(g.kernelWidth), rt.baseAddress, Int32(rt.count),
                                         ct.baseAddress, Int32(ct.count), Int32(item % blocks), 1, packed + ph.weightOffset)
        }
      }
    }
    if repack { prepared?.version = weightsVersion }
    let padParts = min(g.inChannels, 4 * g.workers)
    let perPhase = max(1, (8 * g.workers + t.phases.count * blocks - 1) / (t.phases.count * blocks))
    for n in 0..<g.batch {
      let xn = x + n * g.inChannels * g.inPlane, yn = y + n * g.outChannels * g.outPlane
      Parallel.forEach(padParts, workers: g.inChannels * t.rows * t.width >= 1 << 14 ? g.workers : 1) { part, _ in
        let cs = Parallel.range(part, of: padParts, total: g.inChannels)
        guard !cs.isEmpty else { return }
        moe_blocked_conv_pad_input(xn, Int32(g.inHeight), Int32(g.inWidth), Int32(t.top), Int32(t.left),
                                   Int32(t.rows), Int32(t.width), Int32(cs.lowerBound), Int32(cs.count), padded)
      }
      Parallel.forEach(t.phases.count * blocks * perPhase, workers: g.workers) { item, _ in
        let ph = t.phases[item / (blocks * perPhase)], b = (item / perPhase) % blocks
        let chunks = min(perPhase, ph.rows)
        guard item % perPhase < chunks else { return }
        let rs = Parallel.range(item % perPhase, of: chunks, total: ph.rows)
        let origin = padded + (ph.rowBase + t.top) * t.width + (ph.colBase + t.left)
        moe_blocked_conv_rows(
          origin, c, Int32(t.rows), Int32(t.width), packed + ph.weightOffset, bias, yn + ph.p * g.outWidth + ph.q, o,
          Int32(ph.rowTaps.count), Int32(ph.colTaps.count), 1, 1, 1, 1, Int32(ph.rows), Int32(ph.cols), Int32(b),
          Int32(rs.lowerBound), Int32(rs.count), g.outPlane, g.strideH * g.outWidth, Int32(g.strideW))
      }
    }
  }
}
