// ReferenceEvaluatorTests: MoeIR's plain-loop evaluator (what constant folding uses) equals the native runtime bit
// for bit on seeded random constants, broadcasting and edge shapes included; folding with it keeps outputs.
import MoeIR
import MoeModels
import MoeQuant
@testable import MoePasses
import MoeRuntime
import XCTest

final class ReferenceEvaluatorTests: XCTestCase {
  var rng = SeededGenerator(seed: 77)

  func random(_ shape: [Int]) -> Tensor {
    Tensor(shape: shape, data: (0..<elementCount(shape)).map { _ in rng.normal() })
  }

  /// The native Executor's result for `op` applied to weights holding `inputs`.
  func native(_ op: Op, _ inputs: [Tensor]) throws -> Tensor {
    var g = Graph(name: "one")
    for (i, t) in inputs.enumerated() { g.addWeight("w\(i)", t) }
    g.add(op, inputs.indices.map { "w\($0)" }, name: "y")
    g.outputs = ["y"]
    return try Executor(graph: g, options: ExecutorOptions(threads: 1)).run([:])["y"]!
  }

  func check(_ op: Op, _ inputs: [Tensor], file: StaticString = #filePath, line: UInt = #line) throws {
    let got = try XCTUnwrap(try ReferenceEvaluator.evaluate(op, inputs), "\(op.name) not evaluated", file: file, line: line)
    let want = try native(op, inputs)
    XCTAssertEqual(got.shape, want.shape, "\(op)", file: file, line: line)
    XCTAssertEqual(got.data.map(\.bitPattern), want.data.map(\.bitPattern), "\(op) on \(inputs.map(\.shape))", file: file, line: line)
  }

  func testLayoutOpsMatchTheRuntime() throws {
    let x = random([2, 3, 4, 5])
    for perm in [[0, 1, 2, 3], [3, 2, 1, 0], [1, 0, 3, 2], [0, 2, 3, 1]] { try check(.transpose(perm: perm), [x]) }
    try check(.transpose(perm: [1, 0]), [random([7, 1])])
    try check(.reshape(shape: [0, -1, 5]), [x])
    try check(.flatten(axis: 2), [x])
    for axis in [0, 1, 3, -1] {
      var a = [2, 3, 4, 5], b = [2, 3, 4, 5]
      a[(axis + 4) % 4] = 1
      b[(axis + 4) % 4] = 3
      try check(.concat(axis: axis), [random(a), random(b), x])
    }
    try check(.slice(SliceAttrs(starts: [1, -1], ends: [3, -6], axes: [1, 3], steps: [1, -2])), [x])
    try check(.slice(SliceAttrs(starts: [0], ends: [100], axes: [2], steps: [3])), [x])
    try check(.slice(SliceAttrs(starts: [5], ends: [2], axes: [0], steps: [1])), [x])  // empty
  }

  func testElementwiseOpsBroadcastLikeTheRuntime() throws {
    let pairs: [([Int], [Int])] = [([2, 3, 4], [2, 3, 4]), ([2, 3, 4], [4]), ([2, 1, 4], [3, 1]), ([1], [2, 3]), ([5, 1, 1, 2], [1, 3, 1, 1]), ([], [3])]
    for (a, b) in pairs {
      for op in [Op.add, .sub, .mul] { try check(op, [random(a), random(b)]) }
    }
    var x = random([3, 4])
    x.data[0] = 0
    x.data[1] = -0.0
    for op in [Op.relu, .leakyRelu(alpha: 0.2), .identity] { try check(op, [x]) }
    try check(.constant(random([2, 2])), [])
  }

  func testOtherOpsAreLeftAlone() throws {
    XCTAssertNil(try ReferenceEvaluator.evaluate(.tanh, [random([2])]))
    XCTAssertNil(try ReferenceEvaluator.evaluate(.matmul, [random([2, 2]), random([2, 2])]))
  }

  func testFoldingWithAnInjectedEvaluator() throws {
    // A tanh of a weight: the reference evaluator leaves it, a runtime-backed evaluator folds it; outputs agree.
    var g = Graph(name: "t")
    g.inputs = [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(3)]))]
    g.addWeight("w", random([3]))
    let t = g.add(.tanh, ["w"], name: "t")
    g.add(.add, ["x", t], name: "y")
    g.outputs = ["y"]
    var byReference = g
    XCTAssertEqual(try FoldConstants().run(on: &byReference), 0)
    var byRuntime = g
    XCTAssertEqual(try FoldConstants(evaluator: { op, inputs in try self.native(op, inputs) }).run(on: &byRuntime), 1)
    XCTAssertEqual(byRuntime.nodes.map(\.op.name), ["add"])
    let x = ["x": random([2, 3])]
    XCTAssertEqual(try Executor(graph: g).run(x)["y"], try Executor(graph: byRuntime).run(x)["y"])
  }
}
