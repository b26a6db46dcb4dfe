// TagVocabulary: a conditional generator's attribute tags, their groups and priors, and sampling from them.
import Foundation

/// A tag vocabulary (the graph metadata key `tag_vocabulary`, Formats/ir.md §metadata): noise length, then tag groups
/// in input order with their sampling priors.
public struct TagVocabulary: Codable, Equatable, Sendable {
  public struct Group: Codable, Equatable, Sendable {
    public var name: String
    /// Exactly one tag of the group is on.
    public var oneOf: Bool
    public var tags: [String]
    /// For one-of groups, relative weights; otherwise the probability of each tag being on.
    public var prior: [Double]
    enum CodingKeys: String, CodingKey { case name, oneOf = "one_of", tags, prior }
    public init(name: String, oneOf: Bool, tags: [String], prior: [Double]) {
      self.name = name
      self.oneOf = oneOf
      self.tags = tags
      self.prior = prior
    }
  }
  public var noiseLength: Int
  public var groups: [Group]
  enum CodingKeys: String, CodingKey { case noiseLength = "noise_length", groups }
  public init(noiseLength: Int, groups: [Group]) {
    self.noiseLength = noiseLength
    self.groups = groups
  }

  /// All tags in input order.
  public var tags: [String] { groups.flatMap(\.tags) }

  /// The width of one input row: noise, then one ±1 value per tag.
  public var inputWidth: Int { noiseLength + tags.count }

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

  /// Why `names` cannot all be switched on (unknown names, or two tags of one one-of group), or nil when they can.
  public func conflicts(in names: [String]) -> String? {
    let unknown = unknownTags(names)
    if !unknown.isEmpty { return "unknown tag(s) \(unknown.joined(separator: ", ")); known: \(tags.joined(separator: ", "))" }
    for g in groups where g.oneOf {
      let chosen = g.tags.filter { names.contains($0) }
      if chosen.count > 1 {
        return "tags \(chosen.joined(separator: " and ")) both belong to the one-of group \(g.name) (exactly one of its tags is on); choose one"
      }
    }
    return nil
  }

  /// Problems that make the vocabulary unusable (empty or duplicate tags, priors that do not match), or nil.
  public func problems() -> String? {
    guard noiseLength >= 0 else { return "noise_length \(noiseLength) is negative" }
    var seen = Set<String>()
    for g in groups {
      guard !g.tags.isEmpty else { return "group \(g.name) has no tags" }
      guard g.prior.count == g.tags.count else { return "group \(g.name) has \(g.tags.count) tags but \(g.prior.count) priors" }
      guard g.prior.allSatisfy({ $0.isFinite && $0 >= 0 }), !g.oneOf || g.prior.reduce(0, +) > 0,
        g.oneOf || g.prior.allSatisfy({ $0 <= 1 })
      else { return "group \(g.name) has priors outside [0, 1] (or one-of weights that sum to 0)" }
      for t in g.tags where !seen.insert(t).inserted { return "tag \(t) appears twice" }
    }
    return nil
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
