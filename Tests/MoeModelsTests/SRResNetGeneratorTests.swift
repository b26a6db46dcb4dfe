// SRResNetGeneratorTests: graph structure, hyper-parameter inference and importer errors on synthetic checkpoints.
import MoeFormats
import MoeIR
import MoeQuant
@testable import MoeModels
import XCTest

final class SRResNetGeneratorTests: XCTestCase {
  let configs = [SRResNetGenerator.paper, SRResNetGenerator(channels: 32, blocks: 4, upsamplings: 2, inputLength: 162),
                 SRResNetGenerator(channels: 8, blocks: 0, upsamplings: 0, inputLength: 3)]

  func testGraphVerifiesWithSymbolicBatch() throws {
    for hp in configs {
      let types = try hp.graph().verify()
      XCTAssertEqual(types["img"]?.shape, Shape([.symbol("N"), .fixed(3), .fixed(hp.outputSide), .fixed(hp.outputSide)]), "\(hp)")
      // Ops: fc, reshape, per BN one batch_norm, convs, 3 per up (conv, d2s, bn) + relu …
      let count = { (name: String) in hp.graph().nodes.filter { $0.op.name == name }.count }
      XCTAssertEqual(count("conv2d"), 2 * hp.blocks + 1 + hp.upsamplings + 1)
      XCTAssertEqual(count("batch_norm"), 1 + 2 * hp.blocks + 1 + hp.upsamplings)
      XCTAssertEqual(count("depth_to_space"), hp.upsamplings)
      XCTAssertEqual(count("add"), hp.blocks + 1)
    }
  }

  func testPaperParameterCount() {
    let fc = 162 * 16384 + 16384
    let batchNorms = (1 + 2 * 16 + 1 + 3) * 4 * 64  // bn0, b1/b2 per block, bnm, one per upsampling
    let convs64 = 33 * (64 * 64 * 9 + 64)  // two per block and cm
    let ups = 3 * (256 * 64 * 9 + 256)
    let out = 3 * 64 * 81 + 3
    XCTAssertEqual(SRResNetGenerator.paper.graph().parameterCount, fc + batchNorms + convs64 + ups + out)
  }

  func testInferenceFromShapes() throws {
    for hp in configs {
      let shapes = Dictionary(uniqueKeysWithValues: hp.parameters.map { ($0.key, $0.shape) })
      XCTAssertEqual(try SRResNetGenerator.infer(shapes: shapes), hp)
    }
    XCTAssertNil(try SRResNetGenerator.infer(shapes: ["W": [1]]))
    XCTAssertThrowsError(try SRResNetGenerator.infer(shapes: ["fc/W": [100, 3], "cm/W": [1, 1, 3, 3]])) {
      XCTAssertTrue("\($0)".contains("fc/W"))
    }
  }

  func arrays(_ hp: SRResNetGenerator, prefix: String = "") -> [String: NpyArray] {
    var a: [String: NpyArray] = [:]
    for (k, s) in hp.parameters { a[prefix + k] = NpyArray(floats: [Float](repeating: 0.5, count: elementCount(s)), shape: s) }
    return a
  }

  func testImportDetectsPrefixAndReportsUnusedKeys() throws {
    let hp = SRResNetGenerator(channels: 4, blocks: 1, upsamplings: 1, inputLength: 5)
    var a = arrays(hp, prefix: "updater/model:main/")
    a["updater/optimizer:main/t"] = NpyArray(int64s: [3], shape: [])
    a["updater/model:main/bn0/N"] = NpyArray(int64s: [7], shape: [])
    let m = try ChainerImporter.importGraph(arrays: a, file: "x.npz")
    XCTAssertEqual(m.prefix, "updater/model:main/")
    XCTAssertEqual(m.unusedKeys, ["updater/optimizer:main/t"])
    XCTAssertNoThrow(try m.graph.verify(requireWeights: true))
  }

  func testImportErrorsNameFileAndKey() throws {
    let hp = SRResNetGenerator(channels: 4, blocks: 1, upsamplings: 1, inputLength: 5)
    var missing = arrays(hp)
    missing["res/0/b2/avg_var"] = nil
    var badShape = arrays(hp)
    badShape["up/0/c/W"] = NpyArray(floats: [Float](repeating: 0, count: 16 * 4 * 9), shape: [4, 16, 3, 3])
    var badType = arrays(hp)
    badType["out/W"] = NpyArray(int64s: [Int64](repeating: 0, count: 3 * 4 * 81), shape: [3, 4, 9, 9])
    var twoModels = arrays(hp, prefix: "gen/")
    for (k, v) in arrays(hp, prefix: "dis/") { twoModels[k] = v }
    let cases: [([String: NpyArray], [String])] = [
      (missing, ["x.npz", "res/0/b2/avg_var", "missing"]),
      (badShape, ["x.npz", "up/0/c/W", "expected [16, 4, 3, 3]"]),
      (badType, ["x.npz", "out/W", "<i8", "float"]),
      (twoModels, ["x.npz", "gen/", "dis/", "--prefix"]),
      (["foo": NpyArray(floats: [1], shape: [1])], ["x.npz", "cannot infer the architecture"]),
    ]
    for (a, mentions) in cases {
      XCTAssertThrowsError(try ChainerImporter.importGraph(arrays: a, file: "x.npz")) { e in
        for m in mentions { XCTAssertTrue("\(e)".contains(m), "'\(e)' should mention \(m)") }
      }
    }
    XCTAssertThrowsError(try ChainerImporter.importGraph(arrays: arrays(hp), file: "x.npz", arch: "nope")) {
      XCTAssertTrue("\($0)".contains("unknown architecture 'nope'"))
    }
  }
}
