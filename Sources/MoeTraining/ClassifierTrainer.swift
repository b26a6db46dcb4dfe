// ClassifierTrainer: supervised multi-label training (sigmoid cross-entropy over tags) of a zoo model, e.g. the tagger.
import Foundation
import MoeAutodiff
import MoeIR
import MoeQuant
import MoeRuntime

/// Trains a graph with input `x` and output `logits` [N, T] on images with {0, 1} tags; Adam, weights in place.
public final class ClassifierTrainer {
  public let parameters: [String]
  let executor: Executor
  let gradients: [String: String]
  let loss: String
  public let adam: AdamHyperparameters
  var states: [String: AdamState] = [:]
  public private(set) var iteration = 0

  public init(model g: Graph, batch: Int, adam: AdamHyperparameters = AdamHyperparameters(alpha: 1e-3, beta1: 0.9, beta2: 0.999)) throws {
    let form = TrainingForm(inference: g)
    var t = Graph(name: g.name + "-training")
    let x = g.inputs[0]
    let tags = try g.verify()["logits"]!.shape[1].value!
    t.inputs = [ValueInfo(name: "x", shape: Shape([.fixed(batch)] + Array(x.shape.dims.dropFirst()))),
                ValueInfo(name: "t", shape: Shape([batch, tags]))]
    let outs = t.inline(form.graph, prefix: "model/", weightPrefix: "", inputs: ["x": "x"])
    let logits = outs[form.graph.outputs.firstIndex(of: "logits")!]
    let sp = t.add(.unary(.softplus), [logits], name: "loss/sp")
    let per = t.add(.sub, [sp, t.add(.mul, [logits, "t"], name: "loss/xt")], name: "loss/per")
    loss = t.add(.reduce(.mean, axes: [], keepDims: false), [per], name: "loss")
    t.outputs = [loss]
    parameters = form.parameters
    let (withGrads, grads) = try Autodiff.gradient(of: loss, wrt: parameters, in: t)
    gradients = grads
    executor = try Executor(graph: withGrads)
    self.adam = adam
    for p in parameters { states[p] = AdamState(count: g.initializers[p]!.count) }
  }

  /// One Adam step on a batch; returns the loss before the step.
  @discardableResult
  public func step(images: Tensor, tags: Tensor) throws -> Float {
    let out = try executor.run(["x": images, "t": tags], fetch: Array(gradients.values))
    let l = out[loss]!.data[0]
    guard l.isFinite else { throw TrainingError("iteration \(iteration + 1): the classifier loss is \(l)") }
    for p in parameters {
      try out[gradients[p]!]!.data.withUnsafeBufferPointer { g in
        try executor.updateVariable(p) { adam.update($0, grad: g, state: &states[p]!) }
      }
    }
    iteration += 1
    return l
  }

  /// The current weights (Chainer keys).
  public func weights() throws -> [String: Tensor] {
    Dictionary(uniqueKeysWithValues: try parameters.map { ($0, try executor.variable($0)) })
  }
}

/// Tag decisions from a tagger's probabilities: one-of groups by argmax (as the seed forced hair and eye colour),
/// the other tags by a threshold.
public func decideTags(_ probabilities: [Float], vocabulary: TagVocabulary, threshold: Float) -> [Bool] {
  var on = probabilities.map { $0 >= threshold }
  var k = 0
  for g in vocabulary.groups {
    if g.oneOf {
      let slice = probabilities[k..<(k + g.tags.count)]
      let best = slice.indices.max { probabilities[$0] < probabilities[$1] }!
      for i in k..<(k + g.tags.count) { on[i] = i == best }
    }
    k += g.tags.count
  }
  return on
}
