// Kernels+BlockedConv: conv2d as a direct convolution blocked by output channels (MoeNativeShim/blocked_conv.c) for
// the convs that went through im2col + sgemm: strided downsampling (pix2pix's 4×4 stride 2), wide first layers.
import Foundation
import MoeIR
import MoeNativeShim

extension ConvGeometry {
  /// Whether a conv2d of this geometry runs on the blocked direct kernel: AVX2 or AVX-512, one group, at least one
  /// full block of output channels, and not taken by Winograd, the few-output-channel kernel, 1×1 products or
  /// shifted products. Scratch: the packed weights, then one padded input image.
  mutating func chooseBlocked(_ a: ConvAttrs) {
    let block = Int(moe_blocked_conv_block())
    guard Kernels.blockedConvAllowed, block > 0, !isWinograd, !isDirect, !isPointwise, !isShiftAdd, groups == 1,
          outChannels >= block, kernelHeight <= 64, kernelWidth <= 64 else { return }
    isBlocked = true
    let (hp, wp) = blockedPaddedPlane
    workerScratch = 0
    scratchCount = MemoryPlan.aligned(blockedWeightFloats) + inChannels * hp * wp
  }

  /// Floats of the packed weights: whole blocks of output channels.
  var blockedWeightFloats: Int {
    let block = Int(moe_blocked_conv_block())
    return (outChannels + block - 1) / block * block * inChannels * kernelHeight * kernelWidth
  }

  /// Rows and row length of the padded input: every tile (whole tiles of pixels, past the last output column too)
  /// reads inside it.
  var blockedPaddedPlane: (rows: Int, width: Int) {
    let px = Int(moe_blocked_conv_pixels())
    let rows = max(inHeight + padTop, (outHeight - 1) * strideH + (kernelHeight - 1) * dilationH + 1)
    let tiled = (outWidth + px - 1) / px * px
    let width = max(inWidth + padLeft, (tiled - 1) * strideW + (kernelWidth - 1) * dilationW + 1)
    return (rows, width)
  }
}

extension Kernels {
  /// Set to false (tests, `MOE_BLOCKED_CONV=0`) to run those convs through im2col + sgemm instead.
  nonisolated(unsafe) static var blockedConvAllowed = getenv("MOE_BLOCKED_CONV").map { String(cString: $0) != "0" } ?? true

  /// y = conv2d(x, w) + bias on the blocked direct kernel: weights packed once per call (blocks over the workers),
  /// then per image the input padded (channel ranges over the workers) and (channel block, output rows) items over
  /// the workers. Each output element is one fixed sum over (c, ki, kj), whatever the split.
  /// With `prepared` (constant weights) the packed weights are kept there across runs, re-laid on a new version.
  static func blockedConv2d(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, prepared: PreparedWeights? = nil,
    weightsVersion: Int = 0
  ) {
    let block = Int(moe_blocked_conv_block()), blocks = (g.outChannels + block - 1) / block
    let (hp, wp) = g.blockedPaddedPlane
    let padded = scratch + MemoryPlan.aligned(g.blockedWeightFloats)
    let packed = prepared.map { $0.buffer(floats: g.blockedWeightFloats) } ?? scratch
    let (c, o, kh, kw) = (Int32(g.inChannels), Int32(g.outChannels), Int32(g.kernelHeight), Int32(g.kernelWidth))
    if prepared == nil || prepared!.version != weightsVersion {
      Parallel.forEach(blocks, workers: g.workers) { b, _ in
        moe_blocked_conv_pack_weights(w, o, c, kh, kw, Int32(b), 1, packed)
      }
      prepared?.version = weightsVersion
    }
    let padParts = min(g.inChannels, 4 * g.workers)
    let rowChunks = max(1, min(g.outHeight, (8 * g.workers + blocks - 1) / blocks))
    for n in 0..<g.batch {
      let xn = x + n * g.inChannels * g.inPlane, yn = y + n * g.outChannels * g.outPlane
      Parallel.forEach(padParts, workers: g.inChannels * hp * wp >= 1 << 14 ? g.workers : 1) { part, _ in
        let cs = Parallel.range(part, of: padParts, total: g.inChannels)
        guard !cs.isEmpty else { return }
        moe_blocked_conv_pad_input(xn, Int32(g.inHeight), Int32(g.inWidth), Int32(g.padTop), Int32(g.padLeft),
                                   Int32(hp), Int32(wp), Int32(cs.lowerBound), Int32(cs.count), padded)
      }
      Parallel.forEach(blocks * rowChunks, workers: g.workers) { item, _ in
        let rs = Parallel.range(item % rowChunks, of: rowChunks, total: g.outHeight)
        guard !rs.isEmpty else { return }
        moe_blocked_conv_rows(
          padded, c, Int32(hp), Int32(wp), packed, bias, yn, o, kh, kw, Int32(g.strideH), Int32(g.strideW),
          Int32(g.dilationH), Int32(g.dilationW), Int32(g.outHeight), Int32(g.outWidth), Int32(item / rowChunks),
          Int32(rs.lowerBound), Int32(rs.count), g.outPlane, g.outWidth, 1)
      }
    }
  }
}
