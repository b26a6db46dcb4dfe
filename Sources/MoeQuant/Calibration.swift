// Calibration: inputs drawn from a model's input prior, and the float model's reference outputs on them.
import MoeIR
import MoeRuntime

/// A float model with fixed calibration inputs and its outputs on them.
public struct CalibrationSet {
  public var graph: Graph
  public var inputs: [String: Tensor]
  public var reference: [String: Tensor]
  /// Peak-to-peak range PSNR is measured against: 2 for outputs in [-1, 1], the reference's range when wider.
  public var peak: Double
  let executor: Executor

  public init(graph: Graph, batch: Int = 8, seed: UInt64 = 2024) throws {
    self.graph = graph
    self.inputs = priorInputs(for: graph, batch: batch, seed: seed)
    self.executor = try Executor(graph: graph)
    let reference = try executor.run(inputs)
    self.reference = reference
    let all = graph.outputs.flatMap { reference[$0]!.data }
    self.peak = max(2, Double((all.max() ?? 1) - (all.min() ?? -1)))
  }

  /// Outputs with some weights replaced (same graph structure).
  public func outputs(replacing weights: [String: Tensor]) throws -> [String: Tensor] {
    var g = graph
    for (k, v) in weights { g.initializers[k] = v }
    return try Executor(graph: g).run(inputs)
  }

  /// Comparison of all outputs (concatenated) against the reference.
  public func compare(_ outputs: [String: Tensor]) -> Comparison {
    var r: [Float] = [], a: [Float] = []
    for o in graph.outputs {
      r += reference[o]!.data
      a += outputs[o]!.data
    }
    return Comparison(reference: r, approx: a, peak: peak)
  }
}
