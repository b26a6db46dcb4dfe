// ONNXImporter+Newer: ONNX nodes of the newer IR op set (elementwise families, variadic ops, reductions, selection,
// cast, clip, PReLU, softmax, normalization, LRN, Dropout, Shape/Expand) → IR nodes, with their opset forms.
import CONNX
import MoeIR

extension ONNXImporter {
  /// Op types mapped by `ONNXImporter+Newer.swift` and `ONNXImporter+Spatial.swift`.
  static let newerOps: Set<String> = Set(ONNXOpNames.unaryByONNX.keys)
    .union(ONNXOpNames.binaryByONNX.keys).union(ONNXOpNames.reduceByONNX.keys)
    .union([
      "Sum", "Mean", "Where", "Cast", "CastLike", "Clip", "PRelu", "Softmax", "LogSoftmax", "InstanceNormalization", "LRN",
      "Dropout", "Shape", "Expand", "Pad", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Resize",
      "Upsample", "SpaceToDepth",
    ]).union(compositeOps)
}

extension ONNXImporter {
  /// The refusal of unsupported nodes: one entry per op type, sorted, with its count and first node
  /// (`3 unsupported op(s) at opset 17: Det ×2 (first: node 'd1'), Hardmax ×1 (first: node 'h')`).
  static func unsupportedSummary(_ nodes: [ONode], opset: Int) -> String {
    var byType: [String: (count: Int, first: String)] = [:]
    for n in nodes { byType[n.opType, default: (0, n.name)].count += 1 }
    return "\(nodes.count) unsupported op(s) at opset \(opset): "
      + byType.keys.sorted().map { "\($0) ×\(byType[$0]!.count) (first: node '\(byType[$0]!.first)')" }.joined(separator: ", ")
  }
}

extension ONNXImporter.Reader {
  /// Converts a node of the newer op set; false when `n.opType` is not one of them.
  mutating func convertNewer(_ n: ONNXImporter.ONode) throws -> Bool {
    let ins = n.inputs.filter { !$0.isEmpty }
    switch n.opType {
    case "Max", "Min", "Sum", "Mean": try variadic(n)
    case let t where ONNXOpNames.binaryByONNX[t] != nil:
      guard ins.count == 2 else { throw err(n, "expects 2 inputs, has \(ins.count)") }
      try emit(n, .binary(ONNXOpNames.binaryByONNX[t]!), floatInputs(n))
    case let t where ONNXOpNames.unaryByONNX[t] != nil: try emit(n, .unary(ONNXOpNames.unaryByONNX[t]!), [ins[0]])
    case let t where ONNXOpNames.reduceByONNX[t] != nil: try reduce(n, ONNXOpNames.reduceByONNX[t]!)
    case "Where":
      guard ins.count == 3 else { throw err(n, "expects 3 inputs, has \(ins.count)") }
      try emit(n, .select, floatInputs(n))
    case "Cast":
      let to = Int32(truncatingIfNeeded: int(n, "to", 0))
      guard let d = ONNXOpNames.dtype(to) else {
        throw refuse(n, "Cast to \(ONNXImporter.typeName(to)) is not supported (the IR has f32, f16, f64, i64, i32, i8, u8, bool)")
      }
      try emit(n, .cast(d), floatInputs(n).prefix(1).map { $0 })
    case "CastLike": try castLike(n)
    case "Clip":
      let lowest = -Float.greatestFiniteMagnitude, highest = Float.greatestFiniteMagnitude
      let lo = opset < 11 ? float(n, "min", lowest) : try staticFloat(n, 1, "min") ?? lowest
      let hi = opset < 11 ? float(n, "max", highest) : try staticFloat(n, 2, "max") ?? highest
      // min > max gives max everywhere (min(max(x, lo), hi)), as ONNX defines it.
      try emit(n, .clip(min: Swift.min(lo, hi), max: hi), [ins[0]])
    case "PRelu":
      guard ins.count == 2 else { throw err(n, "expects 2 inputs (x, slope), has \(ins.count)") }
      try emit(n, .prelu, floatInputs(n))
    case "Softmax", "LogSoftmax": try softmax(n)
    case "InstanceNormalization":
      guard ins.count == 3 else { throw err(n, "expects 3 inputs (x, scale, bias), has \(ins.count)") }
      try emit(n, .instanceNorm(eps: float(n, "epsilon", 1e-5)), floatInputs(n))
    case "LRN": try lrn(n)
    case "Dropout":
      if n.outputs.count > 1 && !n.outputs[1].isEmpty { throw refuse(n, "the mask output is not supported (inference: Dropout is removed)") }
      if opset >= 12, n.inputs.count > 2, !n.inputs[2].isEmpty {
        guard let v = ints[n.inputs[2]], v.allSatisfy({ $0 == 0 }) else {
          throw refuse(n, "training_mode must be a constant false (inference: Dropout is removed)")
        }
      }
      try emit(n, .identity, [ins[0]])
    case "Shape": try shapeOf(n)
    case "Expand": try expand(n)
    case "Pad": try pad(n)
    case "MaxPool", "AveragePool": try pool(n)
    case "GlobalAveragePool": try emit(n, .globalAveragePool, [ins[0]])
    case "GlobalMaxPool": try emit(n, .globalMaxPool, [ins[0]])
    case "Resize", "Upsample": try resize(n)
    case "SpaceToDepth":
      if let m = string(n, "mode"), m != "DCR" { throw refuse(n, "mode '\(m)' is not supported (DCR)") }
      try emit(n, .spaceToDepth(blockSize: int(n, "blocksize", 0)), [ins[0]])
    default: return try convertComposite(n)
    }
    return true
  }

  /// A scalar float taken from an initializer or Constant input (nil when the optional input is absent).
  func staticFloat(_ n: ONNXImporter.ONode, _ index: Int, _ what: String) throws -> Float? {
    guard let v = try staticFloats(n, index, what) else { return nil }
    guard v.count == 1 else { throw err(n, "\(what) must be a scalar, has \(v.count) values") }
    return v[0]
  }

  /// Float values of an initializer or Constant input (int64 constants are converted); nil when absent.
  func staticFloats(_ n: ONNXImporter.ONode, _ index: Int, _ what: String) throws -> [Float]? {
    guard index < n.inputs.count, !n.inputs[index].isEmpty else { return nil }
    let x = n.inputs[index]
    if let t = graph.initializers[x] { return t.data }
    if let v = ints[x] { return v.map { Float($0) } }
    throw refuse(n, "\(what) input '\(x)' must be an initializer or Constant (MoeKit imports it as an attribute)")
  }

  /// A new scalar weight named after the node.
  mutating func scalarWeight(_ n: ONNXImporter.ONode, _ base: String, _ v: Float) -> String {
    var name = "\(n.name)/\(base)"
    var i = 1
    while graph.initializers[name] != nil || shapes[name] != nil || ints[name] != nil {
      name = "\(n.name)/\(base)_\(i)"
      i += 1
    }
    addWeight(name, Tensor(shape: [], data: [v]))
    return name
  }

  /// Reshape targets for `target` applied to a value of shape `from`: fixed extents as they are, a symbolic one
  /// as 0 (copied) at the position it has in `from`, otherwise one −1; nil when that cannot express it.
  func reshapeDims(_ target: Shape, from: Shape) -> [Int]? {
    var inferred = false
    var out: [Int] = []
    for (i, d) in target.dims.enumerated() {
      if let v = d.value { out.append(v); continue }
      if i < from.rank && from[i] == d { out.append(0); continue }
      if inferred { return nil }
      inferred = true
      out.append(-1)
    }
    return out
  }

  /// Max/Min/Sum/Mean of one or more inputs, folded into a chain of binary nodes (Mean divides the sum by the count).
  mutating func variadic(_ n: ONNXImporter.ONode) throws {
    let xs = floatInputs(n).filter { !$0.isEmpty }
    guard !xs.isEmpty else { throw err(n, "needs at least one input") }
    if xs.count == 1 { try emit(n, .identity, xs); return }
    let f: BinaryFunction = n.opType == "Max" ? .max : (n.opType == "Min" ? .min : .add)
    let mean = n.opType == "Mean"
    var acc = xs[0]
    for (i, x) in xs.dropFirst().enumerated() {
      let last = i == xs.count - 2 && !mean
      acc = try emit(n, .binary(f), [acc, x], output: last ? nil : "\(n.outputs[0])/\(i + 1)")
    }
    if mean { try emit(n, .binary(.div), [acc, scalarWeight(n, "count", Float(xs.count))]) }
  }

  /// ReduceSum/Mean/Max/Min: `axes` an attribute before opset 13 (ReduceSum) or 18 (the rest), an input after.
  mutating func reduce(_ n: ONNXImporter.ONode, _ f: ReduceFunction) throws {
    let axesAsInput = opset >= (n.opType == "ReduceSum" ? 13 : 18)
    let axes = axesAsInput ? try staticInts(n, 1, "axes") ?? [] : intList(n, "axes") ?? []
    if axes.isEmpty && axesAsInput && int(n, "noop_with_empty_axes", 0) != 0 {
      try emit(n, .identity, [n.inputs[0]])
      return
    }
    try emit(n, .reduce(f, axes: axes, keepDims: int(n, "keepdims", 1) != 0), [n.inputs[0]])
  }

  /// Softmax/LogSoftmax. From opset 13 over one axis (default −1); before, over the input coerced to 2-D at `axis`
  /// (default 1): imported as flatten → softmax over axis 1 → reshape back, or directly when `axis` is the last.
  mutating func softmax(_ n: ONNXImporter.ONode) throws {
    let x = n.inputs[0]
    guard let s = shapes[x] else { throw err(n, "input has no known shape") }
    let log = n.opType == "LogSoftmax"
    func op(_ axis: Int) -> Op { log ? .logSoftmax(axis: axis) : .softmax(axis: axis) }
    if opset >= 13 { try emit(n, op(int(n, "axis", -1)), [x]); return }
    var axis = int(n, "axis", 1)
    if axis < 0 { axis += s.rank }
    guard axis >= 0 && axis <= s.rank else { throw err(n, "axis \(int(n, "axis", 1)) out of range for rank \(s.rank)") }
    if s.rank == 0 || axis >= s.rank - 1 {
      try emit(n, s.rank == 0 || axis == s.rank - 1 ? op(-1) : .identity, [x])
      return
    }
    let flat = try emit(n, .flatten(axis: axis), [x], output: n.outputs[0] + "/2d")
    guard let back = reshapeDims(s, from: shapes[flat]!) else {
      throw refuse(n, "opset \(opset) softmax over axes \(axis)… of \(s) needs at most one symbolic dimension after the first")
    }
    let y = try emit(n, op(1), [flat], output: n.outputs[0] + "/2d_softmax")
    try emit(n, .reshape(shape: back), [y])
  }

  /// CastLike (opset 15; what torch.export writes for scalar constants, `optimize=False`): Cast to the element type
  /// of the second input. An int64 target (a shape value) keeps the first input's int64 value for shape folding.
  mutating func castLike(_ n: ONNXImporter.ONode) throws {
    guard n.inputs.count == 2, n.inputs.allSatisfy({ !$0.isEmpty }) else { throw err(n, "expects 2 inputs (input, target_type)") }
    let like = n.inputs[1]
    if ints[like] != nil || symbolic[like] != nil || shapeSources[like] != nil {
      guard let v = symValue(n.inputs[0]) else {
        throw refuse(n, "CastLike of the tensor '\(n.inputs[0])' to int64 is not supported (int64 only as shape values)")
      }
      setSymValue(n.outputs[0], v)
      return
    }
    try emit(n, .cast(dtypes[like] ?? .float32), [floatInputs(n)[0]])
  }

  /// LRN across channels: x / (bias + alpha/size · Σ x² over the window)^beta, written as square → average
  /// pooling over the channel axis (window padded with zeros, counted) → mul, add, pow → div.
  mutating func lrn(_ n: ONNXImporter.ONode) throws {
    let x = n.inputs[0], o = n.outputs[0]
    let size = int(n, "size", 0)
    guard size >= 1 else { throw err(n, "size must be ≥ 1, got \(size)") }
    guard let s = shapes[x], s.rank == 4, let c = s[1].value, let h = s[2].value, let w = s[3].value else {
      throw refuse(n, "LRN needs a 4-D input with fixed channels and spatial extents, input is \(shapes[x].map { "\($0)" } ?? "unknown")")
    }
    let lo = (size - 1) / 2, hi = size - 1 - lo
    let sq = try emit(n, .unary(.square), [x], output: o + "/square")
    let cols = try emit(n, .reshape(shape: [0, 1, c, h * w]), [sq], output: o + "/channels")
    let avg = try emit(n, .averagePool(PoolAttrs(kernel: [size, 1], pads: [lo, 0, hi, 0], countIncludePad: true)), [cols],
                       output: o + "/window_mean")
    let back = try emit(n, .reshape(shape: [0, c, h, w]), [avg], output: o + "/window_mean_nchw")
    let scaled = try emit(n, .mul, [back, scalarWeight(n, "alpha", float(n, "alpha", 1e-4))], output: o + "/scaled")
    let shifted = try emit(n, .add, [scaled, scalarWeight(n, "bias", float(n, "bias", 1))], output: o + "/shifted")
    let den = try emit(n, .binary(.pow), [shifted, scalarWeight(n, "beta", float(n, "beta", 0.75))], output: o + "/denominator")
    try emit(n, .binary(.div), [x, den])
  }

  /// Shape: static ints when the input's shape is fixed (opset 15 `start`/`end` slice it); otherwise remembered
  /// as "the shape of x" for a following Reshape or Expand.
  mutating func shapeOf(_ n: ONNXImporter.ONode) throws {
    guard let s = shapes[n.inputs[0]] else { throw err(n, "input has no known shape") }
    let r = s.rank
    func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + r : v, 0), r) }
    let start = clamp(int(n, "start", 0)), end = clamp(int(n, "end", r))
    let dims = Array(s.dims[start..<max(start, end)])
    if dims.allSatisfy({ $0.value != nil }) {
      ints[n.outputs[0]] = dims.map { $0.value! }
    } else if start == 0 && end == r {
      shapeSources[n.outputs[0]] = n.inputs[0]
    } else {
      throw refuse(n, "Shape with start/end of a symbolic shape \(s) is not supported")
    }
  }

  /// Expand: to the shape of a value (Shape(v) → broadcast_to(x, v)) or to a constant shape (bidirectional
  /// broadcasting: broadcast_to a zero weight of the result shape).
  mutating func expand(_ n: ONNXImporter.ONode) throws {
    let x = n.inputs[0]
    guard let xs = shapes[x], n.inputs.count >= 2 else { throw err(n, "expects 2 inputs (input, shape)") }
    if let like = shapeSources[n.inputs[1]], let ls = shapes[like] {
      guard (try? broadcastShapes(xs, ls)) == ls else { throw refuse(n, "Expand of \(xs) to the shape of '\(like)' \(ls) grows that shape") }
      try emit(n, .broadcastTo, [x, like])
      return
    }
    if let t = symbolic[n.inputs[1]] { try expandSymbolic(n, t); return }
    guard let target = try staticInts(n, 1, "shape") else { throw err(n, "missing shape input") }
    let result: Shape
    do { result = try broadcastShapes(xs, Shape(target)) } catch { throw err(n, "cannot broadcast \(xs) to \(target): \(error)") }
    if result == xs { try emit(n, .identity, [x]); return }
    let fixed = result.dims.compactMap(\.value)
    guard fixed.count == result.rank else {
      throw refuse(n, "Expand of \(xs) to a constant shape \(target) with symbolic dimensions is not supported")
    }
    var count = 1
    for d in fixed {
      let (c, overflow) = count.multipliedReportingOverflow(by: d)
      guard !overflow, c <= 1 << 26 else { throw refuse(n, "Expand to \(target) is too large (more than 2^26 elements)") }
      count = c
    }
    let zeros = "\(n.name)/expanded_shape"
    addWeight(zeros, Tensor(shape: fixed, data: Array(repeating: 0, count: count)))
    try emit(n, .broadcastTo, [x, zeros])
  }

  /// A graph output that is a static int64 value (a Shape of a fixed shape, an int64 Constant) becomes a weight.
  mutating func materializeStaticOutput(_ name: String) {
    guard shapes[name] == nil, graph.initializers[name] == nil, let v = ints[name] else { return }
    addWeight(name, Tensor(shape: intShapes[name] ?? [v.count], data: v.map { Float($0) }))
  }

  /// Drops weights no node reads and no output names (attribute-like initializers: Clip bounds, Resize scales, …).
  mutating func pruneUnusedWeights() {
    var used = Set(graph.outputs)
    for node in graph.nodes { used.formUnion(node.inputs) }
    for w in graph.weights where !used.contains(w.name) { graph.initializers[w.name] = nil }
    graph.weights.removeAll { !used.contains($0.name) }
  }
}
