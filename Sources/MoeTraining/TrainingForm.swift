// TrainingForm: a zoo model's inference graph in training form — batch statistics, trainable parameters, running averages.
import MoeIR

/// One BatchNormalization layer of a model in training form.
public struct BatchNormLayer: Sendable {
  /// Weight names of gamma, beta and the running averages.
  public var gamma: String, beta: String, avgMean: String, avgVar: String
  /// Values (in the training graph) holding the batch mean and the biased batch variance.
  public var batchMean: String, batchVar: String
}

/// A model graph whose batch normalizations use batch statistics (`batch_norm_training`), with its trainable
/// parameters (weights other than the running averages) and its BN layers.
public struct TrainingForm: Sendable {
  public var graph: Graph
  public var parameters: [String]
  public var batchNorms: [BatchNormLayer]
  /// Biases added right before a batch normalization: their exact gradient is zero, so what any framework computes
  /// for them is rounding noise (and Adam turns that noise into steps of up to alpha).
  public var cancelledByBatchNorm: [String]

  /// Rewrites every `batch_norm` whose statistics are weights into `batch_norm_training`. No pass has folded
  /// or fused anything (the training-safe form keeps BN and pre-activation values).
  public init(inference g: Graph) {
    var graph = g
    var layers: [BatchNormLayer] = []
    let weightNames = Set(g.weights.map(\.name))
    for i in graph.nodes.indices {
      let n = graph.nodes[i]
      guard case .batchNorm(let eps) = n.op, weightNames.contains(n.inputs[3]), weightNames.contains(n.inputs[4]) else { continue }
      let mean = n.name + "/batch_mean", variance = n.name + "/batch_var"
      graph.nodes[i] = Node(name: n.name, op: .batchNormTraining(eps: eps), inputs: Array(n.inputs[0..<3]),
                            outputs: [n.outputs[0], mean, variance])
      layers.append(BatchNormLayer(gamma: n.inputs[1], beta: n.inputs[2], avgMean: n.inputs[3], avgVar: n.inputs[4],
                                   batchMean: mean, batchVar: variance))
    }
    let running = Set(layers.flatMap { [$0.avgMean, $0.avgVar] })
    // A bias added right before a batch normalization has an exact gradient of zero (BN removes the batch mean).
    var consumers: [String: [Node]] = [:]
    for n in graph.nodes { for v in n.inputs { consumers[v, default: []].append(n) } }
    var cancelled: [String] = []
    for n in graph.nodes where n.inputs.count == 3 {
      switch n.op {
      case .conv2d, .convTranspose2d, .linear:
        if let users = consumers[n.outputs[0]], users.count == 1, case .batchNormTraining = users[0].op, users[0].inputs[0] == n.outputs[0],
          weightNames.contains(n.inputs[2]) {
          cancelled.append(n.inputs[2])
        }
      default: break
      }
    }
    self.cancelledByBatchNorm = cancelled
    self.graph = graph
    self.parameters = g.weights.map(\.name).filter { !running.contains($0) }
    self.batchNorms = layers
  }
}
