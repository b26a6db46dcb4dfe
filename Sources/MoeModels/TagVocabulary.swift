// TagVocabulary: the generator's attribute tags, their groups and priors, and prior sampling.
import Foundation

/// A tag vocabulary: noise length, then tag groups in input order with their sampling priors.
public struct TagVocabulary: Codable, Sendable {
  public struct Group: Codable, Sendable {
    public var name: String
    /// Exactly one tag of the group is on.
    public var oneOf: Bool
    public var tags: [String]
    /// For one-of groups, relative weights; otherwise the probability of each tag being on.
    public var prior: [Double]
    enum CodingKeys: String, CodingKey { case name, oneOf = "one_of", tags, prior }
  }
  public var noiseLength: Int
  public var groups: [Group]
  enum CodingKeys: String, CodingKey { case noiseLength = "noise_length", groups }

  /// All tags in input order.
  public var tags: [String] { groups.flatMap(\.tags) }

  /// The built-in MakeGirls.moe vocabulary (34 tags).
  public static let makeGirls: TagVocabulary = {
    // The JSON is part of the binary and covered by tests; a decoding failure is a programming error.
    try! JSONDecoder().decode(TagVocabulary.self, from: Data(makeGirlsJSON.utf8))
  }()

  /// Samples a ±1 tag vector from the priors. `fixed` pins tags on (+1); a pinned tag of a one-of group
  /// switches the rest of its group off.
  public func sampleTags<R: RandomNumberGenerator>(using rng: inout R, fixed: Set<String> = []) -> [Float] {
    var out: [Float] = []
    for g in groups {
      let pinned = g.tags.filter { fixed.contains($0) }
      if g.oneOf {
        var pick: Int
        if let p = pinned.first, let i = g.tags.firstIndex(of: p) {
          pick = i
        } else {
          let total = g.prior.reduce(0, +)
          var u = Double.random(in: 0..<total, using: &rng)
          pick = g.tags.count - 1
          for (i, p) in g.prior.enumerated() {
            if u < p { pick = i; break }
            u -= p
          }
        }
        out += g.tags.indices.map { $0 == pick ? 1 : -1 }
      } else {
        for (i, t) in g.tags.enumerated() {
          let on = fixed.contains(t) || Double.random(in: 0..<1, using: &rng) < g.prior[i]
          out.append(on ? 1 : -1)
        }
      }
    }
    return out
  }

  /// Tag names that are not in the vocabulary.
  public func unknownTags(_ names: [String]) -> [String] {
    let known = Set(tags)
    return names.filter { !known.contains($0) }
  }
}

/// A small seeded generator (SplitMix64) so samples are reproducible across platforms.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
  private var state: UInt64
  public init(seed: UInt64) { state = seed }
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A standard normal sample (Box–Muller).
  public mutating func normal() -> Float {
    let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
    let u2 = Double.random(in: 0..<1, using: &self)
    return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
  }
}

extension TagVocabulary {
  /// A batch of generator inputs: `noiseLength` normal values then a sampled tag vector per row.
  public func sampleInputs(count: Int, seed: UInt64, fixed: Set<String> = [], fixedNoise: Bool = false) -> [Float] {
    var rng = SeededGenerator(seed: seed)
    var noise: [Float] = (0..<noiseLength).map { _ in rng.normal() }
    var out: [Float] = []
    for _ in 0..<count {
      if !fixedNoise { noise = (0..<noiseLength).map { _ in rng.normal() } }
      out += noise
      out += sampleTags(using: &rng, fixed: fixed)
    }
    return out
  }
}
