// HalfRounding: float16 scale rounding for the quantizers (the conversion itself is MoeKernels' `halfBits`).
import MoeKernels

/// The largest finite binary16 value.
public let halfMax: Float = 65504

/// The bits of the smallest binary16 value ≥ `value` (for non-negative finite `value` ≤ `halfMax`).
/// Scales are rounded up so that quantized codes never exceed their range.
func halfBitsRoundingUp(_ value: Float) -> UInt16 {
  var bits = halfBits(value)
  if floatFromHalfBits(bits) < value { bits += 1 }
  return bits
}
