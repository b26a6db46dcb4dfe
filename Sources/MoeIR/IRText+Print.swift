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
      let attrs = n.op.attributeText
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
}
