// Graph+Rewrite: the small queries and edits every pass needs (consumers, renaming, weight edits).
import MoeIR

extension Graph {
  /// Indices of the nodes reading each value.
  func consumers() -> [String: [Int]] {
    var c: [String: [Int]] = [:]
    for (i, n) in nodes.enumerated() { for v in n.inputs { c[v, default: []].append(i) } }
    return c
  }

  /// Index of the node defining each value.
  func producers() -> [String: Int] {
    var p: [String: Int] = [:]
    for (i, n) in nodes.enumerated() { for o in n.outputs { p[o] = i } }
    return p
  }

  /// Whether `value` is read by exactly one node and is not a graph output.
  func hasSingleConsumer(_ value: String, _ consumers: [String: [Int]]) -> Bool {
    consumers[value]?.count == 1 && !outputs.contains(value)
  }

  /// Replaces every use of `old` (node inputs, graph outputs) by `new`.
  mutating func replaceUses(of old: String, with new: String) {
    for i in nodes.indices { nodes[i].inputs = nodes[i].inputs.map { $0 == old ? new : $0 } }
    outputs = outputs.map { $0 == old ? new : $0 }
  }

  /// A name not used by any value, starting from `base`.
  func freshName(_ base: String) -> String {
    var taken = Set(inputs.map(\.name) + weights.map(\.name))
    for n in nodes { taken.formUnion(n.outputs) }
    if !taken.contains(base) { return base }
    var i = 1
    while taken.contains("\(base)_\(i)") { i += 1 }
    return "\(base)_\(i)"
  }

  /// Sets a weight's data, declaring it if new.
  mutating func setWeight(_ name: String, _ t: Tensor) {
    if let i = weights.firstIndex(where: { $0.name == name }) {
      weights[i] = ValueInfo(name: name, shape: Shape(t.shape))
    } else {
      weights.append(ValueInfo(name: name, shape: Shape(t.shape)))
    }
    initializers[name] = t
  }

  /// A weight that only node `owner` reads, safe to edit in place; otherwise a fresh copy for it.
  mutating func privateWeight(_ name: String, of owner: Int, _ consumers: [String: [Int]]) -> String {
    if consumers[name] == [owner] && !outputs.contains(name) { return name }
    let copy = freshName(name + "/folded")
    setWeight(copy, initializers[name]!)
    nodes[owner].inputs = nodes[owner].inputs.map { $0 == name ? copy : $0 }
    return copy
  }
}
