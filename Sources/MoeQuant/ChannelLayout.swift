// ChannelLayout: how a per-channel scheme splits a tensor into channels, and the channel-major element order.

/// The channels of a tensor along one axis. A tensor of rank 0 or 1 is one channel of all its elements.
/// Flat (row-major) index of element (o, c, i) is `(o · channels + c) · inner + i`; channel-major order
/// iterates c, then o, then i.
struct ChannelLayout {
  /// Product of the dimensions before the axis.
  let outer: Int
  /// `shape[axis]`: the number of channels.
  let channels: Int
  /// Product of the dimensions after the axis.
  let inner: Int

  /// Elements per channel.
  var length: Int { outer * inner }
  var count: Int { outer * channels * inner }

  init(shape: [Int], axis: Int, scheme: QuantScheme) throws {
    let count = try checkedCount(shape)
    if shape.count <= 1 {
      outer = 1
      channels = 1
      inner = count
      return
    }
    guard axis >= 0, axis < shape.count else {
      throw QuantError.invalidScheme(scheme, reason: "axis \(axis) out of range for shape \(shape)")
    }
    outer = shape[..<axis].reduce(1, *)
    channels = shape[axis]
    inner = shape[(axis + 1)...].reduce(1, *)
  }

  /// The whole tensor as one channel.
  init(single count: Int) {
    outer = 1
    channels = 1
    inner = count
  }

  var isIdentity: Bool { outer == 1 || channels == 1 }

  /// Reorders row-major data into channel-major order.
  func toChannelMajor(_ data: [Float]) -> [Float] {
    if isIdentity { return data }
    var out = [Float](repeating: 0, count: data.count)
    var k = 0
    for c in 0..<channels {
      for o in 0..<outer {
        let base = (o * channels + c) * inner
        for i in 0..<inner {
          out[k] = data[base + i]
          k += 1
        }
      }
    }
    return out
  }

  /// Inverse of `toChannelMajor`.
  func fromChannelMajor(_ data: [Float]) -> [Float] {
    if isIdentity { return data }
    var out = [Float](repeating: 0, count: data.count)
    var k = 0
    for c in 0..<channels {
      for o in 0..<outer {
        let base = (o * channels + c) * inner
        for i in 0..<inner {
          out[base + i] = data[k]
          k += 1
        }
      }
    }
    return out
  }
}

/// The element count of `shape`, or `QuantError.badShape` for negative dimensions or overflow.
func checkedCount(_ shape: [Int]) throws -> Int {
  var n = 1
  for d in shape {
    guard d >= 0 else { throw QuantError.badShape(shape) }
    let (p, overflow) = n.multipliedReportingOverflow(by: d)
    guard !overflow, p <= Int(Int32.max) else { throw QuantError.badShape(shape) }
    n = p
  }
  return n
}

/// Throws `QuantError.nonFinite` naming the first NaN or infinity.
func requireFinite(_ data: [Float]) throws {
  for (i, x) in data.enumerated() where !x.isFinite { throw QuantError.nonFinite(index: i, value: x) }
}

/// Packs `codes` (each < 2^bits, 1 ≤ bits ≤ 8) little-endian bit order: element i occupies stream bits
/// [i·bits, (i+1)·bits), stream bit j is bit (j mod 8) of byte j/8, the code's least significant bit first.
/// The last byte is padded with zero bits. Output length ⌈count·bits/8⌉.
func packBits(_ codes: [UInt8], bits: Int) -> [UInt8] {
  var out = [UInt8](repeating: 0, count: (codes.count * bits + 7) / 8)
  if bits == 8 { return codes }
  var bitPos = 0
  for code in codes {
    let byte = bitPos >> 3, shift = bitPos & 7
    out[byte] |= code << shift
    if shift + bits > 8 { out[byte + 1] |= code >> (8 - shift) }
    bitPos += bits
  }
  return out
}

/// Inverse of `packBits`; `bytes` must hold at least ⌈count·bits/8⌉ bytes.
func unpackBits(_ bytes: ArraySlice<UInt8>, count: Int, bits: Int) -> [UInt8] {
  let base = bytes.startIndex
  if bits == 8 { return Array(bytes[base..<base + count]) }
  let mask = UInt16((1 << bits) - 1)
  var out = [UInt8](repeating: 0, count: count)
  var bitPos = 0
  for i in 0..<count {
    let byte = base + (bitPos >> 3), shift = bitPos & 7
    var word = UInt16(bytes[byte])
    if shift + bits > 8 { word |= UInt16(bytes[byte + 1]) << 8 }
    out[i] = UInt8((word >> UInt16(shift)) & mask)
    bitPos += bits
  }
  return out
}
