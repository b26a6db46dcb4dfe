// ExecutorTests: memory plan reuse, intermediates, changing batch sizes, input errors, flop counts.
import MoeIR
import MoeTestSupport
import XCTest

@testable import MoeRuntime

final class ExecutorTests: XCTestCase {
  /// x[N,4,6,6] → conv → bn → relu → conv → add(x) → relu → conv(stride 2) → flatten → linear → tanh.
  func residualGraph(seed: UInt64) -> Graph {
    var rng = SplitMix64(seed: seed)
    var g = Graph(name: "residual")
    g.inputs = [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(4), .fixed(6), .fixed(6)]))]
    let same = ConvAttrs(pads: [1, 1, 1, 1])
    g.addWeight("w1", rng.tensor([4, 4, 3, 3], -0.5...0.5))
    g.addWeight("b1", rng.tensor([4]))
    for p in ["gamma", "beta", "mean"] { g.addWeight(p, rng.tensor([4])) }
    g.addWeight("var", rng.tensor([4], 0.5...1.5))
    g.addWeight("w2", rng.tensor([4, 4, 3, 3], -0.5...0.5))
    g.addWeight("w3", rng.tensor([2, 4, 3, 3], -0.5...0.5))
    g.addWeight("fc", rng.tensor([5, 18], -0.5...0.5))
    g.addWeight("fcb", rng.tensor([5]))
    g.add(.conv2d(same), ["x", "w1", "b1"], name: "c1")
    g.add(.batchNorm(eps: 2e-5), ["c1", "gamma", "beta", "mean", "var"], name: "bn1")
    g.add(.relu, ["bn1"], name: "r1")
    g.add(.conv2d(same), ["r1", "w2"], name: "c2")
    g.add(.add, ["c2", "x"], name: "sum")
    g.add(.relu, ["sum"], name: "r2")
    g.add(.conv2d(ConvAttrs(strides: [2, 2], pads: [1, 1, 1, 1])), ["r2", "w3"], name: "c3")
    g.add(.flatten(axis: 1), ["c3"], name: "flat")
    g.add(.linear(.plain), ["flat", "fc", "fcb"], name: "fc1")
    g.add(.tanh, ["fc1"], name: "out")
    g.outputs = ["out"]
    return g
  }

  func testMemoryPlanReusesArena() throws {
    let g = residualGraph(seed: 40)
    // Batch 8: activations, not the per-image im2col tile, dominate.
    let x = seededTensor(seed: 41, [8, 4, 6, 6])
    let e = try Executor(graph: g, options: ExecutorOptions(keepIntermediates: true))
    let all = try e.run(["x": x])
    XCTAssertEqual(Set(all.keys), Set(g.nodes.map { $0.outputs[0] }))
    let activationBytes = (all.values.reduce(0) { $0 + $1.count } + x.count) * 4
    XCTAssertGreaterThan(e.lastPeakArenaBytes, 0)
    XCTAssertLessThan(e.lastPeakArenaBytes, activationBytes, "the plan must reuse memory")
    // The plan's own invariant: buffers alive at the same step never overlap.
    var rng = SplitMix64(seed: 42)
    let requests = (0..<60).map { _ -> BufferRequest in
      let first = rng.int(0...20)
      return BufferRequest(count: rng.int(0...100), first: first, last: first + rng.int(0...5))
    }
    let plan = MemoryPlan(requests)
    for i in requests.indices {
      XCTAssertEqual(plan.offsets[i] % MemoryPlan.alignment, 0)
      XCTAssertLessThanOrEqual(plan.offsets[i] + requests[i].count, plan.arenaCount)
      for j in requests.indices where j != i && requests[i].overlapsInTime(requests[j]) {
        let disjoint = plan.offsets[i] + requests[i].count <= plan.offsets[j] || plan.offsets[j] + requests[j].count <= plan.offsets[i]
        XCTAssertTrue(disjoint || requests[i].count == 0 || requests[j].count == 0, "buffers \(i) and \(j) overlap")
      }
    }
  }

  func testIntermediatesEqualSubgraphRuns() throws {
    let g = residualGraph(seed: 43)
    let x = seededTensor(seed: 44, [2, 4, 6, 6])
    let all = try Executor(graph: g, options: ExecutorOptions(keepIntermediates: true)).run(["x": x])
    XCTAssertEqual(all["out"], try Executor(graph: g).run(["x": x])["out"])
    for (i, node) in g.nodes.enumerated() {
      var sub = g
      sub.nodes = Array(g.nodes[...i])
      sub.outputs = [node.outputs[0]]
      let used = Set(sub.nodes.flatMap(\.inputs))
      sub.weights = g.weights.filter { used.contains($0.name) }
      XCTAssertEqual(try Executor(graph: sub).run(["x": x])[node.outputs[0]], all[node.outputs[0]], "value \(node.outputs[0])")
    }
    // Checked against the naive loops too, for the first conv.
    let c1 = Naive.conv2d(x, g.initializers["w1"]!, g.initializers["b1"]!, ConvAttrs(pads: [1, 1, 1, 1]))
    assertClose(all["c1"]!, c1, convTolerance)
  }

  /// An output that a later in-place op overwrites, and an output that is a graph input.
  func testOutputsSurviveInPlaceReuse() throws {
    var g = Graph(name: "inplace")
    g.inputs = [ValueInfo(name: "x", shape: [2, 3])]
    g.add(.relu, ["x"], name: "r")
    g.add(.tanh, ["r"], name: "t")
    g.add(.reshape(shape: [-1]), ["t"], name: "flat")
    g.add(.sigmoid, ["flat"], name: "s")
    g.outputs = ["r", "s", "x", "t"]
    let x = Tensor(shape: [2, 3], data: [-1, 2, -3, 4, 0.5, -0.5])
    let out = try Executor(graph: g).run(["x": x])
    XCTAssertEqual(out["x"], x)
    XCTAssertEqual(out["r"]?.data, x.data.map { max($0, 0) })
    XCTAssertEqual(out["t"]?.data, out["r"]!.data.map { Kernels.unaryReference(.tanh, $0) })
    XCTAssertEqual(out["s"]?.shape, [6])
  }

  func testSameExecutorRunsBatchOneThenThree() throws {
    let g = residualGraph(seed: 45)
    let e = try Executor(graph: g)
    var rng = SplitMix64(seed: 46)
    let images = (0..<3).map { _ in rng.tensor([1, 4, 6, 6]) }
    let singles = try images.map { try e.run(["x": $0])["out"]! }
    let peakOne = e.lastPeakArenaBytes
    let batch = Tensor(shape: [3, 4, 6, 6], data: images.flatMap(\.data))
    let three = try e.run(["x": batch])["out"]!
    XCTAssertEqual(three.shape, [3, 5])
    XCTAssertGreaterThan(e.lastPeakArenaBytes, peakOne)
    for i in 0..<3 {
      assertClose(Tensor(shape: [1, 5], data: Array(three.data[(i * 5)..<(i * 5 + 5)])), singles[i], contractionTolerance, "image \(i)")
    }
    XCTAssertEqual(try e.run(["x": images[1]])["out"], singles[1])
    XCTAssertEqual(e.lastPeakArenaBytes, peakOne)
  }

  func testInputErrorsNameTheInput() throws {
    let e = try Executor(graph: residualGraph(seed: 47))
    XCTAssertThrowsError(try e.run([:])) { error in
      let d = String(describing: error)
      XCTAssertTrue(error is RuntimeError)
      XCTAssertTrue(d.contains("input 'x'") && d.contains("missing") && d.contains("[N,4,6,6]"), d)
    }
    XCTAssertThrowsError(try e.run(["x": Tensor(zeros: [2, 3, 6, 6])])) { error in
      let d = String(describing: error)
      XCTAssertTrue(d.contains("input 'x'") && d.contains("[2,3,6,6]") && d.contains("[N,4,6,6]"), d)
    }
    XCTAssertThrowsError(try e.run(["x": Tensor(zeros: [4, 6, 6])])) { error in
      XCTAssertTrue(String(describing: error).contains("input 'x'"))
    }
    XCTAssertThrowsError(try e.run(["x": Tensor(zeros: [1, 4, 6, 6]), "y": Tensor(zeros: [1])])) { error in
      XCTAssertTrue(String(describing: error).contains("input 'y'"))
    }
  }

  func testInconsistentBatchAcrossInputs() throws {
    var g = Graph(name: "two")
    g.inputs = [
      ValueInfo(name: "a", shape: Shape([.symbol("N"), .fixed(2)])), ValueInfo(name: "b", shape: Shape([.symbol("N"), .fixed(2)])),
    ]
    g.add(.add, ["a", "b"], name: "s")
    g.outputs = ["s"]
    let e = try Executor(graph: g)
    XCTAssertThrowsError(try e.run(["a": Tensor(zeros: [1, 2]), "b": Tensor(zeros: [3, 2])])) { error in
      XCTAssertTrue(String(describing: error).contains("input 'b'"), String(describing: error))
    }
  }

  func testMalformedGraphIsRejected() {
    var g = residualGraph(seed: 48)
    g.initializers["w2"] = nil
    XCTAssertThrowsError(try Executor(graph: g)) { error in
      XCTAssertTrue(error is IRError)
      XCTAssertTrue(String(describing: error).contains("w2"))
    }
  }

  func testFlopsCountContractions() throws {
    let e = try Executor(graph: residualGraph(seed: 49))
    // Two 3x3 4→4 convs at 6x6, one 3x3 4→2 conv at 3x3, linear 18→5.
    let perImage = 2 * (2 * 4 * 36 * 4 * 9 + 2 * 9 * 4 * 9 + 5 * 18)
    XCTAssertEqual(e.flopsPerRun(batch: 1), perImage)
    XCTAssertEqual(e.flopsPerRun(batch: 7), 7 * perImage)
  }
}

extension Kernels {
  /// One element through the unary kernel, for comparisons in tests.
  static func unaryReference(_ f: UnaryFunction, _ v: Float) -> Float {
    var x = v, y: Float = 0
    unary(f, count: 1, x: &x, y: &y)
    return y
  }
}
