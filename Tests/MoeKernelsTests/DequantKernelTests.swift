// DequantKernelTests: the payload decoders against payloads written here from the layouts of Formats/bundle.md §3.
import MoeKernels
import XCTest

final class DequantKernelTests: XCTestCase {
  func decode(_ payload: [UInt8], count: Int, _ call: (UnsafePointer<UInt8>, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    var out = [Float](repeating: .nan, count: count)
    payload.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { o in call(p.baseAddress!, o.baseAddress!) } }
    return out
  }

  func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
  func le32(_ v: Float) -> [UInt8] { (0..<4).map { UInt8((v.bitPattern >> (8 * UInt32($0))) & 0xFF) } }

  func testF16() {
    let halves: [UInt16] = [0x0000, 0x8000, 0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x3555]
    let want: [Float] = [0, -0.0, 1, -2, 65504, 0x1p-24, 1023 * 0x1p-24, 0.333251953125]
    let got = decode(halves.flatMap(le16), count: 8) { moe_decode_f16($0, $1, 8) }
    XCTAssertEqual(got, want)
  }

  /// int8 along axis 1 of a (2, 3, 2) tensor: scales per channel, codes channel-major.
  func testInt8ChannelMajor() {
    let scales: [Float] = [0.5, 0.25, 2]
    var payload = scales.flatMap(le32)
    var want = [Float](repeating: 0, count: 12)
    var k = 0
    var codes: [UInt8] = []
    for c in 0..<3 {
      for o in 0..<2 {
        for i in 0..<2 {
          let q = Int8(k * 7 % 255 - 127)
          codes.append(UInt8(bitPattern: q))
          want[(o * 3 + c) * 2 + i] = Float(q) * scales[c]
          k += 1
        }
      }
    }
    payload += codes
    XCTAssertEqual(decode(payload, count: 12) { moe_decode_int8($0, $1, 2, 3, 2) }, want)
  }

  /// int4 groups of 3 over channels of 5 elements (groups never span channels), axis 0 of (2, 5).
  func testInt4Groups() {
    let perChannel = 2, scales: [Float] = [1, 0.5, 2, 0.25]
    var payload = scales.flatMap { v -> [UInt8] in le16(UInt16(v == 1 ? 0x3C00 : v == 0.5 ? 0x3800 : v == 2 ? 0x4000 : 0x3400)) }
    var nibbles: [UInt8] = []
    var want: [Float] = []
    for k in 0..<10 {
      let nib = UInt8((k * 5 + 3) % 16)
      nibbles.append(nib)
      let c = k / 5, j = k % 5
      want.append(Float(Int(nib) - 8) * scales[c * perChannel + j / 3])
    }
    for i in stride(from: 0, to: 10, by: 2) { payload.append(nibbles[i] | nibbles[i + 1] << 4) }
    XCTAssertEqual(decode(payload, count: 10) { moe_decode_int4($0, $1, 1, 2, 5, 3) }, want)
  }

  /// palette4 per channel along axis 1 of (2, 2, 3): 2-bit indices LSB first, channel-major.
  func testPalettePerChannel() {
    let books: [[UInt16]] = [[0xBC00, 0x0000, 0x3800, 0x3C00], [0xC000, 0xB800, 0x3400, 0x4000]]
    let values: [[Float]] = [[-1, 0, 0.5, 1], [-2, -0.5, 0.25, 2]]
    var payload = books.flatMap { $0.flatMap(le16) }
    var indices: [Int] = []
    var want = [Float](repeating: 0, count: 12)
    var k = 0
    for c in 0..<2 {
      for o in 0..<2 {
        for i in 0..<3 {
          let idx = (k * 3 + 1) % 4
          indices.append(idx)
          want[(o * 2 + c) * 3 + i] = values[c][idx]
          k += 1
        }
      }
    }
    var bytes = [UInt8](repeating: 0, count: 3)
    for (e, idx) in indices.enumerated() { bytes[e * 2 / 8] |= UInt8(idx) << UInt8(e * 2 % 8) }
    payload += bytes
    XCTAssertEqual(decode(payload, count: 12) { moe_decode_palette($0, $1, 2, 2, 3, 4, 2) }, want)
  }

  /// palette8 with one codebook: 3-bit indices crossing byte boundaries, row-major.
  func testPaletteSingleBookThreeBits() {
    let entries: [Float] = [-3, -2, -1, 0, 0.5, 1, 2, 4]
    let halves: [UInt16] = [0xC200, 0xC000, 0xBC00, 0x0000, 0x3800, 0x3C00, 0x4000, 0x4400]
    var payload = halves.flatMap(le16)
    let indices = (0..<11).map { ($0 * 5 + 2) % 8 }
    var bytes = [UInt8](repeating: 0, count: (11 * 3 + 7) / 8)
    for (e, idx) in indices.enumerated() {
      let bit = e * 3
      bytes[bit / 8] |= UInt8((idx << (bit % 8)) & 0xFF)
      if bit % 8 + 3 > 8 { bytes[bit / 8 + 1] |= UInt8(idx >> (8 - bit % 8)) }
    }
    payload += bytes
    XCTAssertEqual(decode(payload, count: 11) { moe_decode_palette($0, $1, 1, 1, 11, 8, 1) }, indices.map { entries[$0] })
  }

  func testLut8() {
    let table = (0..<256).map { Float($0) * 0.5 - 3 }
    let codes: [UInt8] = [0, 255, 7, 128, 1]
    var out = [Float](repeating: .nan, count: 5)
    codes.withUnsafeBufferPointer { c in
      table.withUnsafeBufferPointer { t in
        out.withUnsafeMutableBufferPointer { o in moe_decode_lut8(c.baseAddress!, o.baseAddress!, 5, t.baseAddress!) }
      }
    }
    XCTAssertEqual(out, codes.map { table[Int($0)] })
  }
}
