// EightbitTests: WebDNN eightbit against a naive re-implementation of its encoder and decoder; paper-sized bytes.
import Foundation
import MoeIR
import MoeTestSupport
import XCTest

@testable import MoeQuant

/// WebDNN's algorithm spelled out naively (linear scans, manual byte loads), as an oracle.
enum NaiveWebDNN {
  static func thresholds() -> [Float] {
    (0..<127).map { (i: Int) -> Float in
      if i == 0 { return 1.5e-6 }
      if i == 126 { return 0.995703 }
      let sum: Double = Double(eightbitTable[i]) + Double(eightbitTable[i - 1])
      return Float(sum / 2.0)
    }
  }

  /// numpy: code = searchsorted(thresholds, |x|/max, 'left') + 128·(x < 0).
  static func codes(_ xs: [Float]) -> (scale: Float, codes: [UInt8]) {
    var m: Float = 0
    for x in xs { m = max(m, abs(x)) }
    let scale = max(m, Float(1e-20))
    let t = thresholds()
    return (scale, xs.map { x in UInt8(t.filter { $0 < abs(x) / scale }.count + (x < 0 ? 128 : 0)) })
  }

  /// weight_decoder_eightbit.ts: records of (int32 offset, int32 size, float32 scale, 4 unused bytes, zlib body).
  static func decode(_ data: [UInt8]) throws -> [Float] {
    func int32(_ at: Int) -> Int {
      Int(Int32(bitPattern: UInt32(data[at]) | UInt32(data[at + 1]) << 8 | UInt32(data[at + 2]) << 16 | UInt32(data[at + 3]) << 24))
    }
    var out: [Float] = []
    var at = 0
    while at < data.count {
      let bodySize = int32(at + 4)
      let scale = Float(bitPattern: UInt32(truncatingIfNeeded: int32(at + 8)))
      let table = [0.0] + eightbitTable + [1.0]
      let body = try inflateBytes(data[(at + 16)..<(at + 16 + bodySize)], maxSize: 1 << 26)
      for c in body { out.append(Float(table[Int(c & 0x7F)] * Double(scale) * (c < 128 ? 1.0 : -1.0))) }
      at += 16 + bodySize
    }
    return out
  }
}

final class EightbitTests: XCTestCase {
  func testTableIsWebDNNs() {
    XCTAssertEqual(eightbitTable.count, 126)
    XCTAssertEqual(eightbitTable.first, 2.750000021e-06)
    XCTAssertEqual(eightbitTable[62], 1.054687500e-01)
    XCTAssertEqual(eightbitTable.last, 9.914061427e-01)
    XCTAssertTrue(zip(eightbitTable, eightbitTable.dropFirst()).allSatisfy { $0 < $1 })
    XCTAssertLessThan(EightbitCodec.maxStep, 0.009)
  }

  func testMatchesNaiveEncoderAndDecoder() throws {
    var rng = SplitMix64(seed: 21)
    var t = rng.tensor([17, 3, 5], std: 0.02)
    t.data[3] = 0
    t.data[4] = -0.0
    t.data[5] = -t.data.map(abs).max()!  // the max is negative: code 255
    t.data[6] = 1e-9  // below the first threshold: code 0
    let e = try Quantizer.encode(t, as: .eightbit)
    let (scale, codes) = NaiveWebDNN.codes(t.data)
    var r = ByteReader(e.payload, context: "test")
    XCTAssertEqual(try r.i32(), 0)
    let bodySize = Int(try r.i32())
    XCTAssertEqual(try r.f32(), scale)
    XCTAssertEqual(try r.i32(), 0)
    XCTAssertEqual(e.payload.count, 16 + bodySize)
    let body = try inflateBytes(Array(e.payload[16...]), expectedSize: t.count)
    XCTAssertEqual(body, codes)
    XCTAssertEqual(Array(body[3...6]), [0, 0, 255, 0])
    XCTAssertEqual(Array(e.payload[16...]), try deflateBytes(codes, level: 9))
    let decoded = try Quantizer.decode(e).data
    XCTAssertEqual(decoded, try NaiveWebDNN.decode(e.payload))
    XCTAssertLessThanOrEqual(maxAbsDiff(decoded, t.data), Quantizer.maxErrorBound(t, .eightbit))
  }

  func testConcatenatedModelIsOneRecordPerTensor() throws {
    var rng = SplitMix64(seed: 22)
    let tensors = [rng.tensor([8, 4, 3, 3], std: 0.1), rng.tensor([8], std: 0.01), Tensor(zeros: [5]), rng.tensor([3, 8, 9, 9], std: 1)]
    let whole = try Quantizer.encodeEightbit(concatenated: tensors)
    let singles = try tensors.map { try Quantizer.encode($0, as: .eightbit).payload }
    XCTAssertEqual(whole.shape, [tensors.map(\.count).reduce(0, +)])
    XCTAssertEqual(whole.payload.count, singles.map(\.count).reduce(0, +))
    // Offsets are running element counts; everything else equals the lone-tensor records.
    var at = 0, offset = 0
    for (t, single) in zip(tensors, singles) {
      XCTAssertEqual(Array(whole.payload[at..<at + 4]), withUnsafeBytes(of: Int32(offset).littleEndian, Array.init))
      XCTAssertEqual(Array(whole.payload[at + 4..<at + single.count]), Array(single[4...]))
      at += single.count
      offset += t.count
    }
    let decoded = try Quantizer.decode(whole).data
    XCTAssertEqual(decoded, try NaiveWebDNN.decode(whole.payload))
    XCTAssertEqual(decoded.count, offset)
    XCTAssertEqual(Array(decoded[296..<301]), [0, 0, 0, 0, 0])  // the zero tensor after 288 + 8 elements
  }

  /// The paper generator's parameter set (4,357,379 floats) with He-scaled Gaussian weights.
  static func paperLikeTensors(seed: UInt64 = 2017) -> [Tensor] {
    var rng = SplitMix64(seed: seed)
    var out: [Tensor] = []
    func conv(_ o: Int, _ i: Int, _ k: Int) {
      out.append(rng.tensor([o, i, k, k], std: Float((2.0 / Double(i * k * k)).squareRoot())))
      out.append(rng.tensor([o], std: 0.01))
    }
    func bn(_ c: Int) {
      out += [rng.tensor([c], std: 0.1, mean: 1), rng.tensor([c], std: 0.1), rng.tensor([c], std: 0.1)]
      out.append(Tensor(shape: [c], data: rng.tensor([c], std: 0.1).data.map { 1 + abs($0) }))
    }
    out += [rng.tensor([16384, 162], std: Float((2.0 / 162).squareRoot())), rng.tensor([16384], std: 0.01)]
    bn(64)
    for _ in 0..<16 {
      conv(64, 64, 3); bn(64)
      conv(64, 64, 3); bn(64)
    }
    conv(64, 64, 3); bn(64)
    for _ in 0..<3 {
      conv(256, 64, 3); bn(64)
    }
    conv(3, 64, 9)
    return out
  }

  func testPaperLikeGeneratorSize() throws {
    let tensors = Self.paperLikeTensors()
    XCTAssertEqual(tensors.map(\.count).reduce(0, +), 4_357_379)
    let start = Date()
    let whole = try Quantizer.encodeEightbit(concatenated: tensors)
    let seconds = Date().timeIntervalSince(start)
    let decoded = try Quantizer.decode(whole).data
    let reference = tensors.flatMap(\.data)
    print(
      "eightbit paper-like generator: \(whole.payload.count) bytes (float32 \(4 * reference.count)), records \(tensors.count),",
      String(format: "SQNR %.2f dB, encode %.2f s (WebDNN on the real weights: 3,865,794 bytes)", sqnr(reference, decoded), seconds))
    XCTAssertLessThan(whole.payload.count, 4 * reference.count / 3)
  }
}
