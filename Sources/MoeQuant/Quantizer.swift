// Quantizer: encode/decode a Tensor with any QuantScheme, exact payload sizes, error bounds, SQNR.
import Foundation
import MoeIR

/// Encodes and decodes tensors. Payload layouts: `Float32Codec`, `Float16Codec`, `Int8Codec`, `Int4Codec`,
/// `PaletteCodec`, `EightbitCodec` (see also `QuantScheme` for channels and channel-major order).
public enum Quantizer {
  /// Encodes `t`. With `deflate`, the payload is then zlib-compressed (level 9, `deflateBytes`).
  /// Throws `QuantError.nonFinite` for NaN/inf values, `.invalidScheme` for unusable parameters,
  /// `.outOfRange` when a value or scale does not fit float16.
  public static func encode(_ t: Tensor, as scheme: QuantScheme, deflate: Bool = false) throws -> EncodedTensor {
    _ = try checkedCount(t.shape)
    try requireFinite(t.data)
    let raw: [UInt8]
    switch scheme {
    case .float32: raw = Float32Codec.encode(t.data)
    case .float16: raw = try Float16Codec.encode(t.data)
    case let .int8(axis): raw = Int8Codec.encode(t.data, try ChannelLayout(shape: t.shape, axis: axis, scheme: scheme))
    case let .int4(axis, groupSize):
      let layout = try int4Layout(t.shape, axis, groupSize, scheme)
      raw = try Int4Codec.encode(t.data, layout, groupSize: groupSize)
    case let .palette(k, perChannel, axis):
      raw = try PaletteCodec.encode(t.data, try paletteLayout(t.shape, k, perChannel, axis, scheme), k: k)
    case .eightbit: raw = try EightbitCodec.record(t.data[...], offset: 0)
    }
    return EncodedTensor(scheme: scheme, shape: t.shape, payload: deflate ? try deflateBytes(raw) : raw, deflated: deflate)
  }

  /// WebDNN's whole-model `eightbit` weight file for `tensors` in order: one record per tensor, offsets the running
  /// element count. The result has shape [total elements]; `decode` returns the tensors' data concatenated.
  public static func encodeEightbit(concatenated tensors: [Tensor]) throws -> EncodedTensor {
    var payload: [UInt8] = []
    var offset = 0
    for t in tensors {
      try requireFinite(t.data)
      payload += try EightbitCodec.record(t.data[...], offset: offset)
      offset += t.count
      guard offset <= Int(Int32.max) else { throw QuantError.badShape([offset]) }
    }
    return EncodedTensor(scheme: .eightbit, shape: [offset], payload: payload, deflated: false)
  }

  /// Decodes `e`, validating the payload first: wrong length, truncation, bad scales or codebook entries,
  /// bad zlib streams all throw; nothing traps.
  public static func decode(_ e: EncodedTensor) throws -> Tensor {
    let count = try checkedCount(e.shape)
    var raw = e.payload
    if e.deflated {
      raw =
        if let size = try payloadSize(e.scheme, shape: e.shape) {
          try inflateBytes(e.payload, expectedSize: size)
        } else {
          try inflateBytes(e.payload[...], maxSize: 16 * max(count, 1) + deflateBound(count) + 16)
        }
    }
    if let size = try payloadSize(e.scheme, shape: e.shape), raw.count != size {
      throw QuantError.payloadSize(scheme: e.scheme, shape: e.shape, expected: size, actual: raw.count)
    }
    let data: [Float]
    switch e.scheme {
    case .float32: data = try Float32Codec.decode(raw, count: count)
    case .float16: data = try Float16Codec.decode(raw, count: count)
    case let .int8(axis): data = try Int8Codec.decode(raw, try ChannelLayout(shape: e.shape, axis: axis, scheme: e.scheme))
    case let .int4(axis, groupSize):
      data = try Int4Codec.decode(raw, try int4Layout(e.shape, axis, groupSize, e.scheme), groupSize: groupSize)
    case let .palette(k, perChannel, axis):
      data = try PaletteCodec.decode(raw, try paletteLayout(e.shape, k, perChannel, axis, e.scheme), k: k)
    case .eightbit: data = try EightbitCodec.decode(raw, count: count)
    }
    return Tensor(shape: e.shape, data: data)
  }

  /// The exact undeflated payload size of `scheme` for `shape` (nil for `eightbit`, whose size depends on zlib):
  /// f32 4n; f16 2n; int8 4C + n; int4 2·C·⌈L/g⌉ + ⌈n/2⌉; palette 2·B·k + ⌈n·log2(k)/8⌉.
  public static func payloadSize(_ scheme: QuantScheme, shape: [Int]) throws -> Int? {
    let n = try checkedCount(shape)
    switch scheme {
    case .float32: return 4 * n
    case .float16: return 2 * n
    case let .int8(axis): return 4 * (try ChannelLayout(shape: shape, axis: axis, scheme: scheme)).channels + n
    case let .int4(axis, groupSize):
      return 2 * Int4Codec.groups(try int4Layout(shape, axis, groupSize, scheme), groupSize) + (n + 1) / 2
    case let .palette(k, perChannel, axis):
      let layout = try paletteLayout(shape, k, perChannel, axis, scheme)
      return 2 * k * layout.channels + (n * PaletteCodec.bits(k)! + 7) / 8
    case .eightbit: return nil
    }
  }

  /// The scheme's documented worst-case absolute error for `t` (see each codec): 0 for f32, half a float16 ulp
  /// at max |x| for f16, max scale/2 for int8/int4, the codebook bound for palette, scale·`maxStep` for eightbit.
  /// +infinity when `t` cannot be encoded with `scheme`.
  public static func maxErrorBound(_ t: Tensor, _ scheme: QuantScheme) -> Float {
    do {
      _ = try checkedCount(t.shape)
      try requireFinite(t.data)
      switch scheme {
      case .float32: return 0
      case .float16: return Float16Codec.maxError(maxAbs: maxAbs(t.data[...]))
      case let .int8(axis): return Int8Codec.maxError(t.data, try ChannelLayout(shape: t.shape, axis: axis, scheme: scheme))
      case let .int4(axis, groupSize):
        return Int4Codec.maxError(t.data, try int4Layout(t.shape, axis, groupSize, scheme), groupSize: groupSize)
      case let .palette(k, perChannel, axis):
        return try PaletteCodec.maxError(t.data, try paletteLayout(t.shape, k, perChannel, axis, scheme), k: k)
      case .eightbit: return EightbitCodec.maxError(t.data)
      }
    } catch {
      return .infinity
    }
  }

  static func int4Layout(_ shape: [Int], _ axis: Int, _ groupSize: Int, _ scheme: QuantScheme) throws -> ChannelLayout {
    guard groupSize >= 1 else { throw QuantError.invalidScheme(scheme, reason: "group size must be ≥ 1") }
    return try ChannelLayout(shape: shape, axis: axis, scheme: scheme)
  }

  static func paletteLayout(_ shape: [Int], _ k: Int, _ perChannel: Bool, _ axis: Int, _ scheme: QuantScheme) throws
    -> ChannelLayout
  {
    guard PaletteCodec.bits(k) != nil else { throw QuantError.invalidScheme(scheme, reason: "k must be a power of two in 2…256") }
    return perChannel ? try ChannelLayout(shape: shape, axis: axis, scheme: scheme) : ChannelLayout(single: try checkedCount(shape))
  }
}

/// Signal-to-quantization-noise ratio in dB: 10·log10(Σx² / Σ(x − x̂)²); +infinity when exact
/// (including an all-zero reference reproduced exactly), −infinity when the reference is zero but the approximation is not.
public func sqnr(_ reference: [Float], _ approx: [Float]) -> Double {
  precondition(reference.count == approx.count, "sqnr: \(reference.count) vs \(approx.count) elements")
  var signal = 0.0, noise = 0.0
  for (x, y) in zip(reference, approx) {
    signal += Double(x) * Double(x)
    noise += (Double(x) - Double(y)) * (Double(x) - Double(y))
  }
  if noise == 0 { return .infinity }
  return 10 * log10(signal / noise)
}
