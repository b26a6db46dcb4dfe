// FrechetDistanceTests: the tagger-feature Fréchet distance against NumPy's eigen-decomposition on seeded features.
import Foundation
import MoeTestSupport
import XCTest

@testable import MoeTraining

final class FrechetDistanceTests: XCTestCase {
  func testMatchesNumpy() throws {
    var rng = SplitMix64(seed: 3)
    for (n, d) in [(50, 4), (200, 16), (120, 33)] {
      let a = (0..<n).map { _ in (0..<d).map { _ in rng.gaussian() } }
      // b: correlated and shifted, so every term of the distance matters.
      let b = (0..<n).map { _ -> [Float] in
        let g = (0..<d).map { _ in rng.gaussian() }
        return (0..<d).map { i in 0.5 + g[i] * 1.5 + (i > 0 ? 0.7 * g[i - 1] : 0) }
      }
      let dir = try TestSupport.temporaryDirectory("fd")
      let text = { (x: [[Float]]) in x.map { $0.map { "\($0)" }.joined(separator: " ") }.joined(separator: "\n") }
      try text(a).write(to: dir.appendingPathComponent("a.txt"), atomically: true, encoding: .utf8)
      try text(b).write(to: dir.appendingPathComponent("b.txt"), atomically: true, encoding: .utf8)
      let r = try TestSupport.python(["-c", """
        import numpy as np
        a = np.loadtxt('\(dir.path)/a.txt', ndmin=2).astype(np.float64); b = np.loadtxt('\(dir.path)/b.txt', ndmin=2).astype(np.float64)
        m1, m2 = a.mean(0), b.mean(0); s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        w, v = np.linalg.eigh(s1); r = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
        e = np.linalg.eigvalsh(r @ s2 @ r)
        print(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(e, 0, None)).sum())
        """])
      let want = Double(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))!
      let got = frechetDistance(a, b)
      XCTAssertEqual(got, want, accuracy: 1e-6 * max(1, abs(want)), "n=\(n) d=\(d)")
      XCTAssertEqual(frechetDistance(a, a), 0, accuracy: 1e-6)
    }
  }
}
