// HalfTests: the one binary16 conversion (MoeKernels' halfBits / floatFromHalfBits) against NumPy's float16.
import Foundation
import MoeKernels
import MoeTestSupport
import XCTest

final class HalfTests: XCTestCase {
  /// Runs `script` in the project's venv with `input` (raw little-endian bytes) at `in.bin`; returns `out.bin`.
  func numpy(_ script: String, input: [UInt8]) throws -> [UInt8] {
    let dir = try TestSupport.temporaryDirectory("half")
    defer { try? FileManager.default.removeItem(at: dir) }
    try Data(input).write(to: dir.appendingPathComponent("in.bin"))
    try TestSupport.python(["-c", "import numpy as np, sys, os\nos.chdir(sys.argv[1])\n" + script, dir.path])
    return [UInt8](try Data(contentsOf: dir.appendingPathComponent("out.bin")))
  }

  func testEveryHalfDecodesAsNumpy() throws {
    let want = try numpy("np.arange(65536, dtype='<u2').view('<f2').astype('<f4').tofile('out.bin')", input: [])
    XCTAssertEqual(want.count, 65536 * 4)
    var mismatches = 0
    for h in 0...UInt16.max {
      let i = Int(h) * 4
      let bits = UInt32(want[i]) | UInt32(want[i + 1]) << 8 | UInt32(want[i + 2]) << 16 | UInt32(want[i + 3]) << 24
      let got = floatFromHalfBits(h)
      let expected = Float(bitPattern: bits)
      // NaNs: NumPy keeps the payload (quieted); compare bit patterns for every other value.
      if expected.isNaN ? !got.isNaN : got.bitPattern != bits { mismatches += 1 }
      if expected.isNaN == false { XCTAssertEqual(halfBits(got), h, "round trip of half \(h)") }
    }
    XCTAssertEqual(mismatches, 0)
  }

  func testRoundingMatchesNumpy() throws {
    var rng = SplitMix64(seed: 16)
    // Edges: zeros, the largest half and the overflow threshold, subnormal boundaries, ties both ways, infinities.
    var values: [Float] = [0, -0, 1, -1, 65504, 65519.99, 65520, -65520, 1e9, 6.1035156e-5, 6.097555e-5, 5.9604645e-8,
                           2.9802322e-8, 2.9802326e-8, 1e-9, 1 + 0x1p-11, 1 + 0x1p-11 + 0x1p-23, 1 + 3 * 0x1p-11,
                           .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
    for _ in 0..<20000 { values.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0x7FFF_FFFF) * (rng.next() & 1 == 0 ? 1 : -1)) }
    for _ in 0..<20000 { values.append(rng.gaussian() * Float(pow(2.0, Double(Int(rng.next() % 44) - 30)))) }
    // Exact midpoints between neighbouring halves (ties to even).
    for h in stride(from: UInt16(0), to: 0x7BFF, by: 97) {
      values.append((floatFromHalfBits(h) + floatFromHalfBits(h + 1)) / 2)
    }
    values = values.filter { !$0.isNaN }
    let bytes = values.flatMap { v in (0..<4).map { UInt8((v.bitPattern >> (8 * UInt32($0))) & 0xFF) } }
    let want = try numpy("np.fromfile('in.bin', dtype='<f4').astype('<f2').tofile('out.bin')", input: bytes)
    XCTAssertEqual(want.count, values.count * 2)
    var mismatches: [String] = []
    for (i, v) in values.enumerated() {
      let expected = UInt16(want[2 * i]) | UInt16(want[2 * i + 1]) << 8
      if halfBits(v) != expected { mismatches.append("\(v): got \(halfBits(v)), numpy \(expected)") }
    }
    XCTAssertEqual(mismatches.prefix(5), [], "\(mismatches.count) of \(values.count) differ")
    XCTAssertTrue(floatFromHalfBits(halfBits(.nan)).isNaN)
  }
}
