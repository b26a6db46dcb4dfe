// FoldBatchNorm: inference BatchNorm folded into the Conv2d / ConvTranspose2d / Linear that feeds it.
import Foundation
import MoeIR

/// Folds `batch_norm` into the weights and bias of the contraction that produces its input, directly or through a
/// `reshape` (Linear → Reshape → BN: one BN channel scales a block of rows) or a `depth_to_space` (Conv → D2S → BN:
/// one BN channel scales every b²-th conv channel in DCR order, a run of b² channels in CRD order).
///
/// Given:
/// ```
/// node "c1" %c1 = conv2d(%x, %c1/W, %c1/b) {…}
/// node "b1" %b1 = batch_norm(%c1, %b1/gamma, %b1/beta, %b1/avg_mean, %b1/avg_var) {eps=2e-05}
/// node "r" %r = relu(%b1)
/// ```
/// Result (W and b scaled by γ/√(σ²+ε), shifted by β − μ·γ/√(σ²+ε)):
/// ```
/// node "c1" %c1 = conv2d(%x, %c1/W, %c1/b) {…}
/// node "r" %r = relu(%c1)
/// ```
public struct FoldBatchNorm: GraphPass {
  public let name = "fold-batch-norm"
  public init() {}

  public func run(on g: inout Graph) throws -> Int {
    var folded = 0
    while let i = try foldOne(&g) {
      g.nodes.remove(at: i)
      folded += 1
    }
    return folded
  }

  /// Folds the first foldable BN; returns its node index (to be removed) or nil.
  func foldOne(_ g: inout Graph) throws -> Int? {
    let types = try g.verify()
    let consumers = g.consumers(), producers = g.producers()
    for (bi, bn) in g.nodes.enumerated() {
      guard case .batchNorm(let eps) = bn.op else { continue }
      let params = bn.inputs[1...4].map { g.initializers[$0] }
      guard params.allSatisfy({ $0 != nil }) else { continue }
      let v = bn.inputs[0]
      guard g.hasSingleConsumer(v, consumers), let vi = producers[v] else { continue }
      // Find the contraction P and the map from P's output channel to BN channel.
      var pIndex = vi
      var channelOf: (Int) -> Int = { $0 }
      let via = g.nodes[vi]
      switch via.op {
      case .reshape, .flatten:
        guard let ui = producers[via.inputs[0]], case .linear = g.nodes[ui].op, g.hasSingleConsumer(via.inputs[0], consumers),
          let u = types[via.inputs[0]]?.shape, let o = types[v]?.shape, u.rank == 2, o.rank >= 2, u[0] == o[0],
          let f = u[1].value, let c = o[1].value, c > 0, f % c == 0
        else { continue }
        let inner = f / c
        pIndex = ui
        channelOf = { $0 / inner }
      case .depthToSpace(let b, let mode):
        guard let ui = producers[via.inputs[0]], g.hasSingleConsumer(via.inputs[0], consumers),
          let cin = types[via.inputs[0]]?.shape[1].value
        else { continue }
        pIndex = ui
        let cout = cin / (b * b)
        channelOf = mode == .dcr ? { $0 % cout } : { $0 / (b * b) }
      default:
        break
      }
      let p = g.nodes[pIndex]
      guard p.op.epilogue.isPlain else { continue }
      switch p.op {
      case .conv2d, .convTranspose2d, .linear: break
      default: continue
      }
      guard let w = g.initializers[p.inputs[1]], p.inputs.count == 2 || g.initializers[p.inputs[2]] != nil else { continue }

      // s = γ / √(σ² + ε), t = β − μ·s per BN channel.
      let gamma = params[0]!.data, beta = params[1]!.data, mean = params[2]!.data, variance = params[3]!.data
      let s = (0..<gamma.count).map { gamma[$0] / (variance[$0] + eps).squareRoot() }
      let t = (0..<gamma.count).map { beta[$0] - mean[$0] * s[$0] }
      let outChannels: Int
      var newW = w
      switch p.op {
      case .convTranspose2d(let a):
        let og = w.shape[1], perGroupIn = w.shape[0] / a.groups, spatial = w.shape[2] * w.shape[3]
        outChannels = og * a.groups
        for ci in 0..<w.shape[0] {
          let group = ci / perGroupIn
          for j in 0..<og {
            let scale = s[channelOf(group * og + j)]
            let base = (ci * og + j) * spatial
            for e in base..<(base + spatial) { newW.data[e] *= scale }
          }
        }
      default:
        outChannels = w.shape[0]
        let row = w.count / outChannels
        for k in 0..<outChannels {
          let scale = s[channelOf(k)]
          for e in (k * row)..<((k + 1) * row) { newW.data[e] *= scale }
        }
      }
      let oldBias = p.inputs.count > 2 ? g.initializers[p.inputs[2]]!.data : [Float](repeating: 0, count: outChannels)
      let newB = Tensor(shape: [outChannels], data: (0..<outChannels).map { oldBias[$0] * s[channelOf($0)] + t[channelOf($0)] })

      let wName = g.privateWeight(p.inputs[1], of: pIndex, consumers)
      g.setWeight(wName, newW)
      if g.nodes[pIndex].inputs.count > 2 {
        let bName = g.privateWeight(g.nodes[pIndex].inputs[2], of: pIndex, consumers)
        g.setWeight(bName, newB)
      } else {
        let bName = g.freshName("\(p.name)/b")
        g.setWeight(bName, newB)
        g.nodes[pIndex].inputs.append(bName)
      }
      g.replaceUses(of: bn.outputs[0], with: v)
      return bi
    }
    return nil
  }
}
