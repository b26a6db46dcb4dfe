// FloatCodecs: the float32 and float16 payloads.
import MoeKernels

/// `f32`: payload = count × float32, little-endian, row-major. Size 4·n. Exact.
enum Float32Codec {
  static func encode(_ data: [Float]) -> [UInt8] {
    var w = ByteWriter(capacity: 4 * data.count)
    for x in data { w.f32(x) }
    return w.bytes
  }

  static func decode(_ payload: [UInt8], count: Int) throws -> [Float] {
    var r = ByteReader(payload, context: "f32")
    var out = [Float](repeating: 0, count: count)
    for i in 0..<count { out[i] = try r.f32() }
    return out
  }
}

/// `f16`: payload = count × IEEE binary16 bits (round to nearest even), little-endian, row-major. Size 2·n.
/// |x| > 65504 (would round to infinity) is rejected with `QuantError.outOfRange`.
/// Worst-case error: half a binary16 ulp at the tensor's largest magnitude, 2^(e−11) with e = max(⌊log2 max|x|⌋, −14).
enum Float16Codec {
  static func encode(_ data: [Float]) throws -> [UInt8] {
    var w = ByteWriter(capacity: 2 * data.count)
    for x in data {
      let h = halfBits(x)
      guard h & 0x7C00 != 0x7C00 else { throw QuantError.outOfRange(value: x, format: "float16") }
      w.u16(h)
    }
    return w.bytes
  }

  static func decode(_ payload: [UInt8], count: Int) throws -> [Float] {
    var r = ByteReader(payload, context: "f16")
    var out = [Float](repeating: 0, count: count)
    for i in 0..<count {
      let h = try r.u16()
      guard h & 0x7C00 != 0x7C00 else { throw QuantError.corrupt(context: "f16", reason: "element \(i) is inf/NaN") }
      out[i] = floatFromHalfBits(h)
    }
    return out
  }

  static func maxError(maxAbs: Float) -> Float {
    guard maxAbs > 0 else { return 0 }
    let e = max(Int(maxAbs.exponent), -14)
    return Float(sign: .plus, exponent: e - 11, significand: 1)
  }
}
