// ONNXExporter: IR graph → ONNX ModelProto (default domain), packed by libprotobuf-c and written atomically.
import CONNX
import Foundation
import MoeIR
import MoeQuant

/// Writes an IR graph as an ONNX model. Epilogues become separate Add / activation nodes; `linear` becomes
/// Flatten(axis 1) + Gemm(transB=1); op attributes that ONNX takes as inputs (Reshape shape, Slice starts/ends/
/// axes/steps) become int64 initializers. Symbolic dimensions become `dim_param`s. Weights whose `encoding` is
/// `int8` become an INT8 initializer + scale + zero point → DequantizeLinear (`ONNXExporter+Int8.swift`).
public enum ONNXExporter {
  /// The ONNX IR version onnx 1.23 pairs with an opset (opset ≤ 18 → 8, 19–20 → 9, 21+ → 10).
  public static func irVersion(forOpset opset: Int) -> Int {
    opset <= 18 ? 8 : (opset <= 20 ? 9 : 10)
  }

  /// Serializes `graph` to ONNX bytes. `encoding(name)` gives a weight's scheme: `int8` → DequantizeLinear,
  /// nil or `f32` → FLOAT initializer; any other scheme is refused (decode it to float first).
  public static func serialize(_ graph: Graph, opset: Int = 17, encoding: (String) -> QuantScheme? = { _ in nil }) throws -> [UInt8] {
    guard (13...21).contains(opset) else {
      throw MoeFormatError(.invalidArray, "ONNX export supports opsets 13–21, not \(opset)")
    }
    let values: [String: ValueInfo]
    do { values = try graph.verify() } catch {
      throw MoeFormatError(.invalidArray, "graph does not verify, cannot export to ONNX: \(error)")
    }
    let b = Builder(graph: graph, opset: opset, types: values)
    try b.build(encoding: encoding)
    let a = b.arena

    let g = a.message(Onnx__GraphProto.self) { onnx__graph_proto__init($0) }
    g.pointee.name = a.string(graph.name.isEmpty ? "moekit" : graph.name)
    g.pointee.n_node = b.nodes.count
    g.pointee.node = a.pointers(b.nodes)
    g.pointee.n_initializer = b.initializers.count
    g.pointee.initializer = a.pointers(b.initializers)
    let inputs = graph.inputs.map { b.valueInfo($0.name, shape: $0.shape, dtype: $0.dtype) }
    g.pointee.n_input = inputs.count
    g.pointee.input = a.pointers(inputs)
    let outputs = graph.outputs.map { b.valueInfo($0, shape: values[$0]?.shape, dtype: values[$0]?.dtype ?? .float32) }
    g.pointee.n_output = outputs.count
    g.pointee.output = a.pointers(outputs)

    let opsetID = a.message(Onnx__OperatorSetIdProto.self) { onnx__operator_set_id_proto__init($0) }
    opsetID.pointee.domain = a.string("")
    opsetID.pointee.has_version = 1
    opsetID.pointee.version = Int64(opset)

    var model = Onnx__ModelProto()
    onnx__model_proto__init(&model)
    model.has_ir_version = 1
    model.ir_version = Int64(irVersion(forOpset: opset))
    model.producer_name = a.string("moekit")
    model.producer_version = a.string("0.1.0")
    model.n_opset_import = 1
    model.opset_import = a.pointers([opsetID])
    model.graph = g
    let props = graph.metadata.sorted { $0.key < $1.key }.map { kv -> UnsafeMutablePointer<Onnx__StringStringEntryProto> in
      let e = a.message(Onnx__StringStringEntryProto.self) { onnx__string_string_entry_proto__init($0) }
      e.pointee.key = a.string(kv.key)
      e.pointee.value = a.string(kv.value)
      return e
    }
    model.n_metadata_props = props.count
    model.metadata_props = a.pointers(props)

    let size = onnx__model_proto__get_packed_size(&model)
    var out = [UInt8](repeating: 0, count: size)
    let written = out.withUnsafeMutableBufferPointer { onnx__model_proto__pack(&model, $0.baseAddress) }
    precondition(written == size)
    return out
  }

  /// Writes `graph` to `url` as ONNX, atomically (`encoding` as in `serialize`).
  public static func write(_ graph: Graph, to url: URL, opset: Int = 17, encoding: (String) -> QuantScheme? = { _ in nil }) throws {
    let bytes: [UInt8]
    do { bytes = try serialize(graph, opset: opset, encoding: encoding) } catch let e as MoeFormatError { throw e.located(file: url.path) }
    try AtomicFile.write(Data(bytes), to: url)
  }

  /// Collects ONNX nodes and initializers for one graph.
  final class Builder {
    let graph: Graph
    let arena = ONNXArena()
    var nodes: [UnsafeMutablePointer<Onnx__NodeProto>] = []
    var initializers: [UnsafeMutablePointer<Onnx__TensorProto>] = []
    private var used: Set<String> = []
    /// Node names written so far.
    private var nodeNames: Set<String> = []

    /// The opset written, and the verified type of every value.
    let opset: Int
    let types: [String: ValueInfo]

    init(graph: Graph, opset: Int, types: [String: ValueInfo]) {
      self.graph = graph
      self.opset = opset
      self.types = types
      used = Set(graph.inputs.map(\.name) + graph.weights.map(\.name) + graph.nodes.flatMap(\.outputs))
    }

    /// A value name not used anywhere in the graph, derived from `base`.
    func fresh(_ base: String) -> String {
      var name = base
      var i = 1
      while used.contains(name) {
        name = "\(base)_\(i)"
        i += 1
      }
      used.insert(name)
      return name
    }

    func build(encoding: (String) -> QuantScheme?) throws {
      for w in graph.weights {
        guard let t = graph.initializers[w.name] else {
          throw MoeFormatError(.invalidArray, key: w.name, "weight has no data; cannot export to ONNX")
        }
        switch encoding(w.name) {
        case nil, .float32?: initializers.append(floatTensor(w.name, t))
        case .int8(let axis)?: try int8Weight(w.name, t, axis: axis)
        case let other?:
          throw MoeFormatError(.invalidArray, key: w.name,
                               "encoding \(other) has no ONNX equivalent (only int8 → DequantizeLinear); export it decoded to float32")
        }
      }
      for n in graph.nodes { try emit(n) }
    }

    // MARK: messages

    func floatTensor(_ name: String, _ t: Tensor) -> UnsafeMutablePointer<Onnx__TensorProto> {
      let p = arena.message(Onnx__TensorProto.self) { onnx__tensor_proto__init($0) }
      p.pointee.name = arena.string(name)
      p.pointee.n_dims = t.shape.count
      p.pointee.dims = arena.int64s(t.shape)
      p.pointee.has_data_type = 1
      p.pointee.data_type = Int32(ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT.rawValue)
      var bytes = [UInt8]()
      bytes.reserveCapacity(t.count * 4)
      for v in t.data {
        let bits = v.bitPattern.littleEndian
        withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
      }
      p.pointee.has_raw_data = 1
      p.pointee.raw_data = arena.bytes(bytes)
      return p
    }

    func int64Initializer(_ base: String, _ values: [Int]) -> String {
      let name = fresh(base)
      let p = arena.message(Onnx__TensorProto.self) { onnx__tensor_proto__init($0) }
      p.pointee.name = arena.string(name)
      p.pointee.n_dims = 1
      p.pointee.dims = arena.int64s([values.count])
      p.pointee.has_data_type = 1
      p.pointee.data_type = Int32(ONNX__TENSOR_PROTO__DATA_TYPE__INT64.rawValue)
      p.pointee.n_int64_data = values.count
      p.pointee.int64_data = arena.int64s(values)
      initializers.append(p)
      return name
    }

    enum Attr {
      case int(Int), float(Float), ints([Int]), string(String), tensor(Tensor)
    }

    func attribute(_ name: String, _ value: Attr) -> UnsafeMutablePointer<Onnx__AttributeProto> {
      let p = arena.message(Onnx__AttributeProto.self) { onnx__attribute_proto__init($0) }
      p.pointee.name = arena.string(name)
      p.pointee.has_type = 1
      switch value {
      case .int(let v):
        p.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT
        p.pointee.has_i = 1
        p.pointee.i = Int64(v)
      case .float(let v):
        p.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT
        p.pointee.has_f = 1
        p.pointee.f = v
      case .ints(let v):
        p.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS
        p.pointee.n_ints = v.count
        p.pointee.ints = arena.int64s(v)
      case .string(let s):
        p.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING
        p.pointee.has_s = 1
        p.pointee.s = arena.bytes(Array(s.utf8))
      case .tensor(let t):
        p.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR
        p.pointee.t = floatTensor("", t)
      }
      return p
    }

    @discardableResult
    func node(_ opType: String, _ name: String, _ inputs: [String], _ outputs: [String],
              _ attrs: [(String, Attr)] = []) -> String {
      let p = arena.message(Onnx__NodeProto.self) { onnx__node_proto__init($0) }
      p.pointee.op_type = arena.string(opType)
      // ONNX requires unique node names; a graph imported from ONNX can already hold the name an expansion would use
      // (e.g. `fc/flatten` beside the `fc` linear the exporter expands into Flatten + Gemm).
      var unique = name, k = 1
      while nodeNames.contains(unique) {
        k += 1
        unique = "\(name)_\(k)"
      }
      nodeNames.insert(unique)
      p.pointee.name = arena.string(unique)
      p.pointee.n_input = inputs.count
      p.pointee.input = arena.strings(inputs)
      p.pointee.n_output = outputs.count
      p.pointee.output = arena.strings(outputs)
      let a = attrs.map { attribute($0.0, $0.1) }
      p.pointee.n_attribute = a.count
      p.pointee.attribute = arena.pointers(a)
      nodes.append(p)
      return outputs[0]
    }

    func valueInfo(_ name: String, shape: Shape?, dtype: DType = .float32) -> UnsafeMutablePointer<Onnx__ValueInfoProto> {
      let v = arena.message(Onnx__ValueInfoProto.self) { onnx__value_info_proto__init($0) }
      v.pointee.name = arena.string(name)
      let tt = arena.message(Onnx__TypeProto__Tensor.self) { onnx__type_proto__tensor__init($0) }
      tt.pointee.has_elem_type = 1
      tt.pointee.elem_type = ONNXOpNames.tensorType(dtype)
      if let shape {
        let s = arena.message(Onnx__TensorShapeProto.self) { onnx__tensor_shape_proto__init($0) }
        let dims = shape.dims.map { d -> UnsafeMutablePointer<Onnx__TensorShapeProto__Dimension> in
          let p = arena.message(Onnx__TensorShapeProto__Dimension.self) { onnx__tensor_shape_proto__dimension__init($0) }
          switch d {
          case .fixed(let n):
            p.pointee.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
            p.pointee.dim_value = Int64(n)
          case .symbol(let sym):
            p.pointee.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
            p.pointee.dim_param = arena.string(sym)
          }
          return p
        }
        s.pointee.n_dim = dims.count
        s.pointee.dim = arena.pointers(dims)
        tt.pointee.shape = s
      }
      let t = arena.message(Onnx__TypeProto.self) { onnx__type_proto__init($0) }
      t.pointee.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
      t.pointee.tensor_type = tt
      v.pointee.type = t
      return v
    }

    // MARK: ops

    func activation(_ act: Activation, _ x: String, _ name: String, _ out: String) {
      switch act {
      case .none: node("Identity", name, [x], [out])
      case .relu: node("Relu", name, [x], [out])
      case .leakyRelu(let a): node("LeakyRelu", name, [x], [out], [("alpha", .float(a))])
      case .tanh: node("Tanh", name, [x], [out])
      case .sigmoid: node("Sigmoid", name, [x], [out])
      }
    }

    /// Emits the core op into a fresh value (or `out` when the epilogue is plain), then the epilogue nodes.
    func withEpilogue(_ n: Node, _ e: Epilogue, core: (String) -> Void) {
      let out = n.outputs[0]
      if e.isPlain {
        core(out)
        return
      }
      let z = fresh(out + "/pre")
      core(z)
      let r = n.inputs.last!
      switch e.residual {
      case .none:
        activation(e.activation, z, n.name + "/act", out)
      case .before:
        if e.activation == .none {
          node("Add", n.name + "/residual", [z, r], [out])
        } else {
          let s = fresh(out + "/sum")
          node("Add", n.name + "/residual", [z, r], [s])
          activation(e.activation, s, n.name + "/act", out)
        }
      case .after:
        if e.activation == .none {
          node("Add", n.name + "/residual", [z, r], [out])
        } else {
          let a = fresh(out + "/act")
          activation(e.activation, z, n.name + "/act", a)
          node("Add", n.name + "/residual", [a, r], [out])
        }
      }
    }

    func emit(_ n: Node) throws {
      let out = n.outputs[0]
      let main = Array(n.inputs.dropLast(n.op.epilogue.residualInputs))
      switch n.op {
      case .linear(let e):
        withEpilogue(n, e) { o in
          let flat = fresh(main[0] + "/flat")
          node("Flatten", n.name + "/flatten", [main[0]], [flat], [("axis", .int(1))])
          node("Gemm", n.name, [flat] + main.dropFirst(), [o], [("transB", .int(1))])
        }
      case .gemm(let a):
        node("Gemm", n.name, n.inputs, [out], [
          ("alpha", .float(a.alpha)), ("beta", .float(a.beta)),
          ("transA", .int(a.transA ? 1 : 0)), ("transB", .int(a.transB ? 1 : 0)),
        ])
      case .matmul: node("MatMul", n.name, n.inputs, [out])
      case .conv2d(let a):
        withEpilogue(n, a.epilogue) { o in
          node("Conv", n.name, main, [o], [
            ("strides", .ints(a.strides)), ("pads", .ints(a.pads)), ("dilations", .ints(a.dilations)),
            ("group", .int(a.groups)),
          ])
        }
      case .convTranspose2d(let a):
        withEpilogue(n, a.epilogue) { o in
          node("ConvTranspose", n.name, main, [o], [
            ("strides", .ints(a.strides)), ("pads", .ints(a.pads)), ("dilations", .ints(a.dilations)),
            ("output_padding", .ints(a.outputPadding)), ("group", .int(a.groups)),
          ])
        }
      case .batchNorm(let eps):
        node("BatchNormalization", n.name, n.inputs, [out], [("epsilon", .float(eps))])
      case .unary(let f) where opset < f.onnx.since:
        throw MoeFormatError(.invalidArray, key: n.name,
                             "\(n.op.name) cannot be exported to ONNX opset \(opset): ONNX \(f.onnx.name) takes opset \(f.onnx.since) or later")
      case .unary(.square): node("Mul", n.name, [n.inputs[0], n.inputs[0]], [out])
      case .unary(let f): node(ONNXOpNames.unary[f]!, n.name, n.inputs, [out])
      case .binary(let f): node(ONNXOpNames.binary[f]!, n.name, n.inputs, [out])
      case .leakyRelu(let alpha): node("LeakyRelu", n.name, n.inputs, [out], [("alpha", .float(alpha))])
      case .conv2dFilterGrad, .batchNormTraining, .clip, .prelu, .select, .cast, .reduce, .sumTo, .broadcastTo, .softmax, .logSoftmax,
        .instanceNorm, .groupNorm, .pad, .maxPool, .averagePool, .globalAveragePool, .globalMaxPool, .resize, .spaceToDepth:
        try emitNewer(n)
      case .reshape(let shape):
        let s = int64Initializer(n.name + "/shape", shape)
        node("Reshape", n.name, [n.inputs[0], s], [out])
      case .flatten(let axis): node("Flatten", n.name, n.inputs, [out], [("axis", .int(axis))])
      case .transpose(let perm): node("Transpose", n.name, n.inputs, [out], [("perm", .ints(perm))])
      case .depthToSpace(let bs, let mode):
        node("DepthToSpace", n.name, n.inputs, [out], [("blocksize", .int(bs)), ("mode", .string(mode.rawValue))])
      case .concat(let axis): node("Concat", n.name, n.inputs, [out], [("axis", .int(axis))])
      case .slice(let a):
        let ins = [
          n.inputs[0], int64Initializer(n.name + "/starts", a.starts), int64Initializer(n.name + "/ends", a.ends),
          int64Initializer(n.name + "/axes", a.axes), int64Initializer(n.name + "/steps", a.steps),
        ]
        node("Slice", n.name, ins, [out])
      case .identity: node("Identity", n.name, n.inputs, [out])
      case .constant(let t): node("Constant", n.name, [], [out], [("value", .tensor(t))])
      }
    }
  }
}
