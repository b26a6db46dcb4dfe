// TranscendentalTests: the vectorised exp, tanh and sigmoid of MoeNativeShim against double-precision libm, in ulp,
// at every vector level this CPU runs (SSE, AVX2 + FMA, AVX-512), with denormals, ±∞, ±0 and NaN.
import Foundation
import MoeNativeShim
import MoeTestSupport
import XCTest

final class TranscendentalTests: XCTestCase {
  /// Named bound: the shim's documented accuracy.
  let maxUlp = 3.0

  /// |got − want| in units of the last place of `want` rounded to float (the smallest denormal below the normals).
  func ulpError(_ got: Float, _ want: Double) -> Double {
    if want.isNaN { return got.isNaN ? 0 : .infinity }
    let w = Float(want)
    if w.isInfinite { return got == w ? 0 : .infinity }
    let ulp = Swift.abs(w) < Float.leastNormalMagnitude ? Double(Float.leastNonzeroMagnitude) : Double(w.ulp)
    return Swift.abs(Double(got) - want) / ulp
  }

  func testExpTanhSigmoidWithinThreeUlpAtEveryVectorLevel() {
    let references: [(name: String, code: Int32, f: (Double) -> Double)] = [
      ("exp", 0, { Foundation.exp($0) }),
      ("tanh", 1, { Foundation.tanh($0) }),
      ("sigmoid", 2, { 1 / (1 + Foundation.exp(-$0)) }),
    ]
    var rng = SplitMix64(seed: 41)
    // Seeded values: uniform over the interesting range, then random bit patterns (every exponent), then specials
    // and the edges of exp's range.
    var x: [Float] = (0..<40_000).map { _ in Float.random(in: -110...110, using: &rng) }
    x += (0..<40_000).map { _ in Float.random(in: -1...1, using: &rng) }
    x += (0..<40_000).compactMap { _ in
      let v = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
      return v.isNaN ? nil : v
    }
    x += [0, Float(sign: .minus, exponentBitPattern: 0, significandBitPattern: 0), .nan, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNormalMagnitude, .greatestFiniteMagnitude,
          88.72, 88.73, -87.33, -103.2, -103.3, -104, 0.55, -0.55, 0.5499999, 9, -9, 1e-20, -Float(bitPattern: 0x8020_0000)]
    var levels = 0
    for level: Int32 in 0...2 {
      for (name, code, f) in references {
        var y = [Float](repeating: .nan, count: x.count)
        let ran = x.withUnsafeBufferPointer { xp in
          y.withUnsafeMutableBufferPointer { moe_transcendental_f32_at(code, level, xp.baseAddress, $0.baseAddress, xp.count) }
        }
        guard ran == 1 else { continue }
        levels = max(levels, Int(level) + 1)
        var worst = 0.0, at: Float = 0
        for i in x.indices {
          let e = ulpError(y[i], f(Double(x[i])))
          if e > worst { worst = e; at = x[i] }
        }
        XCTAssertLessThanOrEqual(worst, maxUlp, "\(name) at vector level \(level): \(worst) ulp at x = \(at)")
        if name == "tanh" {
          // tanh is odd, including its sign at ±0.
          XCTAssertEqual(y[x.firstIndex(where: { $0 == 0 && $0.sign == .minus })!].sign, .minus)
        }
      }
      // In place gives the same values.
      var z = x
      z.withUnsafeMutableBufferPointer { _ = moe_transcendental_f32_at(1, level, $0.baseAddress, $0.baseAddress, $0.count) }
      var y = [Float](repeating: 0, count: x.count)
      _ = x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { moe_transcendental_f32_at(1, level, xp.baseAddress, $0.baseAddress, xp.count) } }
      if level < Int32(levels) {
        XCTAssertTrue(zip(z, y).allSatisfy { $0.bitPattern == $1.bitPattern }, "in-place tanh at level \(level)")
      }
    }
    XCTAssertGreaterThanOrEqual(levels, 1, "the SSE kernels always run on x86-64")
    XCTAssertEqual(moe_transcendental_f32_at(3, 0, nil, nil, 0), 0, "an unknown function is refused")
  }
}
