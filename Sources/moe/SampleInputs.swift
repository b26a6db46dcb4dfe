// SampleInputs: inputs drawn from the priors a model's metadata records (noise N(0,1), tags from the vocabulary).
import MoeIR
import MoeQuant

/// Inputs for every graph input at `batch`: an input the metadata marks `noise+tags` gets noise and tags sampled
/// from its vocabulary; any other input gets standard normal values (see `priorInputs`).
func sampleInputs(for g: Graph, batch: Int, seed: UInt64, tags: Set<String> = [], fixedNoise: Bool = false) -> [String: Tensor] {
  priorInputs(for: g, batch: batch, seed: seed, tags: tags, fixedNoise: fixedNoise)
}
