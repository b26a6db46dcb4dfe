// DraganGraphs: the D-step and G-step graphs of DRAGAN + ACGAN — both models inlined, losses, and their gradients.
import MoeAutodiff
import MoeIR

/// Loss weights of the DRAGAN + ACGAN objective.
public struct DraganLossWeights: Sendable, Equatable {
  /// Weight of the adversarial terms (default: the number of tags).
  public var adversarial: Float
  /// Weight of the gradient penalty.
  public var gradientPenalty: Float = 0.5
  public init(adversarial: Float, gradientPenalty: Float = 0.5) {
    self.adversarial = adversarial
    self.gradientPenalty = gradientPenalty
  }
}

/// The two step graphs. Generator weights are named `gen/KEY`, discriminator weights `dis/KEY` (Chainer keys).
///
/// D step — inputs `z` (N, n), `real` (N, 3, S, S), `perturbed` (N, 3, S, S), `tags` (N, T) in {0, 1}; outputs the
/// losses `loss`, `adv`, `cls`, `gp`, `grad_norm` (mean ‖∂D/∂x_p‖), one gradient per D parameter, and the generator's
/// batch statistics. G step — inputs `z`, `tags`; outputs `loss`, `adv`, `cls`, one gradient per G parameter and the
/// generator's batch statistics.
public struct DraganGraphs {
  public var dStep: Graph
  public var gStep: Graph
  /// Gradient value of each parameter (weight name → value name) in its step graph.
  public var dGradients: [String: String]
  public var gGradients: [String: String]
  public var generator: TrainingForm
  public var discriminator: TrainingForm
  /// Batch-statistics values of the generator's BN layers in each step graph (same order as `generator.batchNorms`).
  public var dStepStatistics: [(mean: String, variance: String)]
  public var gStepStatistics: [(mean: String, variance: String)]

  /// - Parameters: `generator`/`discriminator` are the zoo inference graphs (G: input z → img; D: x → adv, cls).
  public init(generator g: Graph, discriminator d: Graph, batch: Int, weights w: DraganLossWeights) throws {
    generator = TrainingForm(inference: g)
    discriminator = TrainingForm(inference: d)
    let n = g.inputs[0].shape[1].value!, size = d.inputs[0].shape[2].value!
    let clsWidth = try d.verify()[d.outputs[1]]!.shape[1].value!
    let image = Shape([batch, 3, size, size])

    // ---- D step ----
    var ds = Graph(name: "dragan-d-step")
    ds.inputs = [ValueInfo(name: "z", shape: Shape([batch, n])), ValueInfo(name: "real", shape: image),
                 ValueInfo(name: "perturbed", shape: image), ValueInfo(name: "tags", shape: Shape([batch, clsWidth]))]
    let fake = ds.inline(generator.graph, prefix: "gen@fake/", weightPrefix: "gen/", inputs: ["z": "z"])[0]
    let real = ds.inline(discriminator.graph, prefix: "dis@real/", weightPrefix: "dis/", inputs: ["x": "real"])
    let fakeD = ds.inline(discriminator.graph, prefix: "dis@fake/", weightPrefix: "dis/", inputs: ["x": fake])
    let pert = ds.inline(discriminator.graph, prefix: "dis@perturbed/", weightPrefix: "dis/", inputs: ["x": "perturbed"])
    var b = LossBuilder(ds)
    let advD = b.add(b.meanSoftplus(real[0], negate: true), b.meanSoftplus(fakeD[0], negate: false), "adv")
    let clsD = b.sigmoidCrossEntropy(real[1], "tags", "cls")
    // Gradient penalty: ∂ΣD_adv(x_p)/∂x_p becomes part of the graph, so the D gradient differentiates it again.
    let pertSum = b.op(.reduce(.sum, axes: [], keepDims: false), [pert[0]], "gp/adv_sum")
    b.graph.outputs = [pertSum]
    let (withGrad, gx) = try Autodiff.gradient(of: pertSum, wrt: ["perturbed"], in: b.graph)
    b.graph = withGrad
    let sq = b.op(.reduce(.sum, axes: [1, 2, 3], keepDims: false), [b.op(.unary(.square), [gx["perturbed"]!], "gp/sq")], "gp/sqsum")
    let norm = b.op(.unary(.sqrt), [sq], "gp/norm")
    let dev = b.op(.unary(.square), [b.op(.sub, [norm, b.constant(1, "gp/one")], "gp/dev")], "gp/dev2")
    let gp = b.op(.mul, [b.op(.reduce(.mean, axes: [], keepDims: false), [dev], "gp/mean"), b.constant(w.gradientPenalty, "gp/lambda")], "gp")
    let gradNorm = b.op(.reduce(.mean, axes: [], keepDims: false), [norm], "grad_norm")
    let lossD = b.add(b.add(b.op(.mul, [advD, b.constant(w.adversarial, "lambda_adv")], "adv_weighted"), clsD, "adv_cls"), gp, "loss")
    var dsg = b.graph
    dsg.outputs = [lossD]
    let dParams = discriminator.parameters.map { "dis/" + $0 }
    let (dGraph, dGrads) = try Autodiff.gradient(of: lossD, wrt: dParams, in: dsg)
    dStep = dGraph
    dStep.outputs = [lossD, advD, clsD, gp, gradNorm]
    dGradients = Dictionary(uniqueKeysWithValues: discriminator.parameters.map { ($0, dGrads["dis/" + $0]!) })
    dStepStatistics = generator.batchNorms.map { ("gen@fake/" + $0.batchMean, "gen@fake/" + $0.batchVar) }

    // ---- G step ----
    var gs = Graph(name: "dragan-g-step")
    gs.inputs = [ValueInfo(name: "z", shape: Shape([batch, n])), ValueInfo(name: "tags", shape: Shape([batch, clsWidth]))]
    let img = gs.inline(generator.graph, prefix: "gen@fake/", weightPrefix: "gen/", inputs: ["z": "z"])[0]
    let judged = gs.inline(discriminator.graph, prefix: "dis@fake/", weightPrefix: "dis/", inputs: ["x": img])
    var c = LossBuilder(gs)
    let advG = c.meanSoftplus(judged[0], negate: true, "adv")
    let clsG = c.sigmoidCrossEntropy(judged[1], "tags", "cls")
    let lossG = c.add(c.op(.mul, [advG, c.constant(w.adversarial, "lambda_adv")], "adv_weighted"), clsG, "loss")
    var gsg = c.graph
    gsg.outputs = [lossG]
    let (gGraph, gGrads) = try Autodiff.gradient(of: lossG, wrt: generator.parameters.map { "gen/" + $0 }, in: gsg)
    gStep = gGraph
    gStep.outputs = [lossG, advG, clsG]
    gGradients = Dictionary(uniqueKeysWithValues: generator.parameters.map { ($0, gGrads["gen/" + $0]!) })
    gStepStatistics = generator.batchNorms.map { ("gen@fake/" + $0.batchMean, "gen@fake/" + $0.batchVar) }
  }
}

extension DraganGraphs {
  /// The D step's ReLU and LeakyReLU inputs (of G(z), D(real), D(fake), D(perturbed)) in graph order, with each one's
  /// slope below 0 (0 for ReLU). Their signs fix the linear piece of the (piecewise smooth) D loss a forward pass is on.
  public var dStepActivations: [(input: String, slope: Float)] { Self.activations(of: dStep) }
  /// The G step's ReLU and LeakyReLU inputs (of G(z), D(fake)) in graph order, as `dStepActivations`.
  public var gStepActivations: [(input: String, slope: Float)] { Self.activations(of: gStep) }

  /// Inputs of the forward `relu` and `leaky_relu` nodes (their gradients are masks built from these inputs).
  static func activations(of graph: Graph) -> [(input: String, slope: Float)] {
    graph.nodes.compactMap { n in
      switch n.op {
      case .unary(.relu): return (n.inputs[0], 0)
      case .leakyRelu(let alpha): return (n.inputs[0], alpha)
      default: return nil
      }
    }
  }
}

/// Appends loss nodes with readable names.
struct LossBuilder {
  var graph: Graph
  init(_ g: Graph) { graph = g }

  mutating func op(_ op: Op, _ inputs: [String], _ name: String) -> String { graph.add(op, inputs, name: name) }

  mutating func add(_ a: String, _ b: String, _ name: String) -> String { op(.add, [a, b], name) }

  mutating func constant(_ v: Float, _ name: String) -> String { op(.constant(Tensor(shape: [], data: [v])), [], name) }

  /// mean(softplus(±x)), as `F.mean(F.softplus(x))`.
  mutating func meanSoftplus(_ x: String, negate: Bool, _ name: String? = nil) -> String {
    let base = name ?? x + (negate ? "/softplus_neg" : "/softplus")
    let v = negate ? op(.unary(.neg), [x], base + "/neg") : x
    return op(.reduce(.mean, axes: [], keepDims: false), [op(.unary(.softplus), [v], base + "/sp")], base)
  }

  /// Chainer's `F.sigmoid_cross_entropy(x, t)` with t ∈ {0, 1}: mean over all elements of softplus(x) − x·t.
  mutating func sigmoidCrossEntropy(_ x: String, _ t: String, _ name: String) -> String {
    let per = op(.sub, [op(.unary(.softplus), [x], name + "/sp"), op(.mul, [x, t], name + "/xt")], name + "/per")
    return op(.reduce(.mean, axes: [], keepDims: false), [per], name)
  }
}
