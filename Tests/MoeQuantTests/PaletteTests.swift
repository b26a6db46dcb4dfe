// PaletteTests: k-means quality ordering, nearest-entry assignment, determinism, and speed on 1M values.
import Foundation
import MoeIR
import MoeKernels
import MoeTestSupport
import XCTest

@testable import MoeQuant

final class PaletteTests: XCTestCase {
  func testSQNRGrowsWithK() throws {
    var rng = SplitMix64(seed: 41)
    let t = rng.tensor([100_000], std: 0.05)
    var last = -Double.infinity
    for k in [4, 16, 64, 256] {
      let d = try Quantizer.decode(Quantizer.encode(t, as: .palette(k: k, perChannel: false, axis: 0)))
      let db = sqnr(t.data, d.data)
      print("palette\(k) on Gaussian: SQNR \(String(format: "%.2f", db)) dB")
      XCTAssertGreaterThan(db, last + 5)
      last = db
    }
    // Lloyd–Max for a Gaussian: ≈ 9.3 dB at k=4, ≈ 20.2 dB at k=16.
    let d4 = try Quantizer.decode(Quantizer.encode(t, as: .palette(k: 4, perChannel: false, axis: 0)))
    XCTAssertEqual(sqnr(t.data, d4.data), 9.3, accuracy: 0.3)
  }

  func testEveryValueTakesTheNearestEntry() throws {
    var rng = SplitMix64(seed: 42)
    let t = rng.tensor([6, 50], std: 1)
    let scheme = QuantScheme.palette(k: 16, perChannel: true, axis: 0)
    let e = try Quantizer.encode(t, as: scheme)
    let d = try Quantizer.decode(e)
    for c in 0..<6 {
      let book = (0..<16).map { j in floatFromHalfBits(UInt16(e.payload[2 * (c * 16 + j)]) | UInt16(e.payload[2 * (c * 16 + j) + 1]) << 8) }
      XCTAssertEqual(book, book.sorted())
      for i in c * 50..<(c + 1) * 50 {
        XCTAssertTrue(book.contains(d.data[i]))
        XCTAssertEqual(abs(d.data[i] - t.data[i]), book.map { abs($0 - t.data[i]) }.min()!)
      }
    }
  }

  func testKMeansEdgeCases() {
    XCTAssertEqual(kmeans1D([3, 1, 3, 2, 1], k: 4), [1, 2, 3])
    XCTAssertEqual(kmeans1D([], k: 4), [])
    XCTAssertEqual(kmeans1D([0, 0, 10, 10], k: 2), [0, 10])
    XCTAssertEqual(kmeans1D([0, 1, 2, 100, 101, 102], k: 2), [1, 101])
    var rng = SplitMix64(seed: 43)
    let xs = (0..<5000).map { _ in rng.gaussian() }
    let a = kmeans1D(xs, k: 64)
    XCTAssertEqual(a, kmeans1D(xs.reversed(), k: 64))  // depends on the values only
    XCTAssertEqual(a.count, 64)
    XCTAssertEqual(Set(a).count, 64)
    // Heavy duplicates: more values than k but few distinct ones near the cut.
    let dup = [Float](repeating: 0, count: 1000) + [1, 2, 3, 4, 5]
    XCTAssertEqual(kmeans1D(dup, k: 4).count, 4)
  }

  func testOneMillionValuesWithK256() throws {
    var rng = SplitMix64(seed: 44)
    let t = rng.tensor([1024, 1024], std: 0.05)
    let start = Date()
    let e = try Quantizer.encode(t, as: .palette(k: 256, perChannel: false, axis: 0))
    let seconds = Date().timeIntervalSince(start)
    let d = try Quantizer.decode(e)
    print(String(format: "palette256 on 1M values: encode %.2f s, %d bytes, SQNR %.2f dB", seconds, e.payload.count, sqnr(t.data, d.data)))
    XCTAssertEqual(e.payload.count, 512 + 1_048_576)
    XCTAssertGreaterThan(sqnr(t.data, d.data), 43)  // Panter–Dite high-rate limit for a Gaussian: ≈ 43.8 dB
  }
}
