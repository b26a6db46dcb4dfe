// ONNXImporter+Dequantize: DequantizeLinear of an INT8/UINT8 initializer → an IR weight (int8 encoding kept).
import CONNX
import Foundation
import MoeIR
import MoeQuant

extension ONNXImporter {
  /// Reads the model at `url` and the `int8` encodings of weights that came from DequantizeLinear of INT8
  /// initializers with zero points 0 (keyed by the weight, i.e. the DequantizeLinear output).
  public static func readWithEncodings(_ url: URL) throws -> (graph: Graph, encodings: [String: EncodedTensor]) {
    let data: Data
    do { data = try Data(contentsOf: url) } catch {
      throw MoeFormatError(.io, file: url.path, "cannot read file (\(error.localizedDescription))")
    }
    do { return try parseWithEncodings([UInt8](data), directory: url.deletingLastPathComponent()) } catch let e as MoeFormatError { throw e.located(file: url.path) }
  }

  /// Initializers read only by DequantizeLinear nodes: kept undecoded until their node is converted. Throws,
  /// naming the node, when a DequantizeLinear's x is not an initializer (dequantizing activations is not supported).
  static func dequantizeOnlyInputs(_ g: Onnx__GraphProto) throws -> Set<String> {
    var dq = Set<String>(), other = Set(ONNXC.list(g.output, g.n_output).map { ONNXC.string($0.pointee.name) })
    let initializers = Set(ONNXC.list(g.initializer, g.n_initializer).map { ONNXC.string($0.pointee.name) })
    for (i, n) in ONNXC.list(g.node, g.n_node).enumerated() {
      let ins = ONNXC.strings(n.pointee.input, n.pointee.n_input)
      guard ONNXC.string(n.pointee.op_type) == "DequantizeLinear" else { other.formUnion(ins); continue }
      dq.formUnion(ins)
      if let x = ins.first, !x.isEmpty, !initializers.contains(x) {
        let name = ONNXC.string(n.pointee.name).isEmpty ? "DequantizeLinear_\(i)" : ONNXC.string(n.pointee.name)
        throw MoeFormatError(.unsupportedONNX,
                             "node '\(name)' (DequantizeLinear): x '\(x)' is not an initializer; MoeKit imports DequantizeLinear only for weights (INT8/UINT8 initializers), not for activations")
      }
    }
    return dq.subtracting(other)
  }

  static let int8Type = Int32(ONNX__TENSOR_PROTO__DATA_TYPE__INT8.rawValue)
  static let uint8Type = Int32(ONNX__TENSOR_PROTO__DATA_TYPE__UINT8.rawValue)
  static let floatType = Int32(ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT.rawValue)

  /// ONNX's name of a TensorProto data type, for messages.
  static func typeName(_ t: Int32) -> String {
    let names = [1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64", 8: "STRING", 9: "BOOL",
                 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 16: "BFLOAT16", 17: "FLOAT8E4M3FN",
                 18: "FLOAT8E4M3FNUZ", 19: "FLOAT8E5M2", 20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4", 23: "FLOAT4E2M1",
                 24: "FLOAT8E8M0", 25: "UINT2", 26: "INT2", 27: "FLOAT6E2M3", 28: "FLOAT6E3M2"]
    return names[Int(t)] ?? "data type \(t)"
  }
}

extension ONNXImporter.Reader {
  /// DequantizeLinear(x, x_scale[, x_zero_point]) with x an INT8/UINT8 initializer, x_scale a FLOAT initializer
  /// (scalar: per-tensor; 1-D of x.shape[axis]: per-axis, `axis` default 1) and x_zero_point an initializer of x's
  /// type (default 0): the output becomes a float weight (x − zero_point) × scale. INT8 with zero points 0 also
  /// records the weight's `int8` encoding. Anything else is one error naming the node.
  mutating func dequantizeLinear(_ n: ONNXImporter.ONode) throws {
    func unsupported(_ m: String) -> MoeFormatError { MoeFormatError(.unsupportedONNX, "node '\(n.name)' (DequantizeLinear): \(m)") }
    guard n.inputs.count >= 2, !n.inputs[0].isEmpty, !n.inputs[1].isEmpty else { throw err(n, "expects inputs x and x_scale") }
    if int(n, "block_size", 0) != 0 {
      throw unsupported("block_size=\(int(n, "block_size", 0)) (blocked quantization) is not supported; use per-tensor or per-axis scales")
    }
    // output_dtype (opset 23+): 0 means "the scale's type"; only FLOAT outputs are weights MoeKit can hold.
    let outputType = int(n, "output_dtype", 0)
    if outputType != 0 && outputType != Int(ONNXImporter.floatType) {
      throw unsupported("output_dtype \(ONNXImporter.typeName(Int32(outputType))) is not supported; MoeKit dequantizes to FLOAT")
    }
    let x = n.inputs[0]
    guard let xt = quantized[x] else {
      if graph.initializers[x] != nil || ints[x] != nil {
        throw unsupported("x '\(x)' is \(graph.initializers[x] != nil ? "FLOAT" : "INT64"); only INT8 and UINT8 weights are supported")
      }
      throw unsupported("x '\(x)' is not an initializer; MoeKit imports DequantizeLinear only for weights (INT8/UINT8 initializers), not for activations")
    }
    let type = xt.pointee.data_type
    guard type == ONNXImporter.int8Type || type == ONNXImporter.uint8Type else {
      throw unsupported("x '\(x)' is \(ONNXImporter.typeName(type)); only INT8 and UINT8 weights are supported")
    }
    let shape = ONNXC.ints(xt.pointee.dims, xt.pointee.n_dims)
    let codes = try bytes(xt, n, "x")
    // Scale: deferred (read only here) or an ordinary float weight.
    let scaleName = n.inputs[1]
    var scale: [Float]
    var scaleShape: [Int]
    if let st = quantized[scaleName] {
      guard st.pointee.data_type == ONNXImporter.floatType else {
        throw unsupported("x_scale '\(scaleName)' is \(ONNXImporter.typeName(st.pointee.data_type)); only FLOAT scales are supported")
      }
      guard case .float(let f) = try ONNXImporter.tensor(st.pointee, what: "x_scale '\(scaleName)'") else { throw err(n, "x_scale") }
      (scale, scaleShape) = (f.data, f.shape)
    } else if let f = graph.initializers[scaleName] {
      (scale, scaleShape) = (f.data, f.shape)
    } else {
      throw unsupported("x_scale '\(scaleName)' must be a FLOAT initializer")
    }
    var zero = [Int](repeating: 0, count: scale.count)
    if n.inputs.count > 2, !n.inputs[2].isEmpty {
      let zn = n.inputs[2]
      guard let zt = quantized[zn] else { throw unsupported("x_zero_point '\(zn)' must be an initializer of x's type") }
      guard zt.pointee.data_type == type else {
        throw err(n, "x_zero_point '\(zn)' is \(ONNXImporter.typeName(zt.pointee.data_type)), x is \(ONNXImporter.typeName(type))")
      }
      zero = try bytes(zt, n, "x_zero_point")
      guard ONNXC.ints(zt.pointee.dims, zt.pointee.n_dims) == scaleShape else {
        throw err(n, "x_zero_point shape \(ONNXC.ints(zt.pointee.dims, zt.pointee.n_dims)) differs from x_scale shape \(scaleShape)")
      }
    }
    // Per-tensor (scalar scale) or per-axis (1-D scale of x.shape[axis]).
    var axis: Int? = nil
    if !(scaleShape.isEmpty || (scaleShape == [1] && shape.count <= 1)) {
      var a = int(n, "axis", 1)
      if a < 0 { a += shape.count }
      guard scaleShape.count == 1, a >= 0, a < shape.count, scaleShape[0] == shape[a] else {
        throw err(n, "x_scale shape \(scaleShape) fits neither per-tensor (scalar) nor per-axis (axis \(int(n, "axis", 1)) of x shape \(shape))")
      }
      axis = a
    }
    guard scale.allSatisfy({ $0.isFinite }) else { throw err(n, "x_scale '\(scaleName)' holds a non-finite value") }
    let inner = axis.map { shape[($0 + 1)...].reduce(1, *) } ?? 1
    let channels = axis.map { shape[$0] } ?? 1
    var data = [Float](repeating: 0, count: codes.count)
    for i in codes.indices {
      let c = axis == nil ? 0 : (i / inner) % channels
      data[i] = Float(codes[i] - zero[c]) * scale[c]
    }
    let out = n.outputs[0]
    addWeight(out, Tensor(shape: shape, data: data))
    if type == ONNXImporter.int8Type, zero.allSatisfy({ $0 == 0 }), scale.allSatisfy({ $0 >= 0 }),
      let e = try? Quantizer.encodeInt8(Int8Parts(shape: shape, axis: axis, scales: scale, codes: codes.map { Int8($0) }))
    {
      encodings[out] = e
    }
  }

  /// The elements of an INT8/UINT8 initializer (raw_data, else int32_data), checked against its shape.
  func bytes(_ t: UnsafeMutablePointer<Onnx__TensorProto>, _ n: ONNXImporter.ONode, _ what: String) throws -> [Int] {
    let name = ONNXC.string(t.pointee.name)
    if t.pointee.data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL || t.pointee.n_external_data > 0 {
      throw MoeFormatError(.unsupportedONNX, key: name, "\(what) of node '\(n.name)' uses external data; MoeKit reads only self-contained .onnx files")
    }
    let shape = ONNXC.ints(t.pointee.dims, t.pointee.n_dims)
    guard shape.allSatisfy({ $0 >= 0 }) else { throw err(n, "\(what) '\(name)' has shape \(shape)") }
    let count = shape.reduce(1, *)
    let signed = t.pointee.data_type == ONNXImporter.int8Type
    var values: [Int]
    if t.pointee.has_raw_data != 0 && t.pointee.raw_data.len > 0 {
      values = UnsafeBufferPointer(start: t.pointee.raw_data.data, count: t.pointee.raw_data.len).map { signed ? Int(Int8(bitPattern: $0)) : Int($0) }
    } else {
      values = (0..<t.pointee.n_int32_data).map { Int(t.pointee.int32_data[$0]) }
    }
    guard values.count == count else { throw err(n, "\(what) '\(name)' holds \(values.count) values for shape \(shape)") }
    guard values.allSatisfy({ signed ? (-128...127).contains($0) : (0...255).contains($0) }) else {
      throw err(n, "\(what) '\(name)' holds values outside its type's range")
    }
    return values
  }
}
