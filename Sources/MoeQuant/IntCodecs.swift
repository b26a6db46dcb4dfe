// IntCodecs: symmetric per-channel int8 and grouped int4 payloads.
import MoeKernels

/// Relative allowance for float rounding in the documented error bounds (of the channel's or group's max |x|).
let roundingSlack: Float = 0x1p-20

/// `int8(axis)`: symmetric, one float32 scale per channel (see `QuantScheme` for channels and channel-major order).
///
/// Payload: C × float32 scale (channel order), then n × int8 code (two's complement) in channel-major order.
/// Size 4·C + n. scale_c = max|x| over channel c / 127 (float32); q = round(x / scale_c) clamped to [−127, 127];
/// decode x̂ = Float(q) · scale_c. A channel of zeros has scale 0 and decodes to exact zeros.
/// Worst-case error per channel: scale_c / 2 (+ `roundingSlack` · max|x|); max over channels.
enum Int8Codec {
  static func encode(_ data: [Float], _ layout: ChannelLayout) -> [UInt8] {
    let cm = layout.toChannelMajor(data)
    let len = layout.length
    var w = ByteWriter(capacity: 4 * layout.channels + cm.count)
    var codes = [UInt8](repeating: 0, count: cm.count)
    for c in 0..<layout.channels {
      let range = c * len..<(c + 1) * len
      let scale = scaleFor(maxAbs(cm[range]))
      w.f32(scale)
      guard scale > 0 else { continue }
      for i in range {
        let q = min(max((cm[i] / scale).rounded(.toNearestOrEven), -127), 127)
        codes[i] = UInt8(bitPattern: Int8(q))
      }
    }
    w.append(codes)
    return w.bytes
  }

  static func scaleFor(_ m: Float) -> Float { m / 127 }

  static func decode(_ payload: [UInt8], _ layout: ChannelLayout) throws -> [Float] {
    var r = ByteReader(payload, context: "int8")
    var scales = [Float](repeating: 0, count: layout.channels)
    for c in 0..<layout.channels {
      scales[c] = try r.f32()
      guard scales[c].isFinite, scales[c] >= 0 else {
        throw QuantError.corrupt(context: "int8", reason: "scale \(c) is \(scales[c])")
      }
    }
    let codes = try r.take(layout.count)
    var cm = [Float](repeating: 0, count: layout.count)
    let len = layout.length
    for (k, byte) in codes.enumerated() { cm[k] = Float(Int8(bitPattern: byte)) * scales[k / max(len, 1)] }
    return layout.fromChannelMajor(cm)
  }

  static func maxError(_ data: [Float], _ layout: ChannelLayout) -> Float {
    let cm = layout.toChannelMajor(data)
    var bound: Float = 0
    for c in 0..<layout.channels {
      let m = maxAbs(cm[c * layout.length..<(c + 1) * layout.length])
      let scale = scaleFor(m)
      bound = max(bound, scale > 0 ? scale / 2 + roundingSlack * m : m)
    }
    return bound
  }
}

/// `int4(axis, groupSize)`: symmetric, groups of `groupSize` consecutive elements of one channel in channel-major
/// order (the last group of a channel may be shorter; groups never span channels), one float16 scale per group.
///
/// Payload: G × float16 scale (channel-major group order, G = C · ⌈L / groupSize⌉, L elements per channel),
/// then ⌈n/2⌉ bytes of 4-bit codes: element i (channel-major) at bits [4i, 4i+4), i.e. even elements in the low
/// nibble, odd in the high nibble; a trailing half byte is zero. Size 2·G + ⌈n/2⌉.
/// scale_g = the smallest float16 ≥ max|x| over the group / 7 (rounded up so codes never clip);
/// q = round(x / scale_g) clamped to [−7, 7], stored as the nibble q + 8; decode x̂ = Float(nibble − 8) · scale_g.
/// An all-zero group has scale 0 and decodes to exact zeros. Worst-case error per group: scale_g / 2
/// (+ `roundingSlack` · max|x|); max over groups.
enum Int4Codec {
  static func groups(_ layout: ChannelLayout, _ groupSize: Int) -> Int {
    layout.channels * ((layout.length + groupSize - 1) / groupSize)
  }

  /// Calls `body(groupIndex, range)` for each group in channel-major order.
  static func forEachGroup(_ layout: ChannelLayout, _ groupSize: Int, _ body: (Int, Range<Int>) throws -> Void) rethrows {
    var g = 0
    for c in 0..<layout.channels {
      let end = (c + 1) * layout.length
      for start in stride(from: c * layout.length, to: end, by: groupSize) {
        try body(g, start..<min(start + groupSize, end))
        g += 1
      }
    }
  }

  static func scaleBits(_ m: Float) throws -> UInt16 {
    let s = m / 7
    guard s <= halfMax else { throw QuantError.outOfRange(value: m, format: "int4 float16 scale") }
    return halfBitsRoundingUp(s)
  }

  static func encode(_ data: [Float], _ layout: ChannelLayout, groupSize: Int) throws -> [UInt8] {
    let cm = layout.toChannelMajor(data)
    var w = ByteWriter(capacity: 2 * groups(layout, groupSize) + (cm.count + 1) / 2)
    var codes = [UInt8](repeating: 8, count: cm.count)
    try forEachGroup(layout, groupSize) { _, range in
      let bits = try scaleBits(maxAbs(cm[range]))
      w.u16(bits)
      let scale = floatFromHalfBits(bits)
      guard scale > 0 else { return }
      for i in range {
        let q = min(max((cm[i] / scale).rounded(.toNearestOrEven), -7), 7)
        codes[i] = UInt8(Int(q) + 8)
      }
    }
    w.append(packBits(codes, bits: 4))
    return w.bytes
  }

  static func decode(_ payload: [UInt8], _ layout: ChannelLayout, groupSize: Int) throws -> [Float] {
    var r = ByteReader(payload, context: "int4")
    var scales = [Float](repeating: 0, count: groups(layout, groupSize))
    for g in scales.indices {
      let h = try r.u16()
      scales[g] = floatFromHalfBits(h)
      guard scales[g].isFinite, scales[g] >= 0 else { throw QuantError.corrupt(context: "int4", reason: "scale \(g) is \(scales[g])") }
    }
    let codes = unpackBits(try r.take((layout.count + 1) / 2), count: layout.count, bits: 4)
    var cm = [Float](repeating: 0, count: layout.count)
    forEachGroup(layout, groupSize) { g, range in
      for i in range { cm[i] = Float(Int(codes[i]) - 8) * scales[g] }
    }
    return layout.fromChannelMajor(cm)
  }

  static func maxError(_ data: [Float], _ layout: ChannelLayout, groupSize: Int) -> Float {
    let cm = layout.toChannelMajor(data)
    var bound: Float = 0
    forEachGroup(layout, groupSize) { _, range in
      let m = maxAbs(cm[range])
      let scale = (try? scaleBits(m)).map(floatFromHalfBits) ?? .infinity
      bound = max(bound, scale > 0 ? scale / 2 + roundingSlack * m : m)
    }
    return bound
  }
}

/// The largest |x| of a slice (0 when empty).
func maxAbs(_ xs: ArraySlice<Float>) -> Float {
  var m: Float = 0
  for x in xs { m = max(m, abs(x)) }
  return m
}
