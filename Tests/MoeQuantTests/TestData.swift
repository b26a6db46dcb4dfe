// TestData: seeded random tensors (SplitMix64) and shared assertions for the MoeQuant tests.
import MoeIR
import MoeQuant
import MoeTestSupport
import XCTest

extension SplitMix64 {
  mutating func tensor(_ shape: [Int], std: Float = 1, mean: Float = 0) -> Tensor {
    let n = shape.reduce(1, *)
    return Tensor(shape: shape, data: (0..<n).map { _ in mean + std * gaussian() })
  }
}

/// Largest |a − b|; infinite when any difference is NaN (Swift's `max` would drop it) or the counts differ.
func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
  guard a.count == b.count else { return .infinity }
  return zip(a, b).reduce(0) { worst, pair in
    let d = abs(pair.0 - pair.1)
    return d.isNaN ? .infinity : max(worst, d)
  }
}

/// The payload size each scheme documents, computed here independently of `Quantizer.payloadSize`.
func documentedSize(_ scheme: QuantScheme, _ shape: [Int]) -> Int? {
  let n = shape.reduce(1, *)
  func channels(_ axis: Int) -> Int { shape.count <= 1 ? 1 : shape[axis] }
  switch scheme {
  case .float32: return 4 * n
  case .float16: return 2 * n
  case let .int8(axis): return 4 * channels(axis) + n
  case let .int4(axis, g):
    let c = channels(axis), perChannel = c == 0 ? 0 : n / c
    return 2 * c * ((perChannel + g - 1) / g) + (n + 1) / 2
  case let .palette(k, perChannel, axis):
    let bits = Int(log2(Double(k)))
    return 2 * k * (perChannel ? channels(axis) : 1) + (n * bits + 7) / 8
  case .eightbit: return nil
  }
}

/// Encodes, checks size, decodes, checks the error bound, and checks that deflate changes nothing but the bytes.
@discardableResult
func assertRoundTrip(_ t: Tensor, _ scheme: QuantScheme, file: StaticString = #filePath, line: UInt = #line) throws -> Tensor {
  let e = try Quantizer.encode(t, as: scheme)
  XCTAssertFalse(e.deflated, file: file, line: line)
  if let size = documentedSize(scheme, t.shape) {
    XCTAssertEqual(e.payload.count, size, "\(scheme) \(t.shape) size", file: file, line: line)
  }
  let d = try Quantizer.decode(e)
  XCTAssertEqual(d.shape, t.shape, file: file, line: line)
  XCTAssert(d.data.allSatisfy(\.isFinite), "\(scheme) \(t.shape) decoded a non-finite value", file: file, line: line)
  let error = maxAbsDiff(t.data, d.data), bound = Quantizer.maxErrorBound(t, scheme)
  XCTAssertLessThanOrEqual(error, bound, "\(scheme) \(t.shape) error beyond its bound", file: file, line: line)
  let z = try Quantizer.encode(t, as: scheme, deflate: true)
  XCTAssertTrue(z.deflated, file: file, line: line)
  XCTAssertEqual(try inflateBytes(z.payload, expectedSize: e.payload.count), e.payload, file: file, line: line)
  XCTAssertEqual(try Quantizer.decode(z).data, d.data, "\(scheme) \(t.shape) deflate changed the decode", file: file, line: line)
  return d
}
