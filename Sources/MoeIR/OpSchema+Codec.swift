// OpSchema codec: an Op to its attributes in text form and back, checked against the op's schema.

/// An attribute as the text parser reads it, before its schema gives it a type.
public enum RawAttribute: Hashable, Sendable {
  case scalar(String)
  case list([String])
  case tensor(Tensor)
}

/// An attribute value typed by its schema.
public enum AttributeValue: Hashable, Sendable {
  case int(Int), float(Float), bool(Bool), ints([Int]), floats([Float]), word(String), tensor(Tensor), activation(Activation)
}

/// A node's attributes do not fit its op's schema; the message names the attribute.
public struct OpSchemaError: Error, Hashable, Sendable {
  public let message: String
  init(_ m: String) { message = m }
}

extension AttributeSchema {
  /// The typed value of `raw`, or an error saying what this attribute must be.
  public func typed(_ raw: RawAttribute) throws -> AttributeValue {
    func fail(_ what: String) -> OpSchemaError { OpSchemaError("attribute '\(name)' must be \(what)") }
    switch (kind, raw) {
    case (.int, .scalar(let s)):
      guard let v = Int(s) else { throw fail("an integer") }
      return .int(v)
    case (.bool, .scalar(let s)):
      guard s == "0" || s == "1" else { throw fail("0 or 1") }
      return .bool(s == "1")
    case (.float, .scalar(let s)):
      guard let v = Float(s) else { throw fail("a float") }
      return .float(v)
    case (.ints, .list(let l)):
      let v = l.compactMap { Int($0) }
      guard v.count == l.count else { throw fail("an integer list") }
      return .ints(v)
    case (.floats, .list(let l)):
      let v = l.compactMap { Float($0) }
      guard v.count == l.count else { throw fail("a float list") }
      return .floats(v)
    case (.word(let words), .scalar(let s)):
      guard words.contains(s) else { throw fail("one of \(words.joined(separator: ", "))") }
      return .word(s)
    case (.activation, .scalar(let s)):
      guard let a = Activation(text: s), a != .none else { throw fail("relu, tanh, sigmoid or leaky_relu:ALPHA") }
      return .activation(a)
    case (.tensor, .tensor(let t)): return .tensor(t)
    case (.int, _): throw fail("an integer")
    case (.bool, _): throw fail("0 or 1")
    case (.float, _): throw fail("a float")
    case (.ints, _): throw fail("an integer list")
    case (.floats, _): throw fail("a float list")
    case (.word(let words), _): throw fail("one of \(words.joined(separator: ", "))")
    case (.activation, _): throw fail("relu, tanh, sigmoid or leaky_relu:ALPHA")
    case (.tensor, _): throw fail("a tensor literal")
    }
  }
}

extension OpSchema {
  /// Checks `raw` against the schema: unknown attributes, missing ones (in canonical order) and their types.
  public func typedAttributes(_ raw: [String: RawAttribute]) throws -> [String: AttributeValue] {
    let known = Set(allAttributes.map(\.name))
    let extra = raw.keys.filter { !known.contains($0) }
    if !extra.isEmpty { throw OpSchemaError("unknown attribute(s) \(extra.sorted().joined(separator: ", "))") }
    var out: [String: AttributeValue] = [:]
    for a in allAttributes {
      guard let r = raw[a.name] else {
        if a.defaultValue == nil { throw OpSchemaError("missing attribute '\(a.name)'") }
        continue
      }
      out[a.name] = try a.typed(r)
    }
    return out
  }
}

/// Typed reads of a checked attribute dictionary (the schema guarantees presence and type).
private struct Attributes {
  let values: [String: AttributeValue]
  func int(_ k: String) -> Int { if case .int(let v)? = values[k] { return v }; preconditionFailure(k) }
  func bool(_ k: String) -> Bool { if case .bool(let v)? = values[k] { return v }; preconditionFailure(k) }
  func float(_ k: String) -> Float { if case .float(let v)? = values[k] { return v }; preconditionFailure(k) }
  func ints(_ k: String) -> [Int] { if case .ints(let v)? = values[k] { return v }; preconditionFailure(k) }
  func floats(_ k: String) -> [Float] { if case .floats(let v)? = values[k] { return v }; preconditionFailure(k) }
  func word<E: RawRepresentable>(_ k: String, _: E.Type) -> E where E.RawValue == String {
    if case .word(let w)? = values[k], let v = E(rawValue: w) { return v }
    preconditionFailure(k)
  }
  var epilogue: Epilogue {
    var e = Epilogue.plain
    if case .activation(let a)? = values["act"] { e.activation = a }
    if case .word(let r)? = values["residual"], let p = ResidualPlacement(rawValue: r) { e.residual = p }
    return e
  }
  func conv() -> ConvAttrs {
    ConvAttrs(strides: ints("strides"), pads: ints("pads"), dilations: ints("dilations"), groups: int("groups"), epilogue: epilogue)
  }
  func pool() -> PoolAttrs {
    PoolAttrs(kernel: ints("kernel"), strides: ints("strides"), pads: ints("pads"), dilations: ints("dilations"), ceilMode: bool("ceil_mode"))
  }
}

extension Op {
  /// The op a node named `schemaName` with `attributes` (text form, unchecked) denotes; errors name the attribute.
  public init(schemaName name: String, raw: [String: RawAttribute]) throws {
    guard let schema = OpSchema.named(name) else { throw OpSchemaError("unknown op '\(name)'") }
    try self.init(schemaName: name, attributes: try schema.typedAttributes(raw))
  }

  /// The op named `name` with checked, typed `attributes` (see `OpSchema.typedAttributes`).
  public init(schemaName name: String, attributes values: [String: AttributeValue]) throws {
    let a = Attributes(values: values)
    switch name {
    case "linear": self = .linear(a.epilogue)
    case "matmul": self = .matmul
    case "identity": self = .identity
    case "prelu": self = .prelu
    case "where": self = .select
    case "sum_to": self = .sumTo
    case "broadcast_to": self = .broadcastTo
    case "global_average_pool": self = .globalAveragePool
    case "global_max_pool": self = .globalMaxPool
    case "batch_norm": self = .batchNorm(eps: a.float("eps"))
    case "batch_norm_training": self = .batchNormTraining(eps: a.float("eps"))
    case "instance_norm": self = .instanceNorm(eps: a.float("eps"))
    case "group_norm": self = .groupNorm(groups: a.int("groups"), eps: a.float("eps"))
    case "leaky_relu": self = .leakyRelu(alpha: a.float("alpha"))
    case "clip": self = .clip(min: a.float("min"), max: a.float("max"))
    case "cast": self = .cast(a.word("to", DType.self))
    case "softmax": self = .softmax(axis: a.int("axis"))
    case "log_softmax": self = .logSoftmax(axis: a.int("axis"))
    case "pad": self = .pad(PadAttrs(mode: a.word("mode", PadMode.self), pads: a.ints("pads"), value: a.float("value")))
    case "max_pool": self = .maxPool(a.pool())
    case "average_pool":
      var p = a.pool()
      p.countIncludePad = a.bool("count_include_pad")
      self = .averagePool(p)
    case "resize":
      self = .resize(ResizeAttrs(mode: a.word("mode", ResizeMode.self), coordinates: a.word("coordinates", CoordinateMode.self),
                                 nearest: a.word("nearest", NearestMode.self), scales: a.floats("scales")))
    case "space_to_depth": self = .spaceToDepth(blockSize: a.int("block_size"))
    case "depth_to_space": self = .depthToSpace(blockSize: a.int("block_size"), mode: a.word("mode", DepthToSpaceMode.self))
    case "gemm":
      self = .gemm(GemmAttrs(alpha: a.float("alpha"), beta: a.float("beta"), transA: a.bool("trans_a"), transB: a.bool("trans_b")))
    case "conv2d": self = .conv2d(a.conv())
    case "conv2d_filter_grad": self = .conv2dFilterGrad(a.conv())
    case "conv_transpose2d":
      self = .convTranspose2d(ConvTransposeAttrs(strides: a.ints("strides"), pads: a.ints("pads"), dilations: a.ints("dilations"),
                                                 outputPadding: a.ints("output_padding"), groups: a.int("groups"), epilogue: a.epilogue))
    case "reshape": self = .reshape(shape: a.ints("shape"))
    case "flatten": self = .flatten(axis: a.int("axis"))
    case "transpose": self = .transpose(perm: a.ints("perm"))
    case "concat": self = .concat(axis: a.int("axis"))
    case "slice": self = .slice(SliceAttrs(starts: a.ints("starts"), ends: a.ints("ends"), axes: a.ints("axes"), steps: a.ints("steps")))
    case "constant":
      guard case .tensor(let t)? = values["value"] else { throw OpSchemaError("attribute 'value' must be a tensor literal") }
      self = .constant(t)
    default:
      if let f = UnaryFunction(rawValue: name) { self = .unary(f); return }
      if let f = BinaryFunction(rawValue: name) { self = .binary(f); return }
      if name.hasPrefix("reduce_"), let f = ReduceFunction(rawValue: String(name.dropFirst("reduce_".count))) {
        self = .reduce(f, axes: a.ints("axes"), keepDims: a.bool("keepdims"))
        return
      }
      throw OpSchemaError("unknown op '\(name)'")
    }
  }

  /// The op's attributes in text form, in the canonical order of its schema (epilogue ones only when set).
  public var attributeText: [(String, String)] {
    let values = attributeTextByName
    return schema.allAttributes.compactMap { a in values[a.name].map { (a.name, $0) } }
  }

  private var attributeTextByName: [String: String] {
    func ints(_ v: [Int]) -> String { "[" + v.map(String.init).joined(separator: ",") + "]" }
    func float(_ v: Float) -> String { v.description }
    func bool(_ v: Bool) -> String { v ? "1" : "0" }
    func conv(_ c: ConvAttrs) -> [String: String] {
      ["strides": ints(c.strides), "pads": ints(c.pads), "dilations": ints(c.dilations), "groups": String(c.groups)]
    }
    func pool(_ p: PoolAttrs) -> [String: String] {
      ["kernel": ints(p.kernel), "strides": ints(p.strides), "pads": ints(p.pads), "dilations": ints(p.dilations),
       "ceil_mode": bool(p.ceilMode)]
    }
    var d: [String: String]
    switch self {
    case .linear, .matmul, .unary, .binary, .identity, .prelu, .select, .sumTo, .broadcastTo, .globalAveragePool, .globalMaxPool:
      d = [:]
    case .batchNorm(let eps), .batchNormTraining(let eps), .instanceNorm(let eps): d = ["eps": float(eps)]
    case .groupNorm(let g, let eps): d = ["groups": String(g), "eps": float(eps)]
    case .leakyRelu(let alpha): d = ["alpha": float(alpha)]
    case .clip(let lo, let hi): d = ["min": float(lo), "max": float(hi)]
    case .cast(let t): d = ["to": t.rawValue]
    case .reduce(_, let axes, let keep): d = ["axes": ints(axes), "keepdims": bool(keep)]
    case .softmax(let axis), .logSoftmax(let axis), .flatten(let axis), .concat(let axis): d = ["axis": String(axis)]
    case .pad(let p): d = ["mode": p.mode.rawValue, "pads": ints(p.pads), "value": float(p.value)]
    case .maxPool(let p): d = pool(p)
    case .averagePool(let p):
      d = pool(p)
      d["count_include_pad"] = bool(p.countIncludePad)
    case .resize(let r):
      d = ["mode": r.mode.rawValue, "coordinates": r.coordinates.rawValue, "nearest": r.nearest.rawValue,
           "scales": "[" + r.scales.map(float).joined(separator: ",") + "]"]
    case .spaceToDepth(let b): d = ["block_size": String(b)]
    case .depthToSpace(let b, let mode): d = ["block_size": String(b), "mode": mode.rawValue]
    case .gemm(let g):
      d = ["alpha": float(g.alpha), "beta": float(g.beta), "trans_a": bool(g.transA), "trans_b": bool(g.transB)]
    case .conv2d(let c), .conv2dFilterGrad(let c): d = conv(c)
    case .convTranspose2d(let c):
      d = ["strides": ints(c.strides), "pads": ints(c.pads), "dilations": ints(c.dilations),
           "output_padding": ints(c.outputPadding), "groups": String(c.groups)]
    case .reshape(let shape): d = ["shape": ints(shape)]
    case .transpose(let perm): d = ["perm": ints(perm)]
    case .slice(let s): d = ["starts": ints(s.starts), "ends": ints(s.ends), "axes": ints(s.axes), "steps": ints(s.steps)]
    case .constant(let t): d = ["value": "f32" + ints(t.shape) + "{" + t.data.map(float).joined(separator: ",") + "}"]
    }
    let e = epilogue
    if e.activation != .none { d["act"] = e.activation.text }
    if e.residual != .none { d["residual"] = e.residual.rawValue }
    return d
  }
}
