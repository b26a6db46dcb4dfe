// SensitivityTests: in-place trials equal fresh executors; estimates hold; unreachable targets refused; plan files.
import Foundation
import MoeIR
import MoeRuntime
import XCTest

@testable import MoeQuant

final class SensitivityTests: XCTestCase {
  func model() throws -> Graph { try AutoQuantizerTests.makeModel() }

  /// The reference: a new executor built on a graph copy holding the replaced weights.
  func freshOutputs(_ cal: CalibrationSet, _ weights: [String: Tensor]) throws -> [String: Tensor] {
    var g = cal.graph
    for (k, v) in weights { g.initializers[k] = v }
    return try Executor(graph: g).run(cal.inputs)
  }

  func testInPlaceTrialsEqualFreshExecutorsAndRestoreTheFloatWeights() throws {
    let cal = try CalibrationSet(graph: try model(), batch: 3)
    let plan = try QuantizationPlan.uniform("int4-g32", for: cal.graph)
    var replaced: [String: Tensor] = [:]
    for (name, s) in plan.schemes { replaced[name] = try Quantizer.decode(try Quantizer.encode(cal.graph.initializers[name]!, as: s)) }
    let fresh = try freshOutputs(cal, replaced), inPlace = try cal.outputs(replacing: replaced)
    for o in cal.graph.outputs { XCTAssertEqual(fresh[o]!.data, inPlace[o]!.data, o) }
    // The float weights are back: an empty replacement reproduces the reference exactly.
    let again = try cal.outputs(replacing: [:])
    for o in cal.graph.outputs { XCTAssertEqual(again[o]!.data, cal.reference[o]!.data, o) }
  }

  /// Estimated options (not measured) are close to what a fresh forward pass measures, and measured ones exact.
  func testEstimatesAgreeWithMeasurement() throws {
    let q = AutoQuantizer()
    let cal = try CalibrationSet(graph: try model(), batch: q.sensitivityBatch)  // the trials' own inputs
    let table = try q.sensitivity(cal)
    var estimated = 0
    for (name, options) in table {
      XCTAssertEqual(options[0].scheme, "f32")
      for o in options.dropFirst() {
        let decoded = try q.encode(cal.graph.initializers[name]!, QuantScheme(name: o.scheme)!).decoded
        let truth = cal.compare(try freshOutputs(cal, [name: decoded])).mse
        if o.measured {
          XCTAssertEqual(o.mse, truth, accuracy: truth * 1e-9, "\(name) \(o.scheme)")
        } else if o.scheme != "f16" {
          estimated += 1
          XCTAssertLessThan(abs(log(o.mse / truth)), log(4.0), "\(name) \(o.scheme): estimated \(o.mse), measured \(truth)")
        }
      }
    }
    XCTAssertGreaterThan(estimated, table.count, "most options are estimated, not measured")
  }

  func testUnreachableTargetIsRefusedNamingTheBestReachablePSNR() throws {
    let cal = try CalibrationSet(graph: try model(), batch: 2)
    var f16: [String: Tensor] = [:]
    for w in cal.graph.weights where w.shape.rank >= 2 {
      f16[w.name] = try Quantizer.decode(try Quantizer.encode(cal.graph.initializers[w.name]!, as: .float16))
    }
    let best = cal.compare(try freshOutputs(cal, f16)).psnr
    XCTAssertThrowsError(try AutoQuantizer().run(cal, targetPSNR: 500)) { error in
      guard case let AutoQuantizerError.unreachable(target, reported)? = error as? AutoQuantizerError else { return XCTFail("\(error)") }
      XCTAssertEqual(target, 500)
      XCTAssertEqual(reported, best, accuracy: 1e-9)
      XCTAssertTrue("\(error)".contains(String(format: "%.2f dB", best)), "\(error)")
    }
    XCTAssertNoThrow(try AutoQuantizer().run(cal, targetPSNR: best - 0.01))
  }

  func testPlanFileRoundTripAndRefusals() throws {
    let g = try model()
    let plan = try QuantizationPlan.uniform("palette16-pc", for: g)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("planfile-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("p.json")
    try PlanFile(plan, targetPSNR: 30, measuredPSNR: 31).data().write(to: url)
    XCTAssertEqual(try PlanFile.load(url, for: g).schemes, plan.schemes)
    let w = g.weights.first { $0.shape.rank >= 2 }!.name
    let bad: [(String, String)] = [
      (#"{"format": "moekit-quantization-plan", "version": 1, "schemes": {"nosuch/W": "int8"}}"#, "'nosuch/W': no such weight"),
      (#"{"format": "moekit-quantization-plan", "version": 1, "schemes": {"\#(w)": "int9"}}"#, "unknown scheme 'int9'"),
      (#"{"format": "moekit-quantization-plan", "version": 1, "schemes": {"\#(w)": "int8-a7"}}"#, "does not apply to shape"),
      (#"{"format": "moekit-quantization-plan", "version": 2, "schemes": {}}"#, "version 2"),
      (#"{"format": "other", "version": 1, "schemes": {}}"#, "format 'other'"),
      ("[1, 2]", "not a quantization plan"),
    ]
    for (text, expected) in bad {
      try Data(text.utf8).write(to: url)
      XCTAssertThrowsError(try PlanFile.load(url, for: g), text) { error in
        XCTAssertTrue("\(error)".hasPrefix(url.path + ":") && "\(error)".contains(expected), "\(error)")
      }
    }
  }

  func testHumanBytes() {
    XCTAssertEqual(humanBytes(812), "812 B")
    XCTAssertEqual(humanBytes(2_964_078), "2.96 MB (2,964,078 B)")
    XCTAssertEqual(humanBytes(45_310), "45.3 kB (45,310 B)")
    XCTAssertEqual(humanBytes(1000), "1.00 kB (1,000 B)")
    XCTAssertEqual(humanBytes(12_900_000), "12.9 MB (12,900,000 B)")
  }
}
