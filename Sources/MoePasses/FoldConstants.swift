// FoldConstants: nodes computed only from weights and constants are evaluated once and become weights.
import MoeIR

/// Evaluates one op on constant inputs; nil when it cannot (the node is then left in the graph).
public typealias ConstantEvaluator = (Op, [Tensor]) throws -> Tensor?

/// Evaluates every node whose inputs are all weights or constants (a `constant` node's value is itself a constant),
/// and replaces it by a weight holding the result. Graph outputs are kept as nodes. The evaluator defaults to
/// MoeIR's `ReferenceEvaluator` (layout and elementwise ops, no runtime needed); a caller that has a runtime may
/// pass one that evaluates every op.
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
  let evaluate: ConstantEvaluator

  public init(evaluator: @escaping ConstantEvaluator = ReferenceEvaluator.evaluate) { evaluate = evaluator }

  public func run(on g: inout Graph) throws -> Int {
    var folded = 0
    var i = 0
    while i < g.nodes.count {
      let n = g.nodes[i]
      let allConstant = n.inputs.allSatisfy { g.initializers[$0] != nil }
      guard allConstant, n.outputs.count == 1, !g.outputs.contains(n.outputs[0]),
        let result = try evaluate(n.op, n.inputs.map { g.initializers[$0]! })
      else {
        i += 1
        continue
      }
      g.nodes.remove(at: i)
      g.setWeight(n.outputs[0], result)
      folded += 1
    }
    return folded
  }
}
