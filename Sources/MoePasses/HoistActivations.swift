// HoistActivations: an activation after a pure data movement moves above it, next to the op that can fuse it.
import MoeIR

/// Activations commute with ops that only move elements (reshape, flatten, depth_to_space, transpose, identity).
/// When the moved value comes from a conv2d / conv_transpose2d / linear without an activation, the activation is
/// moved before the data movement so that `fuse-epilogue` can fold it into the producer.
///
/// Given:
/// ```
/// node "up/0/c" %up/0/c = conv2d(%h, %W, %b) {…}
/// node "up/0/depth2space" %d = depth_to_space(%up/0/c) {block_size=2, mode=DCR}
/// node "up/0/relu" %r = relu(%d)
/// ```
/// Result:
/// ```
/// node "up/0/c" %up/0/c = conv2d(%h, %W, %b) {…}
/// node "up/0/relu" %up/0/relu/pre = relu(%up/0/c)
/// node "up/0/depth2space" %r = depth_to_space(%up/0/relu/pre) {block_size=2, mode=DCR}
/// ```
public struct HoistActivations: GraphPass {
  public let name = "hoist-activations"
  public init() {}

  public func run(on g: inout Graph) throws -> Int {
    var moved = 0
    var changed = true
    while changed {
      changed = false
      let consumers = g.consumers(), producers = g.producers()
      for (ai, a) in g.nodes.enumerated() {
        guard Activation(op: a.op) != nil, let mi = producers[a.inputs[0]] else { continue }
        let m = g.nodes[mi]
        switch m.op {
        case .reshape, .flatten, .depthToSpace, .transpose, .identity: break
        default: continue
        }
        let u = m.inputs[0]
        guard g.hasSingleConsumer(a.inputs[0], consumers), g.hasSingleConsumer(u, consumers), let pi = producers[u],
          g.nodes[pi].op.with(epilogue: .plain) != nil, g.nodes[pi].op.epilogue.activation == .none,
          g.nodes[pi].op.epilogue.residual != .after
        else { continue }
        let pre = g.freshName(a.outputs[0] + "/pre")
        let act = Node(name: a.name, op: a.op, inputs: [u], outputs: [pre])
        let move = Node(name: m.name, op: m.op, inputs: [pre], outputs: a.outputs)
        g.nodes[mi] = act
        g.nodes[ai] = move
        moved += 1
        changed = true
        break
      }
    }
    return moved
  }
}
