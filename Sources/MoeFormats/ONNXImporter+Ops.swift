// ONNXImporter+Ops: one ONNX node → IR node(s), with the opset-dependent forms of each op (opsets 7–28); the
// elementwise families and the newer ops are in ONNXImporter+Newer.swift / +Spatial.swift.
import CONNX
import MoeIR

extension ONNXImporter.Reader {
  /// An error for a well-formed model that uses a feature MoeKit does not import.
  func refuse(_ n: ONNXImporter.ONode, _ message: String) -> MoeFormatError {
    MoeFormatError(.unsupportedONNX, "node '\(n.name)' (\(n.opType)): \(message)")
  }

  /// Appends `op` on `inputs`, producing `output` (default: the node's first output); returns the output name.
  @discardableResult
  mutating func emit(_ n: ONNXImporter.ONode, _ op: Op, _ inputs: [String], output: String? = nil) throws -> String {
    let shapesIn = try inputs.map { x -> Shape in
      if shapes[x] == nil && (ints[x] != nil || shapeSources[x] != nil) {
        throw refuse(n, "input '\(x)' is an int64 shape value; shape arithmetic other than Reshape/Expand to a Shape is not imported (static shapes)")
      }
      guard let s = shapes[x] else { throw err(n, "input '\(x)' has no known shape") }
      return s
    }
    let out: [Shape]
    do { out = try op.inferShapes(shapesIn) } catch { throw err(n, "\(error)") }
    let dtype: DType
    do { dtype = try op.inferDTypes(inputs.map { dtypes[$0] ?? .float32 })[0] } catch {
      throw refuse(n, "element types \(inputs.map { (dtypes[$0] ?? .float32).rawValue }) are not supported by \(op.name): \(error)")
    }
    let name = output ?? n.outputs[0]
    let nodeName = output == nil ? n.name : "\(n.name)/\(name)"
    graph.nodes.append(Node(name: nodeName, op: op, inputs: inputs, outputs: [name]))
    shapes[name] = out[0]
    if dtype != .float32 { dtypes[name] = dtype }
    return name
  }

  /// Fixed spatial extents (H, W) of a 4-D input, as needed for auto_pad and output_shape.
  func spatial(_ n: ONNXImporter.ONode, _ x: String) throws -> [Int] {
    guard let s = shapes[x], s.rank == 4, let h = s[2].value, let w = s[3].value else {
      throw refuse(n, "auto_pad/output_shape need fixed spatial input dimensions, input is \(shapes[x].map { "\($0)" } ?? "unknown")")
    }
    return [h, w]
  }

  /// Strides, explicit pads (auto_pad resolved from the static input shape), dilations, groups, kernel.
  func convAttrs(_ n: ONNXImporter.ONode, _ ins: [String]) throws -> (strides: [Int], pads: [Int], dilations: [Int], groups: Int, kernel: [Int]) {
    guard let x = shapes[ins[0]], let w = shapes[ins[1]] else { throw err(n, "input has no known shape") }
    guard x.rank == 4, w.rank == 4 else {
      throw refuse(n, "only 2-D convolutions (4-D input and weight) are supported, input is \(x), weight \(w)")
    }
    let kernel = try intList(n, "kernel_shape") ?? [w[2], w[3]].map {
      guard let v = $0.value else { throw err(n, "weight spatial dimensions must be fixed") }
      return v
    }
    guard kernel.count == 2 else { throw refuse(n, "only 2-D convolutions are supported (kernel_shape \(kernel))") }
    let strides = intList(n, "strides") ?? [1, 1], dilations = intList(n, "dilations") ?? [1, 1]
    guard strides.count == 2, dilations.count == 2 else { throw err(n, "strides/dilations must have 2 entries") }
    guard strides.allSatisfy({ $0 >= 1 }), dilations.allSatisfy({ $0 >= 1 }), kernel.allSatisfy({ $0 >= 1 }) else {
      throw err(n, "strides \(strides), dilations \(dilations) and kernel_shape \(kernel) must be ≥ 1")
    }
    var pads = intList(n, "pads") ?? [0, 0, 0, 0]
    guard pads.count == 4, pads.allSatisfy({ $0 >= 0 }) else { throw err(n, "pads \(pads) must be 4 values ≥ 0") }
    switch string(n, "auto_pad") ?? "NOTSET" {
    case "NOTSET": break
    case "VALID": pads = [0, 0, 0, 0]
    case let mode where mode == "SAME_UPPER" || mode == "SAME_LOWER":
      if n.opType == "Conv" {
        let size = try spatial(n, ins[0])
        for i in 0..<2 {
          let out = (size[i] + strides[i] - 1) / strides[i]
          let total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size[i])
          pads[i] = mode == "SAME_UPPER" ? total / 2 : total - total / 2
          pads[i + 2] = total - pads[i]
        }
      } else {
        pads = []  // ConvTranspose: resolved with output_shape below.
      }
    case let mode: throw err(n, "unknown auto_pad '\(mode)'")
    }
    return (strides, pads, dilations, int(n, "group", 1), kernel)
  }

  mutating func convTranspose(_ n: ONNXImporter.ONode, _ ins: [String]) throws {
    var a = try convAttrs(n, ins)
    var outputPadding = intList(n, "output_padding") ?? [0, 0]
    guard outputPadding.count == 2 else { throw err(n, "output_padding must have 2 entries") }
    for i in 0..<2 where outputPadding[i] < 0 || outputPadding[i] >= max(a.strides[i], a.dilations[i]) {
      throw err(n, "output_padding \(outputPadding) must be ≥ 0 and less than the stride or dilation (\(a.strides), \(a.dilations))")
    }
    let sameMode = string(n, "auto_pad")
    var outputShape = intList(n, "output_shape")
    if let o = outputShape, o.count == 4 { outputShape = Array(o.suffix(2)) }
    if a.pads.isEmpty || outputShape != nil {
      let size = try spatial(n, ins[0])
      let target = outputShape ?? [size[0] * a.strides[0], size[1] * a.strides[1]]
      guard target.count == 2 else { throw err(n, "output_shape must have 2 spatial entries") }
      var full = [0, 0]
      for i in 0..<2 {
        let span: Int = (a.kernel[i] - 1) * a.dilations[i] + 1
        full[i] = a.strides[i] * (size[i] - 1) + outputPadding[i] + span
      }
      if a.pads.isEmpty {
        // auto_pad SAME_*: total padding split as in ONNX's reference (odd half at the end for SAME_UPPER).
        a.pads = [0, 0, 0, 0]
        for i in 0..<2 {
          let total = full[i] - target[i]
          a.pads[i] = sameMode == "SAME_UPPER" ? total / 2 : total - total / 2
          a.pads[i + 2] = total - a.pads[i]
        }
      } else {
        // output_shape with explicit (or zero) pads: the extra extent is output padding at the end.
        for i in 0..<2 {
          let extra = target[i] - (full[i] - a.pads[i] - a.pads[i + 2])
          guard extra >= 0 else { throw refuse(n, "output_shape \(target) is smaller than the padded output") }
          outputPadding[i] += extra
        }
      }
      if a.pads.contains(where: { $0 < 0 }) { throw refuse(n, "output_shape \(target) needs negative padding") }
    }
    try emit(n, .convTranspose2d(ConvTransposeAttrs(strides: a.strides, pads: a.pads, dilations: a.dilations,
                                                     outputPadding: outputPadding, groups: a.groups)), ins)
  }

  /// MatMul; 1-D operands are promoted (A → [1, K], B → [K, 1]) and the extra dimension removed after.
  mutating func matmul(_ n: ONNXImporter.ONode, _ ins: [String]) throws {
    guard let sa = shapes[ins[0]], let sb = shapes[ins[1]] else { throw err(n, "input has no known shape") }
    if sa.rank >= 2 && sb.rank >= 2 { try emit(n, .matmul, ins); return }
    let a = sa.rank == 1 ? try emit(n, .reshape(shape: [1, -1]), [ins[0]], output: n.outputs[0] + "/a2d") : ins[0]
    let b = sb.rank == 1 ? try emit(n, .reshape(shape: [-1, 1]), [ins[1]], output: n.outputs[0] + "/b2d") : ins[1]
    let m = try emit(n, .matmul, [a, b], output: n.outputs[0] + "/mm")
    var dims = shapes[m]!.dims
    if sb.rank == 1 { dims.removeLast() }
    if sa.rank == 1 { dims.remove(at: dims.count - (sb.rank == 1 ? 1 : 2)) }
    try emit(n, .reshape(shape: dims.enumerated().map { $0.element.value ?? (shapes[m]!.dims[$0.offset] == $0.element ? 0 : -1) }), [m])
  }

  mutating func convert(_ n: ONNXImporter.ONode) throws {
    guard n.outputs.count >= 1, !n.outputs[0].isEmpty else { throw err(n, "node has no output") }
    let ins = n.inputs.filter { !$0.isEmpty }
    let minimum: [String: Int] = [
      "Conv": 2, "ConvTranspose": 2, "BatchNormalization": 5, "Gemm": 2, "MatMul": 2, "Add": 2, "Sub": 2, "Mul": 2,
      "Reshape": opset >= 5 ? 2 : 1, "Slice": opset >= 10 ? 3 : 1, "Concat": 1, "Constant": 0, "Squeeze": 1,
      "Unsqueeze": opset >= 13 ? 2 : 1,
    ]
    let need = minimum[n.opType] ?? 1
    guard n.inputs.count >= need, n.inputs.prefix(need).allSatisfy({ !$0.isEmpty }) else {
      throw err(n, "expects at least \(need) input(s), has \(ins.count)")
    }
    if try foldShapeArithmetic(n) { return }
    switch n.opType {
    case "Constant":
      guard let a = n.attrs["value"], let t = a.pointee.t else {
        if let a = n.attrs["value_float"] { addWeight(n.outputs[0], Tensor(shape: [], data: [a.pointee.f])); return }
        if let a = n.attrs["value_floats"] {
          let v = ONNXC.floats(a.pointee.floats, a.pointee.n_floats)
          addWeight(n.outputs[0], Tensor(shape: [v.count], data: v)); return
        }
        if let a = n.attrs["value_ints"] { ints[n.outputs[0]] = ONNXC.ints(a.pointee.ints, a.pointee.n_ints); return }
        if let a = n.attrs["value_int"] { ints[n.outputs[0]] = [Int(a.pointee.i)]; intShapes[n.outputs[0]] = []; return }
        throw refuse(n, "Constant without a supported value attribute (value, value_float(s), value_int(s))")
      }
      switch try ONNXImporter.tensor(t.pointee, what: "Constant '\(n.name)'", base: baseDirectory) {
      case .float(let f): addWeight(n.outputs[0], f)
      case .int64(let v, let s): ints[n.outputs[0]] = v; intShapes[n.outputs[0]] = s
      }
    case "Conv":
      let i = floatInputs(n).filter { !$0.isEmpty }
      let a = try convAttrs(n, i)
      try emit(n, .conv2d(ConvAttrs(strides: a.strides, pads: a.pads, dilations: a.dilations, groups: a.groups)), i)
    case "ConvTranspose": try convTranspose(n, floatInputs(n).filter { !$0.isEmpty })
    case "BatchNormalization":
      guard n.outputs.filter({ !$0.isEmpty }).count == 1, int(n, "training_mode", 0) == 0 else {
        throw refuse(n, "training mode is not supported (inference only: one output, training_mode=0)")
      }
      if opset < 9, int(n, "spatial", 1) == 0 { throw refuse(n, "spatial=0 (per-activation statistics) is not supported") }
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
    case "MatMul": try matmul(n, floatInputs(n))
    case "LeakyRelu": try emit(n, .leakyRelu(alpha: float(n, "alpha", 0.01)), ins)
    case "Identity":
      if let v = ints[ins[0]] { ints[n.outputs[0]] = v; return }
      try emit(n, .identity, ins)
    case "Reshape":
      // The IR's 0 copies the input's extent: a 0 written in the ONNX target (literal) means that too unless allowzero
      // is set; a 0 the importer puts for a symbolic dimension kept in place is always such a copy.
      let s: [Int], literalZero: Bool
      if opset < 5 {
        guard let a = intList(n, "shape") else { throw err(n, "missing shape attribute") }
        s = a
        literalZero = a.contains(0)
      } else if let t = symbolic[n.inputs[1]] {
        s = try symbolicReshapeTarget(n, t)
        literalZero = t.values.contains(.const(0))
      } else if let like = shapeSources[n.inputs[1]], let target = shapes[like], let from = shapes[ins[0]] {
        guard let v = reshapeDims(target, from: from) else {
          throw refuse(n, "reshape to the shape of '\(like)' \(target) needs at most one symbolic dimension that moves")
        }
        s = v
        literalZero = target.dims.contains { $0.value == 0 }
      } else {
        guard let v = try staticInts(n, 1, "shape") else { throw err(n, "missing shape input") }
        s = v
        literalZero = v.contains(0)
      }
      if int(n, "allowzero", 0) != 0 && literalZero { throw refuse(n, "allowzero=1 with a 0 in the shape is not supported") }
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
    case "Slice": try slice(n)
    case "Unsqueeze", "Squeeze": try squeeze(n)
    case "Split": try split(n)
    default:
      guard try convertNewer(n) else { throw refuse(n, "unsupported op \(n.opType)") }
    }
  }
}
