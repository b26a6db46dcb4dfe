// Calibration: inputs drawn from a model's input prior, and the float model's reference outputs on them.
import MoeIR
import MoeRuntime

/// A float model with fixed calibration inputs and its outputs on them.
///
/// One executor serves every measurement: a trial swaps the trial weights in place (`Executor.setVariable`), runs
/// the whole calibration batch at once, and puts the float weights back, so no executor or memory plan is rebuilt.
/// Not thread-safe (the executor is shared).
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

  /// The number of calibration inputs (the batch).
  public var count: Int { inputs.values.first?.shape.first ?? 0 }

  /// The first `n` calibration inputs with their reference outputs, sharing this set's executor (cheaper trials);
  /// the PSNR peak stays this set's.
  public func prefix(_ n: Int) throws -> CalibrationSet {
    guard n >= 1, n < count else { return self }
    var s = self
    s.inputs = inputs.mapValues { t in
      let row = t.count / max(t.shape[0], 1)
      return Tensor(shape: [n] + t.shape.dropFirst(), data: Array(t.data[0..<(n * row)]))
    }
    s.reference = try executor.run(s.inputs)
    return s
  }

  /// Outputs with some weights replaced (same shapes), on the calibration inputs.
  public func outputs(replacing weights: [String: Tensor]) throws -> [String: Tensor] {
    defer { for k in weights.keys { try? executor.setVariable(k, graph.initializers[k]!) } }
    for (k, v) in weights { try executor.setVariable(k, v) }
    return try executor.run(inputs)
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

  /// The comparison against the float model with `weights` replaced.
  public func measure(replacing weights: [String: Tensor]) throws -> Comparison { compare(try outputs(replacing: weights)) }
}
