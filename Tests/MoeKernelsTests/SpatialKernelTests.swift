// SpatialKernelTests: pad (constant, reflect, edge), max/average pooling and resize kernels against the Executor.
@testable import MoeRuntime
import MoeIR
import MoeKernels
import MoeTestSupport
import XCTest

final class SpatialKernelTests: XCTestCase {
  func testPadModesMatchExecutor() throws {
    var rng = SplitMix64(seed: 41)
    let x = rng.tensor([2, 3, 4, 5])
    for pads in [[0, 0, 1, 2, 0, 0, 2, 1], [0, 1, 2, 0, 0, 0, 0, 3], [1, 0, 0, 1, 0, 2, 1, 0]] {
      for (code, mode) in [(Int32(0), PadMode.constant), (1, .reflect), (2, .edge)] {
        let want = try executor(.pad(PadAttrs(mode: mode, pads: pads, value: 0.5)), [x])
        let g = ([4] + x.shape + want.shape + pads[..<4]).map { Int32($0) } + [code]
        var y = [Float](repeating: .nan, count: want.count)
        x.data.withUnsafeBufferPointer { xp in
          g.withUnsafeBufferPointer { gp in
            y.withUnsafeMutableBufferPointer { yp in moe_pad(xp.baseAddress!, yp.baseAddress!, gp.baseAddress!, 0.5) }
          }
        }
        XCTAssertEqual(y, want.data, "pad \(mode) \(pads)")
      }
    }
  }

  func testPoolingMatchesExecutor() throws {
    var rng = SplitMix64(seed: 42)
    let x = rng.tensor([2, 3, 9, 8], -2...2)
    let windows: [PoolAttrs] = [
      PoolAttrs(kernel: [2, 2], strides: [2, 2]), PoolAttrs(kernel: [3, 3], pads: [1, 1, 1, 1]),
      PoolAttrs(kernel: [3, 2], strides: [2, 3], pads: [0, 1, 1, 0], ceilMode: true),
      PoolAttrs(kernel: [2, 3], dilations: [2, 2]),
      PoolAttrs(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceilMode: true, countIncludePad: true),
    ]
    for p in windows {
      for isMax in [true, false] {
        let want = try executor(isMax ? .maxPool(p) : .averagePool(p), [x])
        let g = ([6, 9, 8, want.shape[2], want.shape[3]] + p.kernel + p.strides + p.dilations + p.pads).map { Int32($0) }
          + [isMax ? 1 : 0, p.countIncludePad ? 1 : 0]
        var y = [Float](repeating: .nan, count: want.count)
        x.data.withUnsafeBufferPointer { xp in
          g.withUnsafeBufferPointer { gp in
            y.withUnsafeMutableBufferPointer { yp in moe_pool(xp.baseAddress!, yp.baseAddress!, gp.baseAddress!) }
          }
        }
        assertClose(y, want.data, elementwiseTolerance, "\(isMax ? "max" : "average") pool \(p)")
      }
    }
  }

  /// The kernel interpolates with the Executor's own taps (moe.js computes them; the op corpus checks that path).
  func testResizeMatchesExecutor() throws {
    var rng = SplitMix64(seed: 43)
    let x = rng.tensor([2, 3, 4, 6])
    for mode in ResizeMode.allCases {
      for coordinates in CoordinateMode.allCases {
        for scales: [Float] in [[2, 2], [1.5, 3], [0.5, 0.75]] {
          let r = ResizeAttrs(mode: mode, coordinates: coordinates, nearest: .roundPreferCeil, scales: scales)
          let want = try executor(.resize(r), [x])
          let geometry = ResizeGeometry(r, input: x.shape, output: want.shape)
          let taps = (geometry.rows + geometry.cols).flatMap { [Int32($0.0), Int32($0.1)] }
          let weights = (geometry.rows + geometry.cols).map(\.2)
          var y = [Float](repeating: .nan, count: want.count)
          withPointers([x.data, weights]) { p in
            taps.withUnsafeBufferPointer { tp in
              y.withUnsafeMutableBufferPointer { yp in
                moe_resize(p[0]!, yp.baseAddress!, 6, 4, 6, Int32(want.shape[2]), Int32(want.shape[3]), tp.baseAddress!, p[1]!)
              }
            }
          }
          XCTAssertEqual(y, want.data, "resize \(mode) \(coordinates) \(scales)")
        }
      }
    }
  }
}
