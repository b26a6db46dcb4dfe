// QuantError: every way encoding or decoding a tensor can fail, with the context to say why.

/// An error from `Quantizer`, `deflateBytes` or `inflateBytes`. Decoding never traps on bad bytes: it throws one of these.
public enum QuantError: Error, Equatable, CustomStringConvertible {
  /// The input tensor holds a NaN or an infinity at flat index `index`.
  case nonFinite(index: Int, value: Float)
  /// A scheme parameter is unusable (bad axis, group size, palette size…).
  case invalidScheme(QuantScheme, reason: String)
  /// A value (or scale) does not fit the storage format, e.g. |x| > 65504 for float16.
  case outOfRange(value: Float, format: String)
  /// The payload is shorter than its layout requires.
  case truncated(context: String, needed: Int, available: Int)
  /// The payload length differs from the documented formula.
  case payloadSize(scheme: QuantScheme, shape: [Int], expected: Int, actual: Int)
  /// The payload is well-sized but its content is inconsistent (bad header field, non-finite scale…).
  case corrupt(context: String, reason: String)
  /// zlib reported an error (`code` is zlib's return value).
  case zlib(operation: String, code: Int32)
  /// A shape with a negative dimension or one that disagrees with the element count.
  case badShape([Int])
  /// A scheme name no encoding has (`known` lists the names that exist).
  case unknownScheme(name: String, known: String)

  public var description: String {
    switch self {
    case let .nonFinite(index, value): return "tensor holds non-finite value \(value) at flat index \(index)"
    case let .invalidScheme(scheme, reason): return "scheme \(scheme): \(reason)"
    case let .outOfRange(value, format): return "value \(value) is out of range for \(format)"
    case let .truncated(context, needed, available): return "\(context): truncated payload, needs \(needed) bytes, has \(available)"
    case let .payloadSize(scheme, shape, expected, actual):
      return "\(scheme) payload for shape \(shape) must be \(expected) bytes, is \(actual)"
    case let .corrupt(context, reason): return "\(context): corrupt payload: \(reason)"
    case let .zlib(operation, code): return "zlib \(operation) failed with code \(code)"
    case let .badShape(shape): return "bad shape \(shape)"
    case let .unknownScheme(name, known): return "unknown quantization scheme '\(name)'; known: \(known)"
    }
  }
}
