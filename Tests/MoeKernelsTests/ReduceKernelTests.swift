// ReduceKernelTests: reductions over every axis set of a 4-D tensor, sum-to, softmax and the statistics norms against the Executor.
import MoeIR
import MoeKernels
import MoeTestSupport
import XCTest

final class ReduceKernelTests: XCTestCase {
  /// Runs moe_reduce of `x` into `outShape` with the output strides of each input axis.
  func reduce(_ code: Int32, _ x: Tensor, outStrides: [Int], outShape: [Int]) -> [Float] {
    let count = outShape.reduce(1, *)
    var y = [Float](repeating: .nan, count: count)
    var scratch = [Double](repeating: .nan, count: max(count, 1))
    let g = stridedGeometry(x.shape, [outStrides])
    x.data.withUnsafeBufferPointer { xp in
      g.withUnsafeBufferPointer { gp in
        y.withUnsafeMutableBufferPointer { yp in
          scratch.withUnsafeMutableBytes { sp in
            moe_reduce(code, xp.baseAddress!, yp.baseAddress!, gp.baseAddress!, Int32(count), sp.baseAddress!)
          }
        }
      }
    }
    return y
  }

  func testEveryAxisSetOfA4DTensorMatchesExecutor() throws {
    var rng = SplitMix64(seed: 31)
    let x = rng.tensor([2, 3, 4, 5], -2...2)
    let functions: [(Int32, ReduceFunction)] = [(0, .sum), (1, .mean), (2, .max), (3, .min)]
    for mask in 1..<16 {
      let axes = (0..<4).filter { mask & (1 << $0) != 0 }
      let kept = (0..<4).filter { !axes.contains($0) }.map { x.shape[$0] }
      let ks = contiguous(kept)
      var k = 0
      let outStrides = (0..<4).map { axes.contains($0) ? 0 : { defer { k += 1 }; return ks[k] }() }
      for (code, f) in functions {
        for keep in [false, true] {
          let want = try executor(.reduce(f, axes: axes, keepDims: keep), [x])
          assertClose(reduce(code, x, outStrides: outStrides, outShape: want.shape), want.data, elementwiseTolerance, "\(f) \(axes) keep \(keep)")
        }
      }
    }
  }

  func testSumToMatchesExecutor() throws {
    var rng = SplitMix64(seed: 32)
    for (xs, like) in [([2, 3, 4, 5], [3, 1, 1]), ([2, 3, 4, 5], [5]), ([2, 3, 4, 5], [2, 1, 4, 1]), ([2, 3], [1])] {
      let x = rng.tensor(xs), l = rng.tensor(like)
      let ls = broadcastStrides(like, to: like), lead = xs.count - like.count
      let outStrides = xs.indices.map { $0 < lead ? 0 : ls[$0 - lead] }
      assertClose(reduce(0, x, outStrides: outStrides, outShape: like), try executor(.sumTo, [x, l]).data, elementwiseTolerance, "sum_to \(xs) → \(like)")
    }
  }

  func testSoftmaxMatchesExecutor() throws {
    var rng = SplitMix64(seed: 33)
    let x = rng.tensor([2, 3, 4, 5], -6...6)
    for axis in 0..<4 {
      for log in [false, true] {
        let want = try executor(log ? .logSoftmax(axis: axis) : .softmax(axis: axis), [x])
        var y = [Float](repeating: .nan, count: x.count)
        let outer = x.shape[..<axis].reduce(1, *), inner = x.shape[(axis + 1)...].reduce(1, *)
        x.data.withUnsafeBufferPointer { xp in
          y.withUnsafeMutableBufferPointer { yp in
            moe_softmax(xp.baseAddress!, yp.baseAddress!, Int32(outer), Int32(x.shape[axis]), Int32(inner), log ? 1 : 0)
          }
        }
        assertClose(y, want.data, mathTolerance * 4, "\(log ? "log_softmax" : "softmax") axis \(axis)")
      }
    }
  }

  func testGroupAndInstanceNormMatchExecutor() throws {
    var rng = SplitMix64(seed: 34)
    let x = rng.tensor([2, 6, 4, 5], -3...3), scale = rng.tensor([6]), bias = rng.tensor([6])
    for (groups, op) in [(1, Op.groupNorm(groups: 1, eps: 1e-5)), (3, .groupNorm(groups: 3, eps: 1e-5)), (6, .instanceNorm(eps: 1e-5))] {
      var y = [Float](repeating: .nan, count: x.count)
      withPointers([x.data, scale.data, bias.data]) { p in
        y.withUnsafeMutableBufferPointer { yp in moe_group_norm(p[0]!, p[1]!, p[2]!, yp.baseAddress!, 2, 6, 20, Int32(groups), 1e-5) }
      }
      assertClose(y, try executor(op, [x, scale, bias]).data, elementwiseTolerance * 2, "\(op)")
    }
  }

  func testBatchNormTrainingMatchesExecutorOnAllThreeOutputs() throws {
    var rng = SplitMix64(seed: 35)
    let x = rng.tensor([3, 4, 5, 6], -3...3), gamma = rng.tensor([4]), beta = rng.tensor([4])
    let want = try executorOutputs(.batchNormTraining(eps: 2e-5), [x, gamma, beta])
    var y = [Float](repeating: .nan, count: x.count), mean = [Float](repeating: .nan, count: 4), variance = mean
    withPointers([x.data, gamma.data, beta.data]) { p in
      y.withUnsafeMutableBufferPointer { yp in
        mean.withUnsafeMutableBufferPointer { mp in
          variance.withUnsafeMutableBufferPointer { vp in
            moe_batch_norm_training(p[0]!, p[1]!, p[2]!, yp.baseAddress!, mp.baseAddress!, vp.baseAddress!, 3, 4, 30, 2e-5)
          }
        }
      }
    }
    assertClose(y, want[0].data, elementwiseTolerance * 2, "batch_norm_training y")
    assertClose(mean, want[1].data, elementwiseTolerance, "batch_norm_training mean")
    assertClose(variance, want[2].data, elementwiseTolerance, "batch_norm_training variance")
  }

  private func contiguous(_ shape: [Int]) -> [Int] {
    var s = [Int](repeating: 1, count: shape.count)
    for i in shape.indices.reversed().dropFirst() { s[i] = s[i + 1] * shape[i + 1] }
    return s
  }
}
