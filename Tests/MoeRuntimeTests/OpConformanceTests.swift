// OpConformanceTests: every case of Converters/tests/op_cases.py (NumPy / ONNX Runtime references) run natively.
import Foundation
import MoeFormats
import MoeIR
import MoeTestSupport
import XCTest

@testable import MoeRuntime

/// Relative error |a − b| / max(|b|, 1) every runtime must meet on the op corpus.
let opConformanceTolerance: Float = 1e-5

/// The op corpus written by `op_cases.py` into a temporary folder.
struct OpCorpus {
  struct Case: Decodable {
    var name: String
    var op: String
    var outputs: [String]
  }
  private struct Index: Decodable { var cases: [Case] }

  let dir: URL
  let cases: [Case]

  init(only: String? = nil) throws {
    dir = try TestSupport.temporaryDirectory("op-cases")
    try TestSupport.python(["Converters/tests/op_cases.py", dir.path] + (only.map { ["--only", $0] } ?? []))
    cases = try JSONDecoder().decode(Index.self, from: Data(contentsOf: dir.appendingPathComponent("cases.json"))).cases
  }

  func graph(_ c: Case) throws -> Graph {
    try IRText.parse(String(contentsOf: dir.appendingPathComponent(c.name + ".moeir"), encoding: .utf8), source: c.name)
  }

  func arrays(_ c: Case, _ kind: String) throws -> [String: Tensor] {
    let npz = try NPZFile(url: dir.appendingPathComponent("\(c.name).\(kind).npz"))
    var out: [String: Tensor] = [:]
    for key in npz.keys {
      let a = try npz.array(key)
      out[key] = Tensor(shape: a.shape, data: try a.floats())
    }
    return out
  }

  /// The worst relative error of `got` against `want` (NaN must meet NaN), or nil on a shape mismatch.
  static func worstError(_ got: Tensor, _ want: Tensor) -> Float? {
    guard got.shape == want.shape else { return nil }
    var worst: Float = 0
    for (a, b) in zip(got.data, want.data) {
      if a.isNaN || b.isNaN {
        if a.isNaN != b.isNaN { return .infinity }
        continue
      }
      if a == b { continue }
      let e = abs(a - b) / max(abs(b), 1)
      worst = e.isNaN ? .infinity : max(worst, e)
    }
    return worst
  }
}

final class OpConformanceTests: XCTestCase {
  func testEveryCaseMatchesItsReference() throws {
    let corpus = try OpCorpus()
    XCTAssertGreaterThan(corpus.cases.count, 300, "the corpus lost cases")
    var failures: [String] = []
    for c in corpus.cases {
      do {
        let g = try corpus.graph(c)
        try g.verify()
        let outs = try Executor(graph: g).run(try corpus.arrays(c, "inputs"))
        let expected = try corpus.arrays(c, "expected")
        for o in c.outputs {
          guard let got = outs[o], let want = expected[o] else { failures.append("\(c.name): output \(o) missing"); continue }
          guard let e = OpCorpus.worstError(got, want) else {
            failures.append("\(c.name): \(o) has shape \(got.shape), expected \(want.shape)")
            continue
          }
          if e > opConformanceTolerance { failures.append("\(c.name): \(o) relative error \(e)") }
        }
      } catch {
        failures.append("\(c.name): \(error)")
      }
    }
    XCTAssertTrue(failures.isEmpty, "\(failures.count) of \(corpus.cases.count) cases fail:\n" + failures.prefix(40).joined(separator: "\n"))
  }
}
