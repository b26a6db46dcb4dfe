// DType: element types the IR knows; float32 is the execution type.

/// Element type of a tensor or value.
public enum DType: String, CaseIterable, Sendable, Hashable {
  case float32 = "f32"
  case float16 = "f16"
  case float64 = "f64"
  case int64 = "i64"
  case int32 = "i32"
  case int8 = "i8"
  case uint8 = "u8"
  case bool = "bool"

  /// Bytes per element.
  public var size: Int {
    switch self {
    case .float32, .int32: return 4
    case .float16: return 2
    case .float64, .int64: return 8
    case .int8, .uint8, .bool: return 1
    }
  }
}
