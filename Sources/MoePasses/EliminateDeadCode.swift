// EliminateDeadCode: nodes whose results nobody reads, and weights no node reads, are removed.
import MoeIR

/// Removes nodes that no graph output depends on, then weights that no remaining node reads.
///
/// Given:
/// ```
/// weight %unused : f32[3]
/// node "a" %a = relu(%x)
/// node "b" %b = tanh(%x)
/// output %a
/// ```
/// Result:
/// ```
/// node "a" %a = relu(%x)
/// output %a
/// ```
public struct EliminateDeadCode: GraphPass {
  public let name = "eliminate-dead-code"
  public init() {}

  public func run(on g: inout Graph) throws -> Int {
    var live = Set(g.outputs)
    var keep = [Bool](repeating: false, count: g.nodes.count)
    for i in g.nodes.indices.reversed() where g.nodes[i].outputs.contains(where: live.contains) {
      keep[i] = true
      live.formUnion(g.nodes[i].inputs)
    }
    let before = g.nodes.count + g.weights.count
    g.nodes = g.nodes.indices.filter { keep[$0] }.map { g.nodes[$0] }
    let deadWeights = g.weights.filter { !live.contains($0.name) }.map(\.name)
    g.weights.removeAll { !live.contains($0.name) }
    for w in deadWeights { g.initializers[w] = nil }
    return before - g.nodes.count - g.weights.count
  }
}
