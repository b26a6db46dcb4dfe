// TrainingRandom: the trainer's seeded generator (xoshiro256**), whose state is saved in snapshots so a resumed run
// draws exactly what an uninterrupted one would.
import Foundation

/// xoshiro256** (Blackman & Vigna), seeded through SplitMix64.
public struct TrainingRandom: RandomNumberGenerator, Sendable, Equatable {
  public var state: [UInt64]

  public init(seed: UInt64) {
    var s = seed
    state = (0..<4).map { _ in
      s &+= 0x9E37_79B9_7F4A_7C15
      var z = s
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
  }

  public init(state: [UInt64]) { self.state = state }

  public mutating func next() -> UInt64 {
    let result = rotl(state[1] &* 5, 7) &* 9
    let t = state[1] << 17
    state[2] ^= state[0]
    state[3] ^= state[1]
    state[1] ^= state[2]
    state[0] ^= state[3]
    state[2] ^= t
    state[3] = rotl(state[3], 45)
    return result
  }

  private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

  /// Uniform in [0, 1) with 24 random bits (every float32 value of the grid equally likely).
  public mutating func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }

  /// Standard normal (Box–Muller in double).
  public mutating func normal() -> Float {
    let u1 = (Double(next() >> 11) + 1) * 0x1p-53, u2 = Double(next() >> 11) * 0x1p-53
    return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
  }
}

