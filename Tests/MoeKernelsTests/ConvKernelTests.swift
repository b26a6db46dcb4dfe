// ConvKernelTests: moe_conv2d, moe_conv_transpose2d, moe_linear and moe_matmul against MoeRuntime's Executor.
import MoeIR
import MoeKernels
import MoeTestSupport
import XCTest

final class ConvKernelTests: XCTestCase {
  /// The C-ABI descriptor of a conv2d / conv_transpose2d call.
  func descriptor(x: [Int], y: [Int], w: [Int], strides: [Int], pads: [Int], dilations: [Int], groups: Int,
                  epilogue: Epilogue) -> [Int32] {
    var act: Int32 = 0, alpha: Float = 0
    switch epilogue.activation {
    case .none: break
    case .relu: act = 1
    case .leakyRelu(let a): act = 2; alpha = a
    case .tanh: act = 3
    case .sigmoid: act = 4
    }
    let residual: Int32 = epilogue.residual == .none ? 0 : (epilogue.residual == .before ? 1 : 2)
    let d = [x[0], x[1], x[2], x[3], y[1], y[2], y[3], w[2], w[3], strides[0], strides[1], pads[0], pads[1],
             dilations[0], dilations[1], groups]
    return d.map { Int32($0) } + [act, Int32(bitPattern: alpha.bitPattern), residual]
  }

  let epilogues: [Epilogue] = [
    .plain, Epilogue(activation: .relu), Epilogue(activation: .leakyRelu(0.2), residual: .before),
    Epilogue(activation: .tanh, residual: .after), Epilogue(activation: .sigmoid), Epilogue(residual: .after),
  ]

  func runConv(_ transposed: Bool, x: Tensor, w: Tensor, b: Tensor?, r: Tensor?, y: [Int], desc: [Int32]) -> [Float] {
    var out = [Float](repeating: .nan, count: y.reduce(1, *))
    desc.withUnsafeBufferPointer { d in
      let need = Int(transposed ? moe_conv_transpose2d_scratch(d.baseAddress!) : moe_conv2d_scratch(d.baseAddress!))
      var scratch = [Float](repeating: .nan, count: max(need, 1))
      withPointers([x.data, w.data, b?.data, r?.data]) { p in
        out.withUnsafeMutableBufferPointer { o in
          scratch.withUnsafeMutableBufferPointer { s in
            if transposed {
              moe_conv_transpose2d(d.baseAddress!, p[0]!, p[1]!, p[2], p[3], o.baseAddress!, s.baseAddress!)
            } else {
              moe_conv2d(d.baseAddress!, p[0]!, p[1]!, p[2], p[3], o.baseAddress!, s.baseAddress!)
            }
          }
        }
      }
    }
    return out
  }

  /// Random conv2d cases covering im2col (stride, pads, dilation, groups), pointwise and shifted-product paths.
  func testConv2dMatchesExecutor() throws {
    var rng = SplitMix64(seed: 11)
    var cases = 0
    while cases < 60 {
      let shiftAdd = cases % 4 == 3, pointwise = cases % 7 == 5
      let groups = [1, 1, 2, 3][rng.int(0...3)]
      let og = shiftAdd ? rng.int(1...2) : rng.int(1...9)
      let cg = shiftAdd ? og * 4 + rng.int(0...4) : rng.int(1...6)
      let kh = pointwise ? 1 : rng.int(1...4), kw = pointwise ? 1 : rng.int(1...5)
      let s = pointwise || shiftAdd ? [1, 1] : [rng.int(1...3), rng.int(1...2)]
      let dil = pointwise ? [1, 1] : [rng.int(1...2), rng.int(1...2)]
      let pads = pointwise ? [0, 0, 0, 0] : (0..<4).map { _ in rng.int(0...2) }
      let h = rng.int(1...13), wd = rng.int(1...19), n = rng.int(1...2)
      let oh = (h + pads[0] + pads[2] - dil[0] * (kh - 1) - 1) / s[0] + 1
      let ow = (wd + pads[1] + pads[3] - dil[1] * (kw - 1) - 1) / s[1] + 1
      guard oh >= 1, ow >= 1, h + pads[0] + pads[2] >= dil[0] * (kh - 1) + 1,
        wd + pads[1] + pads[3] >= dil[1] * (kw - 1) + 1 else { continue }
      let e = epilogues[cases % epilogues.count]
      let x = rng.tensor([n, cg * groups, h, wd]), w = rng.tensor([og * groups, cg, kh, kw])
      let b = cases % 3 == 0 ? nil : rng.tensor([og * groups])
      let y = [n, og * groups, oh, ow]
      let r = e.residual == .none ? nil : rng.tensor(y)
      let attrs = ConvAttrs(strides: s, pads: pads, dilations: dil, groups: groups, epilogue: e)
      var operands = [x, w]
      if let b { operands.append(b) }
      if let r { operands.append(r) }
      let want = try executor(.conv2d(attrs), operands, weights: b == nil ? [1] : [1, 2])
      XCTAssertEqual(want.shape, y)
      let desc = descriptor(x: x.shape, y: y, w: w.shape, strides: s, pads: pads, dilations: dil, groups: groups, epilogue: e)
      let got = runConv(false, x: x, w: w, b: b, r: r, y: y, desc: desc)
      assertClose(got, want.data, contractionTolerance, "conv2d x \(x.shape) w \(w.shape) \(attrs)")
      cases += 1
    }
  }

  /// Output planes wider than a register block (the 8-pixel fast path of the im2col packing).
  func testWideConv2dMatchesExecutor() throws {
    var rng = SplitMix64(seed: 12)
    for (c, o, hw, k, pad) in [(16, 20, 16, 3, 1), (8, 32, 32, 3, 1), (12, 3, 24, 9, 4), (5, 7, 40, 3, 0)] {
      let x = rng.tensor([1, c, hw, hw]), w = rng.tensor([o, c, k, k]), b = rng.tensor([o])
      let attrs = ConvAttrs(pads: [pad, pad, pad, pad], epilogue: Epilogue(activation: .relu))
      let want = try executor(.conv2d(attrs), [x, w, b], weights: [1, 2])
      let desc = descriptor(x: x.shape, y: want.shape, w: w.shape, strides: [1, 1], pads: attrs.pads, dilations: [1, 1],
                            groups: 1, epilogue: attrs.epilogue)
      assertClose(runConv(false, x: x, w: w, b: b, r: nil, y: want.shape, desc: desc), want.data, contractionTolerance,
                  "conv2d \(x.shape) \(w.shape)")
    }
  }

  func testConvTranspose2dMatchesExecutor() throws {
    var rng = SplitMix64(seed: 13)
    var cases = 0
    while cases < 40 {
      let groups = [1, 1, 2][rng.int(0...2)]
      let cg = rng.int(1...6), og = rng.int(1...5)
      let kh = rng.int(1...4), kw = rng.int(1...4)
      let s = [rng.int(1...3), rng.int(1...3)], dil = [rng.int(1...2), rng.int(1...2)]
      let pads = (0..<4).map { _ in rng.int(0...1) }
      let op = [rng.int(0...(s[0] - 1)), rng.int(0...(s[1] - 1))]
      let h = rng.int(1...9), wd = rng.int(1...11), n = rng.int(1...2)
      let oh = (h - 1) * s[0] - pads[0] - pads[2] + dil[0] * (kh - 1) + 1 + op[0]
      let ow = (wd - 1) * s[1] - pads[1] - pads[3] + dil[1] * (kw - 1) + 1 + op[1]
      guard oh >= 1, ow >= 1 else { continue }
      let e = epilogues[cases % epilogues.count]
      let x = rng.tensor([n, cg * groups, h, wd]), w = rng.tensor([cg * groups, og, kh, kw])
      let b = cases % 2 == 0 ? rng.tensor([og * groups]) : nil
      let y = [n, og * groups, oh, ow]
      let r = e.residual == .none ? nil : rng.tensor(y)
      let attrs = ConvTransposeAttrs(strides: s, pads: pads, dilations: dil, outputPadding: op, groups: groups, epilogue: e)
      var operands = [x, w]
      if let b { operands.append(b) }
      if let r { operands.append(r) }
      let want = try executor(.convTranspose2d(attrs), operands, weights: b == nil ? [1] : [1, 2])
      XCTAssertEqual(want.shape, y)
      let desc = descriptor(x: x.shape, y: y, w: w.shape, strides: s, pads: pads, dilations: dil, groups: groups, epilogue: e)
      let got = runConv(true, x: x, w: w, b: b, r: r, y: y, desc: desc)
      assertClose(got, want.data, contractionTolerance, "conv_transpose2d x \(x.shape) w \(w.shape) \(attrs)")
      cases += 1
    }
  }

  func testLinearMatchesExecutor() throws {
    var rng = SplitMix64(seed: 14)
    for (i, (rows, inF, outF)) in [(1, 162, 40), (3, 7, 5), (4, 16, 9), (9, 33, 17), (2, 1, 3)].enumerated() {
      let e = epilogues[i % epilogues.count]
      let x = rng.tensor([rows, inF]), w = rng.tensor([outF, inF]), b = i % 2 == 0 ? rng.tensor([outF]) : nil
      let r = e.residual == .none ? nil : rng.tensor([rows, outF])
      var operands = [x, w]
      if let b { operands.append(b) }
      if let r { operands.append(r) }
      let want = try executor(.linear(e), operands, weights: b == nil ? [1] : [1, 2])
      var got = [Float](repeating: .nan, count: rows * outF)
      let act: Int32 = [Activation.none: 0, .relu: 1, .tanh: 3, .sigmoid: 4][e.activation] ?? 2
      let residual: Int32 = e.residual == .none ? 0 : (e.residual == .before ? 1 : 2)
      withPointers([x.data, w.data, b?.data, r?.data]) { p in
        got.withUnsafeMutableBufferPointer { o in
          moe_linear(p[0]!, p[1]!, p[2], p[3], o.baseAddress!, Int32(rows), Int32(inF), Int32(outF), act, 0.2, residual)
        }
      }
      assertClose(got, want.data, contractionTolerance, "linear \(rows)x\(inF)→\(outF) \(e)")
    }
  }

  func testMatmulMatchesExecutor() throws {
    var rng = SplitMix64(seed: 15)
    for (m, k, n) in [(1, 1, 1), (5, 3, 9), (4, 8, 8), (13, 70, 37), (64, 20, 300)] {
      let a = rng.tensor([m, k]), b = rng.tensor([k, n])
      let want = try executor(.matmul, [a, b])
      var got = [Float](repeating: .nan, count: m * n)
      var scratch = [Float](repeating: .nan, count: Int(moe_matmul_scratch(Int32(m), Int32(k), Int32(n))))
      withPointers([a.data, b.data]) { p in
        got.withUnsafeMutableBufferPointer { o in
          scratch.withUnsafeMutableBufferPointer { s in
            moe_matmul(p[0]!, p[1]!, o.baseAddress!, Int32(m), Int32(k), Int32(n), s.baseAddress!)
          }
        }
      }
      assertClose(got, want.data, contractionTolerance, "matmul \(m)x\(k)x\(n)")
    }
  }
}
