// TagVocabularyTests: the built-in vocabulary and sampling from its priors.
@testable import MoeModels
import MoeQuant
import XCTest

final class TagVocabularyTests: XCTestCase {
  let v = TagVocabulary.makeGirls

  func testVocabularyShape() {
    XCTAssertEqual(v.noiseLength, 128)
    XCTAssertEqual(v.tags.count, 34)
    XCTAssertEqual(Set(v.tags).count, 34)
    for g in v.groups { XCTAssertEqual(g.tags.count, g.prior.count, g.name) }
    XCTAssertEqual(v.tags.first, "blonde_hair")
    XCTAssertEqual(v.tags.last, "orange_eyes")
  }

  func testSamplingFollowsPriors() {
    var rng = SeededGenerator(seed: 42)
    let trials = 20000
    var on = [Int](repeating: 0, count: v.tags.count)
    for _ in 0..<trials {
      let t = v.sampleTags(using: &rng)
      XCTAssertEqual(t.count, 34)
      var offset = 0
      for g in v.groups {
        let slice = t[offset..<(offset + g.tags.count)]
        XCTAssertTrue(slice.allSatisfy { $0 == 1 || $0 == -1 })
        if g.oneOf { XCTAssertEqual(slice.filter { $0 == 1 }.count, 1, g.name) }
        offset += g.tags.count
      }
      for (i, x) in t.enumerated() where x == 1 { on[i] += 1 }
    }
    var offset = 0
    for g in v.groups {
      let total = g.oneOf ? g.prior.reduce(0, +) : 1
      for (i, p) in g.prior.enumerated() {
        let expected = p / total, seen = Double(on[offset + i]) / Double(trials)
        let sigma = (expected * (1 - expected) / Double(trials)).squareRoot()
        XCTAssertEqual(seen, expected, accuracy: 5 * sigma + 1e-3, "\(g.tags[i])")
      }
      offset += g.tags.count
    }
  }

  func testFixedTagsArePinned() {
    var rng = SeededGenerator(seed: 1)
    let idx = v.tags.firstIndex(of: "green_hair")!, smile = v.tags.firstIndex(of: "smile")!
    for _ in 0..<200 {
      let t = v.sampleTags(using: &rng, fixed: ["green_hair", "smile"])
      XCTAssertEqual(t[idx], 1)
      XCTAssertEqual(t[smile], 1)
      XCTAssertEqual(t[0..<13].filter { $0 == 1 }.count, 1)
    }
    XCTAssertEqual(v.unknownTags(["smile", "cat_ears"]), ["cat_ears"])
  }

  func testNoiseIsStandardNormal() {
    let x = v.sampleInputs(count: 200, seed: 3)
    let noise = (0..<200).flatMap { r in x[(r * 162)..<(r * 162 + 128)] }
    let mean = noise.reduce(0, +) / Float(noise.count)
    let variance = noise.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(noise.count)
    XCTAssertEqual(mean, 0, accuracy: 0.03)
    XCTAssertEqual(variance, 1, accuracy: 0.05)
    XCTAssertEqual(v.sampleInputs(count: 2, seed: 9), v.sampleInputs(count: 2, seed: 9))
  }
}
