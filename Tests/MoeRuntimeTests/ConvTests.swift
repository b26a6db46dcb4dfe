// ConvTests: conv2d and convTranspose2d against the naive loops on seeded random shapes.
import MoeIR
import MoeNativeShim
import MoeTestSupport
import XCTest

@testable import MoeRuntime

final class ConvTests: XCTestCase {
  /// Group layouts to cover: plain, two groups, depthwise.
  enum GroupKind: CaseIterable { case one, two, depthwise }

  /// A random conv2d case with the given stride and group layout; pads may be asymmetric.
  func randomConv(_ rng: inout SplitMix64, stride s: Int, groups kind: GroupKind, bias: Bool)
    -> (x: Tensor, w: Tensor, b: Tensor?, attrs: ConvAttrs)
  {
    while true {
      let cg = kind == .depthwise ? 1 : rng.int(1...3)
      let groups = kind == .one ? 1 : (kind == .two ? 2 : rng.int(2...4))
      let og = kind == .depthwise ? rng.int(1...2) : rng.int(1...7)
      let kh = rng.int(1...4), kw = rng.int(1...4)
      let dil = [rng.int(1...2), rng.int(1...2)]
      let pads = (0..<4).map { _ in rng.int(0...2) }
      let h = rng.int(1...9), w = rng.int(1...9)
      guard h + pads[0] + pads[2] >= dil[0] * (kh - 1) + 1, w + pads[1] + pads[3] >= dil[1] * (kw - 1) + 1 else { continue }
      let attrs = ConvAttrs(strides: [s, rng.int(1...3)], pads: pads, dilations: dil, groups: groups)
      let n = rng.int(1...3)
      return (
        rng.tensor([n, cg * groups, h, w]), rng.tensor([og * groups, cg, kh, kw]),
        bias ? rng.tensor([og * groups]) : nil, attrs
      )
    }
  }

  func testConv2dMatchesNaiveLoops() throws {
    var rng = SplitMix64(seed: 1)
    for s in 1...3 {
      for kind in GroupKind.allCases {
        for bias in [false, true] {
          for _ in 0..<3 {
            let c = randomConv(&rng, stride: s, groups: kind, bias: bias)
            let got = try runSingle(.conv2d(c.attrs), [c.x, c.w] + (c.b.map { [$0] } ?? []), weights: [1, 2])
            assertClose(got, Naive.conv2d(c.x, c.w, c.b, c.attrs), convTolerance, "conv \(c.x.shape) \(c.w.shape) \(c.attrs)")
          }
        }
      }
    }
  }

  func testPointwiseConvSkipsIm2col() throws {
    var rng = SplitMix64(seed: 2)
    for groups in [1, 2] {
      let x = rng.tensor([2, 4, 5, 3]), w = rng.tensor([6, 4 / groups, 1, 1]), b = rng.tensor([6])
      let attrs = ConvAttrs(groups: groups)
      let g = ConvGeometry.conv(attrs, x: x.shape, w: w.shape, y: [2, 6, 5, 3], hasBias: true)
      XCTAssertTrue(g.isPointwise)
      XCTAssertEqual(g.scratchCount, 0)
      assertClose(try runSingle(.conv2d(attrs), [x, w, b], weights: [1, 2]), Naive.conv2d(x, w, b, attrs), convTolerance)
    }
  }

  /// Small tile budgets force several im2col / col2im tiles per image.
  func testTiledColumnsMatchUntiled() throws {
    var rng = SplitMix64(seed: 3)
    for budget in [1, 40, 100] {
      let c = randomConv(&rng, stride: 1, groups: .two, bias: true)
      let want = Naive.conv2d(c.x, c.w, c.b, c.attrs)
      let t = randomConvTranspose(&rng, stride: 2, groups: 1, bias: true)
      let tw = Naive.convTranspose2d(t.x, t.w, t.b, t.attrs)
      for workers in [1, 2, 3] {
        let g = ConvGeometry.conv(c.attrs, x: c.x.shape, w: c.w.shape, y: want.shape, hasBias: true, tileBudget: budget,
                                  workers: workers)
        assertClose(
          runGeometry(g, transposed: false, c.x, c.w, c.b, outShape: want.shape), want, convTolerance,
          "tile budget \(budget) workers \(workers)")
        let tg = ConvGeometry.convTranspose(t.attrs, x: t.x.shape, w: t.w.shape, y: tw.shape, hasBias: true,
                                            tileBudget: budget, workers: workers)
        assertClose(
          runGeometry(tg, transposed: true, t.x, t.w, t.b, outShape: tw.shape), tw, convTolerance,
          "convT tile budget \(budget) workers \(workers)")
      }
    }
  }

  /// Few output channels per group relative to the inputs (17–18 of 72–76): shifted products instead of im2col.
  func testShiftAddConvForFewOutputChannels() throws {
    var rng = SplitMix64(seed: 6)
    for groups in [1, 2] {
      for bias in [false, true] {
        for budget in [1, 50, columnTileBudget] {
          let cg = rng.int(72...76), og = rng.int(17...18)
          let kh = rng.int(1...5), kw = rng.int(2...5)
          let attrs = ConvAttrs(
            pads: (0..<4).map { _ in rng.int(0...3) }, dilations: [rng.int(1...2), rng.int(1...2)],
            groups: groups)
          let h = rng.int(7...10), w = rng.int(7...10)
          let x = rng.tensor([groups == 1 ? 1 : 2, cg * groups, h, w]), wt = rng.tensor([og * groups, cg, kh, kw])
          let b = bias ? rng.tensor([og * groups]) : nil
          let want = Naive.conv2d(x, wt, b, attrs)
          for workers in [1, 2, 3] {
            let g = ConvGeometry.conv(attrs, x: x.shape, w: wt.shape, y: want.shape, hasBias: bias, tileBudget: budget,
                                      workers: workers)
            XCTAssertTrue(g.isShiftAdd)
            assertClose(
              runGeometry(g, transposed: false, x, wt, b, outShape: want.shape), want, convTolerance,
              "shift-add \(attrs) budget \(budget) workers \(workers)")
          }
          if budget == columnTileBudget {
            assertClose(try runSingle(.conv2d(attrs), [x, wt] + (b.map { [$0] } ?? []), weights: [1, 2]), want, convTolerance)
          }
        }
      }
    }
  }

  /// At most 16 output channels per group (the final 9x9 64→3 conv of the generators, small U-Nets): the direct
  /// kernel (AVX-512, AVX2 or SSE) in blocks of 1–4 channels, on widths around its 4-vector segments, with pads,
  /// dilations, groups and 1–3 workers.
  func testDirectConvForFewOutputChannels() throws {
    var rng = SplitMix64(seed: 16)
    for trial in 0..<24 {
      let groups = trial % 3 == 2 ? 2 : 1, og = [1, 2, 3, 4, 5, 8, 13, 16][trial % 8], cg = rng.int(1...9)
      let kh = rng.int(1...9), kw = rng.int(2...9)
      let attrs = ConvAttrs(
        pads: (0..<4).map { _ in rng.int(0...4) }, dilations: [rng.int(1...2), rng.int(1...2)], groups: groups)
      let h = rng.int(kh * 2...kh * 2 + 6)
      let w = [5, 15, 16, 17, 31, 63, 64, 65, 130][trial % 9] + (kw - 1) * 2
      let b = trial % 2 == 0 ? rng.tensor([og * groups]) : nil
      let x = rng.tensor([1 + trial % 2, cg * groups, h, w]), wt = rng.tensor([og * groups, cg, kh, kw])
      let want = Naive.conv2d(x, wt, b, attrs)
      for workers in [1, 2, 3] {
        let g = ConvGeometry.conv(attrs, x: x.shape, w: wt.shape, y: want.shape, hasBias: b != nil, workers: workers)
        XCTAssertTrue(g.isDirect, "\(x.shape) \(wt.shape)")
        assertClose(
          runGeometry(g, transposed: false, x, wt, b, outShape: want.shape), want, convTolerance,
          "direct \(x.shape) \(wt.shape) \(attrs) workers \(workers)")
      }
    }
  }

  /// The weight gradient, split over input-channel ranges and workers, against naive loops; the same result for
  /// every worker count's run twice (no dependence on which thread took which range).
  func testFilterGradientMatchesNaiveLoopsOnAnyWorkers() throws {
    var rng = SplitMix64(seed: 17)
    for trial in 0..<12 {
      let c = randomConv(&rng, stride: 1 + trial % 2, groups: trial % 3 == 0 ? .two : .one, bias: false)
      let y = Naive.conv2d(c.x, c.w, nil, c.attrs)
      let gy = rng.tensor(y.shape)
      let want = Naive.conv2dFilterGrad(c.x, gy, wShape: c.w.shape, c.attrs)
      for workers in [1, 2, 3] {
        let g = ConvGeometry.filterGrad(c.attrs, x: c.x.shape, gy: gy.shape, w: c.w.shape, workers: workers)
        var runs: [[Float]] = []
        for _ in 0..<2 {
          var gw = [Float](repeating: .nan, count: c.w.count)
          var scratch = [Float](repeating: .nan, count: max(g.scratchCount, 1))
          c.x.data.withUnsafeBufferPointer { xp in
            gy.data.withUnsafeBufferPointer { gp in
              gw.withUnsafeMutableBufferPointer { wp in
                scratch.withUnsafeMutableBufferPointer { sp in
                  Kernels.conv2dFilterGrad(g, x: xp.baseAddress!, gy: gp.baseAddress!, gw: wp.baseAddress!,
                                           scratch: sp.baseAddress!)
                }
              }
            }
          }
          runs.append(gw)
        }
        XCTAssertEqual(runs[0], runs[1], "filter grad with \(workers) workers is not deterministic")
        assertClose(Tensor(shape: c.w.shape, data: runs[0]), want, convTolerance,
                    "filter grad \(c.x.shape) \(c.w.shape) \(c.attrs) workers \(workers)")
      }
    }
  }

  /// The im2col row helpers, on every length around their SIMD and memmove thresholds.
  func testRowCopyAndZeroHelpers() {
    for n in 0...130 {
      let src = (0..<(n + 2)).map(Float.init)
      var dst = [Float](repeating: -1, count: n + 2)
      src.withUnsafeBufferPointer { s in
        dst.withUnsafeMutableBufferPointer { d in copyFloats(d.baseAddress! + 1, s.baseAddress! + 1, n) }
      }
      XCTAssertEqual(dst, [-1] + Array(src[1..<(n + 1)]) + [-1], "copy \(n)")
      dst.withUnsafeMutableBufferPointer { d in zeroFloats(d.baseAddress! + 1, n) }
      XCTAssertEqual(dst, [-1] + [Float](repeating: 0, count: n) + [-1], "zero \(n)")
    }
  }

  func randomConvTranspose(_ rng: inout SplitMix64, stride s: Int, groups: Int, bias: Bool)
    -> (x: Tensor, w: Tensor, b: Tensor?, attrs: ConvTransposeAttrs)
  {
    while true {
      let cg = rng.int(1...3), og = rng.int(1...3)
      let kh = rng.int(1...4), kw = rng.int(1...4)
      let strides = [s, rng.int(1...3)], dil = [rng.int(1...2), rng.int(1...2)]
      let pads = (0..<4).map { _ in rng.int(0...2) }
      let outPad = (0..<2).map { rng.int(0...(max(strides[$0], dil[$0]) - 1)) }
      let h = rng.int(1...6), w = rng.int(1...6)
      let oh = (h - 1) * strides[0] - pads[0] - pads[2] + dil[0] * (kh - 1) + 1 + outPad[0]
      let ow = (w - 1) * strides[1] - pads[1] - pads[3] + dil[1] * (kw - 1) + 1 + outPad[1]
      guard oh > 0, ow > 0 else { continue }
      let attrs = ConvTransposeAttrs(strides: strides, pads: pads, dilations: dil, outputPadding: outPad, groups: groups)
      let n = rng.int(1...3)
      return (
        rng.tensor([n, cg * groups, h, w]), rng.tensor([cg * groups, og, kh, kw]),
        bias ? rng.tensor([og * groups]) : nil, attrs
      )
    }
  }

  func testConvTranspose2dMatchesNaiveLoops() throws {
    var rng = SplitMix64(seed: 4)
    for s in 1...3 {
      for groups in [1, 2, 3] {
        for bias in [false, true] {
          for _ in 0..<2 {
            let c = randomConvTranspose(&rng, stride: s, groups: groups, bias: bias)
            let got = try runSingle(.convTranspose2d(c.attrs), [c.x, c.w] + (c.b.map { [$0] } ?? []), weights: [1, 2])
            assertClose(
              got, Naive.convTranspose2d(c.x, c.w, c.b, c.attrs), convTolerance,
              "convT \(c.x.shape) \(c.w.shape) \(c.attrs)")
          }
        }
      }
    }
  }

  /// Runs the geometry `make(workers)` builds for 1, 2 and 3 workers (with NaN-poisoned scratch) against `want` (the
  /// naive loops); returns each run's bits, for the callers' thread-count promises.
  func bitsOnWorkers(
    transposed: Bool, _ x: Tensor, _ w: Tensor, _ b: Tensor?, _ want: Tensor, _ label: String,
    _ make: (Int) -> ConvGeometry
  ) -> [[UInt32]] {
    [1, 2, 3].map { workers in
      let got = runGeometry(make(workers), transposed: transposed, x, w, b, outShape: want.shape)
      assertClose(got, want, convTolerance, "\(label) workers \(workers)")
      return got.data.map(\.bitPattern)
    }
  }

  /// Few output channels at batch 1 (a generator's last layer to RGB): the products split by columns, col2im by
  /// output rows, over several tiles of input rows; against the naive loops, the same bits on 1, 2 and 3 workers.
  func testRowSplitConvTransposeForFewOutputChannels() throws {
    var rng = SplitMix64(seed: 6)
    for trial in 0..<8 {
      let s = [1, 2, 2, 3][trial % 4], k = [4, 4, 3, 5][trial % 4], og = 1 + trial % 7, c = rng.int(2...20)
      let attrs = ConvTransposeAttrs(strides: [s, s], pads: trial % 2 == 0 ? [1, 1, 1, 1] : [0, 2, 1, 0],
                                     dilations: trial == 5 ? [2, 1] : [1, 1], groups: trial == 6 ? 2 : 1)
      let h = rng.int(3...17), w = rng.int(3...40) * (trial % 3 == 1 ? 20 : 1)
      let x = rng.tensor([1, c * attrs.groups, h, w]), wt = rng.tensor([c * attrs.groups, og, k, k])
      let b = trial % 3 == 0 ? nil : rng.tensor([og * attrs.groups])
      let want = Naive.convTranspose2d(x, wt, b, attrs)
      let bits = bitsOnWorkers(transposed: true, x, wt, b, want, "trial \(trial) \(x.shape) \(wt.shape) \(attrs)") { workers in
        let g = ConvGeometry.convTranspose(attrs, x: x.shape, w: wt.shape, y: want.shape, hasBias: b != nil,
                                           tileBudget: og * k * k * w * 2, workers: workers)
        // Row split while there are fewer (image, group) pairs than two per worker.
        XCTAssertEqual(g.isRowSplit, attrs.groups < 2 * workers, "trial \(trial)")
        if g.isRowSplit { XCTAssertLessThan(g.tileRows, h, "several tiles, trial \(trial)") }
        return g
      }
      if attrs.groups == 1 { XCTAssertEqual(bits[1], bits[0], "trial \(trial): 2 workers") }
      XCTAssertEqual(bits[2], bits[0], "trial \(trial): 3 workers")
    }
  }

  /// The output-channel-blocked direct kernel (strided, dilated, padded, partial channel blocks, several images)
  /// against the naive loops; the same bits on 1, 2 and 3 workers; chosen whenever this CPU has AVX2 or AVX-512
  /// (`make test` also runs this suite with MOE_VECTOR_LEVEL=1 and 0: the AVX2 kernel and the fallback).
  func testBlockedDirectConvMatchesNaiveLoops() throws {
    var rng = SplitMix64(seed: 7)
    let block = Int(moe_blocked_conv_block())
    for trial in 0..<8 {
      let k = [4, 3, 1, 5, 4, 2, 7, 3][trial], s = [2, 2, 2, 1, 3, 2, 2, 1][trial]
      let pads = trial % 3 == 0 ? [1, 1, 1, 1] : (0..<4).map { _ in rng.int(0...2) }
      let dil = trial == 7 ? [2, 2] : [1, 1]
      let attrs = ConvAttrs(strides: [s, s], pads: pads, dilations: dil)
      let c = rng.int(1...12), o = [32, 40, 64, 33, 16, 70, 48, 96][trial]
      let h = rng.int(k * dil[0]...(k * dil[0] + 13)), w = rng.int(k * dil[1]...(k * dil[1] + 21))
      let x = rng.tensor([1 + trial % 3, c, h, w]), wt = rng.tensor([o, c, k, k])
      let b = trial % 2 == 0 ? rng.tensor([o]) : nil
      let want = Naive.conv2d(x, wt, b, attrs)
      let bits = bitsOnWorkers(transposed: false, x, wt, b, want, "blocked conv trial \(trial) \(x.shape) \(wt.shape) \(attrs)") { workers in
        let g = ConvGeometry.conv(attrs, x: x.shape, w: wt.shape, y: want.shape, hasBias: b != nil, workers: workers)
        let expected = block > 0 && o >= block && !g.isWinograd && !g.isDirect && !g.isPointwise && !g.isShiftAdd
        XCTAssertEqual(g.isBlocked, expected, "trial \(trial)")
        return g
      }
      // (the im2col path, for too few channels, splits its products by workers: no such promise there)
      if block > 0 && o >= block {
        XCTAssertEqual(bits[1], bits[0], "trial \(trial): 2 workers")
        XCTAssertEqual(bits[2], bits[0], "trial \(trial): 3 workers")
      }
    }
  }

  /// Strided transposed convs as per-phase blocked direct convs (pads, output padding, partial channel blocks,
  /// kernels not a multiple of the stride, several images) against the naive loops; the same bits on 1–3 workers.
  func testBlockedTransposedConvMatchesNaiveLoops() throws {
    var rng = SplitMix64(seed: 8)
    let block = Int(moe_blocked_conv_block())
    for trial in 0..<8 {
      let s = [2, 2, 3, 2, 1, 2, 3, 2][trial], k = [4, 3, 3, 5, 3, 2, 4, 4][trial]
      let pads = trial % 2 == 0 ? [1, 1, 1, 1] : (0..<4).map { _ in rng.int(0...(k - 1)) }
      let outPad = trial == 3 ? [1, 1] : [0, 0]
      let attrs = ConvTransposeAttrs(strides: [s, s], pads: pads, outputPadding: outPad)
      let c = rng.int(1...12), o = [32, 40, 64, 33, 32, 70, 48, 96][trial]
      let h = rng.int(2...12), w = rng.int(2...19)
      let x = rng.tensor([1 + trial % 3, c, h, w]), wt = rng.tensor([c, o, k, k])
      let b = trial % 2 == 0 ? rng.tensor([o]) : nil
      let want = Naive.convTranspose2d(x, wt, b, attrs)
      guard want.shape[2] > 0, want.shape[3] > 0 else { continue }
      let bits = bitsOnWorkers(transposed: true, x, wt, b, want, "blocked convT trial \(trial) \(x.shape) \(wt.shape) \(attrs)") { workers in
        let g = ConvGeometry.convTranspose(attrs, x: x.shape, w: wt.shape, y: want.shape, hasBias: b != nil, workers: workers)
        XCTAssertEqual(g.isBlocked, block > 0 && x.shape[0] < 2 * workers, "trial \(trial)")
        return g
      }
      if x.shape[0] == 1 {
        XCTAssertEqual(bits[1], bits[0], "trial \(trial): 2 workers")
        XCTAssertEqual(bits[2], bits[0], "trial \(trial): 3 workers")
      }
    }
  }

  /// The usual 4x4 stride-2 pad-1 upsampling deconvolution (DCGAN generators).
  func testConvTransposeUpsampling() throws {
    var rng = SplitMix64(seed: 5)
    let x = rng.tensor([2, 3, 4, 4]), w = rng.tensor([3, 5, 4, 4]), b = rng.tensor([5])
    let attrs = ConvTransposeAttrs(strides: [2, 2], pads: [1, 1, 1, 1])
    let got = try runSingle(.convTranspose2d(attrs), [x, w, b], weights: [1, 2])
    XCTAssertEqual(got.shape, [2, 5, 8, 8])
    assertClose(got, Naive.convTranspose2d(x, w, b, attrs), convTolerance)
  }
}
