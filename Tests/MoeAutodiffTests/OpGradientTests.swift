// OpGradientTests: the vector–Jacobian rule of every differentiable op against finite differences, and double backprop.
import MoeIR
import MoeTestSupport
import XCTest

@testable import MoeAutodiff

final class OpGradientTests: XCTestCase {
  func single(_ name: String, _ op: Op, _ operands: [Operand], seed: UInt64, outputs: Int = 1) -> GradientCase {
    GradientCase(name, operands, seed: seed) { g in
      let outs = outputs == 1 ? ["y"] : (0..<outputs).map { "y\($0)" }
      g.nodes.append(Node(name: "op", op: op, inputs: operands.map(\.name), outputs: outs))
      return outs
    }
  }

  func testElementwiseOps() throws {
    var cases: [GradientCase] = []
    let x = [2, 3, 4]
    for f in UnaryFunction.allCases where f != .sign {
      let range: ClosedRange<Float> = [.log, .sqrt, .reciprocal].contains(f) ? 0.3...2 : -2...2
      cases.append(single("unary_\(f.rawValue)", .unary(f), [Operand(name: "x", shape: x, range: range)], seed: 1))
    }
    for f in BinaryFunction.allCases where !f.isComparison {
      for (k, (sa, sb)) in [([2, 3, 4], [2, 3, 4]), ([2, 3, 4], [3, 1]), ([1, 4], [2, 3, 1])].enumerated() {
        let range: ClosedRange<Float> = f == .pow || f == .div ? 0.5...2 : -2...2
        cases.append(single("binary_\(f.rawValue)_\(k)", .binary(f),
                            [Operand(name: "a", shape: sa, range: range), Operand(name: "b", shape: sb, range: range)], seed: UInt64(10 + k)))
      }
    }
    cases.append(single("leaky_relu", .leakyRelu(alpha: 0.2), [Operand(name: "x", shape: x)], seed: 2))
    cases.append(single("clip", .clip(min: -0.5, max: 0.6), [Operand(name: "x", shape: x)], seed: 3))
    cases.append(single("prelu", .prelu, [Operand(name: "x", shape: [2, 3, 4, 2]), Operand(name: "s", shape: [3, 1, 1], range: 0...0.5)], seed: 4))
    cases.append(single("where", .select, [Operand(name: "c", shape: [3, 4], bool: true), Operand(name: "a", shape: [2, 3, 4]),
                                           Operand(name: "b", shape: [4])], seed: 5))
    cases.append(single("identity", .identity, [Operand(name: "x", shape: x)], seed: 6))
    try assertGradientsMatch(cases)
  }

  func testReductionsAndShapes() throws {
    var cases: [GradientCase] = []
    let x4 = Operand(name: "x", shape: [2, 3, 4, 2])
    for f in ReduceFunction.allCases {
      for (k, (axes, keep)) in [([1], false), ([0, 2], true), ([], false), ([-1], true)].enumerated() {
        cases.append(single("reduce_\(f.rawValue)_\(k)", .reduce(f, axes: axes, keepDims: keep), [x4], seed: UInt64(20 + k)))
      }
    }
    cases.append(single("sum_to", .sumTo, [x4, Operand(name: "like", shape: [3, 1, 2], differentiate: false)], seed: 30))
    cases.append(single("broadcast_to", .broadcastTo, [Operand(name: "x", shape: [3, 1, 2]), Operand(name: "like", shape: [2, 3, 4, 2], differentiate: false)], seed: 31))
    cases.append(single("softmax", .softmax(axis: 1), [x4], seed: 32))
    cases.append(single("log_softmax", .logSoftmax(axis: -1), [x4], seed: 33))
    cases.append(single("reshape", .reshape(shape: [2, -1]), [x4], seed: 34))
    cases.append(single("flatten", .flatten(axis: 2), [x4], seed: 35))
    cases.append(single("transpose", .transpose(perm: [2, 0, 3, 1]), [x4], seed: 36))
    let d = Operand(name: "x", shape: [2, 8, 2, 3])
    cases.append(single("depth_to_space_dcr", .depthToSpace(blockSize: 2, mode: .dcr), [d], seed: 37))
    cases.append(single("depth_to_space_crd", .depthToSpace(blockSize: 2, mode: .crd), [d], seed: 38))
    cases.append(single("space_to_depth", .spaceToDepth(blockSize: 2), [Operand(name: "x", shape: [2, 2, 4, 6])], seed: 39))
    cases.append(single("concat", .concat(axis: 1), [x4, Operand(name: "z", shape: [2, 2, 4, 2])], seed: 40))
    cases.append(single("slice", .slice(SliceAttrs(starts: [1, -3], ends: [3, 100], axes: [1, 2], steps: [1, 1])), [x4], seed: 41))
    cases.append(single("pad", .pad(PadAttrs(mode: .constant, pads: [0, 1, 2, 0, 0, 0, 1, 1], value: 0.5)), [x4], seed: 42))
    cases.append(single("global_average_pool", .globalAveragePool, [x4], seed: 43))
    cases.append(single("global_max_pool", .globalMaxPool, [x4], seed: 44))
    try assertGradientsMatch(cases)
  }

  func testNormalizations() throws {
    let x = Operand(name: "x", shape: [3, 4, 3, 2], range: -2...3)
    let c = { (n: String) in Operand(name: n, shape: [4], range: 0.5...1.5) }
    try assertGradientsMatch([
      single("batch_norm", .batchNorm(eps: 2e-5), [x, c("gamma"), c("beta"), c("mean"), c("var")], seed: 50),
      single("batch_norm_training", .batchNormTraining(eps: 2e-5), [x, c("gamma"), c("beta")], seed: 51, outputs: 3),
      single("instance_norm", .instanceNorm(eps: 1e-5), [x, c("scale"), c("bias")], seed: 52),
      single("group_norm", .groupNorm(groups: 2, eps: 1e-5), [x, c("scale"), c("bias")], seed: 53),
    ])
  }

  func testContractions() throws {
    var cases: [GradientCase] = []
    cases.append(single("linear", .linear(.plain), [Operand(name: "x", shape: [3, 2, 2, 2]), Operand(name: "W", shape: [5, 8]), Operand(name: "b", shape: [5])], seed: 60))
    for (k, (ta, tb)) in [(false, false), (true, false), (false, true), (true, true)].enumerated() {
      cases.append(single("gemm_\(k)", .gemm(GemmAttrs(alpha: 0.7, beta: 1.3, transA: ta, transB: tb)),
                          [Operand(name: "A", shape: ta ? [4, 3] : [3, 4]), Operand(name: "B", shape: tb ? [5, 4] : [4, 5]), Operand(name: "C", shape: [5])], seed: UInt64(61 + k)))
    }
    cases.append(single("matmul", .matmul, [Operand(name: "A", shape: [2, 1, 3, 4]), Operand(name: "B", shape: [3, 4, 2])], seed: 65))
    let convs: [(ConvAttrs, [Int], [Int])] = [
      (ConvAttrs(pads: [1, 1, 1, 1]), [2, 3, 5, 5], [4, 3, 3, 3]),
      (ConvAttrs(strides: [2, 2], pads: [1, 1, 1, 1]), [2, 4, 6, 5], [3, 4, 4, 4]),
      (ConvAttrs(strides: [2, 1], pads: [0, 1, 2, 0], dilations: [1, 2], groups: 2), [1, 4, 7, 6], [4, 2, 3, 2]),
    ]
    for (k, (a, xs, ws)) in convs.enumerated() {
      cases.append(single("conv2d_\(k)", .conv2d(a), [Operand(name: "x", shape: xs), Operand(name: "W", shape: ws), Operand(name: "b", shape: [ws[0]])], seed: UInt64(70 + k)))
    }
    cases.append(single("conv_transpose2d", .convTranspose2d(ConvTransposeAttrs(strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 0])),
                        [Operand(name: "x", shape: [2, 3, 3, 4]), Operand(name: "W", shape: [3, 2, 4, 4]), Operand(name: "b", shape: [2])], seed: 75))
    cases.append(single("conv2d_filter_grad", .conv2dFilterGrad(ConvAttrs(strides: [2, 2], pads: [1, 1, 1, 1])),
                        [Operand(name: "x", shape: [2, 3, 6, 5]), Operand(name: "gy", shape: [2, 4, 3, 3]),
                         Operand(name: "like", shape: [4, 3, 3, 3], differentiate: false)], seed: 76))
    try assertGradientsMatch(cases)
  }

  /// DRAGAN's penalty needs ∂/∂θ of a function of ∂D/∂x: differentiate a gradient graph again.
  func testDoubleBackpropThroughAConvDiscriminator() throws {
    let operands = [
      Operand(name: "x", shape: [2, 3, 6, 6]), Operand(name: "W1", shape: [4, 3, 4, 4], range: -0.5...0.5), Operand(name: "b1", shape: [4]),
      Operand(name: "W2", shape: [1, 36], range: -0.5...0.5),
    ]
    var c = GradientCase("gradient_penalty", operands, seed: 80) { g in
      g.add(.conv2d(ConvAttrs(strides: [2, 2], pads: [1, 1, 1, 1])), ["x", "W1", "b1"], name: "c1")
      g.add(.leakyRelu(alpha: 0.2), ["c1"], name: "h1")
      g.add(.linear(.plain), ["h1", "W2"], name: "d")
      g.add(.reduce(.sum, axes: [], keepDims: false), ["d"], name: "dsum")
      g.outputs = ["dsum"]
      // ∂(Σ D(x))/∂x, then (‖∂D/∂x‖ − 1)² per sample: the gradient graph becomes part of the loss.
      let (gg, grads) = try! Autodiff.gradient(of: "dsum", wrt: ["x"], in: g)
      g = gg
      let gx = grads["x"]!
      g.add(.unary(.square), [gx], name: "gx2")
      g.add(.reduce(.sum, axes: [1, 2, 3], keepDims: false), ["gx2"], name: "sq")
      g.add(.unary(.sqrt), ["sq"], name: "norm")
      return ["norm", "d"]
    }
    c.wrt = ["x", "W1", "b1", "W2"]
    try assertGradientsMatch([c])
  }

  func testRefusals() throws {
    var g = Graph(name: "r")
    g.inputs = [ValueInfo(name: "x", shape: [1, 2, 4, 4])]
    g.add(.maxPool(PoolAttrs(kernel: [2, 2], strides: [2, 2])), ["x"], name: "p")
    g.add(.reduce(.sum, axes: [], keepDims: false), ["p"], name: "l")
    g.outputs = ["l"]
    XCTAssertThrowsError(try Autodiff.gradient(of: "l", wrt: ["x"], in: g)) { e in
      XCTAssertTrue("\(e)".contains("node 'p' (max_pool)"), "\(e)")
    }
    XCTAssertThrowsError(try Autodiff.gradient(of: "p", wrt: ["x"], in: g)) { e in
      XCTAssertTrue("\(e)".contains("scalar"), "\(e)")
    }
    // A value the loss does not depend on gets zeros.
    g.inputs.append(ValueInfo(name: "u", shape: [3]))
    g.add(.reduce(.sum, axes: [], keepDims: false), ["x"], name: "l2")
    let (gg, grads) = try Autodiff.gradient(of: "l2", wrt: ["x", "u"], in: g)
    XCTAssertNoThrow(try gg.verify())
    XCTAssertNotNil(grads["u"])
  }
}
