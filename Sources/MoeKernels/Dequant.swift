// Dequant: decoders of the bundle encodings (Formats/bundle.md §3) from payload bytes to row-major float32.
//
// Per-channel payloads store elements in channel-major order: tensor (outer, channels, inner) with the channel axis
// moved to the front. Channel-major element k is channel k / (outer·inner), then outer index, then inner index.

@inline(__always) func readU16(_ p: UnsafePointer<UInt8>, _ i: Int) -> UInt16 {
  UInt16(p[2 &* i]) | UInt16(p[2 &* i &+ 1]) << 8
}

@inline(__always) func readF32(_ p: UnsafePointer<UInt8>, _ i: Int) -> Float {
  let b = p + 4 &* i
  return Float(bitPattern: UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24)
}

/// Row-major index of channel-major element k of (outer, channels, inner).
@inline(__always) func rowMajor(_ k: Int, _ outer: Int, _ channels: Int, _ inner: Int) -> Int {
  let len = outer &* inner
  let c = k / len, rest = k &- c &* len
  let o = rest / inner, i = rest &- o &* inner
  return (o &* channels &+ c) &* inner &+ i
}

/// `f16`: n binary16 values (little-endian) → n floats.
@_cdecl("moe_decode_f16")
public func moe_decode_f16(_ src: UnsafePointer<UInt8>, _ dst: UnsafeMutablePointer<Float>, _ n: Int32) {
  for i in 0..<Int(n) { dst[i] = floatFromHalfBits(readU16(src, i)) }
}

/// `int8`: `channels` float32 scales, then one int8 code per element (channel-major); x = code · scale.
@_cdecl("moe_decode_int8")
public func moe_decode_int8(
  _ src: UnsafePointer<UInt8>, _ dst: UnsafeMutablePointer<Float>, _ outer: Int32, _ channels: Int32, _ inner: Int32
) {
  let outer = Int(outer), channels = Int(channels), inner = Int(inner)
  let codes = src + 4 &* channels
  var k = 0
  for c in 0..<channels {
    let scale = readF32(src, c)
    for o in 0..<outer {
      let row = dst + (o &* channels &+ c) &* inner
      for i in 0..<inner {
        row[i] = Float(Int8(bitPattern: codes[k])) * scale
        k &+= 1
      }
    }
  }
}

/// `int4-gG`: one binary16 scale per group of `groupSize` channel-major elements of a channel (groups never span
/// channels), then 4-bit codes, element k in the low (even k) or high (odd k) nibble of byte k/2; x = (nibble − 8) · scale.
@_cdecl("moe_decode_int4")
public func moe_decode_int4(
  _ src: UnsafePointer<UInt8>, _ dst: UnsafeMutablePointer<Float>, _ outer: Int32, _ channels: Int32, _ inner: Int32,
  _ groupSize: Int32
) {
  let outer = Int(outer), channels = Int(channels), inner = Int(inner), gs = Int(groupSize)
  let len = outer &* inner, perChannel = (len &+ gs &- 1) / gs
  let codes = src + 2 &* channels &* perChannel
  for k in 0..<(len &* channels) {
    let c = k / len, j = k &- c &* len
    let scale = floatFromHalfBits(readU16(src, c &* perChannel &+ j / gs))
    let byte = codes[k >> 1]
    let nibble = (k & 1) == 0 ? byte & 0x0F : byte >> 4
    dst[rowMajor(k, outer, channels, inner)] = Float(Int(nibble) &- 8) * scale
  }
}

/// `paletteK[-pc]`: `books` codebooks of `k` binary16 entries, then log2(k)-bit indices packed LSB-first.
/// One book: elements row-major (pass outer 1, channels 1); per channel (books = channels): channel-major.
@_cdecl("moe_decode_palette")
public func moe_decode_palette(
  _ src: UnsafePointer<UInt8>, _ dst: UnsafeMutablePointer<Float>, _ outer: Int32, _ channels: Int32, _ inner: Int32,
  _ k: Int32, _ books: Int32
) {
  let outer = Int(outer), channels = Int(channels), inner = Int(inner), k = Int(k), books = Int(books)
  let bits = k.trailingZeroBitCount, mask = (1 << bits) &- 1
  let count = outer &* channels &* inner
  let perBook = count / max(books, 1)
  let codes = src + 2 &* books &* k
  var bitPos = 0
  for e in 0..<count {
    let byte = bitPos >> 3, shift = bitPos & 7
    var word = Int(codes[byte])
    if shift &+ bits > 8 { word |= Int(codes[byte &+ 1]) << 8 }
    let index = (word >> shift) & mask
    let book = books == 1 ? 0 : e / perBook
    dst[books == 1 ? e : rowMajor(e, outer, channels, inner)] = floatFromHalfBits(readU16(src, book &* k &+ index))
    bitPos &+= bits
  }
}

/// Table lookup (the `eightbit` codes after inflation): dst[i] = table[codes[i]] for a 256-entry float table.
@_cdecl("moe_decode_lut8")
public func moe_decode_lut8(
  _ codes: UnsafePointer<UInt8>, _ dst: UnsafeMutablePointer<Float>, _ n: Int32, _ table: UnsafePointer<Float>
) {
  for i in 0..<Int(n) { dst[i] = table[Int(codes[i])] }
}
