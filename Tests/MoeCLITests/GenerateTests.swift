// GenerateTests: `moe generate` and `moe inspect` take the tag vocabulary from the model's metadata, never its width.
import Foundation
import MoeData
import MoeFormats
import MoeIR
import MoeModels
import MoeTestSupport
import XCTest

final class GenerateTests: XCTestCase {
  static var dir: URL!
  static var makeGirls: URL!
  static var dcgan162: URL!

  override class func setUp() {
    super.setUp()
    dir = try! TestSupport.temporaryDirectory("generate")
    makeGirls = try! checkpoint(SRResNetGenerator(channels: 4, blocks: 1, upsamplings: 1, inputLength: 162), "makegirls.npz")
    dcgan162 = try! checkpoint(DCGANGenerator(channels: 16, inputLength: 162), "dcgan162.npz")
  }

  override class func tearDown() {
    try? FileManager.default.removeItem(at: dir)
    super.tearDown()
  }

  static func checkpoint(_ model: any ZooModel, _ name: String) throws -> URL {
    var rng = SplitMix64(seed: 2)
    let arrays = model.parameters.map { (key, shape) -> (key: String, array: NpyArray) in
      (key, NpyArray(floats: (0..<elementCount(shape)).map { _ in key.hasSuffix("avg_var") ? 1 : rng.gaussian() * 0.1 }, shape: shape))
    }
    let url = dir.appendingPathComponent(name)
    try NPZFile.write(arrays, to: url)
    return url
  }

  func output(_ name: String) -> URL { Self.dir.appendingPathComponent(name) }

  func testTagsOnAModelWithoutVocabularyAreRefused() throws {
    let png = output("dcgan-tags.png")
    let r = try TestSupport.moe(["generate", Self.dcgan162.path, "--tags", "blonde_hair", "--count", "2", "-o", png.path])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertFalse(r.crashed)
    XCTAssertTrue(r.stderr.contains("no tag vocabulary") && r.stderr.contains(Self.dcgan162.path), r.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: png.path))
    // Without tags the same model generates from N(0, 1) inputs.
    let ok = try TestSupport.moe(["generate", Self.dcgan162.path, "--count", "2", "-o", png.path])
    XCTAssertEqual(ok.status, 0, ok.stderr)
    XCTAssertTrue(FileManager.default.fileExists(atPath: png.path))
  }

  func testMakeGirlsTagsAreCheckedAgainstItsVocabulary() throws {
    let png = output("mg.png")
    let twoHair = try TestSupport.moe(["generate", Self.makeGirls.path, "--tags", "blonde_hair,blue_hair", "-o", png.path])
    XCTAssertNotEqual(twoHair.status, 0)
    XCTAssertTrue(twoHair.stderr.contains("blonde_hair and blue_hair") && twoHair.stderr.contains("hair_color"), twoHair.stderr)
    let unknown = try TestSupport.moe(["generate", Self.makeGirls.path, "--tags", "cat_ears", "-o", png.path])
    XCTAssertNotEqual(unknown.status, 0)
    XCTAssertTrue(unknown.stderr.contains("cat_ears"), unknown.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: png.path))
    let ok = try TestSupport.moe(["generate", Self.makeGirls.path, "--tags", "blonde_hair,smile", "--count", "4", "--grid", "fixed-tags", "-o", png.path])
    XCTAssertEqual(ok.status, 0, ok.stderr)
    XCTAssertTrue(FileManager.default.fileExists(atPath: png.path))
  }

  func testInspectShowsTheVocabularyOfABundle() throws {
    let bundle = output("mg.moe")
    let c = try TestSupport.moe(["convert", Self.makeGirls.path, "-o", bundle.path])
    XCTAssertEqual(c.status, 0, c.stderr)
    let r = try TestSupport.moe(["inspect", bundle.path])
    XCTAssertEqual(r.status, 0, r.stderr)
    XCTAssertTrue(r.stdout.contains("tag vocabulary: 128 noise + 34 tags"), r.stdout)
    XCTAssertTrue(r.stdout.contains("input z: f32[N,162], noise+tags"), r.stdout)
    let plain = output("dcgan.moe")
    XCTAssertEqual(try TestSupport.moe(["convert", Self.dcgan162.path, "-o", plain.path]).status, 0)
    let p = try TestSupport.moe(["inspect", plain.path])
    XCTAssertTrue(p.stdout.contains("tag vocabulary: none"), p.stdout)
  }

  /// `--grid interpolate`: the saved inputs step linearly from the first noise vector to the last under one tag vector,
  /// and each tile of the PNG (read back by libpng) is `moe run` on its row, to 8-bit rounding.
  func testInterpolateGridStepsLinearlyBetweenTwoNoiseVectors() throws {
    let png = output("interp.png"), inputs = output("interp-z.npy"), ran = output("interp-run.npy")
    let count = 5
    let r = try TestSupport.moe(["generate", Self.makeGirls.path, "--grid", "interpolate", "--count", "\(count)", "--tags", "red_hair",
                                 "--seed", "4", "--save-inputs", inputs.path, "-o", png.path])
    XCTAssertEqual(r.status, 0, r.stderr)
    let z = try Npy.read(inputs), width = 162
    XCTAssertEqual(z.shape, [count, width])
    let v = try z.floats()
    func row(_ i: Int) -> ArraySlice<Float> { v[(i * width)..<((i + 1) * width)] }
    XCTAssertGreaterThan(zip(row(0).prefix(128), row(count - 1).prefix(128)).map { abs($0 - $1) }.max()!, 0.5, "two different noise vectors")
    for i in 0..<count {
      let t = Float(i) / Float(count - 1)
      for c in 0..<128 {
        XCTAssertEqual(row(i)[i * width + c], (1 - t) * row(0)[c] + t * row(count - 1)[(count - 1) * width + c], accuracy: 1e-5)
      }
      XCTAssertEqual(Array(row(i).suffix(34)), Array(row(0).suffix(34)), "one tag vector")
    }
    XCTAssertEqual(row(0)[128 + 7], 1, "red_hair on")
    XCTAssertEqual(try TestSupport.moe(["run", Self.makeGirls.path, "--input", inputs.path, "-o", ran.path]).status, 0)
    let images = try Npy.read(ran), pixels = try images.floats(), side = images.shape[2]
    let grid = try ImageFile.read(png.path), cols = 3, pad = 2
    var worst = 0
    for i in 0..<count {
      let x0 = pad + (i % cols) * (side + pad), y0 = pad + (i / cols) * (side + pad)
      for ch in 0..<3 {
        for y in 0..<side {
          for x in 0..<side {
            let f = pixels[((i * 3 + ch) * side + y) * side + x]
            let expected = Int((min(max(f, -1), 1) + 1) * 127.5)
            let got = Int(grid.pixels[((y0 + y) * grid.width + x0 + x) * 3 + ch])
            worst = max(worst, abs(got - expected))
          }
        }
      }
    }
    XCTAssertLessThanOrEqual(worst, 1, "tiles vs moe run on the saved inputs (8-bit levels)")
  }
}
