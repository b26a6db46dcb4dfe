// ElementwiseKernelTests: the pointwise family, broadcasting binary ops, where, batch norm and depth-to-space against the Executor and libm.
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

  /// Operand shape pairs covering same shape, per-channel, scalar, rank-0, two-sided and leading broadcasting.
  static let broadcastPairs: [([Int], [Int])] = [
    ([2, 3, 4, 5], [2, 3, 4, 5]), ([2, 3, 4, 5], [3, 1, 1]), ([1], [2, 3, 4]), ([2, 3, 4], [1]), ([2, 1, 4, 1], [1, 3, 1, 5]),
    ([3, 1], [4]), ([5], [2, 1, 5]), ([], [2, 2]), ([2, 3, 1, 1], [2, 3, 4, 5]), ([2, 3, 4, 7], [2, 1, 4, 7]),
  ]

  func binary(_ code: Int32, _ a: Tensor, _ b: Tensor) -> [Float] {
    let y = broadcastShape(a.shape, b.shape)
    let g = stridedGeometry(y, [broadcastStrides(a.shape, to: y), broadcastStrides(b.shape, to: y)])
    var out = [Float](repeating: .nan, count: y.reduce(1, *))
    withPointers([a.data, b.data]) { p in
      g.withUnsafeBufferPointer { gp in
        out.withUnsafeMutableBufferPointer { yp in moe_binary(code, p[0]!, p[1]!, yp.baseAddress!, gp.baseAddress!) }
      }
    }
    return out
  }

  func testBinaryBroadcastingMatchesExecutor() throws {
    var rng = SplitMix64(seed: 23)
    let functions: [(Int32, Op)] = [
      (0, .binary(.add)), (1, .binary(.sub)), (2, .binary(.mul)), (3, .binary(.div)), (4, .binary(.pow)), (5, .binary(.max)),
      (6, .binary(.min)), (7, .binary(.greater)), (8, .binary(.less)), (9, .binary(.equal)),
    ]
    for (code, op) in functions {
      for (sa, sb) in Self.broadcastPairs {
        var a = rng.tensor(sa, code == 4 ? 0.2...2 : -2...2), b = rng.tensor(sb, code == 4 ? -2...2 : -2...2)
        if code >= 5 {  // small integers: ties and equal values are common
          a = Tensor(shape: a.shape, data: a.data.map { $0.rounded() })
          b = Tensor(shape: b.shape, data: b.data.map { $0.rounded() })
        }
        let want = try executor(op, [a, b])
        assertClose(binary(code, a, b), want.data, code == 4 ? mathTolerance * 8 : elementwiseTolerance, "\(op) \(sa) \(sb)")
      }
    }
  }

  func testPowSpecialValuesMatchLibm() {
    let a: [Float] = [-2, -2, -8, 0, 0, 0, 3, -1.5, 2.5, 1e-3, Float.nan, 2]
    let b: [Float] = [3, 0.5, -1, 2, -1, 0, 0, 2, -3.25, 1.7, 0, Float.nan]
    let got = binary(4, Tensor(shape: [a.count], data: a), Tensor(shape: [b.count], data: b))
    for i in a.indices {
      let want = Float(Foundation.pow(Double(a[i]), Double(b[i])))
      XCTAssert(got[i] == want || (got[i].isNaN && want.isNaN) || abs(got[i] - want) <= 1e-6 * abs(want), "pow(\(a[i]), \(b[i])) = \(got[i]), libm \(want)")
    }
  }

  func testPReLUAndWhereMatchExecutor() throws {
    var rng = SplitMix64(seed: 26)
    let x = rng.tensor([2, 3, 4, 5], -3...3)
    for slope in [[3, 1, 1], [1], [2, 3, 4, 5]] {
      let s = rng.tensor(slope, 0...0.5)
      assertClose(binary(10, x, s), try executor(.prelu, [x, s]).data, elementwiseTolerance, "prelu \(slope)")
    }
    for (sc, sa, sb) in [([2, 3, 4, 5], [2, 3, 4, 5], [2, 3, 4, 5]), ([3, 1, 1], [2, 3, 4, 5], [1]), ([4, 1], [3, 1, 5], [5])] {
      let c = Tensor(shape: sc, data: rng.tensor(sc).data.map { $0 > 0 ? 1 : 0 }), a = rng.tensor(sa), b = rng.tensor(sb)
      let y = broadcastShape(broadcastShape(sc, sa), sb)
      let g = stridedGeometry(y, [sc, sa, sb].map { broadcastStrides($0, to: y) })
      var out = [Float](repeating: .nan, count: y.reduce(1, *))
      withPointers([c.data, a.data, b.data]) { p in
        g.withUnsafeBufferPointer { gp in
          out.withUnsafeMutableBufferPointer { yp in moe_where(p[0]!, p[1]!, p[2]!, yp.baseAddress!, gp.baseAddress!) }
        }
      }
      let want = try executorOutputs(.select, [c, a, b], dtypes: [0: .bool])[0]
      XCTAssertEqual(out, want.data, "where \(sc) \(sa) \(sb)")
    }
  }

  func testPointwiseFamilyMatchesExecutor() throws {
    var rng = SplitMix64(seed: 27)
    let x = rng.tensor([2, 3, 5, 7], -5...5), positive = rng.tensor([2, 3, 5, 7], 0.05...20)
    var signs = x.data
    signs[0] = 0
    signs[1] = -0.0
    // Around the half range: subnormal halves, ties, the largest finite half and overflow.
    let halfEdges: [Float] = [6e-8, 3e-8, 1e-5, 6.1e-5, 1.00048828125, 1.000732421875, 2049, 2051, 65504, 65519, 65520, 1e6, .infinity]
    let halves = Tensor(shape: [x.count + 2 * halfEdges.count], data: x.data.map { $0 * 1000 } + halfEdges + halfEdges.map { -$0 })
    let cases: [(Int32, Op, Tensor)] = [
      (6, .unary(.neg), x), (7, .unary(.exp), x), (8, .unary(.log), positive), (9, .unary(.sqrt), positive),
      (10, .unary(.reciprocal), positive), (11, .unary(.abs), x), (12, .unary(.square), x),
      (13, .unary(.sign), Tensor(shape: x.shape, data: signs)), (14, .cast(.bool), Tensor(shape: x.shape, data: signs)),
      (15, .cast(.int64), x),
    ]
    for (code, op, input) in cases {
      assertClose(unary(code, input.data), try executor(op, [input]).data, mathTolerance, "\(op)")
    }
    XCTAssertEqual(unary(16, halves.data), try executor(.cast(.float16), [halves]).data, "cast to f16")
    var y = [Float](repeating: .nan, count: x.count)
    x.data.withUnsafeBufferPointer { xp in
      y.withUnsafeMutableBufferPointer { yp in moe_clip(xp.baseAddress!, yp.baseAddress!, Int32(x.count), -1.5, 0.75) }
    }
    XCTAssertEqual(y, try executor(.clip(min: -1.5, max: 0.75), [x]).data, "clip")
  }

  /// The portable log against libm over the whole float range, including subnormals and the special values.
  func testLogAccuracy() {
    var xs: [Float] = [1, 2, 0.5, 1e-38, 1e-45, 3e38, .infinity, 0, -1, .nan, 1.4142135, 1.4142137, 0.70710677]
    var rng = SplitMix64(seed: 28)
    for _ in 0..<4000 { xs.append(Float.random(in: 1e-3...1e3, using: &rng)) }
    let got = unary(8, xs)
    for (i, x) in xs.enumerated() {
      let want = Float(Foundation.log(Double(x)))
      XCTAssert(got[i] == want || (got[i].isNaN && want.isNaN) || abs(got[i] - want) <= 2.5e-7 * max(abs(want), 1e-30), "log(\(x)) = \(got[i]), libm \(want)")
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
