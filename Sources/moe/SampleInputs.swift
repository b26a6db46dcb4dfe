// SampleInputs: inputs drawn from a model's input prior (noise ~ N(0,1), tags from the vocabulary's priors).
import MoeIR
import MoeModels

/// Inputs for every graph input at `batch`: generator inputs of length 128 + 34 get noise and sampled
/// tags; any other input gets standard normal values.
func sampleInputs(for g: Graph, batch: Int, seed: UInt64, tags: Set<String> = [], fixedNoise: Bool = false) -> [String: Tensor] {
  let vocab = TagVocabulary.makeGirls
  var feeds: [String: Tensor] = [:]
  for (i, v) in g.inputs.enumerated() {
    let shape = boundShape(v, batch: batch)
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
