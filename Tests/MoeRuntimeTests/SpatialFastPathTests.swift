// SpatialFastPathTests: the vectorised 2×2 max pool and 2× row upsampling against naive loops (NaN included), and
// bit-identical to the general kernels they replace.
import MoeIR
import MoeTestSupport
import XCTest

@testable import MoeRuntime

final class SpatialFastPathTests: XCTestCase {
  func testMaxPool2x2MatchesNaiveLoopsWithNaN() {
    var rng = SplitMix64(seed: 71)
    for (h, w) in [(2, 2), (5, 7), (16, 33), (64, 64), (3, 50)] {
      var x = rng.tensor([1, 3, h, w], -3...3)
      x.data[rng.int(0...(x.count - 1))] = .nan
      let attrs = PoolAttrs(kernel: [2, 2], strides: [2, 2])
      let oh = h / 2, ow = w / 2
      let g = PoolGeometry(planes: 3, height: h, width: w, outH: oh, outW: ow, attrs: attrs, isMax: true)
      for workers in [1, 2] {
        var y = [Float](repeating: 7, count: 3 * oh * ow)
        x.data.withUnsafeBufferPointer { xp in
          y.withUnsafeMutableBufferPointer { Kernels.pool(g, x: xp.baseAddress!, y: $0.baseAddress!, workers: workers) }
        }
        for p in 0..<3 {
          for i in 0..<oh {
            for j in 0..<ow {
              let window = [(0, 0), (0, 1), (1, 0), (1, 1)].map { x.data[p * h * w + (2 * i + $0.0) * w + 2 * j + $0.1] }
              let want = window.contains { $0.isNaN } ? Float.nan : window.max()!
              let got = y[(p * oh + i) * ow + j]
              XCTAssertTrue(got == want || (got.isNaN && want.isNaN), "\(h)×\(w) plane \(p) (\(i), \(j)): \(got) vs \(want)")
            }
          }
        }
      }
    }
  }

  /// Bilinear (half-pixel, and PyTorch's half-pixel) and nearest 2× upsampling: the row kernel is taken, matches the
  /// 2-D formula in double precision, and gives the same bits as the general taps loop.
  func testUpsample2xMatchesNaiveAndGeneralPath() {
    var rng = SplitMix64(seed: 72)
    for (h, w) in [(1, 2), (3, 2), (4, 5), (9, 16), (32, 17)] {
      let x = rng.tensor([1, 2, h, w], -2...2)
      for (mode, coordinates) in [(ResizeMode.linear, CoordinateMode.halfPixel), (.linear, .pytorchHalfPixel), (.nearest, .asymmetric)] {
        let r = ResizeAttrs(mode: mode, coordinates: coordinates, nearest: .floor, scales: [2, 2])
        var g = ResizeGeometry(r, input: x.shape, output: [1, 2, 2 * h, 2 * w])
        XCTAssertEqual(g.cols2x, mode == .linear ? 1 : 2, "\(mode) \(coordinates) width \(w)")
        let fast = run(g, x)
        g.cols2x = 0
        let general = run(g, x)
        XCTAssertEqual(fast.map(\.bitPattern), general.map(\.bitPattern), "\(mode) \(coordinates) \(h)×\(w)")
        for p in 0..<2 {
          for i in 0..<(2 * h) {
            for j in 0..<(2 * w) {
              let plane = Array(x.data[(p * h * w)..<((p + 1) * h * w)]).map(Double.init)
              let want: Double
              if mode == .nearest {
                want = plane[(i / 2) * w + j / 2]
              } else {
                let cy = min(max((Double(i) + 0.5) / 2 - 0.5, 0), Double(h - 1))
                let cx = min(max((Double(j) + 0.5) / 2 - 0.5, 0), Double(w - 1))
                let y0 = Int(cy), x0 = Int(cx), y1 = min(y0 + 1, h - 1), x1 = min(x0 + 1, w - 1)
                let fy = cy - Double(y0), fx = cx - Double(x0)
                let top = plane[y0 * w + x0] * (1 - fx) + plane[y0 * w + x1] * fx
                let bottom = plane[y1 * w + x0] * (1 - fx) + plane[y1 * w + x1] * fx
                want = top * (1 - fy) + bottom * fy
              }
              XCTAssertEqual(Double(fast[(p * 2 * h + i) * 2 * w + j]), want, accuracy: 1e-6, "\(mode) \(h)×\(w) (\(i), \(j))")
            }
          }
        }
      }
    }
    // Not a 2× upsampling: the general path.
    let r = ResizeAttrs(mode: .linear, coordinates: .alignCorners, nearest: .floor, scales: [2, 2])
    XCTAssertEqual(ResizeGeometry(r, input: [1, 1, 4, 4], output: [1, 1, 8, 8]).cols2x, 0)
    XCTAssertEqual(ResizeGeometry(r, input: [1, 1, 1, 1], output: [1, 1, 2, 2]).cols2x, 0)
  }

  func run(_ g: ResizeGeometry, _ x: Tensor) -> [Float] {
    var y = [Float](repeating: .nan, count: g.planes * g.outH * g.outW)
    x.data.withUnsafeBufferPointer { xp in
      y.withUnsafeMutableBufferPointer { Kernels.resize(g, x: xp.baseAddress!, y: $0.baseAddress!, workers: 2) }
    }
    return y
  }
}
