// FaceRendererTests: determinism across thread counts, tag priors, and that drawn colours match the tags.
import Foundation
import MoeData
import MoeModels
import MoeQuant
import MoeTestSupport
import XCTest

final class FaceRendererTests: XCTestCase {
  let vocabulary = TagVocabulary.makeGirls

  func testSameSeedSameBytesWhateverTheThreadCount() {
    let one = SyntheticFaces.generate(count: 40, size: 32, seed: 7, threads: 1)
    let two = SyntheticFaces.generate(count: 40, size: 32, seed: 7, threads: 2)
    let three = SyntheticFaces.generate(count: 40, size: 32, seed: 7, threads: 3)
    XCTAssertEqual(one.images, two.images)
    XCTAssertEqual(one.images, three.images)
    XCTAssertEqual(one.tags, three.tags)
    let other = SyntheticFaces.generate(count: 40, size: 32, seed: 8, threads: 2)
    XCTAssertNotEqual(one.images, other.images, "a different seed gives different faces")
    // Each image is the one its (seed, index) describes, whatever the batch it was rendered in.
    let (tags, variation) = SyntheticFaces.sample(seed: 7, index: 33)
    XCTAssertEqual(one.tagVector(33), tags)
    XCTAssertEqual(one.image(33), FaceRenderer(size: 32).render(tags: tags, variation: variation).image())
  }

  func testTagsFollowThePriors() {
    let n = 2000
    var counts = [Int](repeating: 0, count: vocabulary.tags.count)
    for index in 0..<n {
      let tags = SyntheticFaces.sample(seed: 11, index: index).tags
      XCTAssertTrue(tags.allSatisfy { $0 == 1 || $0 == -1 })
      var offset = 0
      for group in vocabulary.groups {
        let on = (0..<group.tags.count).filter { tags[offset + $0] > 0 }
        if group.oneOf { XCTAssertEqual(on.count, 1, "\(group.name): exactly one on in image \(index)") }
        for i in on { counts[offset + i] += 1 }
        offset += group.tags.count
      }
    }
    var offset = 0
    for group in vocabulary.groups {
      let total = group.prior.reduce(0, +)
      for (i, tag) in group.tags.enumerated() {
        let p = group.oneOf ? group.prior[i] / total : group.prior[i]
        let frequency = Double(counts[offset + i]) / Double(n)
        // 4.5 binomial standard deviations: a false failure about once in 150,000 runs per tag.
        let bound = 4.5 * (p * (1 - p) / Double(n)).squareRoot() + 1 / Double(n)
        XCTAssertEqual(frequency, p, accuracy: bound, "\(tag): frequency \(frequency), prior \(p)")
      }
      offset += group.tags.count
    }
  }

  /// A ±1 vector with exactly `on` switched on.
  func vector(_ on: Set<String>) -> [Float] { vocabulary.tags.map { on.contains($0) ? 1 : -1 } }

  /// Hue (degrees), saturation and value of the per-channel median colour of `image` where it differs from `other`,
  /// and the fraction of pixels that differ.
  func changedRegion(_ image: RGBImage, _ other: RGBImage) -> (hue: Double, saturation: Double, value: Double, fraction: Double) {
    var channels: [[Int]] = [[], [], []]
    for i in 0..<(image.width * image.height) {
      let d = (0..<3).reduce(0) { $0 + abs(Int(image.pixels[3 * i + $1]) - Int(other.pixels[3 * i + $1])) }
      if d > 40 { for c in 0..<3 { channels[c].append(Int(image.pixels[3 * i + c])) } }
    }
    let fraction = Double(channels[0].count) / Double(image.width * image.height)
    guard !channels[0].isEmpty else { return (0, 0, 0, 0) }
    let m = channels.map { Double($0.sorted()[$0.count / 2]) / 255 }
    let hi = m.max()!, lo = m.min()!, delta = hi - lo
    var hue = 0.0
    if delta > 0 {
      if hi == m[0] { hue = 60 * ((m[1] - m[2]) / delta) } else if hi == m[1] { hue = 60 * ((m[2] - m[0]) / delta + 2) } else {
        hue = 60 * ((m[0] - m[1]) / delta + 4)
      }
      if hue < 0 { hue += 360 }
    }
    return (hue, hi > 0 ? delta / hi : 0, hi, fraction)
  }

  /// What a person would call each colour name: hue range (degrees, may wrap), saturation and value bounds.
  struct Expectation { var hues: ClosedRange<Double>? = nil, wraps = false, saturation: ClosedRange<Double> = 0...1, value: ClosedRange<Double> = 0...1 }

  func check(_ name: String, _ region: (hue: Double, saturation: Double, value: Double, fraction: Double), _ e: Expectation,
             file: StaticString = #filePath, line: UInt = #line) {
    let text = String(format: "%@: median colour hue %.0f° saturation %.2f value %.2f over %.1f%% of the image",
                      name, region.hue, region.saturation, region.value, region.fraction * 100)
    if let hues = e.hues {
      let hue = e.wraps && region.hue > 180 ? region.hue - 360 : region.hue
      XCTAssertTrue(hues.contains(hue), text, file: file, line: line)
    }
    XCTAssertTrue(e.saturation.contains(region.saturation), text, file: file, line: line)
    XCTAssertTrue(e.value.contains(region.value), text, file: file, line: line)
  }

  static let hairExpectations: [String: Expectation] = [
    "blonde_hair": Expectation(hues: 35...65, saturation: 0.3...1, value: 0.7...1),
    "brown_hair": Expectation(hues: 10...45, saturation: 0.3...1, value: 0...0.6),
    "black_hair": Expectation(value: 0...0.3),
    "blue_hair": Expectation(hues: 200...250, saturation: 0.4...1),
    "pink_hair": Expectation(hues: 300...350, value: 0.6...1),
    "purple_hair": Expectation(hues: 255...300, saturation: 0.3...1),
    "green_hair": Expectation(hues: 90...160, saturation: 0.4...1),
    "red_hair": Expectation(hues: -15...15, wraps: true, saturation: 0.6...1),
    "silver_hair": Expectation(hues: 190...250, saturation: 0.05...0.25, value: 0.55...0.9),
    "white_hair": Expectation(saturation: 0...0.1, value: 0.82...1),
    "orange_hair": Expectation(hues: 15...40, saturation: 0.6...1, value: 0.75...1),
    "aqua_hair": Expectation(hues: 165...195, saturation: 0.4...1),
    "grey_hair": Expectation(saturation: 0...0.1, value: 0.3...0.6),
  ]

  static let eyeExpectations: [String: Expectation] = [
    "blue_eyes": Expectation(hues: 200...250, saturation: 0.4...1),
    "red_eyes": Expectation(hues: -15...15, wraps: true, saturation: 0.5...1),
    "brown_eyes": Expectation(hues: 10...45, saturation: 0.3...1, value: 0...0.6),
    "green_eyes": Expectation(hues: 90...160, saturation: 0.4...1),
    "purple_eyes": Expectation(hues: 255...300, saturation: 0.3...1),
    "yellow_eyes": Expectation(hues: 40...65, saturation: 0.5...1, value: 0.6...1),
    "pink_eyes": Expectation(hues: 300...350, saturation: 0.3...1),
    "aqua_eyes": Expectation(hues: 165...195, saturation: 0.4...1),
    "black_eyes": Expectation(value: 0...0.3),
    "orange_eyes": Expectation(hues: 15...40, saturation: 0.6...1, value: 0.65...1),
  ]

  func testHairAndEyesCarryTheRequestedColour() {
    let renderer = FaceRenderer(size: 64)
    for index in 0..<4 {
      let (sampled, variation) = SyntheticFaces.sample(seed: 21, index: index)
      let names = vocabulary.tags
      let colourTags = Set(vocabulary.groups.filter(\.oneOf).flatMap(\.tags))
      let keep = Set(names.indices.filter { sampled[$0] > 0 }.map { names[$0] }).subtracting(colourTags)
      for (hair, expectation) in Self.hairExpectations {
        let contrast = hair == "green_hair" ? "red_hair" : "green_hair"
        let a = renderer.render(tags: vector(keep.union([hair, "blue_eyes"])), variation: variation).image()
        let b = renderer.render(tags: vector(keep.union([contrast, "blue_eyes"])), variation: variation).image()
        let region = changedRegion(a, b)
        XCTAssertGreaterThan(region.fraction, 0.12, "\(hair) on face \(index): hair covers a good part of the image")
        check("\(hair) on face \(index)", region, expectation)
      }
      for (eyes, expectation) in Self.eyeExpectations {
        let contrast = eyes == "green_eyes" ? "red_eyes" : "green_eyes"
        let a = renderer.render(tags: vector(keep.union([eyes, "black_hair"])), variation: variation).image()
        let b = renderer.render(tags: vector(keep.union([contrast, "black_hair"])), variation: variation).image()
        let region = changedRegion(a, b)
        XCTAssertGreaterThan(region.fraction, 0.008, "\(eyes) on face \(index): irises are visible")
        check("\(eyes) on face \(index)", region, expectation)
      }
    }
  }

  func testStylesAndAccessoriesAreVisible() {
    let renderer = FaceRenderer(size: 64)
    let base: Set<String> = ["brown_hair", "blue_eyes"]
    // Minimum share of a 64² image each tag must change when switched on.
    let minimum: [String: Double] = ["long_hair": 0.04, "short_hair": 0.03, "twin_tail": 0.06, "drill_hair": 0.04,
                                     "ponytail": 0.04, "hat": 0.06, "ribbon": 0.012, "glasses": 0.015,
                                     "blush": 0.006, "smile": 0.0015, "open_mouth": 0.003]
    for index in 0..<4 {
      let variation = SyntheticFaces.sample(seed: 31, index: index).variation
      let plain = renderer.render(tags: vector(base), variation: variation).image()
      for (tag, share) in minimum {
        let with = renderer.render(tags: vector(base.union([tag])), variation: variation).image()
        let fraction = changedRegion(with, plain).fraction
        XCTAssertGreaterThan(fraction, share, "\(tag) on face \(index) changes \(fraction * 100)% of the image")
      }
    }
  }

  func testEveryCombinationOfHairStylesLooksDifferent() {
    let renderer = FaceRenderer(size: 64)
    let styles = ["long_hair", "short_hair", "twin_tail", "drill_hair", "ponytail"]
    for index in 0..<2 {
      let variation = SyntheticFaces.sample(seed: 41, index: index).variation
      let images = (0..<32).map { mask -> RGBImage in
        let on = Set(styles.indices.filter { mask & (1 << $0) != 0 }.map { styles[$0] })
        return renderer.render(tags: vector(on.union(["silver_hair", "green_eyes"])), variation: variation).image()
      }
      for a in 0..<32 {
        for b in (a + 1)..<32 {
          let fraction = changedRegion(images[a], images[b]).fraction
          XCTAssertGreaterThan(fraction, 0.01, "face \(index): style sets \(a) and \(b) (bit masks over \(styles)) differ in \(fraction * 100)% of pixels")
        }
      }
    }
  }

  func testSizes() {
    for size in [32, 64, 128] {
      let (tags, variation) = SyntheticFaces.sample(seed: 3, index: 0)
      let image = FaceRenderer(size: size).render(tags: tags, variation: variation).image()
      XCTAssertEqual([image.width, image.height], [size, size])
      XCTAssertGreaterThan(Set(stride(from: 0, to: image.pixels.count, by: 3).map { image.pixels[$0] }).count, 20, "a picture, not a flat fill")
    }
  }
}
