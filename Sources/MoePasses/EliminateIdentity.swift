// EliminateIdentity: identity nodes, and reshapes / depth-to-space that change nothing, are removed.
import MoeIR

/// Removes nodes that return their input unchanged: `identity`, a `reshape`/`flatten` whose output shape equals its
/// input's, `depth_to_space` with block size 1 and `transpose` with the identity permutation. Uses of the output are
/// renamed to the input. A node whose output is a graph output and whose input is a graph input is kept (the graph
/// must still name both).
///
/// Given:
/// ```
/// node "id" %y = identity(%x)
/// node "r" %r = relu(%y)
/// ```
/// Result:
/// ```
/// node "r" %r = relu(%x)
/// ```
public struct EliminateIdentity: GraphPass {
  public let name = "eliminate-identity"
  public init() {}

  public func run(on g: inout Graph) throws -> Int {
    var removed = 0
    var i = 0
    var types = try g.verify()
    let inputNames = Set(g.inputs.map(\.name))
    while i < g.nodes.count {
      let n = g.nodes[i]
      var noop = false
      switch n.op {
      case .identity: noop = true
      case .reshape, .flatten: noop = types[n.inputs[0]]?.shape == types[n.outputs[0]]?.shape
      case .depthToSpace(let b, _): noop = b == 1
      case .transpose(let perm): noop = perm == Array(perm.indices)
      default: break
      }
      let x = noop ? n.inputs[0] : "", y = n.outputs.first ?? ""
      if noop && !(g.outputs.contains(y) && (inputNames.contains(x) || g.outputs.contains(x))) {
        g.nodes.remove(at: i)
        g.replaceUses(of: y, with: x)
        types[y] = nil
        removed += 1
      } else {
        i += 1
      }
    }
    return removed
  }
}
