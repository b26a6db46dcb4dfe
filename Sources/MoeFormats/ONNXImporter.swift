// ONNXImporter: ONNX ModelProto (parsed by libprotobuf-c) → IR graph with its weights.
import CONNX
import Foundation
import MoeIR
import MoeQuant

/// Reads ONNX models (default domain, opsets 13–21) into the IR. Float initializers (raw_data or float_data)
/// become weights; int64 initializers and Constants feed static inputs (Reshape shape, Slice bounds,
/// Unsqueeze/Squeeze axes). Every error is one `MoeFormatError` naming the file (and node).
public enum ONNXImporter {
  /// The op types the importer maps.
  public static let supportedOps: Set<String> = [
    "Conv", "ConvTranspose", "BatchNormalization", "Gemm", "MatMul", "Add", "Sub", "Mul", "Relu", "LeakyRelu",
    "Tanh", "Sigmoid", "Softplus", "Reshape", "Flatten", "Transpose", "DepthToSpace", "Concat", "Slice",
    "Identity", "Unsqueeze", "Squeeze", "Constant", "DequantizeLinear",
  ]

  /// Reads the model at `url`.
  public static func read(_ url: URL) throws -> Graph {
    let data: Data
    do { data = try Data(contentsOf: url) } catch {
      throw MoeFormatError(.io, file: url.path, "cannot read file (\(error.localizedDescription))")
    }
    do { return try parse([UInt8](data)) } catch let e as MoeFormatError { throw e.located(file: url.path) }
  }

  /// Parses ONNX bytes.
  public static func parse(_ bytes: [UInt8]) throws -> Graph { try parseWithEncodings(bytes).graph }

  /// Parses ONNX bytes; also returns the int8 encodings of weights read through DequantizeLinear.
  public static func parseWithEncodings(_ bytes: [UInt8]) throws -> (graph: Graph, encodings: [String: EncodedTensor]) {
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
    guard (13...21).contains(opset) else {
      throw MoeFormatError(.unsupportedONNX, "opset \(opset) is not supported; expected 13–21")
    }
    var r = Reader()
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

  static func tensor(_ t: Onnx__TensorProto, what: String) throws -> Value {
    let name = ONNXC.string(t.name)
    if t.data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL || t.n_external_data > 0 {
      throw MoeFormatError(.unsupportedONNX, key: name,
                           "\(what) uses external data; MoeKit reads only self-contained .onnx files (re-save with onnx.save_model(m, f, save_as_external_data=False))")
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
    let raw: [UInt8]? = t.has_raw_data != 0 && t.raw_data.len > 0
      ? Array(UnsafeBufferPointer(start: t.raw_data.data, count: t.raw_data.len)) : nil
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
      throw MoeFormatError(.unsupportedONNX, key: name, "\(what): data type \(t.data_type) is not supported (float32 and int64 only)")
    }
  }

  struct ONode {
    var name: String
    var opType: String
    var inputs: [String]
    var outputs: [String]
    var attrs: [String: UnsafeMutablePointer<Onnx__AttributeProto>]
  }

  struct Reader {
    var graph = Graph(name: "onnx")
    var ints: [String: [Int]] = [:]
    var shapes: [String: Shape] = [:]
    /// Initializers only DequantizeLinear reads, undecoded; and the int8 encodings it recovered.
    var quantized: [String: UnsafeMutablePointer<Onnx__TensorProto>] = [:]
    var encodings: [String: EncodedTensor] = [:]

    mutating func read(_ g: Onnx__GraphProto) throws {
      graph.name = ONNXC.string(g.name).isEmpty ? "onnx" : ONNXC.string(g.name)
      // Initializers.
      let dequantizeOnly = try ONNXImporter.dequantizeOnlyInputs(g)
      for t in ONNXC.list(g.initializer, g.n_initializer) {
        let name = ONNXC.string(t.pointee.name)
        if dequantizeOnly.contains(name) { quantized[name] = t; continue }
        switch try ONNXImporter.tensor(t.pointee, what: "initializer '\(name)'") {
        case .float(let f): addWeight(name, f)
        case .int64(let v, _): ints[name] = v
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
          let tt = type.pointee.tensor_type, tt.pointee.elem_type == Int32(ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT.rawValue)
        else {
          throw MoeFormatError(.unsupportedONNX, key: name, "graph input is not a float32 tensor")
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
        graph.inputs.append(ValueInfo(name: name, shape: Shape(dims)))
        shapes[name] = Shape(dims)
      }
      // Nodes.
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
      let unsupported = nodes.filter { n in
        !ONNXImporter.supportedOps.contains(n.opType) || !["", "ai.onnx"].contains(domain(of: n, in: g))
      }
      if !unsupported.isEmpty {
        throw MoeFormatError(.unsupportedONNX,
                             "\(unsupported.count) unsupported op(s): " + unsupported.map { "\($0.opType) (node '\($0.name)')" }.joined(separator: ", "))
      }
      for n in try topologicalOrder(nodes) { try convert(n) }
      // Outputs.
      for v in ONNXC.list(g.output, g.n_output) {
        let name = ONNXC.string(v.pointee.name)
        guard shapes[name] != nil || graph.initializers[name] != nil else {
          throw MoeFormatError(.invalidONNX, key: name, "graph output is not produced by any node")
        }
        graph.outputs.append(name)
      }
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
        throw err(n, "\(what) input '\(n.inputs[index])' must be an int64 initializer or Constant")
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

    // MARK: conversion

    mutating func emit(_ n: ONode, _ op: Op, _ inputs: [String]) throws {
      let shapesIn = try inputs.map { x -> Shape in
        guard let s = shapes[x] else { throw err(n, "input '\(x)' has no known shape") }
        return s
      }
      let out: [Shape]
      do { out = try op.inferShapes(shapesIn) } catch { throw err(n, "\(error)") }
      graph.nodes.append(Node(name: n.name, op: op, inputs: inputs, outputs: [n.outputs[0]]))
      shapes[n.outputs[0]] = out[0]
    }

    func convAttrs(_ n: ONode) throws -> (strides: [Int], pads: [Int], dilations: [Int], groups: Int) {
      if let ap = string(n, "auto_pad"), ap != "NOTSET" {
        throw MoeFormatError(.unsupportedONNX, "node '\(n.name)' (\(n.opType)): auto_pad=\(ap) is not supported; use explicit pads")
      }
      if let k = intList(n, "kernel_shape"), k.count != 2 { throw err(n, "only 2-D convolutions are supported") }
      return (intList(n, "strides") ?? [1, 1], intList(n, "pads") ?? [0, 0, 0, 0], intList(n, "dilations") ?? [1, 1],
              int(n, "group", 1))
    }

    mutating func convert(_ n: ONode) throws {
      guard n.outputs.count >= 1, !n.outputs[0].isEmpty else { throw err(n, "node has no output") }
      let ins = n.inputs.filter { !$0.isEmpty }
      let minimum: [String: Int] = [
        "Conv": 2, "ConvTranspose": 2, "BatchNormalization": 5, "Gemm": 2, "MatMul": 2, "Add": 2, "Sub": 2, "Mul": 2,
        "Reshape": 2, "Slice": 3, "Concat": 1, "Constant": 0, "Squeeze": 1, "Unsqueeze": 2,
      ]
      let need = minimum[n.opType] ?? 1
      guard n.inputs.count >= need, n.inputs.prefix(need).allSatisfy({ !$0.isEmpty }) else {
        throw err(n, "expects at least \(need) input(s), has \(ins.count)")
      }
      switch n.opType {
      case "Constant":
        guard let a = n.attrs["value"], let t = a.pointee.t else {
          if let a = n.attrs["value_float"] { addWeight(n.outputs[0], Tensor(shape: [], data: [a.pointee.f])); return }
          if let a = n.attrs["value_ints"] { ints[n.outputs[0]] = ONNXC.ints(a.pointee.ints, a.pointee.n_ints); return }
          if let a = n.attrs["value_int"] { ints[n.outputs[0]] = [Int(a.pointee.i)]; return }
          throw err(n, "Constant without a supported value attribute (value, value_float, value_int, value_ints)")
        }
        switch try ONNXImporter.tensor(t.pointee, what: "Constant '\(n.name)'") {
        case .float(let f): addWeight(n.outputs[0], f)
        case .int64(let v, _): ints[n.outputs[0]] = v
        }
      case "Conv":
        let a = try convAttrs(n)
        try emit(n, .conv2d(ConvAttrs(strides: a.strides, pads: a.pads, dilations: a.dilations, groups: a.groups)), floatInputs(n).filter { !$0.isEmpty })
      case "ConvTranspose":
        let a = try convAttrs(n)
        if n.attrs["output_shape"] != nil {
          throw MoeFormatError(.unsupportedONNX, "node '\(n.name)' (ConvTranspose): output_shape is not supported; use pads/output_padding")
        }
        try emit(n, .convTranspose2d(ConvTransposeAttrs(strides: a.strides, pads: a.pads, dilations: a.dilations,
                                                         outputPadding: intList(n, "output_padding") ?? [0, 0], groups: a.groups)),
                 floatInputs(n).filter { !$0.isEmpty })
      case "BatchNormalization":
        guard n.outputs.filter({ !$0.isEmpty }).count == 1, int(n, "training_mode", 0) == 0 else {
          throw MoeFormatError(.unsupportedONNX, "node '\(n.name)' (BatchNormalization): training mode is not supported")
        }
        try emit(n, .batchNorm(eps: float(n, "epsilon", 1e-5)), floatInputs(n))
      case "Gemm":
        let alpha = float(n, "alpha", 1), beta = float(n, "beta", 1)
        let transA = int(n, "transA", 0) != 0, transB = int(n, "transB", 0) != 0
        let i = floatInputs(n).filter { !$0.isEmpty }
        var linear = transB && !transA && alpha == 1 && (beta == 1 || i.count == 2) && shapes[i[0]]?.rank == 2
        if linear, i.count == 3 {
          let w = shapes[i[1]], c = shapes[i[2]]
          linear = c?.rank == 1 && w?.rank == 2 && c?[0] == w?[0]
        }
        try emit(n, linear ? .linear(.plain) : .gemm(GemmAttrs(alpha: alpha, beta: beta, transA: transA, transB: transB)), i)
      case "MatMul": try emit(n, .matmul, floatInputs(n))
      case "Add": try emit(n, .add, floatInputs(n))
      case "Sub": try emit(n, .sub, floatInputs(n))
      case "Mul": try emit(n, .mul, floatInputs(n))
      case "Relu": try emit(n, .relu, ins)
      case "LeakyRelu": try emit(n, .leakyRelu(alpha: float(n, "alpha", 0.01)), ins)
      case "Tanh": try emit(n, .tanh, ins)
      case "Sigmoid": try emit(n, .sigmoid, ins)
      case "Softplus": try emit(n, .softplus, ins)
      case "Identity":
        if let v = ints[ins[0]] { ints[n.outputs[0]] = v; return }
        try emit(n, .identity, ins)
      case "Reshape":
        guard let s = try staticInts(n, 1, "shape") else { throw err(n, "missing shape input") }
        if int(n, "allowzero", 0) != 0 && s.contains(0) { throw err(n, "allowzero=1 with a 0 in the shape is not supported") }
        try emit(n, .reshape(shape: s), [ins[0]])
      case "Flatten": try emit(n, .flatten(axis: int(n, "axis", 1)), ins)
      case "Transpose":
        let r = shapes[ins[0]]?.rank ?? 0
        try emit(n, .transpose(perm: intList(n, "perm") ?? Array((0..<r).reversed())), ins)
      case "DepthToSpace":
        let m = string(n, "mode") ?? "DCR"
        guard let mode = DepthToSpaceMode(rawValue: m) else { throw err(n, "unknown mode '\(m)'") }
        try emit(n, .depthToSpace(blockSize: int(n, "blocksize", 0), mode: mode), ins)
      case "DequantizeLinear": try dequantizeLinear(n)
      case "Concat": try emit(n, .concat(axis: int(n, "axis", 0)), floatInputs(n).filter { !$0.isEmpty })
      case "Slice":
        guard let starts = try staticInts(n, 1, "starts"), let ends = try staticInts(n, 2, "ends") else {
          throw err(n, "missing starts/ends")
        }
        var axes = try staticInts(n, 3, "axes") ?? Array(0..<starts.count)
        var steps = try staticInts(n, 4, "steps") ?? [Int](repeating: 1, count: starts.count)
        var st = starts, en = ends
        guard axes.count == st.count, en.count == st.count, steps.count == st.count else {
          throw err(n, "starts/ends/axes/steps lengths differ")
        }
        // A full-range slice of a symbolic dimension (start 0, end ≥ INT32_MAX, step 1) is a no-op: drop it.
        if let s = shapes[n.inputs[0]] {
          for k in (0..<axes.count).reversed() {
            let a = axes[k] < 0 ? axes[k] + s.rank : axes[k]
            if a >= 0, a < s.rank, s.dims[a].value == nil, st[k] == 0, steps[k] == 1, en[k] >= Int(Int32.max) {
              axes.remove(at: k); st.remove(at: k); en.remove(at: k); steps.remove(at: k)
            }
          }
        }
        if axes.isEmpty {
          try emit(n, .identity, [n.inputs[0]])
        } else {
          try emit(n, .slice(SliceAttrs(starts: st, ends: en, axes: axes, steps: steps)), [n.inputs[0]])
        }
      case "Unsqueeze", "Squeeze":
        guard let s = shapes[n.inputs[0]] else { throw err(n, "input has no known shape") }
        let r = s.rank
        var axes = try staticInts(n, 1, "axes")
        var dims = s.dims
        if n.opType == "Unsqueeze" {
          guard let ax = axes else { throw err(n, "missing axes") }
          let outRank = r + ax.count
          let norm = ax.map { $0 < 0 ? $0 + outRank : $0 }.sorted()
          for a in norm { dims.insert(.fixed(1), at: a) }
        } else {
          if axes == nil { axes = s.dims.indices.filter { s.dims[$0] == .fixed(1) } }
          let norm = Set(axes!.map { $0 < 0 ? $0 + r : $0 })
          for a in norm {
            guard a < r, s.dims[a] == .fixed(1) else { throw err(n, "cannot squeeze axis \(a) of shape \(s)") }
          }
          dims = s.dims.enumerated().filter { !norm.contains($0.offset) }.map(\.element)
        }
        // Symbolic dims that keep their position are copied with 0 in the Reshape target.
        var target: [Int] = []
        for (i, d) in dims.enumerated() {
          switch d {
          case .fixed(let v): target.append(v)
          case .symbol:
            guard i < r, s.dims[i] == d else { throw err(n, "not static: symbolic dimension \(d) moves") }
            target.append(0)
          }
        }
        try emit(n, .reshape(shape: target), [n.inputs[0]])
      default:
        throw MoeFormatError(.unsupportedONNX, "node '\(n.name)': unsupported op \(n.opType)")
      }
    }
  }
}
