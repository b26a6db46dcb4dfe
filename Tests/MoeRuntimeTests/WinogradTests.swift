// WinogradTests: 3×3 stride-1 convolutions through Winograd F(2×2, 3×3) against the naive loops and the im2col path.
import MoeIR
import MoeTestSupport
import XCTest

@testable import MoeRuntime

final class WinogradTests: XCTestCase {
  /// Seeded shapes around the vector width (odd and even sizes, 1-pixel planes), asymmetric pads, several images per
  /// chunk and chunks that start mid-row; 1–3 workers give the same bits, and the result matches naive loops.
  func testWinogradConvMatchesNaiveLoopsOnAnyWorkers() throws {
    Kernels.winogradMinTiles = 1
    defer { Kernels.winogradMinTiles = 128 }
    var rng = SplitMix64(seed: 23)
    for trial in 0..<14 {
      let c = rng.int(16...40), o = rng.int(17...40)
      let h = [1, 2, 3, 7, 16, 17, 19][trial % 7], w = [1, 4, 9, 16, 17, 18, 33][(trial * 3) % 7]
      let pads = trial % 4 == 0 ? [0, 0, 0, 0] : (0..<4).map { _ in rng.int(0...2) }
      guard h + pads[0] + pads[2] >= 3, w + pads[1] + pads[3] >= 3 else { continue }
      let attrs = ConvAttrs(pads: pads)
      let x = rng.tensor([1 + trial % 3, c, h, w]), wt = rng.tensor([o, c, 3, 3])
      let b = trial % 2 == 0 ? rng.tensor([o]) : nil
      let want = Naive.conv2d(x, wt, b, attrs)
      var runs: [Tensor] = []
      for workers in [1, 2, 3] {
        let g = ConvGeometry.conv(attrs, x: x.shape, w: wt.shape, y: want.shape, hasBias: b != nil, workers: workers)
        XCTAssertTrue(g.isWinograd, "\(x.shape) \(wt.shape)")
        runs.append(runGeometry(g, transposed: false, x, wt, b, outShape: want.shape))
        assertClose(runs.last!, want, convTolerance, "winograd \(x.shape) \(wt.shape) \(attrs) workers \(workers)")
      }
      XCTAssertEqual(runs[0].data, runs[1].data, "winograd result depends on the thread count")
      XCTAssertEqual(runs[0].data, runs[2].data, "winograd result depends on the thread count")
    }
  }

  /// The weight gradient by the adjoint of Winograd F(2×2, 3×3) against naive loops, the same bits on 1–3 workers;
  /// chunks of tiles that span images and rows (several chunks where the batch is large enough).
  func testWinogradFilterGradMatchesNaiveLoopsOnAnyWorkers() throws {
    var rng = SplitMix64(seed: 25)
    for trial in 0..<10 {
      let c = rng.int(16...36), o = rng.int(16...36)
      let h = [2, 3, 7, 16, 17][trial % 5], w = [1, 5, 16, 18, 9][(trial * 2) % 5]
      let pads = trial % 3 == 0 ? [1, 1, 1, 1] : (0..<4).map { _ in rng.int(0...2) }
      guard h + pads[0] + pads[2] >= 3, w + pads[1] + pads[3] >= 3 else { continue }
      let attrs = ConvAttrs(pads: pads)
      let x = rng.tensor([trial == 9 ? 40 : 1 + trial % 3, c, h, w])
      let oh = h + pads[0] + pads[2] - 2, ow = w + pads[1] + pads[3] - 2
      let gy = rng.tensor([x.shape[0], o, oh, ow])
      let want = Naive.conv2dFilterGrad(x, gy, wShape: [o, c, 3, 3], attrs)
      var runs: [[Float]] = []
      for workers in [1, 2, 3] {
        let g = ConvGeometry.filterGrad(attrs, x: x.shape, gy: gy.shape, w: [o, c, 3, 3], workers: workers)
        XCTAssertTrue(g.isWinograd, "\(x.shape) \(gy.shape)")
        if trial == 9 { XCTAssertGreaterThan(g.chunks, 1, "several chunks") }
        var gw = [Float](repeating: .nan, count: want.count)
        var scratch = [Float](repeating: .nan, count: g.scratchCount)
        x.data.withUnsafeBufferPointer { xp in
          gy.data.withUnsafeBufferPointer { gp in
            gw.withUnsafeMutableBufferPointer { wp in
              scratch.withUnsafeMutableBufferPointer { sp in
                Kernels.conv2dFilterGrad(g, x: xp.baseAddress!, gy: gp.baseAddress!, gw: wp.baseAddress!, scratch: sp.baseAddress!)
              }
            }
          }
        }
        runs.append(gw)
        assertClose(Tensor(shape: want.shape, data: gw), want, convTolerance, "winograd filter grad \(x.shape) \(gy.shape) \(attrs) workers \(workers)")
      }
      XCTAssertEqual(runs[0], runs[1], "winograd filter grad depends on the thread count")
      XCTAssertEqual(runs[0], runs[2], "winograd filter grad depends on the thread count")
    }
  }

  /// The executor takes the Winograd path for the generators' 3×3 convs and only for those; turning it off gives the
  /// im2col path on the same shapes, and both agree with the naive loops.
  func testWinogradChoiceAndFallback() throws {
    var rng = SplitMix64(seed: 24)
    let x = rng.tensor([2, 32, 12, 12]), wt = rng.tensor([48, 32, 3, 3]), b = rng.tensor([48])
    let attrs = ConvAttrs(pads: [1, 1, 1, 1])
    let want = Naive.conv2d(x, wt, b, attrs)
    XCTAssertFalse(ConvGeometry.conv(attrs, x: x.shape, w: wt.shape, y: want.shape, hasBias: true).isWinograd,
                   "72 tiles: under the minimum")
    XCTAssertTrue(ConvGeometry.conv(attrs, x: [4, 32, 12, 12], w: wt.shape, y: [4, 48, 12, 12], hasBias: true).isWinograd,
                  "144 tiles")
    Kernels.winogradMinTiles = 1
    defer { Kernels.winogradMinTiles = 128 }
    XCTAssertTrue(ConvGeometry.conv(attrs, x: x.shape, w: wt.shape, y: want.shape, hasBias: true).isWinograd)
    XCTAssertFalse(ConvGeometry.conv(ConvAttrs(strides: [2, 2], pads: [1, 1, 1, 1]), x: x.shape, w: wt.shape,
                                     y: [2, 48, 6, 6], hasBias: true).isWinograd, "stride 2")
    XCTAssertFalse(ConvGeometry.conv(attrs, x: [2, 8, 12, 12], w: [48, 8, 3, 3], y: want.shape, hasBias: true).isWinograd,
                   "8 input channels")
    XCTAssertFalse(ConvGeometry.conv(attrs, x: x.shape, w: [8, 32, 3, 3], y: [2, 8, 12, 12], hasBias: true).isWinograd,
                   "8 outputs take the direct path")
    assertClose(try runSingle(.conv2d(attrs), [x, wt, b], weights: [1, 2]), want, convTolerance, "winograd")
    Kernels.winogradAllowed = false
    defer { Kernels.winogradAllowed = true }
    XCTAssertFalse(ConvGeometry.conv(attrs, x: x.shape, w: wt.shape, y: want.shape, hasBias: true).isWinograd)
    assertClose(try runSingle(.conv2d(attrs), [x, wt, b], weights: [1, 2]), want, convTolerance, "im2col")
  }
}
