// OpCoverageTests: every op of the schema reaches every layer (text, op corpus, moe.js, MoeKernels, ONNX, ir.md, NumPy)
// or the schema documents why not; a failure names the op and the layer.
import Foundation
import MoeFormats
import MoeIR
import MoeKernels
import MoeTestSupport
import XCTest

final class OpCoverageTests: XCTestCase {
  /// The one-node graph text of `s` with every attribute at its example value (and the epilogue ones when it takes them).
  static func exampleText(_ s: OpSchema) -> String {
    let residual = s.takesEpilogue ? 1 : 0
    let inputs = (0..<(s.inputs.lowerBound + residual)).map { "%x\($0)" }
    let outputs = (0..<s.outputs).map { "%y\($0)" }
    let attrs = s.allAttributes.map { "\($0.name)=\($0.example)" }
    var text = "moeir 1\ngraph \"\(s.name)\"\n"
    text += "node \"n\" \(outputs.joined(separator: ", ")) = \(s.name)(\(inputs.joined(separator: ", ")))"
    if !attrs.isEmpty { text += " {" + attrs.joined(separator: ", ") + "}" }
    return text + "\n" + outputs.map { "output \($0)\n" }.joined()
  }

  func testEveryOpReachesEveryLayerOrDocumentsWhyNot() throws {
    var failures: [String] = []
    func check(_ op: String, _ layer: String, _ ok: Bool, _ exemption: String? = nil) {
      if let exemption {
        if exemption.trimmingCharacters(in: .whitespaces).isEmpty { failures.append("\(op): \(layer): exemption without a reason") }
        return
      }
      if !ok { failures.append("\(op): \(layer): missing") }
    }
    let corpus = try OpCorpus()
    let corpusOps = Set(corpus.cases.map(\.op))
    let root = TestSupport.root
    let js = try String(contentsOf: root.appendingPathComponent("Sources/MoeWeb/moe.js"), encoding: .utf8)
    let jsTables = js.components(separatedBy: OpSchema.javaScriptMarkers.0).dropFirst().first?
      .components(separatedBy: OpSchema.javaScriptMarkers.1).first ?? ""
    let irDoc = try String(contentsOf: root.appendingPathComponent("Formats/ir.md"), encoding: .utf8)
    let irRows = irDoc.split(separator: "\n").filter { $0.hasPrefix("| `") }
    let numpyOps = Set(try TestSupport.python(["-c", "import sys; sys.path.insert(0, 'Converters/tests'); import moeir_numpy; print(' '.join(moeir_numpy.OPS))"])
      .stdout.split(whereSeparator: \.isWhitespace).map(String.init))
    XCTAssertTrue(numpyOps.contains("conv2d"), "the NumPy evaluator's op list was read")
    // The first opset of every default-domain ONNX op, from the onnx package's op schemas.
    let onnxSince = try TestSupport.python(["-c", """
      import onnx.defs
      first = {}
      for s in onnx.defs.get_all_schemas_with_history():
          if s.domain in ("", "ai.onnx"): first[s.name] = min(first.get(s.name, s.since_version), s.since_version)
      print(" ".join("%s=%d" % kv for kv in sorted(first.items())))
      """]).stdout.split(whereSeparator: \.isWhitespace).reduce(into: [String: Int]()) { d, pair in
        let kv = pair.split(separator: "=")
        d[String(kv[0])] = Int(kv[1])
      }
    XCTAssertEqual(onnxSince["Conv"], 1, "the ONNX op schemas were read")

    for s in OpSchema.all {
      let op = s.name
      // Text: print(parse(t)) == t and parse(print(g)) == g.
      do {
        let text = Self.exampleText(s)
        let g = try IRText.parse(text, source: op)
        let again = try IRText.parse(IRText.print(g), source: op)
        check(op, "text round trip", g.nodes == again.nodes && IRText.print(again) == text && g.nodes.first?.op.name == op)
      } catch {
        failures.append("\(op): text round trip: \(error)")
      }
      // The op corpus: run natively (OpConformanceTests), by moe.js + wasm (opcases.test.mjs) and through ONNX (ONNXOpCorpusTests).
      check(op, "op corpus (native, moe.js/wasm, ONNX)", corpusOps.contains(op), s.exemptions[.corpus])
      // moe.js reads its attribute table, output counts and wasm codes from the generated block.
      check(op, "moe.js op table", jsTables.contains("\n  \(op): [") || jsTables.contains(" \(op): ["))
      switch s.wasm {
      case .unary(let c)?:
        check(op, "moe.js unary code", jsTables.range(of: "[ {]\(op): \(c),", options: .regularExpression) != nil)
        // The shared kernel: kernels.wasm runs it, and so does the native runtime where it has no fast path.
        var probe: [Float] = [0.5]
        check(op, "kernel (Sources/MoeKernels/Elementwise.swift, code \(c))", probe.withUnsafeMutableBufferPointer {
          unaryKernel(c, UnsafePointer($0.baseAddress!), $0.baseAddress!, count: 1, alpha: 0.2)
        })
      case .binary(let c)?: check(op, "moe.js binary code", jsTables.range(of: "[ {]\(op): \(c),", options: .regularExpression) != nil)
      case nil: break
      }
      // ONNX: the families map through ONNXOpNames (both directions); other ops go through the corpus export.
      if let f = UnaryFunction(rawValue: op) {
        check(op, "ONNX op type \(f.onnx.name) since opset \(f.onnx.since) (onnx.defs: \(onnxSince[f.onnx.name].map(String.init) ?? "no such op"))",
              onnxSince[f.onnx.name] == f.onnx.since)
        check(op, "ONNX export", ONNXOpNames.unary[f] != nil, s.exemptions[.onnxExport])
        check(op, "ONNX import", f == .square || ONNXOpNames.unaryByONNX[ONNXOpNames.unary[f] ?? ""] == f, s.exemptions[.onnxImport])
      } else if let f = BinaryFunction(rawValue: op) {
        check(op, "ONNX export", ONNXOpNames.binary[f] != nil, s.exemptions[.onnxExport])
        check(op, "ONNX import", ONNXOpNames.binaryByONNX[ONNXOpNames.binary[f] ?? ""] == f, s.exemptions[.onnxImport])
      } else if op.hasPrefix("reduce_"), let f = ReduceFunction(rawValue: String(op.dropFirst(7))) {
        check(op, "ONNX export", ONNXOpNames.reduce[f] != nil, s.exemptions[.onnxExport])
        check(op, "ONNX import", ONNXOpNames.reduceByONNX[ONNXOpNames.reduce[f] ?? ""] == f, s.exemptions[.onnxImport])
      } else {
        for layer in [OpLayer.onnxExport, .onnxImport] { check(op, layer.rawValue, true, s.exemptions[layer]) }
      }
      // Formats/ir.md: a row of the op table naming the op and every attribute.
      let row = irRows.first { $0.hasPrefix("| `\(op)` |") }
      check(op, "Formats/ir.md op table", row != nil && s.attributes.allSatisfy { row!.contains("`\($0.name)`") })
      // The NumPy evaluator of the Python tests.
      check(op, "NumPy evaluator (moeir_numpy.py)", numpyOps.contains(op), s.exemptions[.numpy])
    }
    XCTAssertTrue(failures.isEmpty, "ops missing from a layer:\n" + failures.joined(separator: "\n"))
  }

  /// An exemption from the corpus must be real: such an op must not be in the corpus (stale exemptions are removed).
  func testExemptionsAreNotStale() throws {
    let corpusOps = Set(try OpCorpus().cases.map(\.op))
    for s in OpSchema.all where s.exemptions[.corpus] != nil {
      XCTAssertFalse(corpusOps.contains(s.name), "\(s.name) is in the op corpus now; drop its corpus exemption")
    }
    let numpyOps = try TestSupport.python(["-c", "import sys; sys.path.insert(0, 'Converters/tests'); import moeir_numpy; print(' '.join(moeir_numpy.OPS))"]).stdout
    for s in OpSchema.all where s.exemptions[.numpy] != nil {
      XCTAssertFalse(numpyOps.split(whereSeparator: \.isWhitespace).map(String.init).contains(s.name), "\(s.name) is in moeir_numpy.OPS now; drop its exemption")
    }
  }
}
