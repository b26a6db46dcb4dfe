// Half: IEEE 754 binary16 decoding by hand (Swift's Float16 is unavailable on Intel macOS).

/// IEEE 754 half-precision helpers.
enum Half {
  /// The exact `Float` value of the half-precision bit pattern `bits` (NaN payloads kept).
  static func float(fromBits bits: UInt16) -> Float {
    let sign = UInt32(bits & 0x8000) << 16
    let exponent = UInt32(bits >> 10) & 0x1F
    let mantissa = UInt32(bits & 0x3FF)
    switch exponent {
    case 0:
      // Zero or subnormal: mantissa * 2^-24, exact in Float.
      let magnitude = Float(mantissa) * 0x1p-24
      return sign == 0 ? magnitude : -magnitude
    case 0x1F:
      return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    default:
      return Float(bitPattern: sign | ((exponent + 127 - 15) << 23) | (mantissa << 13))
    }
  }
}
