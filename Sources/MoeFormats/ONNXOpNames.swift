// ONNXOpNames: the ONNX op type of each IR elementwise function and the ONNX tensor type of each dtype (both directions).
import CONNX
import MoeIR

/// One table per family, read by the exporter and the importer.
public enum ONNXOpNames {
  /// ONNX op type of each unary function, from the op schema (`UnaryFunction.onnx`; `square` is written as Mul(x, x)).
  public static let unary: [UnaryFunction: String] = Dictionary(uniqueKeysWithValues: UnaryFunction.allCases.map { ($0, $0.onnx.name) })

  /// ONNX op type of each binary function.
  public static let binary: [BinaryFunction: String] = [
    .add: "Add", .sub: "Sub", .mul: "Mul", .div: "Div", .pow: "Pow", .max: "Max", .min: "Min",
    .greater: "Greater", .less: "Less", .equal: "Equal",
  ]

  /// ONNX op type of each reduction.
  public static let reduce: [ReduceFunction: String] = [.sum: "ReduceSum", .mean: "ReduceMean", .max: "ReduceMax", .min: "ReduceMin"]

  /// Unary functions by ONNX op type (Mul is binary).
  public static let unaryByONNX: [String: UnaryFunction] = Dictionary(
    uniqueKeysWithValues: unary.filter { $0.key != .square }.map { ($0.value, $0.key) })
  /// Binary functions by ONNX op type.
  public static let binaryByONNX: [String: BinaryFunction] = Dictionary(uniqueKeysWithValues: binary.map { ($0.value, $0.key) })
  /// Reductions by ONNX op type.
  public static let reduceByONNX: [String: ReduceFunction] = Dictionary(uniqueKeysWithValues: reduce.map { ($0.value, $0.key) })

  /// ONNX `TensorProto.DataType` of a dtype.
  public static func tensorType(_ d: DType) -> Int32 {
    switch d {
    case .float32: return Int32(ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT.rawValue)
    case .float16: return Int32(ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16.rawValue)
    case .float64: return Int32(ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE.rawValue)
    case .int64: return Int32(ONNX__TENSOR_PROTO__DATA_TYPE__INT64.rawValue)
    case .int32: return Int32(ONNX__TENSOR_PROTO__DATA_TYPE__INT32.rawValue)
    case .int8: return Int32(ONNX__TENSOR_PROTO__DATA_TYPE__INT8.rawValue)
    case .uint8: return Int32(ONNX__TENSOR_PROTO__DATA_TYPE__UINT8.rawValue)
    case .bool: return Int32(ONNX__TENSOR_PROTO__DATA_TYPE__BOOL.rawValue)
    }
  }

  /// The dtype of an ONNX `TensorProto.DataType`, nil for types the IR lacks.
  public static func dtype(_ t: Int32) -> DType? { DType.allCases.first { tensorType($0) == t } }
}
