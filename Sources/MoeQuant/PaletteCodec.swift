// PaletteCodec: k-means codebooks (float16) with bit-packed indices, per tensor or per channel.
import MoeKernels

/// `palette(k, perChannel, axis)`: each value is replaced by the nearest entry of a codebook of `k` float16 values
/// (k a power of two in 2…256, b = log2 k bits per index). One codebook for the whole tensor (B = 1, elements in
/// row-major order, axis ignored) or one per channel (B = C, elements in channel-major order).
///
/// Payload: B × k float16 entries (codebook 0's entries 0…k−1, then codebook 1's…), then ⌈n·b/8⌉ bytes of
/// indices, element i at stream bits [i·b, (i+1)·b) in little-endian bit order (stream bit j = bit j mod 8 of
/// byte j/8, least significant index bit first); padding bits are zero. Size 2·B·k + ⌈n·b/8⌉.
/// Decode x̂ = codebook[index] of the element's codebook.
///
/// Codebooks come from `kmeans1D` on the channel's values, rounded to float16 and sorted ascending; when a
/// channel has fewer than k distinct values, the remaining entries repeat the largest one (a channel with no
/// elements gets k zeros). Each value then takes the index of the nearest rounded entry (ties → lower index).
/// Worst-case error per codebook: the larger of (entry₀ − min x), (max x − entry_last) and half the largest gap
/// between adjacent entries whose interval meets [min x, max x] (+ `roundingSlack` · max|x|); max over codebooks.
/// With at most k distinct values that fit float16 exactly, decoding is exact.
enum PaletteCodec {
  static func bits(_ k: Int) -> Int? {
    guard sizes.contains(k) else { return nil }
    return k.trailingZeroBitCount
  }

  /// The codebook sizes a palette may have: the powers of two 2…256.
  static let sizes = (1...8).map { 1 << $0 }

  struct Fit {
    /// Float16 bits of each codebook, sorted ascending, k entries each.
    var books: [[UInt16]]
    /// One index per element, channel-major.
    var codes: [UInt8]
  }

  static func fit(_ cm: [Float], _ layout: ChannelLayout, k: Int) throws -> Fit {
    var books: [[UInt16]] = []
    var codes = [UInt8](repeating: 0, count: cm.count)
    let len = layout.length
    for c in 0..<layout.channels {
      let range = c * len..<(c + 1) * len
      let centroids = kmeans1D(Array(cm[range]), k: k)
      var book: [UInt16] = []
      for x in centroids {
        let h = halfBits(x)
        guard h & 0x7C00 != 0x7C00 else { throw QuantError.outOfRange(value: x, format: "float16 codebook") }
        book.append(h)
      }
      book.sort { floatFromHalfBits($0) < floatFromHalfBits($1) }
      book += [UInt16](repeating: book.last ?? 0, count: k - book.count)
      let entries = book.map(floatFromHalfBits)
      for i in range { codes[i] = UInt8(nearest(cm[i], entries)) }
      books.append(book)
    }
    return Fit(books: books, codes: codes)
  }

  /// Index of the entry nearest to x in sorted `entries` (ties → lower index).
  static func nearest(_ x: Float, _ entries: [Float]) -> Int {
    var lo = 0, hi = entries.count - 1
    while lo < hi {  // find the first entry ≥ x
      let mid = (lo + hi) / 2
      if entries[mid] < x { lo = mid + 1 } else { hi = mid }
    }
    if lo > 0 && x - entries[lo - 1] <= entries[lo] - x { return lo - 1 }
    return lo
  }

  static func encode(_ data: [Float], _ layout: ChannelLayout, k: Int) throws -> [UInt8] {
    let b = bits(k)!
    let cm = layout.toChannelMajor(data)
    let f = try fit(cm, layout, k: k)
    var w = ByteWriter(capacity: 2 * k * layout.channels + (cm.count * b + 7) / 8)
    for book in f.books { for h in book { w.u16(h) } }
    w.append(packBits(f.codes, bits: b))
    return w.bytes
  }

  static func decode(_ payload: [UInt8], _ layout: ChannelLayout, k: Int) throws -> [Float] {
    let b = bits(k)!
    var r = ByteReader(payload, context: "palette\(k)")
    var books = [Float](repeating: 0, count: layout.channels * k)
    for e in books.indices {
      books[e] = floatFromHalfBits(try r.u16())
      guard books[e].isFinite else { throw QuantError.corrupt(context: "palette\(k)", reason: "codebook entry \(e) is \(books[e])") }
    }
    let codes = unpackBits(try r.take((layout.count * b + 7) / 8), count: layout.count, bits: b)
    let len = max(layout.length, 1)
    var cm = [Float](repeating: 0, count: layout.count)
    for i in 0..<layout.count { cm[i] = books[(i / len) * k + Int(codes[i])] }
    return layout.fromChannelMajor(cm)
  }

  static func maxError(_ data: [Float], _ layout: ChannelLayout, k: Int) throws -> Float {
    let cm = layout.toChannelMajor(data)
    let f = try fit(cm, layout, k: k)
    var bound: Float = 0
    let len = layout.length
    for c in 0..<layout.channels where len > 0 {
      let values = cm[c * len..<(c + 1) * len]
      let lo = values.min()!, hi = values.max()!
      let e = f.books[c].map(floatFromHalfBits)
      var b = max(e[0] - lo, hi - e[k - 1], 0)
      for j in 0..<(k - 1) where e[j + 1] >= lo && e[j] <= hi { b = max(b, (e[j + 1] - e[j]) / 2) }
      bound = max(bound, b + roundingSlack * max(abs(lo), abs(hi)))
    }
    return bound
  }
}
