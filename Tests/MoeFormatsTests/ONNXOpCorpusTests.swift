// ONNXOpCorpusTests: every case of the op conformance corpus exported to ONNX (opsets 17 and 21), checked and run in
// ONNX Runtime against the corpus's expected outputs, then imported back and run natively.
import Foundation
import MoeFormats
import MoeIR
import MoeRuntime
import MoeTestSupport
import XCTest

/// A folder of cases in the op corpus layout: `cases.json` and per case a model, `NAME.inputs.npz`, `NAME.expected.npz`.
struct ONNXCaseFolder {
  struct Case: Decodable {
    var name: String
    var outputs: [String]
    /// The op of an op-corpus case.
    var op: String?
    /// For import cases: the model file and, when MoeKit must refuse it, a phrase of the documented reason.
    var model: String?
    var refuse: String?
  }
  private struct Index: Decodable { var cases: [Case] }

  let dir: URL
  let cases: [Case]

  /// Runs `script ARGS DIR` (a Converters/ script) and reads the cases it wrote.
  init(script: String, _ args: [String] = []) throws {
    dir = try TestSupport.temporaryDirectory("onnx-cases")
    try TestSupport.python([script, dir.path] + args)
    cases = try JSONDecoder().decode(Index.self, from: Data(contentsOf: dir.appendingPathComponent("cases.json"))).cases
  }

  func arrays(_ name: String, _ kind: String) throws -> [String: Tensor] {
    let npz = try NPZFile(url: dir.appendingPathComponent("\(name).\(kind).npz"))
    var out: [String: Tensor] = [:]
    for key in npz.keys {
      let a = try npz.array(key)
      out[key] = Tensor(shape: a.shape, data: try a.floats())
    }
    return out
  }

  /// Relative error |a − b| / max(|b|, 1), NaN meeting NaN; nil on a shape mismatch.
  static func worstError(_ got: Tensor, _ want: Tensor) -> Float? {
    guard got.shape == want.shape else { return nil }
    var worst: Float = 0
    for (a, b) in zip(got.data, want.data) where !(a.isNaN && b.isNaN) && a != b {
      let e = abs(a - b) / max(abs(b), 1)
      worst = e.isNaN ? .infinity : max(worst, e)
    }
    return worst
  }

  /// Imports `model`, runs it natively on the case's inputs and returns the failures (empty when every output matches).
  func runNatively(_ c: Case, model: URL, tolerance: Float = 1e-5) -> [String] {
    do {
      let g = try ONNXImporter.read(model)
      let outs = try Executor(graph: g).run(try arrays(c.name, "inputs"))
      let expected = try arrays(c.name, "expected")
      var failures: [String] = []
      for o in c.outputs {
        guard let got = outs[o], let want = expected[o] else { failures.append("\(c.name): output \(o) missing"); continue }
        guard let e = Self.worstError(got, want) else {
          failures.append("\(c.name): \(o) has shape \(got.shape), expected \(want.shape)")
          continue
        }
        if e > tolerance { failures.append("\(c.name): \(o) relative error \(e)") }
      }
      return failures
    } catch {
      return ["\(c.name): \(error)"]
    }
  }
}

final class ONNXOpCorpusTests: XCTestCase {
  static let opsets = [17, 21]

  /// The documented export refusals (Formats/onnx.md, "Export"): the phrase the error must carry, or nil.
  static func documentedRefusal(_ g: Graph, opset: Int) -> String? {
    for n in g.nodes {
      if let why = n.op.schema.exemptions[.onnxExport] { return why }  // training ops, documented in the op schema
      if case .averagePool(let p) = n.op, p.dilations != [1, 1] && opset < 19 { return "AveragePool takes dilations from opset 19" }
      if case .unary(let f) = n.op, opset < f.onnx.since { return "ONNX \(f.onnx.name) takes opset \(f.onnx.since) or later" }
    }
    return nil
  }

  struct Result: Decodable {
    var name: String
    var ok: Bool
    var worst: Double?
    var error: String?
  }

  func testEveryCaseExportsRunsInONNXRuntimeAndImportsBack() throws {
    let corpus = try ONNXCaseFolder(script: "Converters/tests/op_cases.py")
    XCTAssertGreaterThan(corpus.cases.count, 300, "the corpus lost cases")
    var manifest: [[String: Any]] = []
    var failures: [String] = []
    var refused = 0
    for c in corpus.cases {
      let g = try IRText.parse(String(contentsOf: corpus.dir.appendingPathComponent(c.name + ".moeir"), encoding: .utf8), source: c.name)
      for opset in Self.opsets {
        let file = "\(c.name).opset\(opset).onnx"
        let url = corpus.dir.appendingPathComponent(file)
        let expected = Self.documentedRefusal(g, opset: opset)
        do {
          try ONNXExporter.write(g, to: url, opset: opset)
          if let expected { failures.append("\(c.name) opset \(opset): exported, but documented as refused (\(expected))") }
          manifest.append(["name": "\(c.name)@\(opset)", "model": file, "inputs": c.name + ".inputs.npz",
                           "expected": c.name + ".expected.npz", "outputs": c.outputs])
        } catch let e as MoeFormatError {
          refused += 1
          let nodeNamed = g.nodes.contains { e.description.contains("'\($0.name)'") || e.key == $0.name }
          if expected == nil || !e.message.contains(expected!) || !nodeNamed {
            failures.append("\(c.name) opset \(opset): refused outside the documented refusals: \(e)")
          }
          XCTAssertFalse(FileManager.default.fileExists(atPath: url.path), "a refused export leaves no file")
        }
      }
    }
    let data = try JSONSerialization.data(withJSONObject: ["tolerance": 1e-5, "cases": manifest])
    try data.write(to: corpus.dir.appendingPathComponent("export.json"))
    try TestSupport.python(["Converters/onnx/check_cases_ort.py", corpus.dir.appendingPathComponent("export.json").path,
                            corpus.dir.appendingPathComponent("results.json").path])
    struct Results: Decodable { var results: [Result] }
    let results = try JSONDecoder().decode(Results.self, from: Data(contentsOf: corpus.dir.appendingPathComponent("results.json"))).results
    XCTAssertEqual(results.count, manifest.count)
    for r in results where !r.ok {
      failures.append("ONNX Runtime \(r.name): " + (r.error ?? "relative error \(r.worst ?? .nan)"))
    }
    // Round trip: the exported file imported back and run natively.
    for c in corpus.cases {
      for opset in Self.opsets {
        let url = corpus.dir.appendingPathComponent("\(c.name).opset\(opset).onnx")
        guard FileManager.default.fileExists(atPath: url.path) else { continue }
        failures += corpus.runNatively(c, model: url).map { "round trip opset \(opset): " + $0 }
      }
    }
    print("ONNX op corpus: \(corpus.cases.count) cases × opsets \(Self.opsets): \(manifest.count) exported and run in "
          + "ONNX Runtime, \(refused) refused as documented, \(failures.count) failures")
    let training = corpus.cases.filter { $0.op.flatMap(OpSchema.named)?.exemptions[.onnxExport] != nil }.count
    let newerThanOpset = corpus.cases.compactMap { $0.op.flatMap(UnaryFunction.init(rawValue:)) }
      .reduce(0) { n, f in n + Self.opsets.filter { $0 < f.onnx.since }.count }
    XCTAssertEqual(refused, training * Self.opsets.count + 1 + newerThanOpset,
                   "refusals: the schema's training ops (batch_norm_training, conv2d_filter_grad) at every opset, dilated average pooling at opset 17, unary functions at opsets before their ONNX op's")
    XCTAssertTrue(failures.isEmpty, "\(failures.count) failures:\n" + failures.prefix(60).joined(separator: "\n"))
  }
}
