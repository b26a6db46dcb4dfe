// Int8Parts: an `int8` tensor as scales + codes in the tensor's own element order (ONNX DequantizeLinear's view).

/// The pieces of an `int8(axis)` tensor: x̂[i] = Float(codes[i]) × scales[channel of i], with `codes` in the
/// tensor's own row-major order (not the payload's channel-major order). A tensor of rank 0 or 1 has one scale
/// (`axis` nil: per-tensor); otherwise `scales.count == shape[axis]`.
public struct Int8Parts: Sendable, Equatable {
  public var shape: [Int]
  /// The channel axis, nil for a single per-tensor scale.
  public var axis: Int?
  public var scales: [Float]
  public var codes: [Int8]

  public init(shape: [Int], axis: Int?, scales: [Float], codes: [Int8]) {
    self.shape = shape
    self.axis = axis
    self.scales = scales
    self.codes = codes
  }
}

extension Quantizer {
  /// Splits an `int8` encoded tensor into scales and row-major codes. Throws for other schemes and bad payloads.
  public static func int8Parts(_ e: EncodedTensor) throws -> Int8Parts {
    guard case let .int8(axis) = e.scheme else {
      throw QuantError.invalidScheme(e.scheme, reason: "not an int8 tensor")
    }
    let layout = try ChannelLayout(shape: e.shape, axis: axis, scheme: e.scheme)
    let raw = e.deflated ? try inflateBytes(e.payload, expectedSize: 4 * layout.channels + layout.count) : e.payload
    var r = ByteReader(raw, context: "int8")
    var scales = [Float](repeating: 0, count: layout.channels)
    for c in scales.indices { scales[c] = try r.f32() }
    let cm = try r.take(layout.count).map { Float(Int8(bitPattern: $0)) }
    // Reordering small integers through Float is exact.
    let codes = layout.fromChannelMajor(cm).map { Int8($0) }
    return Int8Parts(shape: e.shape, axis: e.shape.count <= 1 ? nil : axis, scales: scales, codes: codes)
  }

  /// Builds an `int8(axis)` encoded tensor from scales and row-major codes (a per-tensor scale on a tensor of
  /// rank ≥ 2 is repeated for every channel of axis 0). Decoding gives exactly Float(code) × scale.
  public static func encodeInt8(_ p: Int8Parts) throws -> EncodedTensor {
    let axis = p.shape.count <= 1 ? 0 : (p.axis ?? 0)
    let scheme = QuantScheme.int8(axis: axis)
    let layout = try ChannelLayout(shape: p.shape, axis: axis, scheme: scheme)
    guard p.codes.count == layout.count else { throw QuantError.badShape(p.shape) }
    var scales = p.scales
    if p.axis == nil && scales.count == 1 { scales = [Float](repeating: scales[0], count: layout.channels) }
    guard scales.count == layout.channels, scales.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
      throw QuantError.invalidScheme(scheme, reason: "\(scales.count) scales (finite, ≥ 0) for \(layout.channels) channels")
    }
    var w = ByteWriter(capacity: 4 * layout.channels + layout.count)
    for s in scales { w.f32(s) }
    w.append(layout.toChannelMajor(p.codes.map { Float($0) }).map { UInt8(bitPattern: Int8($0)) })
    return EncodedTensor(scheme: scheme, shape: p.shape, payload: w.bytes, deflated: false)
  }
}
