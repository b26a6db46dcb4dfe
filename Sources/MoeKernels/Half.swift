// Half: IEEE 754 binary16 ⇄ binary32 conversion, the one copy MoeKit has (the wasm decoders, MoeQuant, MoeFormats).
//
// Portable, Embedded-Swift-safe integer code (no `Float16`: absent on Intel macOS and in the wasm build).

/// Converts a float to the bits of the nearest binary16 (round to nearest, ties to even).
/// Values beyond the binary16 range become ±infinity; NaN stays NaN (quiet).
@inlinable
public func halfBits(_ value: Float) -> UInt16 {
  let bits = value.bitPattern
  let sign = UInt16((bits >> 16) & 0x8000)
  let exponent = Int((bits >> 23) & 0xFF)
  var mantissa = bits & 0x7F_FFFF
  if exponent == 0xFF {  // inf or NaN
    return sign | 0x7C00 | (mantissa != 0 ? 0x0200 : 0)
  }
  let unbiased = exponent - 127
  if unbiased > 15 { return sign | 0x7C00 }
  if unbiased >= -14 {  // normal half: keep 10 mantissa bits, round the 13 dropped bits
    var half = UInt32(unbiased + 15) << 10 | (mantissa >> 13)
    let dropped = mantissa & 0x1FFF
    if dropped > 0x1000 || (dropped == 0x1000 && half & 1 == 1) { half += 1 }  // may carry into the exponent: correct
    return sign | UInt16(half)
  }
  if unbiased < -25 { return sign }  // below half the smallest subnormal: rounds to zero
  // Subnormal half: value = m · 2^-24 with m = full significand >> shift.
  mantissa |= 0x80_0000
  let shift = UInt32(-unbiased - 1)  // 14…24
  var half = mantissa >> shift
  let dropped = mantissa & ((1 << shift) - 1)
  let midpoint = UInt32(1) << (shift - 1)
  if dropped > midpoint || (dropped == midpoint && half & 1 == 1) { half += 1 }
  return sign | UInt16(half)
}

/// Converts binary16 bits to the (exactly representable) float; NaN payloads are kept.
@inlinable @inline(__always)
public func floatFromHalfBits(_ half: UInt16) -> Float {
  let sign = UInt32(half & 0x8000) << 16
  let exponent = UInt32(half >> 10) & 0x1F
  let mantissa = UInt32(half & 0x3FF)
  if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
  if exponent == 0 {
    let magnitude = Float(mantissa) * 0x1p-24  // exact: subnormal halves are multiples of 2^-24
    return sign != 0 ? -magnitude : magnitude
  }
  return Float(bitPattern: sign | ((exponent &+ 112) << 23) | (mantissa << 13))
}
