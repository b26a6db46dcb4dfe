// VariableTests: multi-output nodes and variables (weights) updated in place between runs of one executor.
import MoeIR
import MoeNativeShim
import MoeTestSupport
import XCTest

@testable import MoeRuntime

final class VariableTests: XCTestCase {
  /// x → conv(W, b) → batch_norm_training(gamma, beta) → (y, mean, var); y → relu.
  func trainingGraph(_ rng: inout SplitMix64) -> Graph {
    var g = Graph(name: "bn-training")
    g.inputs = [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(3), .fixed(5), .fixed(5)]))]
    g.addWeight("W", rng.tensor([4, 3, 3, 3], -0.5...0.5))
    g.addWeight("b", rng.tensor([4]))
    g.addWeight("gamma", rng.tensor([4], 0.5...1.5))
    g.addWeight("beta", rng.tensor([4]))
    g.add(.conv2d(ConvAttrs(pads: [1, 1, 1, 1])), ["x", "W", "b"], name: "c")
    g.nodes.append(Node(name: "bn", op: .batchNormTraining(eps: 2e-5), inputs: ["c", "gamma", "beta"], outputs: ["y", "mean", "var"]))
    g.add(.relu, ["y"], name: "r")
    g.outputs = ["r", "mean", "var"]
    return g
  }

  /// The same computation from the naive references: conv, then per-channel batch statistics.
  func reference(_ g: Graph, _ x: Tensor) -> (Tensor, [Float], [Float]) {
    let c = Naive.conv2d(x, g.initializers["W"]!, g.initializers["b"]!, ConvAttrs(pads: [1, 1, 1, 1]))
    let (n, ch, inner) = (c.shape[0], c.shape[1], c.shape[2] * c.shape[3])
    var mean = [Float](repeating: 0, count: ch), variance = mean
    var y = c
    for k in 0..<ch {
      var s = 0.0, sq = 0.0
      for i in 0..<n { for j in 0..<inner { s += Double(c.data[(i * ch + k) * inner + j]) } }
      let m = s / Double(n * inner)
      for i in 0..<n { for j in 0..<inner { let d = Double(c.data[(i * ch + k) * inner + j]) - m; sq += d * d } }
      let v = sq / Double(n * inner)
      mean[k] = Float(m)
      variance[k] = Float(v)
      let scale = Double(g.initializers["gamma"]!.data[k]) / (v + 2e-5).squareRoot()
      for i in 0..<n {
        for j in 0..<inner {
          let o = (i * ch + k) * inner + j
          y.data[o] = max(0, Float((Double(c.data[o]) - m) * scale + Double(g.initializers["beta"]!.data[k])))
        }
      }
    }
    return (y, mean, variance)
  }

  func testMultiOutputBatchNormTrainingAndInPlaceUpdates() throws {
    var rng = SplitMix64(seed: 70)
    var g = trainingGraph(&rng)
    let x = rng.tensor([3, 3, 5, 5])
    let e = try Executor(graph: g)
    for step in 0..<3 {
      let out = try e.run(["x": x])
      let (y, mean, variance) = reference(g, x)
      assertClose(out["r"]!, y, 1e-5, "y at step \(step)")
      assertClose(out["mean"]!, Tensor(shape: [4], data: mean), 1e-5, "mean at step \(step)")
      assertClose(out["var"]!, Tensor(shape: [4], data: variance), 1e-5, "var at step \(step)")
      // Update the weights in place: a set and an in-place change, as an optimizer would.
      let newW = rng.tensor([4, 3, 3, 3], -0.5...0.5)
      try e.setVariable("W", newW)
      g.initializers["W"] = newW
      try e.updateVariable("gamma") { buffer in for i in buffer.indices { buffer[i] *= 1.5 } }
      g.initializers["gamma"]!.data = g.initializers["gamma"]!.data.map { $0 * 1.5 }
      XCTAssertEqual(try e.variable("gamma"), g.initializers["gamma"]!)
    }
  }

  func testFetchAnyValueAndVariableErrors() throws {
    var rng = SplitMix64(seed: 71)
    let g = trainingGraph(&rng)
    let e = try Executor(graph: g)
    let x = rng.tensor([2, 3, 5, 5])
    let out = try e.run(["x": x], fetch: ["c", "y", "W"])
    XCTAssertEqual(out["W"], g.initializers["W"])
    assertClose(out["c"]!, Naive.conv2d(x, g.initializers["W"]!, g.initializers["b"]!, ConvAttrs(pads: [1, 1, 1, 1])), 1e-5)
    XCTAssertThrowsError(try e.run(["x": x], fetch: ["nope"])) { XCTAssertTrue("\($0)".contains("'nope'")) }
    XCTAssertThrowsError(try e.setVariable("W", Tensor(zeros: [2]))) { XCTAssertTrue("\($0)".contains("shape [2]")) }
    XCTAssertThrowsError(try e.variable("x")) { XCTAssertTrue("\($0)".contains("not a weight")) }
  }
}

/// A Winograd conv keeps its transformed weights across runs: correct on the second run, and recomputed after
/// `setVariable` / `updateVariable` (never stale), against the naive loops.
final class PreparedWeightsTests: XCTestCase {
  func testWinogradWeightsKeptAcrossRunsAndRefreshedOnUpdate() throws {
    var rng = SplitMix64(seed: 81)
    var g = Graph(name: "wino")
    g.inputs = [ValueInfo(name: "x", shape: [1, 16, 24, 24])]
    g.addWeight("w", rng.tensor([20, 16, 3, 3]))
    g.addWeight("b", rng.tensor([20]))
    g.add(.conv2d(ConvAttrs(pads: [1, 1, 1, 1])), ["x", "w", "b"], name: "y")
    g.outputs = ["y"]
    let e = try Executor(graph: g)
    let x = rng.tensor([1, 16, 24, 24])
    let geometry = ConvGeometry.conv(ConvAttrs(pads: [1, 1, 1, 1]), x: x.shape, w: [20, 16, 3, 3], y: [1, 20, 24, 24],
                                     hasBias: true, workers: 2)
    XCTAssertTrue(geometry.isWinograd, "the test needs the Winograd path")
    let attrs = ConvAttrs(pads: [1, 1, 1, 1])
    for round in 0..<2 {
      let want = Naive.conv2d(x, try e.variable("w"), try e.variable("b"), attrs)
      for run in 0..<2 { assertClose(try e.run(["x": x])["y"]!, want, convTolerance, "round \(round) run \(run)") }
      if round == 0 { try e.setVariable("w", rng.tensor([20, 16, 3, 3])) }
    }
    try e.updateVariable("w") { buffer in for i in buffer.indices { buffer[i] *= -0.5 } }
    assertClose(try e.run(["x": x])["y"]!, Naive.conv2d(x, try e.variable("w"), try e.variable("b"), attrs), convTolerance,
                "after updateVariable")
  }

  /// The blocked kernels' re-laid weights (a 4×4 stride-2 conv and a stride-2 transposed conv at batch 1) likewise.
  func testBlockedWeightsKeptAcrossRunsAndRefreshedOnUpdate() throws {
    var rng = SplitMix64(seed: 82)
    var g = Graph(name: "blocked")
    g.inputs = [ValueInfo(name: "x", shape: [1, 8, 16, 16])]
    let down = ConvAttrs(strides: [2, 2], pads: [1, 1, 1, 1]), up = ConvTransposeAttrs(strides: [2, 2], pads: [1, 1, 1, 1])
    g.addWeight("w", rng.tensor([32, 8, 4, 4]))
    g.addWeight("wt", rng.tensor([32, 40, 4, 4]))
    g.add(.conv2d(down), ["x", "w"], name: "h")
    g.add(.convTranspose2d(up), ["h", "wt"], name: "y")
    g.outputs = ["h", "y"]
    let e = try Executor(graph: g)
    let x = rng.tensor([1, 8, 16, 16])
    let blocked = moe_blocked_conv_block() > 0
    XCTAssertEqual(ConvGeometry.conv(down, x: x.shape, w: [32, 8, 4, 4], y: [1, 32, 8, 8], hasBias: false, workers: 2).isBlocked, blocked)
    XCTAssertEqual(ConvGeometry.convTranspose(up, x: [1, 32, 8, 8], w: [32, 40, 4, 4], y: [1, 40, 16, 16], hasBias: false,
                                              workers: 2).isBlocked, blocked)
    for round in 0..<3 {
      let h = Naive.conv2d(x, try e.variable("w"), nil, down)
      let y = Naive.convTranspose2d(h, try e.variable("wt"), nil, up)
      for run in 0..<2 {
        let out = try e.run(["x": x])
        assertClose(out["h"]!, h, convTolerance, "round \(round) run \(run)")
        assertClose(out["y"]!, y, convTolerance, "round \(round) run \(run)")
      }
      if round == 0 { try e.setVariable("w", rng.tensor([32, 8, 4, 4])) }
      if round == 1 { try e.updateVariable("wt") { b in for i in b.indices { b[i] = -b[i] } } }
    }
  }
}
