// SplitMix64: the small seeded generator every test module uses, so "random" test data is the same on every run.
import Foundation

/// SplitMix64 (Steele, Lea, Flood 2014): 64-bit state, one multiply-xorshift mix per output.
public struct SplitMix64: RandomNumberGenerator {
  public var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  public mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &self) }

  public mutating func bool() -> Bool { Bool.random(using: &self) }

  /// Uniform in [0, 1).
  public mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

  /// Standard normal (Box–Muller).
  public mutating func gaussian() -> Float {
    let u1 = max(uniform(), 1e-300), u2 = uniform()
    return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
  }
}
