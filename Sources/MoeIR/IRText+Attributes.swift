// AttributeReader: typed access to a node's parsed attributes and construction of its Op.

struct AttributeReader {
  enum Value { case scalar(String), list([String]), tensor(Tensor) }
  var raw: [String: Value] = [:]
  var used: Set<String> = []
  let node: String
  let location: String

  init(node: String, location: String) {
    self.node = node
    self.location = location
  }

  func error(_ m: String) -> IRError { IRError(.parse, at: location, "node '\(node)': \(m)") }

  mutating func fetch(_ key: String) throws -> Value {
    guard let v = raw[key] else { throw error("missing attribute '\(key)'") }
    used.insert(key)
    return v
  }

  mutating func int(_ key: String) throws -> Int {
    guard case .scalar(let s) = try fetch(key), let v = Int(s) else { throw error("attribute '\(key)' must be an integer") }
    return v
  }

  mutating func bool(_ key: String) throws -> Bool {
    let v = try int(key)
    guard v == 0 || v == 1 else { throw error("attribute '\(key)' must be 0 or 1") }
    return v == 1
  }

  mutating func float(_ key: String) throws -> Float {
    guard case .scalar(let s) = try fetch(key), let v = Float(s) else { throw error("attribute '\(key)' must be a float") }
    return v
  }

  mutating func ints(_ key: String) throws -> [Int] {
    guard case .list(let v) = try fetch(key), let ints = Optional(v.compactMap { Int($0) }), ints.count == v.count else {
      throw error("attribute '\(key)' must be an integer list")
    }
    return ints
  }

  mutating func floats(_ key: String) throws -> [Float] {
    guard case .list(let v) = try fetch(key), let fs = Optional(v.compactMap { Float($0) }), fs.count == v.count else {
      throw error("attribute '\(key)' must be a float list")
    }
    return fs
  }

  /// A word attribute that must be one of an enum's raw values.
  mutating func choice<E: RawRepresentable & CaseIterable>(_ key: String, _: E.Type) throws -> E where E.RawValue == String {
    guard case .scalar(let s) = try fetch(key), let v = E(rawValue: s) else {
      throw error("attribute '\(key)' must be one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return v
  }

  func checkAllUsed() throws {
    let extra = Set(raw.keys).subtracting(used)
    if !extra.isEmpty { throw error("unknown attribute(s) \(extra.sorted().joined(separator: ", "))") }
  }

  /// The op with its optional epilogue attributes (`act`, `residual`) applied.
  mutating func op(named name: String) throws -> Op {
    let op = try coreOp(named: name)
    var e = Epilogue.plain
    if raw["act"] != nil {
      guard case .scalar(let a) = try fetch("act"), let act = Activation(text: a), act != .none else {
        throw error("attribute 'act' must be relu, tanh, sigmoid or leaky_relu:ALPHA")
      }
      e.activation = act
    }
    if raw["residual"] != nil {
      guard case .scalar(let r) = try fetch("residual"), let placement = ResidualPlacement(rawValue: r), placement != .none else {
        throw error("attribute 'residual' must be before or after")
      }
      e.residual = placement
    }
    if e.isPlain { return op }
    guard let fused = op.with(epilogue: e) else { throw error("op '\(name)' cannot carry 'act' or 'residual'") }
    return fused
  }

  mutating func coreOp(named name: String) throws -> Op {
    switch name {
    case "linear": return .linear(.plain)
    case "matmul": return .matmul
    case "identity": return .identity
    case "prelu": return .prelu
    case "where": return .select
    case "sum_to": return .sumTo
    case "broadcast_to": return .broadcastTo
    case "global_average_pool": return .globalAveragePool
    case "global_max_pool": return .globalMaxPool
    case "batch_norm_training": return .batchNormTraining(eps: try float("eps"))
    case "instance_norm": return .instanceNorm(eps: try float("eps"))
    case "group_norm": return .groupNorm(groups: try int("groups"), eps: try float("eps"))
    case "clip": return .clip(min: try float("min"), max: try float("max"))
    case "cast": return .cast(try choice("to", DType.self))
    case "softmax": return .softmax(axis: try int("axis"))
    case "log_softmax": return .logSoftmax(axis: try int("axis"))
    case "pad": return .pad(PadAttrs(mode: try choice("mode", PadMode.self), pads: try ints("pads"), value: try float("value")))
    case "max_pool", "average_pool":
      var p = PoolAttrs(kernel: try ints("kernel"), strides: try ints("strides"), pads: try ints("pads"),
                        dilations: try ints("dilations"), ceilMode: try bool("ceil_mode"))
      if name == "max_pool" { return .maxPool(p) }
      p.countIncludePad = try bool("count_include_pad")
      return .averagePool(p)
    case "resize":
      return .resize(ResizeAttrs(mode: try choice("mode", ResizeMode.self), coordinates: try choice("coordinates", CoordinateMode.self),
                                 nearest: try choice("nearest", NearestMode.self), scales: try floats("scales")))
    case "space_to_depth": return .spaceToDepth(blockSize: try int("block_size"))
    case "gemm":
      return .gemm(GemmAttrs(alpha: try float("alpha"), beta: try float("beta"), transA: try bool("trans_a"), transB: try bool("trans_b")))
    case "conv2d":
      return .conv2d(ConvAttrs(strides: try ints("strides"), pads: try ints("pads"), dilations: try ints("dilations"), groups: try int("groups")))
    case "conv2d_filter_grad":
      return .conv2dFilterGrad(ConvAttrs(strides: try ints("strides"), pads: try ints("pads"), dilations: try ints("dilations"), groups: try int("groups")))
    case "conv_transpose2d":
      return .convTranspose2d(ConvTransposeAttrs(strides: try ints("strides"), pads: try ints("pads"), dilations: try ints("dilations"),
                                                 outputPadding: try ints("output_padding"), groups: try int("groups")))
    case "batch_norm": return .batchNorm(eps: try float("eps"))
    case "leaky_relu": return .leakyRelu(alpha: try float("alpha"))
    case "reshape": return .reshape(shape: try ints("shape"))
    case "flatten": return .flatten(axis: try int("axis"))
    case "transpose": return .transpose(perm: try ints("perm"))
    case "depth_to_space":
      let b = try int("block_size")
      guard case .scalar(let m) = try fetch("mode"), let mode = DepthToSpaceMode(rawValue: m) else {
        throw error("attribute 'mode' must be DCR or CRD")
      }
      return .depthToSpace(blockSize: b, mode: mode)
    case "concat": return .concat(axis: try int("axis"))
    case "slice":
      return .slice(SliceAttrs(starts: try ints("starts"), ends: try ints("ends"), axes: try ints("axes"), steps: try ints("steps")))
    case "constant":
      guard case .tensor(let t) = try fetch("value") else { throw error("attribute 'value' must be a tensor literal") }
      return .constant(t)
    default:
      if let f = UnaryFunction(rawValue: name) { return .unary(f) }
      if let f = BinaryFunction(rawValue: name) { return .binary(f) }
      if name.hasPrefix("reduce_"), let f = ReduceFunction(rawValue: String(name.dropFirst("reduce_".count))) {
        return .reduce(f, axes: try ints("axes"), keepDims: try bool("keepdims"))
      }
      throw error("unknown op '\(name)'")
    }
  }
}
