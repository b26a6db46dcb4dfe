// ONNXExporter+Int8: an int8-encoded weight as INT8 codes + FLOAT scale + INT8 zero point → DequantizeLinear.
import CONNX
import MoeIR
import MoeQuant

extension ONNXExporter.Builder {
  /// Emits weight `name` quantized as `int8(axis)`: initializers `name/quantized` (INT8, the weight's shape),
  /// `name/scale` (FLOAT, [C] per output channel, or a scalar for rank ≤ 1) and `name/zero_point` (INT8 zeros,
  /// same shape as the scale), and a DequantizeLinear node (`axis` attribute when per-axis) whose output is
  /// `name` itself, so the consuming nodes are unchanged. ONNX Runtime then computes exactly code × scale, the
  /// values MoeKit's `int8` decoder gives.
  func int8Weight(_ name: String, _ t: Tensor, axis: Int) throws {
    let parts: Int8Parts
    do { parts = try Quantizer.int8Parts(try Quantizer.encode(t, as: .int8(axis: axis))) } catch {
      throw MoeFormatError(.invalidArray, key: name, "cannot encode as int8 for ONNX: \(error)")
    }
    let scaleShape = parts.axis == nil ? [] : [parts.scales.count]
    let q = rawTensor(fresh(name + "/quantized"), shape: t.shape, type: ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
                      bytes: parts.codes.map { UInt8(bitPattern: $0) })
    var scaleBytes: [UInt8] = []
    for s in parts.scales { withUnsafeBytes(of: s.bitPattern.littleEndian) { scaleBytes.append(contentsOf: $0) } }
    let s = rawTensor(fresh(name + "/scale"), shape: scaleShape, type: ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, bytes: scaleBytes)
    let z = rawTensor(fresh(name + "/zero_point"), shape: scaleShape, type: ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
                      bytes: [UInt8](repeating: 0, count: parts.scales.count))
    var attrs: [(String, Attr)] = []
    if let a = parts.axis { attrs.append(("axis", .int(a))) }
    node("DequantizeLinear", fresh(name + "/dequantize"), [q, s, z], [name], attrs)
  }

  /// An initializer of `type` holding `bytes` as raw_data (little-endian); returns its name.
  func rawTensor(_ name: String, shape: [Int], type: Onnx__TensorProto__DataType, bytes: [UInt8]) -> String {
    let p = arena.message(Onnx__TensorProto.self) { onnx__tensor_proto__init($0) }
    p.pointee.name = arena.string(name)
    p.pointee.n_dims = shape.count
    p.pointee.dims = arena.int64s(shape)
    p.pointee.has_data_type = 1
    p.pointee.data_type = Int32(type.rawValue)
    p.pointee.has_raw_data = 1
    p.pointee.raw_data = arena.bytes(bytes)
    initializers.append(p)
    return name
  }
}
