// ModelPriorsTests: the tag vocabulary and input prior travel as metadata (importer → .moe/.onnx/.moeir → readers),
// and a 162-input model that is not a MakeGirls generator gets no tags anywhere.
import Foundation
import MoeFormats
import MoeIR
import MoeModels
import MoeQuant
import MoeTestSupport
import XCTest

final class ModelPriorsTests: XCTestCase {
  let makeGirls = SRResNetGenerator(channels: 4, blocks: 1, upsamplings: 1, inputLength: 162)
  let dcgan162 = DCGANGenerator(channels: 16, inputLength: 162)

  /// A Chainer checkpoint of `model` with seeded random weights, written as NPZ.
  func checkpoint(_ model: any ZooModel, in dir: URL, name: String) throws -> URL {
    var rng = SplitMix64(seed: 5)
    let arrays = model.parameters.map { (key, shape) -> (key: String, array: NpyArray) in
      let values = (0..<elementCount(shape)).map { _ in key.hasSuffix("avg_var") ? 1 + Float(rng.uniform()) : rng.gaussian() * 0.1 }
      return (key, NpyArray(floats: values, shape: shape))
    }
    let url = dir.appendingPathComponent(name)
    try NPZFile.write(arrays, to: url)
    return url
  }

  /// The tag columns (after the noise) of every row of `z` are ±1 with one +1 per one-of group.
  func assertTagged(_ z: Tensor, _ vocab: TagVocabulary, file: StaticString = #filePath, line: UInt = #line) {
    for r in 0..<z.shape[0] {
      let row = Array(z.data[(r * vocab.inputWidth)..<((r + 1) * vocab.inputWidth)])
      var offset = vocab.noiseLength
      for g in vocab.groups {
        let tags = row[offset..<(offset + g.tags.count)]
        XCTAssertTrue(tags.allSatisfy { $0 == 1 || $0 == -1 }, "row \(r) group \(g.name)", file: file, line: line)
        if g.oneOf { XCTAssertEqual(tags.filter { $0 == 1 }.count, 1, "row \(r) group \(g.name)", file: file, line: line) }
        offset += g.tags.count
      }
    }
  }

  func testMakeGirlsImporterRecordsItsVocabularyAndPrior() throws {
    let priors = try ModelPriors(of: makeGirls.graph())
    XCTAssertEqual(priors.vocabulary, TagVocabulary.makeGirls)
    XCTAssertEqual(priors.inputs, ["z": .noiseAndTags])
    // A generator of another input width, and the DCGAN generator, know nothing about tags.
    XCTAssertEqual(try ModelPriors(of: SRResNetGenerator(channels: 4, blocks: 1, upsamplings: 1, inputLength: 100).graph()), ModelPriors())
    XCTAssertEqual(try ModelPriors(of: dcgan162.graph()), ModelPriors())
  }

  func testPriorInputsComeFromMetadataNotWidth() throws {
    let vocab = TagVocabulary.makeGirls
    let tagged = priorInputs(for: makeGirls.graph(), batch: 64, seed: 3)["z"]!
    XCTAssertEqual(tagged.shape, [64, 162])
    assertTagged(tagged, vocab)
    // The 162-wide DCGAN input is standard normal in every column, tag columns included.
    let plain = priorInputs(for: dcgan162.graph(), batch: 400, seed: 3)["z"]!
    let tagColumns = (0..<400).flatMap { r in plain.data[(r * 162 + 128)..<(r * 162 + 162)] }
    XCTAssertLessThan(tagColumns.filter { $0 == 1 || $0 == -1 }.count, 3)
    let mean = tagColumns.reduce(0, +) / Float(tagColumns.count)
    let variance = tagColumns.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(tagColumns.count)
    XCTAssertEqual(mean, 0, accuracy: 0.05)
    XCTAssertEqual(variance, 1, accuracy: 0.08)
    // Calibration uses the same priors.
    assertTagged(try CalibrationSet(graph: withWeights(makeGirls), batch: 4).inputs["z"]!, vocab)
    let cal = try CalibrationSet(graph: withWeights(dcgan162), batch: 4).inputs["z"]!
    XCTAssertFalse(cal.data[128..<162].allSatisfy { $0 == 1 || $0 == -1 })
  }

  func withWeights(_ model: any ZooModel) -> Graph {
    var g = model.graph(bnEps: chainerBatchNormEps)
    var rng = SplitMix64(seed: 1)
    for (k, s) in model.parameters {
      g.initializers[k] = Tensor(shape: s, data: (0..<elementCount(s)).map { _ in k.hasSuffix("avg_var") ? 1 : rng.gaussian() * 0.1 })
    }
    return g
  }

  func testMetadataSurvivesEveryFormat() throws {
    let dir = try TestSupport.temporaryDirectory("priors")
    defer { try? FileManager.default.removeItem(at: dir) }
    let npz = try checkpoint(makeGirls, in: dir, name: "gen.npz")
    let imported = try ModelFile.load(npz)
    let expected = try ModelPriors(of: imported.graph)
    XCTAssertEqual(expected.vocabulary, .makeGirls)
    // .npz → .moe → .onnx → .moe, and .moeir, each read back with the same priors.
    var model = imported
    for ext in ["moe", "onnx", "moe", "moeir"] {
      let url = dir.appendingPathComponent("step-\(ext)-\(UUID().uuidString.prefix(4)).\(ext)")
      try ModelFile.write(model, to: url, sourceURL: npz)
      model = try ModelFile.load(url)
      XCTAssertEqual(try ModelPriors(of: model.graph), expected, "after .\(ext)")
    }
    // The bundle's manifest carries the vocabulary (what moe.js exposes as model.metadata.vocabulary).
    let bundle = dir.appendingPathComponent("final.moe")
    try ModelFile.write(model, to: bundle)
    let manifest = try MoeBundle.read(bundle).manifest
    let vocabJSON = try JSONEncoder().encode(manifest.vocabulary)
    XCTAssertEqual(try JSONDecoder().decode(TagVocabulary.self, from: vocabJSON), .makeGirls)
    XCTAssertEqual(manifest.metadata["input_prior"], #"{"z":"noise+tags"}"#)
  }

  func testNonMakeGirls162InputBundleHasNoVocabulary() throws {
    let dir = try TestSupport.temporaryDirectory("priors")
    defer { try? FileManager.default.removeItem(at: dir) }
    let npz = try checkpoint(dcgan162, in: dir, name: "dcgan.npz")
    let m = try ModelFile.load(npz)
    XCTAssertEqual(m.graph.inputs.map { $0.shape.dims.last?.value }, [162])
    let bundle = dir.appendingPathComponent("dcgan.moe")
    try ModelFile.write(m, to: bundle)
    let contents = try MoeBundle.read(bundle)
    XCTAssertNil(contents.manifest.vocabulary)
    XCTAssertNil(contents.manifest.metadata["input_prior"])
    XCTAssertEqual(try ModelPriors(of: contents.graph), ModelPriors())
  }

  func testBadMetadataIsOneErrorNamingFileAndKey() throws {
    let dir = try TestSupport.temporaryDirectory("priors")
    defer { try? FileManager.default.removeItem(at: dir) }
    let good = withWeights(makeGirls)
    let cases: [(String, String, String)] = [
      ("tag_vocabulary", "{\"noise_length\": 128", "tag_vocabulary"),
      ("tag_vocabulary", #"{"noise_length": 128, "groups": [{"name": "g", "one_of": true, "tags": ["a"], "prior": [1, 2]}]}"#, "1 tags but 2 priors"),
      ("input_prior", #"{"x": "noise+tags"}"#, "input 'x'"),
      ("input_prior", #"{"z": "uniform"}"#, "input_prior"),
    ]
    for (key, value, mention) in cases {
      var g = good
      g.metadata[key] = value
      let url = dir.appendingPathComponent("bad.moeir")
      try ModelFile.writeIR(g, to: url)
      XCTAssertThrowsError(try ModelFile.load(url)) { e in
        XCTAssertTrue("\(e)".contains(url.path) && "\(e)".contains(key) && "\(e)".contains(mention), "\(e)")
      }
    }
    // A vocabulary whose width does not fit the input.
    var narrow = withWeights(SRResNetGenerator(channels: 4, blocks: 1, upsamplings: 1, inputLength: 100))
    narrow.metadata["tag_vocabulary"] = good.metadata["tag_vocabulary"]
    narrow.metadata["input_prior"] = good.metadata["input_prior"]
    XCTAssertThrowsError(try ModelPriors(of: narrow)) { XCTAssertTrue("\($0)".contains("162"), "\($0)") }
  }

  func testTagChoicesAreChecked() {
    let v = TagVocabulary.makeGirls
    XCTAssertNil(v.conflicts(in: ["blonde_hair", "smile", "blue_eyes"]))
    XCTAssertEqual(v.conflicts(in: ["blonde_hair", "blue_hair"]).map { $0.contains("blonde_hair and blue_hair") && $0.contains("hair_color") }, true)
    XCTAssertEqual(v.conflicts(in: ["cat_ears"]).map { $0.contains("cat_ears") }, true)
  }
}
