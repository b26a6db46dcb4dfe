// Calibration: inputs drawn from a model's input prior, and the float model's reference outputs on them.
import MoeIR
import MoeModels
import MoeRuntime

/// Inputs for every graph input at `batch`: generator inputs of length noise + tags get N(0,1) noise and tags
/// sampled from the vocabulary's priors; any other input gets standard normal values. Deterministic in `seed`.
public func priorInputs(for g: Graph, batch: Int, seed: UInt64, tags: Set<String> = [], fixedNoise: Bool = false) -> [String: Tensor] {
  let vocab = TagVocabulary.makeGirls
  var feeds: [String: Tensor] = [:]
  for (i, v) in g.inputs.enumerated() {
    let shape = v.shape.dims.map { $0.value ?? batch }
    let s = seed &+ UInt64(i)
    if shape.count == 2 && shape[1] == vocab.noiseLength + vocab.tags.count {
      feeds[v.name] = Tensor(shape: shape, data: vocab.sampleInputs(count: batch, seed: s, fixed: tags, fixedNoise: fixedNoise))
    } else {
      var rng = SeededGenerator(seed: s)
      feeds[v.name] = Tensor(shape: shape, data: (0..<elementCount(shape)).map { _ in rng.normal() })
    }
  }
  return feeds
}

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
