// DraganTrainer: one DRAGAN + ACGAN iteration (D step, then G step) on two executors whose weights are updated in place.
import Foundation
import MoeIR
import MoeRuntime

/// The randomness and data of one iteration.
public struct DraganBatch {
  /// Real images (N, 3, S, S) in [−1, 1] and their tags (N, T) in {0, 1}.
  public var real: Tensor, tags: Tensor
  /// Generator inputs (noise then ±1 tags) of the D step and the G step.
  public var zD: Tensor, zG: Tensor
  /// Uniform [0, 1) noise of the perturbation x_p = x + 0.5 · std(x) · u.
  public var u: Tensor
  public init(real: Tensor, tags: Tensor, zD: Tensor, zG: Tensor, u: Tensor) {
    self.real = real
    self.tags = tags
    self.zD = zD
    self.zG = zG
    self.u = u
  }
}

/// The state of a Chainer `SerialIterator`, as a trainer snapshot stores it.
public struct IteratorState: Sendable, Equatable {
  public var position = 0
  public var epoch = 0
  public var isNewEpoch = false
  public var previousEpochDetail = -1.0
  public init() {}
}

/// The loss terms of one iteration.
public struct DraganLosses: Codable, Sendable, Equatable {
  public var lossD: Float, advD: Float, clsD: Float, gp: Float, gradNorm: Float
  public var lossG: Float, advG: Float, clsG: Float

  public init(lossD: Float, advD: Float, clsD: Float, gp: Float, gradNorm: Float, lossG: Float, advG: Float, clsG: Float) {
    (self.lossD, self.advD, self.clsD, self.gp, self.gradNorm) = (lossD, advD, clsD, gp, gradNorm)
    (self.lossG, self.advG, self.clsG) = (lossG, advG, clsG)
  }
}

/// A failure of training (a NaN loss, a bad batch), naming what happened.
public struct TrainingError: Error, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// DRAGAN + ACGAN on MoeKit's runtime: Chainer's Adam per parameter, Chainer's BN running averages (decay 0.9,
/// unbiased variance), weights updated in place in the executors' variables (no executor is rebuilt per step).
public final class DraganTrainer {
  public let graphs: DraganGraphs
  public let adam: AdamHyperparameters
  public let bnDecay: Float = 0.9
  let dExecutor: Executor
  let gExecutor: Executor
  /// Adam state per parameter (Chainer keys), and the optimizers' update counts.
  public var genState: [String: AdamState] = [:]
  public var disState: [String: AdamState] = [:]
  public var genT = 0, disT = 0
  public var iteration = 0
  /// Where the data iterator stands (Chainer's SerialIterator fields), kept in snapshots.
  public var iterator = IteratorState()
  public let batch: Int
  /// Seconds of the last iteration.
  public private(set) var lastSeconds = 0.0

  /// - Parameters: `generator` and `discriminator` are zoo inference graphs with their weights (Chainer keys).
  public init(generator: Graph, discriminator: Graph, batch: Int, weights: DraganLossWeights, adam: AdamHyperparameters) throws {
    graphs = try DraganGraphs(generator: generator, discriminator: discriminator, batch: batch, weights: weights)
    self.adam = adam
    self.batch = batch
    dExecutor = try Executor(graph: graphs.dStep)
    gExecutor = try Executor(graph: graphs.gStep)
    for p in graphs.generator.parameters { genState[p] = AdamState(count: generator.initializers[p]!.count) }
    for p in graphs.discriminator.parameters { disState[p] = AdamState(count: discriminator.initializers[p]!.count) }
  }

  /// Turns per-op timing on (true) or off; `profile` then lists seconds by op for both step graphs.
  public func setProfiling(_ on: Bool) {
    dExecutor.nodeSeconds = on ? [Double](repeating: 0, count: dExecutor.graph.nodes.count) : nil
    gExecutor.nodeSeconds = on ? [Double](repeating: 0, count: gExecutor.graph.nodes.count) : nil
  }

  /// Seconds by op of the D-step and G-step graphs since profiling was turned on.
  public var profile: (d: [(op: String, seconds: Double)], g: [(op: String, seconds: Double)]) {
    (dExecutor.secondsByOp, gExecutor.secondsByOp)
  }

  /// The `count` slowest nodes of both step graphs since profiling was turned on: step, op, input shapes, seconds.
  public func slowestNodes(_ count: Int) -> [(step: String, op: String, shapes: String, seconds: Double)] {
    var all: [(step: String, op: String, shapes: String, seconds: Double)] = []
    for (step, e) in [("D", dExecutor), ("G", gExecutor)] {
      guard let t = e.nodeSeconds else { continue }
      for (i, n) in e.graph.nodes.enumerated() { all.append((step, n.op.name, e.inputShapes(ofNode: i), t[i])) }
    }
    return Array(all.sorted { $0.seconds > $1.seconds }.prefix(count))
  }

  /// The current value of a generator (`gen`) or discriminator (`dis`) weight, by Chainer key.
  public func weight(_ model: String, _ key: String) throws -> Tensor {
    try (model == "gen" ? gExecutor : dExecutor).variable(model + "/" + key)
  }

  /// Replaces a weight in both executors.
  public func setWeight(_ model: String, _ key: String, _ t: Tensor) throws {
    try dExecutor.setVariable(model + "/" + key, t)
    try gExecutor.setVariable(model + "/" + key, t)
  }

  /// x + 0.5 · std(x) · u, std over the whole batch (population, in double).
  public static func perturb(_ x: Tensor, _ u: Tensor) -> Tensor {
    let n = Double(x.count)
    let mean = x.data.reduce(0.0) { $0 + Double($1) } / n
    let variance = x.data.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
    let s = Float(0.5 * variance.squareRoot())
    return Tensor(shape: x.shape, data: zip(x.data, u.data).map { $0 + s * $1 })
  }

  /// One iteration: the D step, then the G step (which sees the updated D).
  @discardableResult
  public func step(_ b: DraganBatch) throws -> DraganLosses {
    let start = DispatchTime.now().uptimeNanoseconds
    let dOut = try dExecutor.run(["z": b.zD, "real": b.real, "perturbed": Self.perturb(b.real, b.u), "tags": b.tags],
                                 fetch: Array(graphs.dGradients.values) + graphs.dStepStatistics.flatMap { [$0.mean, $0.variance] })
    let o = dExecutor.graph.outputs
    var l = DraganLosses(lossD: dOut[o[0]]!.data[0], advD: dOut[o[1]]!.data[0], clsD: dOut[o[2]]!.data[0], gp: dOut[o[3]]!.data[0],
                         gradNorm: dOut[o[4]]!.data[0], lossG: 0, advG: 0, clsG: 0)
    guard l.lossD.isFinite else {
      throw TrainingError("iteration \(iteration + 1): the discriminator loss is \(l.lossD) (adv \(l.advD), cls \(l.clsD), gp \(l.gp)); stopping before the update")
    }
    try updateRunningStatistics(dOut, graphs.dStepStatistics)
    disT += 1
    for p in graphs.discriminator.parameters {
      try applyAdam("dis", p, grad: dOut[graphs.dGradients[p]!]!, state: &disState[p]!)
    }
    let gOut = try gExecutor.run(["z": b.zG, "tags": Self.generatorTags(b)],
                                 fetch: Array(graphs.gGradients.values) + graphs.gStepStatistics.flatMap { [$0.mean, $0.variance] })
    let go = gExecutor.graph.outputs
    (l.lossG, l.advG, l.clsG) = (gOut[go[0]]!.data[0], gOut[go[1]]!.data[0], gOut[go[2]]!.data[0])
    guard l.lossG.isFinite else {
      throw TrainingError("iteration \(iteration + 1): the generator loss is \(l.lossG) (adv \(l.advG), cls \(l.clsG)); stopping before the update")
    }
    try updateRunningStatistics(gOut, graphs.gStepStatistics)
    genT += 1
    for p in graphs.generator.parameters {
      try applyAdam("gen", p, grad: gOut[graphs.gGradients[p]!]!, state: &genState[p]!)
    }
    iteration += 1
    lastSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return l
  }

  /// ∂L_D/∂θ_D and ∂L_G/∂θ_G at the current weights, both from the same state (no update in between), by Chainer key;
  /// `dStep` / `gStep` hold the values of the step graphs named in `dFetch` / `gFetch` (e.g. `graphs.gStepActivations`)
  /// from the same runs.
  public func gradients(_ b: DraganBatch, dFetch: [String] = [], gFetch: [String] = []) throws
    -> (gen: [String: Tensor], dis: [String: Tensor], dStep: [String: Tensor], gStep: [String: Tensor])
  {
    let dOut = try dExecutor.run(["z": b.zD, "real": b.real, "perturbed": Self.perturb(b.real, b.u), "tags": b.tags],
                                 fetch: Array(graphs.dGradients.values) + dFetch)
    let gOut = try gExecutor.run(["z": b.zG, "tags": Self.generatorTags(b)], fetch: Array(graphs.gGradients.values) + gFetch)
    return (graphs.gGradients.mapValues { gOut[$0]! }, graphs.dGradients.mapValues { dOut[$0]! },
            Dictionary(dFetch.map { ($0, dOut[$0]!) }, uniquingKeysWith: { a, _ in a }),
            Dictionary(gFetch.map { ($0, gOut[$0]!) }, uniquingKeysWith: { a, _ in a }))
  }

  /// The {0, 1} tags of the G step's inputs (their last T entries, ±1).
  static func generatorTags(_ b: DraganBatch) -> Tensor {
    let n = b.zG.shape[1], t = b.tags.shape[1]
    return Tensor(shape: [b.zG.shape[0], t], data: (0..<b.zG.shape[0]).flatMap { r -> [Float] in
      (0..<t).map { b.zG.data[r * n + (n - t) + $0] > 0 ? 1 : 0 }
    })
  }

  /// Adam on the executor that computed the gradient, then the new value copied into the other executor.
  private func applyAdam(_ model: String, _ key: String, grad: Tensor, state: inout AdamState) throws {
    let name = model + "/" + key
    let (owner, other) = model == "dis" ? (dExecutor, gExecutor) : (gExecutor, dExecutor)
    try grad.data.withUnsafeBufferPointer { g in
      try owner.updateVariable(name) { adam.update($0, grad: g, state: &state) }
    }
    try other.setVariable(name, try owner.variable(name))
  }

  /// Chainer's running averages: avg ← decay · avg + (1 − decay) · batch value (variance × m / (m − 1)).
  private func updateRunningStatistics(_ out: [String: Tensor], _ stats: [(mean: String, variance: String)]) throws {
    let types = try gExecutor.graph.verify()
    for (layer, s) in zip(graphs.generator.batchNorms, stats) {
      let mean = out[s.mean]!, variance = out[s.variance]!
      // Elements per channel in this layer's input: x.size / C.
      let xName = graphs.generator.graph.nodes.first { $0.outputs.count == 3 && $0.outputs[1] == layer.batchMean }!.inputs[0]
      let xShape = types["gen@fake/" + xName]!.shape.fixed!
      let count = Float(elementCount(xShape) / xShape[1])
      let adjust = count / max(count - 1, 1)
      for (key, value, scale) in [(layer.avgMean, mean, Float(1)), (layer.avgVar, variance, adjust)] {
        var avg = try gExecutor.variable("gen/" + key)
        for i in 0..<avg.count {
          avg.data[i] *= bnDecay
          avg.data[i] += (1 - bnDecay) * (scale * value.data[i])
        }
        try setWeight("gen", key, avg)
      }
    }
  }
}
