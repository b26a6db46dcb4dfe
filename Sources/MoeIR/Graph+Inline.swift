// Graph+Inline: copies a subgraph into a graph under a name prefix, its weights shared under a weight prefix.

extension Graph {
  /// Appends `sub`'s nodes to this graph. Node names and node outputs get `prefix`; `sub`'s weights become weights
  /// named `weightPrefix + name` (declared once, so several inlined copies share them); `sub`'s inputs are bound to
  /// the values in `inputs`. Returns the names of `sub`'s outputs in this graph, in `sub.outputs` order.
  public mutating func inline(_ sub: Graph, prefix: String, weightPrefix: String, inputs bound: [String: String]) -> [String] {
    var rename: [String: String] = bound
    for w in sub.weights {
      let name = weightPrefix + w.name
      rename[w.name] = name
      if !weights.contains(where: { $0.name == name }) {
        weights.append(ValueInfo(name: name, dtype: w.dtype, shape: w.shape))
        if let t = sub.initializers[w.name] { initializers[name] = t }
      }
    }
    for n in sub.nodes {
      for o in n.outputs { rename[o] = prefix + o }
      nodes.append(Node(name: prefix + n.name, op: n.op, inputs: n.inputs.map { rename[$0] ?? $0 }, outputs: n.outputs.map { rename[$0]! }))
    }
    return sub.outputs.map { rename[$0] ?? $0 }
  }
}
