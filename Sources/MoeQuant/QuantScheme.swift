// QuantScheme: the per-tensor weight encodings as values, with stable short names.

/// How one tensor's values are stored. Payload layouts are documented on each codec
/// (`Float32Codec`…`EightbitCodec`); all multi-byte fields are little-endian.
///
/// Per-channel schemes split a tensor of rank ≥ 2 into `shape[axis]` channels and store elements in
/// *channel-major order*: the order of the tensor with `axis` moved to the front (other axes keep their order),
/// flattened row-major. For `axis == 0` that is the tensor's own order. A tensor of rank 0 or 1 is always a
/// single channel holding all its elements (the axis is then ignored).
public enum QuantScheme: Hashable, Sendable, Codable, CustomStringConvertible {
  /// Raw float32. Name `f32`.
  case float32
  /// IEEE binary16, round to nearest even. Name `f16`.
  case float16
  /// Symmetric int8 per channel along `axis` (0 for conv/linear W, 1 for deconv W), one float32 scale per channel.
  /// Names `int8`, `int8-a1`.
  case int8(axis: Int)
  /// Symmetric int4 in groups of `groupSize` consecutive channel-major elements of one channel, float16 scales.
  /// Names `int4-g32`, `int4-g32-a1`.
  case int4(axis: Int, groupSize: Int)
  /// 1-D k-means codebook of `k` float16 entries (k a power of two in 2…256) for the whole tensor or per channel;
  /// indices packed at log2(k) bits. Names `palette16`, `palette16-pc`, `palette16-pc-a1`.
  case palette(k: Int, perChannel: Bool, axis: Int)
  /// WebDNN 1.2's `eightbit` constant encoding, byte for byte. Name `eightbit`.
  case eightbit

  /// The stable short name; `init?(name:)` parses it back to an equal scheme.
  public var description: String {
    func axisSuffix(_ axis: Int) -> String { axis == 0 ? "" : "-a\(axis)" }
    switch self {
    case .float32: return "f32"
    case .float16: return "f16"
    case let .int8(axis): return "int8" + axisSuffix(axis)
    case let .int4(axis, groupSize): return "int4-g\(groupSize)" + axisSuffix(axis)
    case let .palette(k, perChannel, axis): return "palette\(k)" + (perChannel ? "-pc" : "") + axisSuffix(axis)
    case .eightbit: return "eightbit"
    }
  }

  /// Parses a name produced by `description` (also accepts `float32`, `float16`), by the forms of `nameForms`, with an
  /// optional channel-axis suffix `-a<A>` (A ≥ 1) on per-channel schemes. Returns nil for anything else, including
  /// non-canonical spellings such as `int8-a0` or `int4-g+8` and unusable parameters (`int4-g0`, `palette3`).
  public init?(name: String) {
    var base = name, axis = 0
    if let dash = name.lastIndex(of: "-"), name[name.index(after: dash)...].hasPrefix("a"),
       let a = Int(name[name.index(dash, offsetBy: 2)...]), a > 0 {
      base = String(name[..<dash])
      axis = a
    }
    guard let parsed = Self.nameForms.lazy.compactMap({ $0.parse(base) }).first else { return nil }
    if parsed.hasChannelAxis == false && base == name { self = parsed; return }  // aliases too
    let candidate = parsed.withAxis(axis)
    guard candidate.description == name else { return nil }
    self = candidate
  }

  public init(from decoder: Decoder) throws {
    let container = try decoder.singleValueContainer()
    let name = try container.decode(String.self)
    guard let scheme = QuantScheme(name: name) else {
      throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown quantization scheme '\(name)'")
    }
    self = scheme
  }

  public func encode(to encoder: Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}

/// One encoded tensor: what a file stores for it.
public struct EncodedTensor: Sendable, Hashable {
  public var scheme: QuantScheme
  public var shape: [Int]
  /// The exact bytes a file stores (scales, codebooks, packed codes), little-endian. When `deflated`,
  /// this is the zlib stream (RFC 1950, level 9) of those bytes.
  public var payload: [UInt8]
  /// Whether `payload` is zlib-compressed (see `deflateBytes`).
  public var deflated: Bool

  public init(scheme: QuantScheme, shape: [Int], payload: [UInt8], deflated: Bool) {
    self.scheme = scheme
    self.shape = shape
    self.payload = payload
    self.deflated = deflated
  }
}
