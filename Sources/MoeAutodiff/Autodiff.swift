// Autodiff: reverse mode as a graph-to-graph transform; the gradient nodes are ordinary IR ops, so they differentiate again.
import MoeIR

/// A failure of the gradient transform, naming the node (and op) at fault.
public struct AutodiffError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Reverse-mode differentiation of IR graphs.
public enum Autodiff {
  /// Appends to `graph` the nodes computing ∂(Σ loss · seed)/∂v for every v in `wrt`.
  ///
  /// - Parameters:
  ///   - loss: the value differentiated; a scalar (shape []) unless `seed` is given.
  ///   - wrt: inputs, weights or node outputs.
  ///   - seed: a value of `loss`'s shape to contract it with (vector–Jacobian product); default 1.
  /// - Returns: the extended graph (outputs unchanged) and, per `wrt` name, the value holding its gradient.
  ///   A value `loss` does not depend on gets a zero tensor of its shape.
  /// - Throws: `AutodiffError` naming the node when a gradient must pass through a non-differentiable op, or an
  ///   epilogue-fused node (differentiate before fusion: use the training pass preset).
  public static func gradient(of loss: String, wrt: [String], in graph: Graph, seed: String? = nil) throws -> (Graph, [String: String]) {
    var b = try GradientBuilder(graph)
    guard let lossType = b.types[loss] else { throw AutodiffError("loss '\(loss)' is not a value of graph '\(graph.name)'") }
    for w in wrt where b.types[w] == nil { throw AutodiffError("'\(w)' is not a value of graph '\(graph.name)'") }
    guard lossType.dtype == .float32 else { throw AutodiffError("loss '\(loss)' has dtype \(lossType.dtype.rawValue), expected f32") }
    let seedValue: String
    if let seed {
      guard let t = b.types[seed], t.shape == lossType.shape else {
        throw AutodiffError("seed '\(seed)' must be a value of the loss's shape \(lossType.shape)")
      }
      seedValue = seed
    } else {
      guard lossType.shape.rank == 0 else {
        throw AutodiffError("loss '\(loss)' has shape \(lossType.shape); reduce it to a scalar or pass a seed")
      }
      seedValue = b.constant(1, name: loss + "/grad_seed")
    }

    // Values on a path from a wrt value to the loss need gradients; nothing else is differentiated.
    let original = graph.nodes
    var dependsOnWrt = Set(wrt)
    for n in original where n.inputs.contains(where: dependsOnWrt.contains) { dependsOnWrt.formUnion(n.outputs) }
    var reachesLoss: Set<String> = [loss]
    for n in original.reversed() where n.outputs.contains(where: reachesLoss.contains) { reachesLoss.formUnion(n.inputs) }
    let needed = dependsOnWrt.intersection(reachesLoss)

    var cotangents: [String: String] = [loss: seedValue]
    for n in original.reversed() {
      let outGrads = n.outputs.map { cotangents[$0] }
      if outGrads.allSatisfy({ $0 == nil }) { continue }
      let wanted = n.inputs.map { needed.contains($0) && b.types[$0]!.dtype == .float32 }
      if !wanted.contains(true) { continue }
      let inGrads = try b.vjp(n, outGrads, wanted: wanted)
      for (i, g) in inGrads.enumerated() {
        guard let g, wanted[i] else { continue }
        let x = n.inputs[i]
        cotangents[x] = try cotangents[x].map { try b.add(.add, [$0, g], x + "/grad_acc") } ?? g
      }
    }
    var result: [String: String] = [:]
    for w in wrt { result[w] = try cotangents[w] ?? b.zeros(like: w) }
    return (b.graph, result)
  }
}
