// ElementwiseKernelTests: unary, binary, batch norm and depth-to-space kernels against the Executor and libm.
import Foundation
import MoeIR
import MoeKernels
import MoeTestSupport
import XCTest

final class ElementwiseKernelTests: XCTestCase {
  func unary(_ op: Int32, _ x: [Float], alpha: Float = 0) -> [Float] {
    var y = [Float](repeating: .nan, count: x.count)
    x.withUnsafeBufferPointer { xp in
      y.withUnsafeMutableBufferPointer { yp in moe_unary(op, xp.baseAddress!, yp.baseAddress!, Int32(x.count), alpha) }
    }
    return y
  }

  func testActivationsMatchExecutor() throws {
    var rng = SplitMix64(seed: 21)
    let x = rng.tensor([2, 3, 5, 7], -12...12)
    let cases: [(Int32, Op)] = [(1, .relu), (2, .leakyRelu(alpha: 0.2)), (3, .tanh), (4, .sigmoid), (5, .softplus)]
    for (code, op) in cases {
      let want = try executor(op, [x])
      assertClose(unary(code, x.data, alpha: 0.2), want.data, mathTolerance, "\(op)")
    }
  }

  /// Relative accuracy of the portable math over a wide range, including tiny and huge arguments.
  func testMathAccuracy() {
    var xs: [Float] = [0, -0.0, 1e-30, -1e-30, 1e-8, -1e-8, 0.3, -0.3, 88, -88, 100, -100, 1e6, -1e6]
    var rng = SplitMix64(seed: 22)
    for _ in 0..<4000 { xs.append(Float.random(in: -30...30, using: &rng)) }
    for _ in 0..<1000 { xs.append(Float.random(in: -1e-3...1e-3, using: &rng)) }
    let tanhs = unary(3, xs), sigmoids = unary(4, xs), softpluses = unary(5, xs)
    for (i, x) in xs.enumerated() {
      let t = Float(Foundation.tanh(Double(x))), s = Float(1 / (1 + Foundation.exp(-Double(x))))
      let sp = Float(Double(x) > 0 ? Double(x) + Foundation.log1p(Foundation.exp(-Double(x))) : Foundation.log1p(Foundation.exp(Double(x))))
      XCTAssertLessThanOrEqual(abs(tanhs[i] - t), 4e-7 * max(abs(t), 1e-30) + 1e-38, "tanh(\(x))")
      XCTAssertLessThanOrEqual(abs(sigmoids[i] - s), 4e-7 * s + 1e-38, "sigmoid(\(x))")
      XCTAssertLessThanOrEqual(abs(softpluses[i] - sp), 4e-7 * sp + 1e-38, "softplus(\(x))")
    }
  }

  func testBinaryModesMatchExecutor() throws {
    var rng = SplitMix64(seed: 23)
    let a = rng.tensor([2, 3, 4, 5])
    let operands: [(Tensor, Int32)] = [(rng.tensor([2, 3, 4, 5]), 0), (rng.tensor([1, 3, 1, 1]), 1), (rng.tensor([1]), 2)]
    for (opCode, op) in [(Int32(0), Op.add), (1, .sub), (2, .mul)] {
      for (b, mode) in operands {
        for swap: Int32 in [0, 1] where !(swap == 1 && mode == 0) {
          let want = try executor(op, swap == 1 ? [b, a] : [a, b])
          var y = [Float](repeating: .nan, count: a.count)
          withPointers([a.data, b.data]) { p in
            y.withUnsafeMutableBufferPointer { yp in
              moe_binary(opCode, p[0]!, p[1]!, yp.baseAddress!, 2, 3, 20, mode, swap)
            }
          }
          assertClose(y, want.data, elementwiseTolerance, "\(op) mode \(mode) swap \(swap)")
        }
      }
    }
  }

  func testBatchNormMatchesExecutor() throws {
    var rng = SplitMix64(seed: 24)
    let x = rng.tensor([2, 4, 3, 3]), gamma = rng.tensor([4]), beta = rng.tensor([4]), mean = rng.tensor([4])
    let variance = rng.tensor([4], 0.1...2)
    let want = try executor(.batchNorm(eps: 2e-5), [x, gamma, beta, mean, variance], weights: [1, 2, 3, 4])
    var y = [Float](repeating: .nan, count: x.count)
    withPointers([x.data, gamma.data, beta.data, mean.data, variance.data]) { p in
      y.withUnsafeMutableBufferPointer { yp in
        moe_batch_norm(p[0]!, p[1]!, p[2]!, p[3]!, p[4]!, yp.baseAddress!, 2, 4, 9, 2e-5)
      }
    }
    assertClose(y, want.data, elementwiseTolerance, "batch_norm")
  }

  func testDepthToSpaceMatchesExecutor() throws {
    var rng = SplitMix64(seed: 25)
    for (mode, code) in [(DepthToSpaceMode.dcr, Int32(0)), (.crd, 1)] {
      for b in [2, 3] {
        let x = rng.tensor([2, 2 * b * b, 3, 4])
        let want = try executor(.depthToSpace(blockSize: b, mode: mode), [x])
        var y = [Float](repeating: .nan, count: x.count)
        x.data.withUnsafeBufferPointer { xp in
          y.withUnsafeMutableBufferPointer { yp in
            moe_depth_to_space(xp.baseAddress!, yp.baseAddress!, 2, Int32(2 * b * b), 3, 4, Int32(b), code)
          }
        }
        XCTAssertEqual(y, want.data, "depth_to_space \(mode) block \(b)")
      }
    }
  }
}
