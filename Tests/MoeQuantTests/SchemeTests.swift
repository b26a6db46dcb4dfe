// SchemeTests: names, Codable, seeded round trips within each scheme's error bound, documented byte counts.
import Foundation
import MoeIR
import MoeKernels
import MoeQuant
import MoeTestSupport
import XCTest

final class SchemeTests: XCTestCase {
  static let schemes: [QuantScheme] = [
    .float32, .float16, .int8(axis: 0), .int8(axis: 1), .int4(axis: 0, groupSize: 32), .int4(axis: 1, groupSize: 7),
    .int4(axis: 0, groupSize: 1), .palette(k: 4, perChannel: false, axis: 0), .palette(k: 16, perChannel: true, axis: 0),
    .palette(k: 64, perChannel: true, axis: 1), .palette(k: 256, perChannel: false, axis: 0), .palette(k: 2, perChannel: true, axis: 0),
    .eightbit,
  ]

  func testNamesRoundTrip() throws {
    let expected = [
      "f32", "f16", "int8", "int8-a1", "int4-g32", "int4-g7-a1", "int4-g1", "palette4", "palette16-pc", "palette64-pc-a1",
      "palette256", "palette2-pc", "eightbit",
    ]
    XCTAssertEqual(Self.schemes.map(\.description), expected)
    for s in Self.schemes { XCTAssertEqual(QuantScheme(name: s.description), s) }
    XCTAssertEqual(QuantScheme(name: "float16"), .float16)
    for bad in [
      "", "int8-a0", "int4", "int4-g0", "int4-g+8", "palette3", "palette512", "palette16-pc-pc", "eightbit-a1", "int8-", "f16-a2",
    ] {
      XCTAssertNil(QuantScheme(name: bad), bad)
    }
  }

  func testCodableUsesTheName() throws {
    let json = try JSONEncoder().encode(Self.schemes)
    XCTAssertEqual(try JSONDecoder().decode([QuantScheme].self, from: json), Self.schemes)
    XCTAssertTrue(String(decoding: json, as: UTF8.self).contains("\"int4-g7-a1\""))
    XCTAssertThrowsError(try JSONDecoder().decode([QuantScheme].self, from: Data("[\"int3\"]".utf8)))
  }

  func testSeededRoundTripsWithinBounds() throws {
    var rng = SplitMix64(seed: 42)
    let shapes: [[Int]] = [[64, 64, 3, 3], [7, 13], [5, 3, 3, 3], [37], [], [1, 1], [3, 5, 1], [2, 9, 5]]
    for scheme in Self.schemes {
      for shape in shapes {
        try assertRoundTrip(rng.tensor(shape, std: 0.05), scheme)
      }
    }
  }

  func testFloatSchemesAreExactOrHalfExact() throws {
    var rng = SplitMix64(seed: 7)
    let t = rng.tensor([10, 11])
    XCTAssertEqual(try Quantizer.decode(Quantizer.encode(t, as: .float32)).data, t.data)
    XCTAssertEqual(Quantizer.maxErrorBound(t, .float32), 0)
    #if !(os(macOS) && arch(x86_64))
      let half = try Quantizer.decode(Quantizer.encode(t, as: .float16)).data
      XCTAssertEqual(half, t.data.map { Float(Float16($0)) })
    #endif
  }

  func testHalfConversionMatchesFloat16() throws {
    #if !(os(macOS) && arch(x86_64))
      var rng = SplitMix64(seed: 3)
      var values: [Float] = [0, -0, 1, 65504, 65519.99, 65520, 6.1e-5, 5.96e-8, 2.98e-8, 2.99e-8, 1e-9, .infinity, -.infinity]
      for _ in 0..<20000 {
        values.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0x7FFF_FFFF) * (rng.uniform() < 0.5 ? 1 : -1))
      }
      for _ in 0..<20000 { values.append(rng.gaussian() * Float(pow(2.0, Double(Int(rng.next() % 40) - 28)))) }
      for x in values where !x.isNaN {
        XCTAssertEqual(halfBits(x), Float16(x).bitPattern, "\(x)")
      }
      for h in 0...UInt16.max where (h & 0x7C00) != 0x7C00 {
        XCTAssertEqual(floatFromHalfBits(h), Float(Float16(bitPattern: h)))
      }
      XCTAssertTrue(floatFromHalfBits(halfBits(.nan)).isNaN)
    #endif
  }

  func testInt8AxisOneIsPerOutputChannelOfDeconv() throws {
    // Deconvolution W is (in, out, kh, kw): scale out-channel 1 by 1000; int8-a1 keeps the other channels fine.
    var rng = SplitMix64(seed: 11)
    var t = rng.tensor([4, 3, 2, 2], std: 0.1)
    for i in 0..<4 { for j in 0..<4 { t.data[i * 12 + 4 + j] *= 1000 } }
    let a1 = try Quantizer.decode(Quantizer.encode(t, as: .int8(axis: 1)))
    let a0 = try Quantizer.decode(Quantizer.encode(t, as: .int8(axis: 0)))
    let channel0 = (0..<4).flatMap { i in (0..<4).map { i * 12 + $0 } }
    let err1 = maxAbsDiff(channel0.map { a1.data[$0] }, channel0.map { t.data[$0] })
    let err0 = maxAbsDiff(channel0.map { a0.data[$0] }, channel0.map { t.data[$0] })
    XCTAssertLessThan(err1 * 50, err0)
    XCTAssertEqual(try Quantizer.payloadSize(.int8(axis: 1), shape: t.shape), 4 * 3 + 48)
  }

  func testInt4ByteLayout() throws {
    // One channel of 3 values, group 2: scales f16 of max/7 rounded up, then nibbles q+8, low nibble first.
    let t = Tensor(shape: [1, 3], data: [0.7, -0.35, 1.4])
    let e = try Quantizer.encode(t, as: .int4(axis: 0, groupSize: 2))
    XCTAssertEqual(e.payload.count, 2 * 2 + 2)
    let s0 = halfBits(0.1), s1 = halfBits(0.2)
    let roundedUp0 = floatFromHalfBits(s0) >= Float(0.7) / 7 ? s0 : s0 + 1
    let roundedUp1 = floatFromHalfBits(s1) >= Float(1.4) / 7 ? s1 : s1 + 1
    XCTAssertEqual(
      Array(e.payload[0..<4]), [UInt8(roundedUp0 & 0xFF), UInt8(roundedUp0 >> 8), UInt8(roundedUp1 & 0xFF), UInt8(roundedUp1 >> 8)])
    let q0 = 8 + Int((0.7 / floatFromHalfBits(roundedUp0)).rounded()), q1 = 8 + Int((-0.35 / floatFromHalfBits(roundedUp0)).rounded())
    let q2 = 8 + Int((1.4 / floatFromHalfBits(roundedUp1)).rounded())
    XCTAssertEqual(Array(e.payload[4...]), [UInt8(q0 | q1 << 4), UInt8(q2)])
  }

  func testPaletteByteLayoutAndExactSmallAlphabet() throws {
    // Three distinct values (exact in f16) with k=4: codebook sorted and padded with the largest, 2-bit indices.
    let t = Tensor(shape: [5], data: [0.5, -1, 0.25, 0.5, -1])
    let e = try Quantizer.encode(t, as: .palette(k: 4, perChannel: false, axis: 0))
    XCTAssertEqual(e.payload.count, 2 * 4 + 2)
    let book = (0..<4).map { floatFromHalfBits(UInt16(e.payload[2 * $0]) | UInt16(e.payload[2 * $0 + 1]) << 8) }
    XCTAssertEqual(book, [-1, 0.25, 0.5, 0.5])
    // indices 2,0,1,2,0 → bits: 10 00 01 10 | 00
    XCTAssertEqual(Array(e.payload[8...]), [0b1001_0010, 0b0000_0000])
    XCTAssertEqual(try Quantizer.decode(e).data, t.data)
    XCTAssertEqual(Quantizer.maxErrorBound(t, .palette(k: 4, perChannel: false, axis: 0)), 0.625 + 0x1p-20)  // half the gap −1…0.25
  }
}
