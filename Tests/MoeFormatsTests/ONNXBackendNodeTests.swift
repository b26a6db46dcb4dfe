// ONNXBackendNodeTests: the onnx wheel's backend node test cases of every supported op → ONNXImporter → Executor.
import Foundation
import MoeFormats
import MoeIR
import MoeRuntime
import XCTest

/// One case of `Converters/onnx/backend_node_cases.py`'s manifest.
struct BackendNodeCase: Decodable {
  struct Item: Decodable {
    var name: String
    var file: String
    var dtype: String
  }
  var name: String
  var op: String
  var model: String
  var rtol: Float
  var atol: Float
  var bound: [String]
  var inputs: [Item]
  var outputs: [Item]
}

struct BackendNodeManifest: Decodable {
  var onnx: String
  var cases: [BackendNodeCase]
}

final class ONNXBackendNodeTests: XCTestCase {
  enum Outcome {
    case passed
    case refused(String)
    case failed(String)
  }

  /// Generates the cases with the onnx wheel's generators (nothing is stored in the repo), imports each one,
  /// runs it natively and compares with ONNX's expected outputs at the case's tolerances
  /// (|got − expected| ≤ atol + rtol·|expected|, as `np.testing.assert_allclose` in onnx's backend runner).
  /// Cases the importer refuses (`unsupportedONNX`) are counted and printed with their reason; any other
  /// error or a wrong number fails the test.
  func testBackendNodeCasesOfSupportedOps() throws {
    let dir = try TemporaryDirectory()
    try ONNXOracle.python("""
      import runpy, sys
      sys.argv = ["backend_node_cases.py", "--out", sys.argv[1], "--ops", sys.argv[2]]
      runpy.run_path("\(ONNXOracle.root.path)/Converters/onnx/backend_node_cases.py", run_name="__main__")
      """, [dir.url.path, ONNXImporter.supportedOps.sorted().joined(separator: ",")], in: dir.url)
    let manifest = try JSONDecoder().decode(BackendNodeManifest.self, from: Data(contentsOf: dir.file("manifest.json")))
    let ops = Set(manifest.cases.map(\.op))
    XCTAssertEqual(ops, ONNXImporter.supportedOps, "every supported op has backend cases")

    var results: [(BackendNodeCase, Outcome)] = []
    for c in manifest.cases { results.append((c, run(c, in: dir.url))) }

    print("ONNX backend node tests (onnx \(manifest.onnx)), per op: passed/total (refused)")
    var passedAll = 0
    for op in ops.sorted() {
      let mine = results.filter { $0.0.op == op }
      let p = mine.filter { if case .passed = $0.1 { return true } else { return false } }.count
      let r = mine.filter { if case .refused = $0.1 { return true } else { return false } }.count
      passedAll += p
      XCTAssertGreaterThanOrEqual(p, Self.recordedPasses[op] ?? mine.count, "\(op): fewer cases pass than Formats/onnx.md records")
      let count = "\(p)/\(mine.count)"
      print("  " + op.padding(toLength: 22, withPad: " ", startingAt: 0) + count.padding(toLength: 8, withPad: " ", startingAt: 0)
            + (r > 0 ? "(\(r) refused)" : ""))
    }
    print("ONNX backend node tests: \(passedAll)/\(results.count) passed")
    for (c, o) in results {
      switch o {
      case .passed: break
      case .refused(let why):
        print("  refused \(c.name) (\(c.op)): \(why)")
        if !Self.rightfulRefusals.contains(where: { why.contains($0) }) || (why.contains("unsupported op(s)") && !c.name.contains("_expanded")) {
          XCTFail("\(c.name): refused for a reason outside MoeKit's documented limits: \(why)")
        }
      case .failed(let why):
        print("  FAILED \(c.name) (\(c.op)): \(why)")
        XCTFail("\(c.name): \(why)")
      }
    }
  }

  /// Passed cases per op as recorded in Formats/onnx.md (onnx 1.23.2): a floor, so a regression that turns passes
  /// into "rightful" refusals still fails. Update both together.
  static let recordedPasses: [String: Int] = [
    "Abs": 1, "Add": 2, "AveragePool": 13, "BatchNormalization": 2, "Cast": 2, "CastLike": 0, "Clip": 18, "Concat": 12,
    "Constant": 1, "Conv": 6, "ConvTranspose": 9, "DepthToSpace": 4, "DequantizeLinear": 2, "Div": 3, "Dropout": 4,
    "Elu": 6, "Equal": 0, "Erf": 1, "Exp": 2, "Expand": 2, "Flatten": 9, "Gemm": 11, "GlobalAveragePool": 2,
    "GlobalMaxPool": 2, "Greater": 2, "GroupNormalization": 4, "HardSigmoid": 6, "HardSwish": 2, "Identity": 1,
    "InstanceNormalization": 2, "LRN": 2, "LayerNormalization": 57, "LeakyRelu": 6, "Less": 2, "Log": 2,
    "LogSoftmax": 21, "MatMul": 7, "Max": 4, "MaxPool": 11, "Mean": 3, "Min": 4, "Mul": 3, "Neg": 2, "PRelu": 4,
    "Pad": 3, "Pow": 4, "Reciprocal": 2, "ReduceMax": 9, "ReduceMean": 8, "ReduceMin": 9, "ReduceSum": 12, "Relu": 2,
    "Reshape": 9, "Resize": 15, "Selu": 6, "Shape": 11, "Sigmoid": 2, "Sign": 1, "Slice": 8, "Softmax": 21,
    "Softplus": 4, "SpaceToDepth": 7, "Sqrt": 2, "Squeeze": 2, "Sub": 3, "Sum": 3, "Tanh": 2, "Transpose": 7,
    "Unsqueeze": 7, "Upsample": 1, "Where": 1,
    // Shape folding (int64 data known at import time) and Split.
    "ConstantOfShape": 1, "Gather": 4, "If": 0, "Range": 0, "Size": 2, "Split": 16,
  ]

  /// The documented limits (Formats/onnx.md) a refusal may cite; anything else is a regression. Unsupported ops
  /// are accepted only in `_expanded` cases (an op's function body written with other ops).
  static let rightfulRefusals = [
    "graph input has element type", "graph input is not a tensor", "training mode is not supported",
    "only 2-D convolutions", "allowzero=1 with a 0 in the shape", "unsupported op(s)",
    "only INT8 and UINT8 weights are supported", "(blocked quantization) is not supported",
    // The newer op set (Formats/onnx.md, "Refused").
    "is not supported (the IR has", "(float32 and int64 only)", "the mask output is not supported",
    "training_mode must be a constant false", "the Indices output is not supported", "only 2-D pooling",
    "mode 'cubic' is not supported", "coordinate_transformation_mode 'tf_crop_and_resize' is not supported",
    "coordinate_transformation_mode 'half_pixel_symmetric' is not supported", "keep_aspect_ratio_policy",
    "antialias=1 is not supported", "ONNX's reference and ONNX Runtime disagree", "shape arithmetic other than",
    "element types", "mode 'CRD' is not supported (DCR)", "(MoeKit imports static shapes)",
    // Shape folding (Formats/onnx.md, "Shape arithmetic"): Gather/Range of tensors, If on a runtime condition.
    "only shape arithmetic on int64 values known at import time", "(control flow is not imported)",
  ]

  func run(_ c: BackendNodeCase, in dir: URL) -> Outcome {
    let model = dir.appendingPathComponent(c.model)
    let graph: Graph
    do { graph = try ONNXImporter.read(model) } catch let e as MoeFormatError {
      guard e.kind == .unsupportedONNX else { return .failed("import error on a valid model: \(e)") }
      guard e.file == model.path, !e.description.contains("\n") else { return .failed("error does not name the file: \(e)") }
      return .refused(e.message)
    } catch { return .failed("import error of the wrong type: \(error)") }
    do {
      var feeds: [String: Tensor] = [:]
      for x in c.inputs {
        let a = try Npy.read(dir.appendingPathComponent(x.file))
        feeds[x.name] = Tensor(shape: a.shape, data: try a.floats())
      }
      let got = try Executor(graph: graph).run(feeds)
      for y in c.outputs {
        let want = try Npy.read(dir.appendingPathComponent(y.file))
        guard let g = got[y.name] else { return .failed("no output '\(y.name)'") }
        guard g.shape == want.shape else { return .failed("output \(y.name) shape \(g.shape), expected \(want.shape)") }
        let w = try want.floats()
        for (i, (a, b)) in zip(g.data, w).enumerated() {
          if (a.isNaN && b.isNaN) || a == b { continue }  // NaN meets NaN; equal infinities match
          if !(abs(a - b) <= c.atol + c.rtol * abs(b)) {
            return .failed("output \(y.name)[\(i)] = \(a), expected \(b) (rtol \(c.rtol), atol \(c.atol))")
          }
        }
      }
      return .passed
    } catch { return .failed("run error: \(error)") }
  }
}
