// LayoutTests: reshape, flatten, transpose, depthToSpace (DCR and CRD), concat, slice, identity and constant.
import MoeIR
import MoeTestSupport
import XCTest

@testable import MoeRuntime

final class LayoutTests: XCTestCase {
  func testReshapeWithZeroAndMinusOne() throws {
    let x = seededTensor(seed: 30, [2, 3, 4])
    for (target, shape) in [([0, -1], [2, 12]), ([-1], [24]), ([0, 0, 2, 2], [2, 3, 2, 2]), ([4, 0, -1], [4, 3, 2])] {
      let y = try runSingle(.reshape(shape: target), [x])
      XCTAssertEqual(y, Tensor(shape: shape, data: x.data), "reshape \(target)")
    }
  }

  func testFlattenEveryAxis() throws {
    let x = seededTensor(seed: 31, [2, 3, 4])
    for axis in -3...3 {
      let a = axis < 0 ? axis + 3 : axis
      let y = try runSingle(.flatten(axis: axis), [x])
      XCTAssertEqual(y, Tensor(shape: [elementCount(Array(x.shape[..<a])), elementCount(Array(x.shape[a...]))], data: x.data))
    }
  }

  func testTransposeRandomPerms() throws {
    var rng = SplitMix64(seed: 32)
    for _ in 0..<20 {
      let rank = rng.int(1...5)
      let shape = (0..<rank).map { _ in rng.int(1...4) }
      let perm = Array(0..<rank).shuffled(using: &rng)
      let x = rng.tensor(shape)
      XCTAssertEqual(try runSingle(.transpose(perm: perm), [x]), Naive.transpose(x, perm), "transpose \(shape) \(perm)")
    }
  }

  func testDepthToSpaceBothModes() throws {
    var rng = SplitMix64(seed: 33)
    for mode in DepthToSpaceMode.allCases {
      for b in [1, 2, 3] {
        let x = rng.tensor([rng.int(1...2), b * b * rng.int(1...3), rng.int(1...4), rng.int(1...4)])
        XCTAssertEqual(
          try runSingle(.depthToSpace(blockSize: b, mode: mode), [x]), Naive.depthToSpace(x, b, mode),
          "depthToSpace \(mode) b=\(b) \(x.shape)")
      }
    }
    // The two orders really differ: DCR takes block offsets from the outer channel groups, CRD from the inner.
    let x = Tensor(shape: [1, 8, 1, 1], data: (0..<8).map(Float.init))
    XCTAssertEqual(try runSingle(.depthToSpace(blockSize: 2, mode: .dcr), [x]).data, [0, 2, 4, 6, 1, 3, 5, 7])
    XCTAssertEqual(try runSingle(.depthToSpace(blockSize: 2, mode: .crd), [x]).data, [0, 1, 2, 3, 4, 5, 6, 7])
  }

  func testConcatOnSeveralAxes() throws {
    var rng = SplitMix64(seed: 34)
    let base = [2, 3, 4]
    for axis in 0..<3 {
      let parts = (0..<rng.int(1...3)).map { _ -> Tensor in
        var s = base
        s[axis] = rng.int(1...3)
        return rng.tensor(s)
      }
      XCTAssertEqual(try runSingle(.concat(axis: axis), parts), Naive.concat(parts, axis: axis), "concat axis \(axis)")
      XCTAssertEqual(try runSingle(.concat(axis: axis - 3), parts), Naive.concat(parts, axis: axis), "concat axis \(axis - 3)")
    }
  }

  func testSliceWithNegativeStartsAndSteps() throws {
    var rng = SplitMix64(seed: 35)
    let x = rng.tensor([4, 5, 6])
    let cases: [SliceAttrs] = [
      SliceAttrs(starts: [1], ends: [3], axes: [0], steps: [1]),
      SliceAttrs(starts: [-2], ends: [Int.max], axes: [1], steps: [1]),
      SliceAttrs(starts: [-1], ends: [Int.min], axes: [2], steps: [-1]),
      SliceAttrs(starts: [4, 0], ends: [0, 6], axes: [-1, 0], steps: [-2, 3]),
      SliceAttrs(starts: [10, -10, 1], ends: [-10, 10, -1], axes: [0, 1, 2], steps: [-1, 2, 2]),
      SliceAttrs(starts: [3], ends: [1], axes: [1], steps: [1]),
    ]
    for a in cases {
      XCTAssertEqual(try runSingle(.slice(a), [x]), Naive.slice(x, a), "slice \(a)")
    }
    for _ in 0..<20 {
      let axis = rng.int(0...2), n = x.shape[axis]
      let step = [-3, -2, -1, 1, 2, 3][rng.int(0...5)]
      let a = SliceAttrs(starts: [rng.int(-n - 2...n + 2)], ends: [rng.int(-n - 2...n + 2)], axes: [axis], steps: [step])
      XCTAssertEqual(try runSingle(.slice(a), [x]), Naive.slice(x, a), "slice \(a)")
    }
  }

  func testIdentityAndConstant() throws {
    let x = seededTensor(seed: 36, [2, 3])
    XCTAssertEqual(try runSingle(.identity, [x]), x)
    var g = Graph(name: "const")
    g.inputs = [ValueInfo(name: "x", shape: [2, 3])]
    g.add(.constant(Tensor(shape: [3], data: [1, 2, 3])), [], name: "c")
    g.add(.add, ["x", "c"], name: "y")
    g.outputs = ["y", "c"]
    let out = try Executor(graph: g).run(["x": x])
    XCTAssertEqual(out["c"], Tensor(shape: [3], data: [1, 2, 3]))
    XCTAssertEqual(out["y"], Naive.broadcast(x, out["c"]!, +))
  }
}
