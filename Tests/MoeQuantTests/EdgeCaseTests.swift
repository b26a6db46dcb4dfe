// EdgeCaseTests: zeros, constants, odd and empty shapes, bad inputs, truncated and corrupt payloads.
import MoeIR
import MoeKernels
import MoeTestSupport
import XCTest

@testable import MoeQuant

final class EdgeCaseTests: XCTestCase {
  func testZeroChannelsDecodeToExactZeros() throws {
    var rng = SplitMix64(seed: 5)
    var t = rng.tensor([4, 3, 3, 3], std: 0.2)
    for i in 27..<54 { t.data[i] = 0 }  // output channel 1 all zeros
    for scheme in SchemeTests.schemes {
      let d = try assertRoundTrip(t, scheme)
      if case .palette(_, false, _) = scheme { continue }  // one codebook for the tensor need not contain 0
      XCTAssertEqual(Array(d.data[27..<54]), [Float](repeating: 0, count: 27), "\(scheme)")
    }
    for scheme in SchemeTests.schemes {
      let d = try assertRoundTrip(Tensor(zeros: [3, 5]), scheme)
      XCTAssertEqual(d.data, [Float](repeating: 0, count: 15), "\(scheme)")
    }
  }

  func testConstantTensors() throws {
    for value: Float in [0.75, -3, 1e-30] {
      let t = Tensor(shape: [6, 7], data: [Float](repeating: value, count: 42))
      for scheme in SchemeTests.schemes { try assertRoundTrip(t, scheme) }
      // A constant is one distinct value: palettes reproduce it up to float16 rounding.
      let d = try Quantizer.decode(Quantizer.encode(t, as: .palette(k: 16, perChannel: true, axis: 0)))
      XCTAssertEqual(d.data, [Float](repeating: floatFromHalfBits(halfBits(value)), count: 42))
    }
  }

  func testEmptyAndScalarShapes() throws {
    for shape: [Int] in [[0], [3, 0, 2], [0, 4]] {
      for scheme in SchemeTests.schemes { try assertRoundTrip(Tensor(zeros: shape), scheme) }
    }
    for scheme in SchemeTests.schemes { try assertRoundTrip(Tensor(shape: [], data: [-2.5]), scheme) }
    // A 1-D tensor is one channel whatever the axis.
    XCTAssertEqual(try Quantizer.payloadSize(.int8(axis: 3), shape: [10]), 4 + 10)
  }

  func testNonFiniteInputsAreNamed() {
    var data = [Float](repeating: 1, count: 20)
    data[13] = .nan
    for scheme in SchemeTests.schemes {
      XCTAssertThrowsError(try Quantizer.encode(Tensor(shape: [4, 5], data: data), as: scheme)) { error in
        guard case let .nonFinite(index, _) = error as? QuantError else { return XCTFail("\(error)") }
        XCTAssertEqual(index, 13)
      }
    }
    data[13] = -.infinity
    XCTAssertThrowsError(try Quantizer.encodeEightbit(concatenated: [Tensor(shape: [20], data: data)]))
    XCTAssertEqual(Quantizer.maxErrorBound(Tensor(shape: [20], data: data), .int8(axis: 0)), .infinity)
  }

  func testInvalidSchemesAndRanges() {
    let t = Tensor(zeros: [4, 4])
    for scheme: QuantScheme in [
      .int8(axis: 2), .int4(axis: 0, groupSize: 0), .palette(k: 3, perChannel: false, axis: 0),
      .palette(k: 512, perChannel: true, axis: 0), .palette(k: 16, perChannel: true, axis: -1),
    ] {
      XCTAssertThrowsError(try Quantizer.encode(t, as: scheme)) { error in
        guard case .invalidScheme = error as? QuantError else { return XCTFail("\(scheme): \(error)") }
      }
    }
    let big = Tensor(shape: [2], data: [4e5, 1])
    XCTAssertThrowsError(try Quantizer.encode(big, as: .float16)) { error in
      guard case .outOfRange = error as? QuantError else { return XCTFail("\(error)") }
    }
    XCTAssertNoThrow(try Quantizer.encode(big, as: .int4(axis: 0, groupSize: 4)))  // 4e5/7 fits a float16 scale
    XCTAssertThrowsError(try Quantizer.encode(Tensor(shape: [1], data: [5e5]), as: .int4(axis: 0, groupSize: 4)))
    XCTAssertThrowsError(try Quantizer.encode(Tensor(shape: [1], data: [1e6]), as: .palette(k: 4, perChannel: false, axis: 0)))
    XCTAssertThrowsError(try Quantizer.decode(EncodedTensor(scheme: .float32, shape: [-1], payload: [], deflated: false)))
  }

  func testTruncatedAndOverlongPayloadsThrow() throws {
    var rng = SplitMix64(seed: 9)
    let t = rng.tensor([6, 5, 3], std: 0.3)
    for scheme in SchemeTests.schemes {
      for deflate in [false, true] {
        let e = try Quantizer.encode(t, as: scheme, deflate: deflate)
        for cut in [1, e.payload.count / 2, e.payload.count] {
          var short = e
          short.payload.removeLast(cut)
          XCTAssertThrowsError(try Quantizer.decode(short), "\(scheme) deflate \(deflate) cut \(cut)")
        }
        var long = e
        long.payload.append(0)
        XCTAssertThrowsError(try Quantizer.decode(long), "\(scheme) deflate \(deflate) + 1 byte")
        var wrongShape = e
        wrongShape.shape = [6, 5, 4]
        XCTAssertThrowsError(try Quantizer.decode(wrongShape), "\(scheme) deflate \(deflate) wrong shape")
      }
    }
  }

  func testCorruptPayloadsThrow() throws {
    var rng = SplitMix64(seed: 10)
    let t = rng.tensor([8, 9], std: 0.3)
    func corrupted(_ scheme: QuantScheme, deflate: Bool = false, _ edit: (inout [UInt8]) -> Void) throws -> EncodedTensor {
      var e = try Quantizer.encode(t, as: scheme, deflate: deflate)
      edit(&e.payload)
      return e
    }
    let cases: [(String, EncodedTensor)] = [
      (
        "f16 inf",
        try corrupted(.float16) {
          $0[1] = 0x7C; $0[0] = 0
        }
      ),
      ("int8 NaN scale", try corrupted(.int8(axis: 0)) { $0[0...3] = [0, 0, 0xC0, 0x7F] }),
      ("int8 negative scale", try corrupted(.int8(axis: 0)) { $0[3] |= 0x80 }),
      ("int4 inf scale", try corrupted(.int4(axis: 0, groupSize: 4)) { $0[0...1] = [0, 0x7C] }),
      ("palette NaN entry", try corrupted(.palette(k: 16, perChannel: true, axis: 0)) { $0[0...1] = [1, 0x7E] }),
      ("deflate flipped byte", try corrupted(.int8(axis: 0), deflate: true) { $0[$0.count / 2] ^= 0x5A }),
      ("deflate bad header", try corrupted(.float32, deflate: true) { $0[0] = 0x00 }),
      ("eightbit offset", try corrupted(.eightbit) { $0[0] = 4 }),
      ("eightbit body size", try corrupted(.eightbit) { $0[4] &+= 1 }),
      ("eightbit negative body size", try corrupted(.eightbit) { $0[7] = 0x80 }),
      ("eightbit NaN scale", try corrupted(.eightbit) { $0[8...11] = [0, 0, 0xC0, 0x7F] }),
      ("eightbit reserved", try corrupted(.eightbit) { $0[12] = 1 }),
      (
        "eightbit body",
        try corrupted(.eightbit) {
          $0[20] ^= 0xFF; $0[21] ^= 0xFF
        }
      ),
    ]
    for (name, e) in cases {
      XCTAssertThrowsError(try Quantizer.decode(e), name)
    }
    XCTAssertThrowsError(try inflateBytes([1, 2, 3], expectedSize: 3))
    XCTAssertThrowsError(try inflateBytes(deflateBytes([1, 2, 3]), expectedSize: 2))
    XCTAssertThrowsError(try inflateBytes(deflateBytes([1, 2, 3]), expectedSize: 4))
    XCTAssertThrowsError(try inflateBytes(deflateBytes([1, 2, 3]) + [0], expectedSize: 3))
    XCTAssertEqual(try inflateBytes(deflateBytes([]), expectedSize: 0), [])
  }

  func testBitPackingRoundTripsAtEveryWidth() {
    var rng = SplitMix64(seed: 12)
    for bits in 1...8 {
      for count in [0, 1, 7, 8, 9, 61] {
        let codes = (0..<count).map { _ in UInt8(rng.next() % UInt64(1 << bits)) }
        let packed = packBits(codes, bits: bits)
        XCTAssertEqual(packed.count, (count * bits + 7) / 8)
        XCTAssertEqual(unpackBits(packed[...], count: count, bits: bits), codes)
      }
    }
    XCTAssertEqual(packBits([1, 2, 3, 0, 1], bits: 2), [0b00_11_10_01, 0b01])  // element i at bits [2i, 2i+2)
    XCTAssertEqual(packBits([5, 3, 7], bits: 3), [0b11_011_101, 0b1])  // 3 bits straddle a byte
  }

  /// The tests' error helper: a NaN anywhere (not only first) or a count mismatch is infinitely far.
  func testMaxAbsDiffHelperCountsNaNAsInfinitelyFar() {
    for i in 0..<3 {
      var got: [Float] = [1, 2, 3]
      got[i] = .nan
      XCTAssertEqual(maxAbsDiff(got, [1, 2, 3]), .infinity, "NaN at \(i)")
    }
    XCTAssertEqual(maxAbsDiff([1, 2], [1, 2, 3]), .infinity)
    XCTAssertEqual(maxAbsDiff([1, 2.5, 3], [1, 2, 3]), 0.5)
  }
}
