// NpyDType: the numpy element types MoeFormats reads and writes, and their `descr` strings.

/// A numpy element type. Data is always held little-endian in memory.
public enum NpyDType: String, CaseIterable, Sendable {
  case float16, float32, float64
  case int8, int16, int32, int64
  case uint8, uint16, uint32, uint64
  case bool

  /// The numpy `descr` string numpy writes for this type, e.g. `<f4`, `|u1`, `|b1`.
  public var descr: String {
    itemSize == 1 ? "|\(kindCode)1" : "<\(kindCode)\(itemSize)"
  }

  /// Bytes per element.
  public var itemSize: Int {
    switch self {
    case .int8, .uint8, .bool: return 1
    case .float16, .int16, .uint16: return 2
    case .float32, .int32, .uint32: return 4
    case .float64, .int64, .uint64: return 8
    }
  }

  /// True for float16, float32 and float64.
  public var isFloatingPoint: Bool {
    switch self {
    case .float16, .float32, .float64: return true
    default: return false
    }
  }

  /// numpy's one-letter kind: `f`, `i`, `u` or `b`.
  var kindCode: Character {
    switch self {
    case .float16, .float32, .float64: return "f"
    case .int8, .int16, .int32, .int64: return "i"
    case .uint8, .uint16, .uint32, .uint64: return "u"
    case .bool: return "b"
    }
  }

  /// Parses a numpy `descr` such as `<f4`, `>i8`, `|b1`, `=u2`.
  ///
  /// - Returns: the type and whether its data is stored big-endian.
  /// - Throws: `.pickledObject` for `|O`, `.unsupportedDType` for anything else unknown.
  static func parse(descr: String) throws -> (dtype: NpyDType, bigEndian: Bool) {
    var rest = Substring(descr)
    var bigEndian = false
    if let order = rest.first, "<>|=!".contains(order) {
      bigEndian = order == ">" || order == "!"
      rest = rest.dropFirst()
    }
    if rest.first == "O" {
      throw MoeFormatError(
        .pickledObject,
        "pickled object array (dtype '\(descr)'; lazily-initialised parameter saved as None?); "
          + "expected a numeric array")
    }
    guard let kind = rest.first, let size = Int(rest.dropFirst()),
      let dtype = allCases.first(where: { $0.kindCode == kind && $0.itemSize == size })
    else {
      throw MoeFormatError(
        .unsupportedDType,
        "unsupported dtype '\(descr)'; expected one of "
          + allCases.map(\.descr).joined(separator: " "))
    }
    return (dtype, bigEndian && dtype.itemSize > 1)
  }
}
