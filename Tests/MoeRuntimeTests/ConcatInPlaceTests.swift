// ConcatInPlaceTests: concat inputs written straight into the concat's output by their producers (ExecutionPlan),
// against plain array code, at batch 1 (in place) and batch 3 (copied), with the cases that must not be placed.
import MoeIR
import MoeTestSupport
import XCTest

@testable import MoeRuntime

final class ConcatInPlaceTests: XCTestCase {
  /// x (N, 2, 3, 3):
  ///   a = relu(x), b = neg(x), c1 = concat(a, b) — both placed;
  ///   e = relu(b) after c1 (b's storage is c1's: e must not overwrite it);
  ///   c2 = concat(a, a, c1) — a twice and already claimed, c1 claimed: a is copied, c1 placed;
  ///   s = reshape(e) (an alias), c3 = concat(s, x) along axis 2 — s is an alias, x a graph input: both copied
  ///   (and at batch 1 the channels before axis 2 are not 1: no run per input);
  ///   outputs a, c1, c2, e, c3.
  func graph() -> Graph {
    var g = Graph(name: "concats")
    g.inputs = [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(2), .fixed(3), .fixed(3)]))]
    g.add(.relu, ["x"], name: "a")
    g.add(.unary(.neg), ["x"], name: "b")
    g.add(.concat(axis: 1), ["a", "b"], name: "c1")
    g.add(.relu, ["b"], name: "e")
    g.add(.concat(axis: 1), ["a", "a", "c1"], name: "c2")
    g.add(.reshape(shape: [-1, 2, 3, 3]), ["e"], name: "s")
    g.add(.concat(axis: 2), ["s", "x"], name: "c3")
    g.outputs = ["a", "c1", "c2", "e", "c3"]
    return g
  }

  /// Concatenation of (N, C_k, H, W)-shaped arrays along `axis` (1 or 2).
  func concat(_ parts: [[Float]], shapes: [[Int]], axis: Int) -> [Float] {
    let n = shapes[0][0]
    var out: [Float] = []
    for i in 0..<n {
      if axis == 1 {
        for (p, s) in zip(parts, shapes) { let size = s[1] * s[2] * s[3]; out += p[(i * size)..<((i + 1) * size)] }
      } else {
        for c in 0..<shapes[0][1] {
          for (p, s) in zip(parts, shapes) {
            let size = s[2] * s[3], base = (i * s[1] + c) * size
            out += p[base..<(base + size)]
          }
        }
      }
    }
    return out
  }

  func testConcatInputsMadeInPlaceMatchPlainArrays() throws {
    let g = graph()
    let e = try Executor(graph: g, options: ExecutorOptions(threads: 2))
    for n in [1, 3, 1] {
      let x = seededTensor(seed: UInt64(60 + n), [n, 2, 3, 3])
      let shape = [n, 2, 3, 3]
      let a = x.data.map { max($0, 0) }, b = x.data.map { -$0 }, ee = b.map { max($0, 0) }
      let c1 = concat([a, b], shapes: [shape, shape], axis: 1)
      let c2 = concat([a, a, c1], shapes: [shape, shape, [n, 4, 3, 3]], axis: 1)
      let c3 = concat([ee, x.data], shapes: [shape, shape], axis: 2)
      let out = try e.run(["x": x])
      XCTAssertEqual(out["a"]?.data, a, "batch \(n)")
      XCTAssertEqual(out["e"]?.data, ee, "batch \(n)")
      XCTAssertEqual(out["c1"], Tensor(shape: [n, 4, 3, 3], data: c1), "batch \(n)")
      XCTAssertEqual(out["c2"], Tensor(shape: [n, 8, 3, 3], data: c2), "batch \(n)")
      XCTAssertEqual(out["c3"], Tensor(shape: [n, 2, 6, 3], data: c3), "batch \(n)")

      // Which inputs were placed: at batch 1, a and b into c1 and c1 into c2; none at batch 3 (N rows per input).
      var shapes: [String: [Int]] = ["x": shape]
      for node in g.nodes {
        shapes[node.outputs[0]] = try node.op.inferShapes(node.inputs.map { Shape(shapes[$0]!) })[0].fixed!
      }
      let placed = ExecutionPlan.concatInputsInPlace(g, shapes: shapes)
      if n == 1 {
        XCTAssertEqual(Set(placed.keys), ["a", "b", "c1"])
        XCTAssertEqual(placed["b"]?.offset, 18)
        XCTAssertEqual(placed["c1"]?.offset, 36)
      } else {
        XCTAssertTrue(placed.isEmpty, "\(placed)")
      }
    }
  }

  /// A U-Net-like graph: convs whose outputs feed a channel concat, then a conv over it, at batch 1 and 2, against
  /// the naive loops, on 1 and 2 threads.
  func testConvOutputsWrittenIntoConcat() throws {
    var rng = SplitMix64(seed: 64)
    var g = Graph(name: "unet-like")
    g.inputs = [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(3), .fixed(8), .fixed(8)]))]
    let same = ConvAttrs(pads: [1, 1, 1, 1])
    g.addWeight("w1", rng.tensor([5, 3, 3, 3]))
    g.addWeight("w2", rng.tensor([4, 5, 3, 3]))
    g.addWeight("w3", rng.tensor([2, 9, 3, 3]))
    g.add(.conv2d(same), ["x", "w1"], name: "h1")
    g.add(.conv2d(same), ["h1", "w2"], name: "h2")
    g.add(.concat(axis: 1), ["h2", "h1"], name: "cat")
    g.add(.conv2d(same), ["cat", "w3"], name: "y")
    g.outputs = ["y"]
    for n in [1, 2] {
      let x = rng.tensor([n, 3, 8, 8])
      let h1 = Naive.conv2d(x, g.initializers["w1"]!, nil, same)
      let h2 = Naive.conv2d(h1, g.initializers["w2"]!, nil, same)
      let cat = Tensor(shape: [n, 9, 8, 8], data: concat([h2.data, h1.data], shapes: [h2.shape, h1.shape], axis: 1))
      let want = Naive.conv2d(cat, g.initializers["w3"]!, nil, same)
      for threads in [1, 2] {
        let got = try Executor(graph: g, options: ExecutorOptions(threads: threads)).run(["x": x])["y"]!
        assertClose(got, want, convTolerance, "batch \(n), \(threads) threads")
      }
    }
  }
}
