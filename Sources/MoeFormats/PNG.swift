// PNG: a minimal RGB PNG encoder (rows filtered None or Paeth, zlib-deflated), enough for sample grids and screenshots.
import Foundation
import MoeQuant

/// Encodes 8-bit RGB images as PNG.
public enum PNG {
  /// PNG bytes of a `width`×`height` RGB image, `rgb` holding 3 bytes per pixel row by row.
  public static func encode(rgb: [UInt8], width: Int, height: Int) -> Data {
    precondition(rgb.count == width * height * 3, "PNG.encode: \(rgb.count) bytes for \(width)×\(height) RGB")
    // Each row filtered by None or Paeth (type 4: the byte minus the best of left, up and up-left), whichever has the
    // smaller sum of absolute signed bytes (libpng's heuristic); deflate then compresses smooth images far better.
    let stride = width * 3
    var raw = [UInt8]()
    raw.reserveCapacity((stride + 1) * height)
    var paeth = [UInt8](repeating: 0, count: stride)
    func cost<C: Collection>(_ bytes: C) -> Int where C.Element == UInt8 { bytes.reduce(0) { $0 + abs(Int(Int8(bitPattern: $1))) } }
    for y in 0..<height {
      let row = y * stride
      for i in 0..<stride {
        let a = i >= 3 ? Int(rgb[row + i - 3]) : 0
        let b = y > 0 ? Int(rgb[row - stride + i]) : 0
        let c = i >= 3 && y > 0 ? Int(rgb[row - stride + i - 3]) : 0
        let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
        paeth[i] = rgb[row + i] &- UInt8(pa <= pb && pa <= pc ? a : (pb <= pc ? b : c))
      }
      let plain = rgb[row..<(row + stride)]
      if cost(paeth) < cost(plain) {
        raw.append(4)
        raw += paeth
      } else {
        raw.append(0)
        raw += plain
      }
    }
    var out = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    var ihdr = [UInt8]()
    ihdr += bigEndian(UInt32(width))
    ihdr += bigEndian(UInt32(height))
    ihdr += [8, 2, 0, 0, 0]  // 8-bit, truecolour, deflate, adaptive filter, no interlace
    chunk(&out, "IHDR", ihdr)
    // Deflated by the system zlib; stored blocks if zlib fails.
    chunk(&out, "IDAT", (try? deflateBytes(raw, level: 6)) ?? zlibStored(raw))
    chunk(&out, "IEND", [])
    return out
  }

  /// Converts a CHW float image in [-1, 1] (generator output) to RGB bytes.
  public static func rgb(fromCHW data: ArraySlice<Float>, side: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: side * side * 3)
    let plane = side * side
    let base = data.startIndex
    for c in 0..<3 {
      for i in 0..<plane {
        let v = (data[base + c * plane + i] + 1) * 127.5
        out[i * 3 + c] = UInt8(max(0, min(255, v.rounded())))
      }
    }
    return out
  }

  static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

  static func chunk(_ out: inout Data, _ type: String, _ body: [UInt8]) {
    out += bigEndian(UInt32(body.count))
    let typed = Array(type.utf8) + body
    out += typed
    out += bigEndian(CRC32.checksum(typed))
  }

  /// A zlib stream of stored (uncompressed) deflate blocks.
  static func zlibStored(_ data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0x78, 0x01]
    var i = 0
    repeat {
      let n = min(65535, data.count - i)
      let last: UInt8 = i + n >= data.count ? 1 : 0
      out += [last, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
      out += data[i..<(i + n)]
      i += n
    } while i < data.count
    var a: UInt32 = 1, b: UInt32 = 0
    for byte in data {
      a = (a + UInt32(byte)) % 65521
      b = (b + a) % 65521
    }
    out += bigEndian((b << 16) | a)
    return out
  }
}

/// CRC-32 (IEEE 802.3), as PNG and zip use it.
public enum CRC32 {
  static let table: [UInt32] = (0..<256).map { n -> UInt32 in
    var c = UInt32(n)
    for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
  }

  public static func checksum<S: Sequence>(_ bytes: S) -> UInt32 where S.Element == UInt8 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
    return c ^ 0xFFFF_FFFF
  }
}
