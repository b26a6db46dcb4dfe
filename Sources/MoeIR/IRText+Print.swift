// IRText printer: the canonical text form of a graph (weights referenced by name, not inlined).

/// The text form of graphs: `IRText.print(graph)` and `IRText.parse(text)` round-trip byte for byte.
public enum IRText {
  public static let magic = "moeir"
  public static let version = 1

  /// Canonical text of a graph. Weight data is not included.
  public static func print(_ g: Graph) -> String {
    var out = "\(magic) \(version)\n"
    out += "graph \(quote(g.name))\n"
    for k in g.metadata.keys.sorted() { out += "meta \(quote(k)) \(quote(g.metadata[k]!))\n" }
    for i in g.inputs { out += "input \(value(i.name)) : \(type(i))\n" }
    for w in g.weights { out += "weight \(value(w.name)) : \(type(w))\n" }
    for n in g.nodes {
      out += "node \(quote(n.name)) "
      out += n.outputs.map(value).joined(separator: ", ")
      out += " = \(n.op.name)(" + n.inputs.map(value).joined(separator: ", ") + ")"
      let attrs = attributes(n.op)
      if !attrs.isEmpty { out += " {" + attrs.map { "\($0.0)=\($0.1)" }.joined(separator: ", ") + "}" }
      out += "\n"
    }
    for o in g.outputs { out += "output \(value(o))\n" }
    return out
  }

  static func type(_ v: ValueInfo) -> String { "\(v.dtype.rawValue)\(v.shape)" }

  static let bareNameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:-")

  /// `%name`, quoted when the name has characters outside [A-Za-z0-9_./:-].
  static func value(_ name: String) -> String {
    if !name.isEmpty && name.allSatisfy({ bareNameCharacters.contains($0) }) { return "%" + name }
    return "%" + quote(name)
  }

  static func quote(_ s: String) -> String {
    var r = "\""
    for c in s {
      switch c {
      case "\"": r += "\\\""
      case "\\": r += "\\\\"
      case "\n": r += "\\n"
      case "\t": r += "\\t"
      default: r.append(c)
      }
    }
    return r + "\""
  }

  static func ints(_ v: [Int]) -> String { "[" + v.map(String.init).joined(separator: ",") + "]" }
  static func float(_ v: Float) -> String { v.description }

  /// Attributes of an op, in their canonical order.
  static func attributes(_ op: Op) -> [(String, String)] {
    var attrs = coreAttributes(op)
    let e = op.epilogue
    if e.activation != .none { attrs.append(("act", e.activation.text)) }
    if e.residual != .none { attrs.append(("residual", e.residual.rawValue)) }
    return attrs
  }

  static func coreAttributes(_ op: Op) -> [(String, String)] {
    switch op {
    case .linear, .matmul, .unary, .binary, .identity, .prelu, .select, .sumTo, .broadcastTo, .globalAveragePool,
      .globalMaxPool:
      return []
    case .batchNormTraining(let eps), .instanceNorm(let eps): return [("eps", float(eps))]
    case .groupNorm(let g, let eps): return [("groups", String(g)), ("eps", float(eps))]
    case .clip(let lo, let hi): return [("min", float(lo)), ("max", float(hi))]
    case .cast(let t): return [("to", t.rawValue)]
    case .reduce(_, let axes, let keep): return [("axes", ints(axes)), ("keepdims", keep ? "1" : "0")]
    case .softmax(let axis), .logSoftmax(let axis): return [("axis", String(axis))]
    case .pad(let p): return [("mode", p.mode.rawValue), ("pads", ints(p.pads)), ("value", float(p.value))]
    case .maxPool(let p), .averagePool(let p):
      var a = [("kernel", ints(p.kernel)), ("strides", ints(p.strides)), ("pads", ints(p.pads)),
               ("dilations", ints(p.dilations)), ("ceil_mode", p.ceilMode ? "1" : "0")]
      if case .averagePool = op { a.append(("count_include_pad", p.countIncludePad ? "1" : "0")) }
      return a
    case .resize(let r):
      return [("mode", r.mode.rawValue), ("coordinates", r.coordinates.rawValue), ("nearest", r.nearest.rawValue),
              ("scales", "[" + r.scales.map(float).joined(separator: ",") + "]")]
    case .spaceToDepth(let b): return [("block_size", String(b))]
    case .gemm(let a):
      return [("alpha", float(a.alpha)), ("beta", float(a.beta)), ("trans_a", a.transA ? "1" : "0"), ("trans_b", a.transB ? "1" : "0")]
    case .conv2d(let c), .conv2dFilterGrad(let c):
      return [("strides", ints(c.strides)), ("pads", ints(c.pads)), ("dilations", ints(c.dilations)), ("groups", String(c.groups))]
    case .convTranspose2d(let c):
      return [("strides", ints(c.strides)), ("pads", ints(c.pads)), ("dilations", ints(c.dilations)),
              ("output_padding", ints(c.outputPadding)), ("groups", String(c.groups))]
    case .batchNorm(let eps): return [("eps", float(eps))]
    case .leakyRelu(let alpha): return [("alpha", float(alpha))]
    case .reshape(let shape): return [("shape", ints(shape))]
    case .flatten(let axis): return [("axis", String(axis))]
    case .transpose(let perm): return [("perm", ints(perm))]
    case .depthToSpace(let b, let mode): return [("block_size", String(b)), ("mode", mode.rawValue)]
    case .concat(let axis): return [("axis", String(axis))]
    case .slice(let s):
      return [("starts", ints(s.starts)), ("ends", ints(s.ends)), ("axes", ints(s.axes)), ("steps", ints(s.steps))]
    case .constant(let t):
      return [("value", "f32" + ints(t.shape) + "{" + t.data.map(float).joined(separator: ",") + "}")]
    }
  }
}
