// ONNXImporter: ONNX ModelProto (parsed by libprotobuf-c) → IR graph with its weights.
import CONNX
import Foundation
import MoeIR
import MoeQuant

/// Reads ONNX models (default domain, opsets 7–28) into the IR. Float initializers (raw_data or float_data)
/// become weights; int64 initializers and Constants feed static inputs (Reshape shape, Slice bounds,
/// Unsqueeze/Squeeze axes). Every error is one `MoeFormatError` naming the file (and node).
public enum ONNXImporter {
  /// The op types the importer maps.
  public static let supportedOps: Set<String> = Set([
    "Conv", "ConvTranspose", "BatchNormalization", "Gemm", "MatMul", "Add", "Sub", "Mul", "Relu", "LeakyRelu",
    "Tanh", "Sigmoid", "Softplus", "Reshape", "Flatten", "Transpose", "DepthToSpace", "Concat", "Slice",
    "Identity", "Unsqueeze", "Squeeze", "Constant", "DequantizeLinear",
  ]).union(newerOps).union(shapeOps)

  /// The default-domain opsets the importer reads (below 7, Add/Sub/Mul used legacy broadcasting).
  public static let supportedOpsets = 7...28

  /// Reads the model at `url`.
  public static func read(_ url: URL) throws -> Graph {
    let data: Data
    do { data = try Data(contentsOf: url) } catch {
      throw MoeFormatError(.io, file: url.path, "cannot read file (\(error.localizedDescription))")
    }
    do { return try parseWithEncodings([UInt8](data), directory: url.deletingLastPathComponent()).graph } catch let e as MoeFormatError {
      throw e.located(file: url.path)
    }
  }

  /// Parses ONNX bytes (external data is refused: there is no folder to read it from).
  public static func parse(_ bytes: [UInt8]) throws -> Graph { try parseWithEncodings(bytes).graph }

  /// Parses ONNX bytes; also returns the int8 encodings of weights read through DequantizeLinear. External data
  /// files are read from `directory` (the model's folder), never from outside it.
  public static func parseWithEncodings(_ bytes: [UInt8], directory: URL? = nil) throws -> (graph: Graph, encodings: [String: EncodedTensor]) {
    guard !bytes.isEmpty else { throw MoeFormatError(.notONNX, "empty file; expected an ONNX ModelProto") }
    let model = bytes.withUnsafeBufferPointer { onnx__model_proto__unpack(nil, $0.count, $0.baseAddress) }
    guard let model else {
      throw MoeFormatError(.notONNX, "cannot parse \(bytes.count) bytes as an ONNX ModelProto (truncated file or not protobuf)")
    }
    defer { onnx__model_proto__free_unpacked(model, nil) }
    guard model.pointee.has_ir_version != 0, let g = model.pointee.graph else {
      throw MoeFormatError(.notONNX, "protobuf without ir_version or graph: not an ONNX model")
    }
    var opset: Int? = nil
    for o in ONNXC.list(model.pointee.opset_import, model.pointee.n_opset_import) {
      let domain = ONNXC.string(o.pointee.domain)
      if domain == "" || domain == "ai.onnx" { opset = Int(o.pointee.version) }
    }
    guard let opset else { throw MoeFormatError(.invalidONNX, "no opset_import for the default domain") }
    guard supportedOpsets.contains(opset) else {
      throw MoeFormatError(.unsupportedONNX, "opset \(opset) is not supported; expected \(supportedOpsets.lowerBound)–\(supportedOpsets.upperBound)")
    }
    var r = Reader(opset: opset, baseDirectory: directory)
    try r.read(g.pointee)
    var graph = r.graph
    for p in ONNXC.list(model.pointee.metadata_props, model.pointee.n_metadata_props) {
      graph.metadata[ONNXC.string(p.pointee.key)] = ONNXC.string(p.pointee.value)
    }
    do { _ = try graph.verify(requireWeights: true) } catch {
      throw MoeFormatError(.invalidONNX, "imported graph does not verify: \(error)")
    }
    return (graph, r.encodings)
  }

  /// A decoded tensor: float data or int64 data.
  enum Value {
    case float(Tensor)
    case int64([Int], shape: [Int])
  }

  static func tensor(_ t: Onnx__TensorProto, what: String, base: URL? = nil) throws -> Value {
    let name = ONNXC.string(t.name)
    var external: [UInt8]? = nil
    if t.data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL || t.n_external_data > 0 {
      external = try externalBytes(t, what: what, base: base)
    }
    let shape = ONNXC.ints(t.dims, t.n_dims)
    var count = 1
    for d in shape {
      let (c, overflow) = count.multipliedReportingOverflow(by: d)
      guard d >= 0, !overflow, c <= Int(Int32.max) else {
        throw MoeFormatError(.invalidONNX, key: name, "\(what): invalid or too large shape \(shape)")
      }
      count = c
    }
    let raw: [UInt8]? = external ?? (t.has_raw_data != 0 && t.raw_data.len > 0
      ? Array(UnsafeBufferPointer(start: t.raw_data.data, count: t.raw_data.len)) : nil)
    switch t.data_type {
    case Int32(ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT.rawValue):
      var data: [Float]
      if let raw {
        guard raw.count == count * 4 else {
          throw MoeFormatError(.invalidONNX, key: name, "\(what): raw_data has \(raw.count) bytes, shape \(shape) needs \(count * 4)")
        }
        data = (0..<count).map { i in
          Float(bitPattern: UInt32(raw[4 * i]) | UInt32(raw[4 * i + 1]) << 8 | UInt32(raw[4 * i + 2]) << 16 | UInt32(raw[4 * i + 3]) << 24)
        }
      } else {
        data = ONNXC.floats(t.float_data, t.n_float_data)
      }
      guard data.count == count else {
        throw MoeFormatError(.invalidONNX, key: name, "\(what): \(data.count) floats for shape \(shape)")
      }
      return .float(Tensor(shape: shape, data: data))
    case Int32(ONNX__TENSOR_PROTO__DATA_TYPE__BOOL.rawValue):
      // Flags such as Dropout's training_mode: kept as static 0/1 integers.
      let data = raw.map { $0.map { Int($0 != 0 ? 1 : 0) } } ?? (0..<t.n_int32_data).map { t.int32_data[$0] != 0 ? 1 : 0 }
      guard data.count == count else {
        throw MoeFormatError(.invalidONNX, key: name, "\(what): \(data.count) bool values for shape \(shape)")
      }
      return .int64(data, shape: shape)
    case Int32(ONNX__TENSOR_PROTO__DATA_TYPE__INT64.rawValue):
      var data: [Int]
      if let raw {
        guard raw.count == count * 8 else {
          throw MoeFormatError(.invalidONNX, key: name, "\(what): raw_data has \(raw.count) bytes, shape \(shape) needs \(count * 8)")
        }
        data = (0..<count).map { i in
          var v: UInt64 = 0
          for k in 0..<8 { v |= UInt64(raw[8 * i + k]) << (8 * UInt64(k)) }
          return Int(Int64(bitPattern: v))
        }
      } else {
        data = ONNXC.ints(t.int64_data, t.n_int64_data)
      }
      guard data.count == count else {
        throw MoeFormatError(.invalidONNX, key: name, "\(what): \(data.count) int64 values for shape \(shape)")
      }
      return .int64(data, shape: shape)
    default:
      throw MoeFormatError(.unsupportedONNX, key: name, "\(what): data type \(typeName(t.data_type)) is not supported (float32 and int64 only)")
    }
  }

  struct ONode {
    var name: String
    var opType: String
    var inputs: [String]
    var outputs: [String]
    var attrs: [String: UnsafeMutablePointer<Onnx__AttributeProto>]
  }

  /// The nodes of a graph (or an If branch), unnamed ones named `OpType_index`.
  static func nodes(of g: Onnx__GraphProto) -> [ONode] {
    var nodes: [ONode] = []
    for (i, n) in ONNXC.list(g.node, g.n_node).enumerated() {
      var attrs: [String: UnsafeMutablePointer<Onnx__AttributeProto>] = [:]
      for a in ONNXC.list(n.pointee.attribute, n.pointee.n_attribute) { attrs[ONNXC.string(a.pointee.name)] = a }
      let name = ONNXC.string(n.pointee.name)
      nodes.append(ONode(name: name.isEmpty ? "\(ONNXC.string(n.pointee.op_type))_\(i)" : name,
                         opType: ONNXC.string(n.pointee.op_type),
                         inputs: ONNXC.strings(n.pointee.input, n.pointee.n_input),
                         outputs: ONNXC.strings(n.pointee.output, n.pointee.n_output), attrs: attrs))
    }
    return nodes
  }

  struct Reader {
    /// The model's default-domain opset: selects each op's attribute/input form.
    let opset: Int
    /// The model's folder, where external data files are read (nil: external data refused).
    var baseDirectory: URL? = nil
    var graph = Graph(name: "onnx")
    var ints: [String: [Int]] = [:]
    var shapes: [String: Shape] = [:]
    /// Initializers only DequantizeLinear reads, undecoded; and the int8 encodings it recovered.
    var quantized: [String: UnsafeMutablePointer<Onnx__TensorProto>] = [:]
    var encodings: [String: EncodedTensor] = [:]
    /// Outputs of Shape nodes over a symbolic shape: the value whose shape they hold (read by Reshape and Expand).
    var shapeSources: [String: String] = [:]
    /// The dtype of every value that is not float32 (bool inputs, comparisons, casts).
    var dtypes: [String: DType] = [:]
    /// Int64 values with symbolic elements (shape arithmetic on a symbolic batch), and the shapes of `ints` values.
    var symbolic: [String: ONNXImporter.SymTensor] = [:]
    var intShapes: [String: [Int]] = [:]

    mutating func read(_ g: Onnx__GraphProto) throws {
      graph.name = ONNXC.string(g.name).isEmpty ? "onnx" : ONNXC.string(g.name)
      // Initializers.
      let dequantizeOnly = try ONNXImporter.dequantizeOnlyInputs(g)
      for t in ONNXC.list(g.initializer, g.n_initializer) {
        let name = ONNXC.string(t.pointee.name)
        if dequantizeOnly.contains(name) { quantized[name] = t; continue }
        switch try ONNXImporter.tensor(t.pointee, what: "initializer '\(name)'", base: baseDirectory) {
        case .float(let f): addWeight(name, f)
        case .int64(let v, let s): ints[name] = v; intShapes[name] = s
        }
      }
      if g.n_sparse_initializer > 0 {
        throw MoeFormatError(.unsupportedONNX, "sparse initializers are not supported")
      }
      // Inputs (those that are not initializers).
      for v in ONNXC.list(g.input, g.n_input) {
        let name = ONNXC.string(v.pointee.name)
        if graph.initializers[name] != nil || ints[name] != nil || quantized[name] != nil { continue }
        guard let type = v.pointee.type, type.pointee.value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE,
          let tt = type.pointee.tensor_type
        else {
          throw MoeFormatError(.unsupportedONNX, key: name, "graph input is not a tensor (sequence, map or optional); MoeKit reads float32 tensors")
        }
        let isBool = tt.pointee.elem_type == Int32(ONNX__TENSOR_PROTO__DATA_TYPE__BOOL.rawValue)
        guard tt.pointee.elem_type == Int32(ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT.rawValue) || isBool else {
          throw MoeFormatError(.unsupportedONNX, key: name,
                               "graph input has element type \(ONNXImporter.typeName(tt.pointee.elem_type)); MoeKit reads float32 and bool tensors"
                                 + (tt.pointee.elem_type == Int32(ONNX__TENSOR_PROTO__DATA_TYPE__INT64.rawValue)
                                   ? " (int64 shapes/axes must be initializers or Constants: static shapes)" : ""))
        }
        guard let sp = tt.pointee.shape else {
          throw MoeFormatError(.unsupportedONNX, key: name, "graph input has no shape")
        }
        var dims: [Dim] = []
        for (i, d) in ONNXC.list(sp.pointee.dim, sp.pointee.n_dim).enumerated() {
          switch d.pointee.value_case {
          case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE: dims.append(.fixed(Int(d.pointee.dim_value)))
          case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM:
            let p = ONNXC.string(d.pointee.dim_param)
            dims.append(.symbol(p.isEmpty || !p.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) ? "N" : p))
          default:
            guard i == 0 else {
              throw MoeFormatError(.unsupportedONNX, key: name, "graph input dimension \(i) is unknown")
            }
            dims.append(.symbol("N"))
          }
        }
        graph.inputs.append(ValueInfo(name: name, dtype: isBool ? .bool : .float32, shape: Shape(dims)))
        shapes[name] = Shape(dims)
        if isBool { dtypes[name] = .bool }
      }
      // Nodes.
      let nodes = ONNXImporter.nodes(of: g)
      let unsupported = nodes.filter { n in
        !ONNXImporter.supportedOps.contains(n.opType) || !["", "ai.onnx"].contains(domain(of: n, in: g))
      }
      if !unsupported.isEmpty {
        throw MoeFormatError(.unsupportedONNX, ONNXImporter.unsupportedSummary(unsupported, opset: opset))
      }
      for n in try topologicalOrder(nodes) { try convert(n) }
      // Outputs.
      for v in ONNXC.list(g.output, g.n_output) {
        let name = ONNXC.string(v.pointee.name)
        materializeStaticOutput(name)
        guard shapes[name] != nil || graph.initializers[name] != nil else {
          throw MoeFormatError(.invalidONNX, key: name, "graph output is not produced by any node")
        }
        graph.outputs.append(name)
      }
      pruneUnusedWeights()
    }

    func domain(of n: ONode, in g: Onnx__GraphProto) -> String {
      for p in ONNXC.list(g.node, g.n_node) where ONNXC.string(p.pointee.op_type) == n.opType {
        let d = ONNXC.string(p.pointee.domain)
        if d != "" && d != "ai.onnx" { return d }
      }
      return ""
    }

    /// Nodes sorted so each comes after its producers; a value nobody defines or a cycle is an error.
    func topologicalOrder(_ nodes: [ONode]) throws -> [ONode] {
      var producer: [String: Int] = [:]
      for (i, n) in nodes.enumerated() { for o in n.outputs where !o.isEmpty { producer[o] = i } }
      let known = Set(shapes.keys).union(graph.initializers.keys).union(ints.keys).union(quantized.keys)
        .union(symbolic.keys).union(shapeSources.keys)
      for n in nodes {
        for x in n.inputs where !x.isEmpty && !known.contains(x) && producer[x] == nil {
          throw MoeFormatError(.invalidONNX,
                               "node '\(n.name)' (\(n.opType)): input '\(x)' is not a graph input, an initializer or any node's output (missing initializer?)")
        }
      }
      var state = [Int](repeating: 0, count: nodes.count)  // 0 new, 1 visiting, 2 done
      var order: [ONode] = []
      func visit(_ i: Int) throws {
        if state[i] == 2 { return }
        if state[i] == 1 {
          throw MoeFormatError(.invalidONNX, "cycle in the graph through node '\(nodes[i].name)' (\(nodes[i].opType))")
        }
        state[i] = 1
        for x in nodes[i].inputs where !x.isEmpty && !known.contains(x) {
          if let p = producer[x] { try visit(p) }
        }
        state[i] = 2
        order.append(nodes[i])
      }
      for i in nodes.indices { try visit(i) }
      return order
    }

    mutating func addWeight(_ name: String, _ t: Tensor) {
      graph.addWeight(name, t)
      shapes[name] = Shape(t.shape)
    }

    // MARK: attributes

    func err(_ n: ONode, _ message: String) -> MoeFormatError {
      MoeFormatError(.invalidONNX, "node '\(n.name)' (\(n.opType)): \(message)")
    }

    func int(_ n: ONode, _ key: String, _ def: Int) -> Int {
      guard let a = n.attrs[key] else { return def }
      return Int(a.pointee.i)
    }

    func float(_ n: ONode, _ key: String, _ def: Float) -> Float {
      guard let a = n.attrs[key] else { return def }
      return a.pointee.f
    }

    func intList(_ n: ONode, _ key: String) -> [Int]? {
      guard let a = n.attrs[key] else { return nil }
      return ONNXC.ints(a.pointee.ints, a.pointee.n_ints)
    }

    func string(_ n: ONode, _ key: String) -> String? {
      guard let a = n.attrs[key], a.pointee.s.len > 0 else { return nil }
      return String(decoding: UnsafeBufferPointer(start: a.pointee.s.data, count: a.pointee.s.len), as: UTF8.self)
    }

    /// A static int64 input (initializer or Constant).
    func staticInts(_ n: ONode, _ index: Int, _ what: String) throws -> [Int]? {
      guard index < n.inputs.count, !n.inputs[index].isEmpty else { return nil }
      guard let v = ints[n.inputs[index]] else {
        throw MoeFormatError(.unsupportedONNX,
                             "node '\(n.name)' (\(n.opType)): \(what) input '\(n.inputs[index])' must be an int64 initializer or Constant (MoeKit imports static shapes)")
      }
      return v
    }

    /// The input names, turning any int64 constant used as data into a float weight.
    mutating func floatInputs(_ n: ONode) -> [String] {
      let ins = n.inputs
      for x in ins where graph.initializers[x] == nil && shapes[x] == nil {
        if let v = ints[x] { addWeight(x, Tensor(shape: [v.count], data: v.map { Float($0) })) }
      }
      return ins
    }
  }
}
