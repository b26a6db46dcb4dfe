// FoldConstants: nodes computed only from weights and constants are evaluated once and become weights.
import MoeIR
import MoeRuntime

/// Evaluates, with the native runtime, every node whose inputs are all weights or constants (a `constant` node's
/// value is itself a constant), and replaces it by a weight holding the result. Graph outputs are kept as nodes.
///
/// Given:
/// ```
/// weight %w : f32[4,3]
/// node "t" %wt = transpose(%w) {perm=[1,0]}
/// node "mm" %y = matmul(%x, %wt)
/// ```
/// Result:
/// ```
/// weight %w : f32[4,3]
/// weight %wt : f32[3,4]
/// node "mm" %y = matmul(%x, %wt)
/// ```
public struct FoldConstants: GraphPass {
  public let name = "fold-constants"
  public init() {}

  public func run(on g: inout Graph) throws -> Int {
    var folded = 0
    var i = 0
    while i < g.nodes.count {
      let n = g.nodes[i]
      let allConstant = n.inputs.allSatisfy { g.initializers[$0] != nil }
      guard allConstant, n.outputs.count == 1, !g.outputs.contains(n.outputs[0]) else {
        i += 1
        continue
      }
      var sub = Graph(name: "fold \(n.name)")
      for v in n.inputs where !sub.weights.contains(where: { $0.name == v }) { sub.addWeight(v, g.initializers[v]!) }
      sub.nodes = [n]
      sub.outputs = n.outputs
      let result = try Executor(graph: sub, options: ExecutorOptions(threads: 1)).run([:])[n.outputs[0]]!
      g.nodes.remove(at: i)
      g.setWeight(n.outputs[0], result)
      folded += 1
    }
    return folded
  }
}
