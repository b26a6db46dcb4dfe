// Deflate: zlib-format (RFC 1950) compression helpers over the system zlib.
import CMoeZlib

/// Compresses `bytes` into a zlib stream (RFC 1950: 2-byte header, deflate data, Adler-32), as Python's
/// `zlib.compress(data, level)` does: window 15 bits, memLevel 8, default strategy. The browser's
/// `DecompressionStream('deflate')` and WebDNN's Zlib.Inflate read it.
public func deflateBytes(_ bytes: [UInt8], level: Int32 = 9) throws -> [UInt8] {
  var destLen = compressBound(uLong(bytes.count))
  var out = [UInt8](repeating: 0, count: Int(destLen))
  let source = bytes.isEmpty ? [0] : bytes  // a valid pointer even for empty input
  let code = out.withUnsafeMutableBufferPointer { dst in
    source.withUnsafeBufferPointer { src in compress2(dst.baseAddress, &destLen, src.baseAddress, uLong(bytes.count), level) }
  }
  guard code == Z_OK else { throw QuantError.zlib(operation: "compress2", code: code) }
  out.removeSubrange(Int(destLen)...)
  return out
}

/// Inflates a zlib stream that must decompress to exactly `expectedSize` bytes and must be consumed entirely.
/// A corrupt, truncated, too long or too short stream throws (never traps).
public func inflateBytes(_ bytes: [UInt8], expectedSize: Int) throws -> [UInt8] {
  let out = try inflateBytes(bytes[...], maxSize: expectedSize, initialCapacity: expectedSize)
  guard out.count == expectedSize else {
    throw QuantError.corrupt(context: "inflate", reason: "stream holds \(out.count) bytes, expected \(expectedSize)")
  }
  return out
}

/// Inflates a zlib stream of at most `maxSize` bytes; the whole input must be one stream. The output buffer starts
/// at `initialCapacity` (default 4× the input + 1 KiB) and doubles, up to `maxSize`, while zlib reports it full.
func inflateBytes(_ bytes: ArraySlice<UInt8>, maxSize: Int, initialCapacity: Int? = nil) throws -> [UInt8] {
  guard maxSize >= 0 else { throw QuantError.corrupt(context: "inflate", reason: "negative size \(maxSize)") }
  let source = bytes.isEmpty ? [0] : bytes  // a valid pointer even for empty input
  var capacity = min(maxSize, max(initialCapacity ?? 4 * bytes.count + 1024, 1))
  while true {
    var out = [UInt8](repeating: 0, count: max(capacity, 1))
    var destLen = uLong(capacity)
    var sourceLen = uLong(bytes.count)
    let code = out.withUnsafeMutableBufferPointer { dst in
      source.withUnsafeBufferPointer { src in uncompress2(dst.baseAddress, &destLen, src.baseAddress, &sourceLen) }
    }
    if code == Z_BUF_ERROR && destLen == uLong(capacity) && bytes.count > 0 {  // output full
      guard capacity < maxSize else {
        throw QuantError.corrupt(context: "inflate", reason: "stream decompresses to more than \(maxSize) bytes")
      }
      capacity = min(maxSize, 2 * capacity)
      continue
    }
    guard code == Z_OK else { throw QuantError.zlib(operation: "uncompress2", code: code) }
    guard sourceLen == uLong(bytes.count) else {
      throw QuantError.corrupt(context: "inflate", reason: "\(bytes.count - Int(sourceLen)) trailing bytes after the zlib stream")
    }
    out.removeSubrange(Int(destLen)...)
    return out
  }
}

/// zlib's worst-case compressed size for `n` input bytes.
func deflateBound(_ n: Int) -> Int { Int(compressBound(uLong(n))) }
