// ElementwiseTests: broadcasting add/sub/mul, activations (incl. extreme inputs) and inference batch norm.
import Foundation
import MoeIR
import MoeTestSupport
import XCTest

@testable import MoeRuntime

final class ElementwiseTests: XCTestCase {
  func testBroadcastingBinaryOps() throws {
    var rng = SplitMix64(seed: 20)
    let pairs: [([Int], [Int])] = [
      ([2, 3, 4, 5], [2, 3, 4, 5]), ([2, 3, 4, 5], [3, 1, 1]), ([1], [2, 3, 4]), ([2, 3, 4], [1]),
      ([2, 1, 4, 1], [1, 3, 1, 5]), ([3, 1], [4]), ([5], [2, 1, 5]), ([], [2, 2]), ([2, 3, 1, 1], [2, 3, 4, 5]),
    ]
    let ops: [(Op, (Float, Float) -> Float)] = [(.add, { $0 + $1 }), (.sub, { $0 - $1 }), (.mul, { $0 * $1 })]
    for (op, f) in ops {
      for (sa, sb) in pairs {
        let a = rng.tensor(sa), b = rng.tensor(sb)
        assertClose(try runSingle(op, [a, b]), Naive.broadcast(a, b, f), elementwiseTolerance, "\(op.name) \(sa) \(sb)")
        // The same with the second operand as a weight (constant storage, no in-place on it).
        assertClose(
          try runSingle(op, [a, b], weights: [1]), Naive.broadcast(a, b, f), elementwiseTolerance,
          "\(op.name) \(sa) \(sb) weight")
      }
    }
  }

  /// Outputs large enough to be split over the workers (row ranges, element ranges of one row, flat `where`),
  /// against naive loops, on 1, 2 and 3 threads.
  func testLargeElementwiseOpsSplitOverWorkersMatchNaiveLoops() throws {
    var rng = SplitMix64(seed: 29)
    let pairs: [([Int], [Int])] = [
      ([4, 64, 32, 32], [4, 64, 32, 32]), ([4, 64, 32, 32], [1, 64, 1, 1]), ([4, 64, 32, 32], [1]),
      ([1], [3, 70_000]), ([5, 1, 300], [1, 80, 300]), ([70_001], [70_001]),
    ]
    let ops: [(Op, (Float, Float) -> Float)] = [(.add, { $0 + $1 }), (.mul, { $0 * $1 }), (.binary(.greater), { $0 > $1 ? 1 : 0 })]
    for threads in [1, 2, 3] {
      for (op, f) in ops {
        for (sa, sb) in pairs {
          let a = rng.tensor(sa), b = rng.tensor(sb)
          var g = Graph(name: "large")
          g.inputs = [ValueInfo(name: "a", shape: Shape(sa)), ValueInfo(name: "b", shape: Shape(sb))]
          g.add(op, ["a", "b"], name: "y")
          let comparison = op == .binary(.greater)
          if comparison { g.add(.cast(.float32), ["y"], name: "f") }
          g.add(.relu, [comparison ? "f" : "y"], name: "r")
          g.outputs = ["y", "r"]
          let out = try Executor(graph: g, options: ExecutorOptions(threads: threads)).run(["a": a, "b": b])
          let want = Naive.broadcast(a, b, f)
          assertClose(out["y"]!, want, elementwiseTolerance, "\(op.name) \(sa) \(sb) threads \(threads)")
          assertClose(out["r"]!, Tensor(shape: want.shape, data: want.data.map { max($0, 0) }), elementwiseTolerance)
        }
      }
      // where(c, a, b) with every operand full-size or one element.
      let shape = [8, 32, 32, 32]
      let c = Tensor(shape: shape, data: (0..<elementCount(shape)).map { _ in Float(rng.int(0...1)) })
      let a = rng.tensor(shape), b = rng.tensor([1])
      var g = Graph(name: "where")
      g.inputs = [ValueInfo(name: "c", dtype: .bool, shape: Shape(shape)), ValueInfo(name: "a", shape: Shape(shape)),
                  ValueInfo(name: "b", shape: [1])]
      g.add(.select, ["c", "a", "b"], name: "y")
      g.add(.select, ["c", "b", "a"], name: "z")
      g.outputs = ["y", "z"]
      let out = try Executor(graph: g, options: ExecutorOptions(threads: threads)).run(["c": c, "a": a, "b": b])
      XCTAssertEqual(out["y"]!.data, (0..<c.count).map { c.data[$0] != 0 ? a.data[$0] : b.data[0] })
      XCTAssertEqual(out["z"]!.data, (0..<c.count).map { c.data[$0] != 0 ? b.data[0] : a.data[$0] })
    }
  }

  func testSameValueOnBothSides() throws {
    var g = Graph(name: "square")
    g.inputs = [ValueInfo(name: "x", shape: [3, 4])]
    g.add(.mul, ["x", "x"], name: "sq")
    g.outputs = ["sq"]
    let x = seededTensor(seed: 21, [3, 4])
    let y = try Executor(graph: g).run(["x": x])["sq"]!
    assertClose(y, Tensor(shape: x.shape, data: x.data.map { $0 * $0 }), elementwiseTolerance)
  }

  func testActivations() throws {
    var rng = SplitMix64(seed: 22)
    var x = rng.tensor([2, 3, 4, 5], -6...6)
    x.data[0...5] = [100, -100, 0, 30, -30, 88]
    let cases: [(Op, (Float) -> Float)] = [
      (.relu, { max($0, 0) }),
      (.leakyRelu(alpha: 0.2), { $0 >= 0 ? $0 : 0.2 * $0 }),
      (.tanh, { Float(Foundation.tanh(Double($0))) }),
      (.sigmoid, { Float(1 / (1 + Foundation.exp(-Double($0)))) }),
      (.softplus, { Float(Foundation.log1p(Foundation.exp(Double($0)))) }),
    ]
    for (op, f) in cases {
      let got = try runSingle(op, [x])
      XCTAssertTrue(got.data.allSatisfy { $0.isFinite }, "\(op.name) must stay finite for ±100")
      // Relative per element: tiny values (softplus(−100) ≈ 3.7e−44) must come out right too.
      for i in 0..<x.count {
        let want = f(x.data[i]), diff = abs(got.data[i] - want)
        XCTAssertLessThanOrEqual(
          diff, activationTolerance * max(abs(want), 1e-30) + 1e-37,
          "\(op.name)(\(x.data[i])) = \(got.data[i]), want \(want)")
      }
    }
  }

  func testBatchNormInference() throws {
    var rng = SplitMix64(seed: 23)
    for shape in [[2, 3, 4, 5], [3, 6], [1, 2, 7]] {
      let c = shape[1]
      let x = rng.tensor(shape), gamma = rng.tensor([c]), beta = rng.tensor([c]), mean = rng.tensor([c])
      let variance = rng.tensor([c], 0.1...2)
      let eps: Float = 2e-5
      let got = try runSingle(.batchNorm(eps: eps), [x, gamma, beta, mean, variance], weights: [1, 2, 3, 4])
      let inner = elementCount(Array(shape.dropFirst(2)))
      var want = x
      for i in 0..<x.count {
        let ch = (i / inner) % c
        want.data[i] = (x.data[i] - mean.data[ch]) / (variance.data[ch] + eps).squareRoot() * gamma.data[ch] + beta.data[ch]
      }
      assertClose(got, want, elementwiseTolerance * 4, "batchNorm \(shape)")
    }
  }
}
