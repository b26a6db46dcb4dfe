// GradientCheckTests: every differentiable op's gradient (and gradients of gradients) against float64 finite differences.
import Foundation
import MoeFormats
import MoeIR
import MoeTestSupport
import XCTest

@testable import MoeAutodiff
@testable import MoeRuntime

/// Largest relative error |fd − autodiff| / max(|fd|, |autodiff|, 1e-3) allowed (float32 gradients, float64 differences).
let gradientTolerance = 2e-3

/// One operand of a gradient case.
struct Operand {
  var name: String
  var shape: [Int]
  var range: ClosedRange<Float> = -1...1
  var differentiate = true
  var bool = false
}

/// Builds `loss = Σₖ Σ(outputₖ · Rₖ)` around one op (or a small subgraph), differentiates it, runs it natively and
/// collects the case files the Python oracle reads.
struct GradientCase {
  var name: String
  var graph: Graph
  var feeds: [String: Tensor]
  var wrt: [String]

  init(_ name: String, _ operands: [Operand], seed: UInt64, build: (inout Graph) -> [String]) {
    self.name = name
    var rng = SplitMix64(seed: seed)
    var g = Graph(name: name)
    var feeds: [String: Tensor] = [:]
    for o in operands {
      g.inputs.append(ValueInfo(name: o.name, dtype: o.bool ? .bool : .float32, shape: Shape(o.shape)))
      feeds[o.name] = o.bool
        ? Tensor(shape: o.shape, data: (0..<elementCount(o.shape)).map { _ in rng.next() % 2 == 0 ? 1 : 0 })
        : rng.tensor(o.shape, o.range)
    }
    let outs = build(&g)
    g.outputs = outs
    let types = try! g.verify()
    var terms: [String] = []
    for (k, o) in outs.enumerated() {
      let r = "R\(k)"
      g.inputs.append(ValueInfo(name: r, shape: types[o]!.shape))
      feeds[r] = rng.tensor(types[o]!.shape.fixed!)
      g.add(.mul, [o, r], name: "weighted\(k)")
      terms.append(g.add(.reduce(.sum, axes: [], keepDims: false), ["weighted\(k)"], name: "term\(k)"))
    }
    var loss = terms[0]
    for (k, t) in terms.dropFirst().enumerated() { loss = g.add(.add, [loss, t], name: "loss\(k)") }
    g.add(.identity, [loss], name: "loss")
    g.outputs = ["loss"]
    self.graph = g
    self.feeds = feeds
    self.wrt = operands.filter { $0.differentiate && !$0.bool }.map(\.name)
  }

  /// Writes the forward graph, the inputs and MoeKit's gradients; returns the case entry for grad_check.py.
  func write(to dir: URL, loss: String = "loss") throws -> [String: Any] {
    let (gg, grads) = try Autodiff.gradient(of: loss, wrt: wrt, in: graph)
    let out = try Executor(graph: gg).run(feeds, fetch: wrt.map { grads[$0]! })
    let base = dir.appendingPathComponent(name)
    try IRText.print(graph).write(to: base.appendingPathExtension("moeir"), atomically: true, encoding: .utf8)
    try NPZFile.write(feeds.map { ($0.key, NpyArray(floats: $0.value.data, shape: $0.value.shape)) }, to: base.appendingPathExtension("inputs.npz"))
    try NPZFile.write(wrt.map { ($0, NpyArray(floats: out[grads[$0]!]!.data, shape: out[grads[$0]!]!.shape)) },
                      to: base.appendingPathExtension("grads.npz"))
    return ["name": name, "graph": base.appendingPathExtension("moeir").path, "inputs": base.appendingPathExtension("inputs.npz").path,
            "grads": base.appendingPathExtension("grads.npz").path, "loss": loss, "directions": 3]
  }
}

/// Runs grad_check.py on the cases; fails with every case over the tolerance.
func assertGradientsMatch(_ cases: [GradientCase], file: StaticString = #filePath, line: UInt = #line) throws {
  let dir = try TestSupport.temporaryDirectory("gradcheck")
  var entries: [[String: Any]] = []
  var failures: [String] = []
  for c in cases {
    do { entries.append(try c.write(to: dir)) } catch { failures.append("\(c.name): \(error)") }
  }
  let index = dir.appendingPathComponent("cases.json")
  try JSONSerialization.data(withJSONObject: entries).write(to: index)
  let r = try TestSupport.python(["Converters/tests/grad_check.py", index.path], file: file, line: line)
  var seen = 0
  for l in r.stdout.split(separator: "\n") {
    guard let obj = try JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any], let worst = obj["worst"] as? Double else { continue }
    seen += 1
    if !(worst <= gradientTolerance) { failures.append("\(obj["name"]!): relative error \(worst) at \(obj["where"]!)") }
  }
  XCTAssertEqual(seen, entries.count, "grad_check.py reported \(seen) of \(entries.count) cases", file: file, line: line)
  XCTAssertTrue(failures.isEmpty, "\(failures.count) of \(cases.count) gradient cases fail:\n" + failures.joined(separator: "\n"), file: file, line: line)
}

extension SplitMix64 {
  mutating func tensor(_ shape: [Int], _ range: ClosedRange<Float> = -1...1) -> Tensor {
    Tensor(shape: shape, data: (0..<elementCount(shape)).map { _ in Float.random(in: range, using: &self) })
  }
}
