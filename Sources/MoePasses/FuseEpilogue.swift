// FuseEpilogue: activations and residual adds folded into the epilogue of the conv / deconv / linear producing them.
import MoeIR

/// Folds into a conv2d / conv_transpose2d / linear whose output has a single consumer:
/// an activation (relu, leaky_relu, tanh, sigmoid) and an `add` with a same-shaped value (the residual; added before
/// the activation when none is fused yet, after it otherwise). The producer takes the consumer's place and output name.
///
/// Given:
/// ```
/// node "res/0/c2" %res/0/c2 = conv2d(%r, %W, %b) {…}
/// node "res/0/add" %res/0/add = add(%res/0/c2, %h)
/// node "bnm" %m = conv2d(%res/0/add, %W2, %b2) {…}
/// node "bnm/relu" %bnm/relu = relu(%m)
/// ```
/// Result:
/// ```
/// node "res/0/c2" %res/0/add = conv2d(%r, %W, %b, %h) {…, residual=before}
/// node "bnm" %bnm/relu = conv2d(%res/0/add, %W2, %b2) {…, act=relu}
/// ```
public struct FuseEpilogue: GraphPass {
  public let name = "fuse-epilogue"
  public init() {}

  public func run(on g: inout Graph) throws -> Int {
    var fused = 0
    while try fuseOne(&g) { fused += 1 }
    return fused
  }

  func fuseOne(_ g: inout Graph) throws -> Bool {
    let types = try g.verify()
    let consumers = g.consumers(), producers = g.producers()
    for (pi, p) in g.nodes.enumerated() {
      let e = p.op.epilogue
      guard p.op.with(epilogue: e) != nil, p.outputs.count == 1 else { continue }
      let v = p.outputs[0]
      guard g.hasSingleConsumer(v, consumers), let ci = consumers[v]?.first else { continue }
      let c = g.nodes[ci]
      var newEpilogue = e
      var extraInput: String? = nil
      if let act = Activation(op: c.op), e.activation == .none, e.residual != .after {
        newEpilogue.activation = act
      } else if case .add = c.op, e.residual == .none, c.inputs.count == 2, c.inputs[0] != c.inputs[1] {
        let r = c.inputs[0] == v ? c.inputs[1] : c.inputs[0]
        guard let rt = types[r]?.shape, rt == types[v]?.shape else { continue }
        // The residual must be defined before the producer's new position (the consumer's).
        if let ri = producers[r], ri >= ci { continue }
        newEpilogue.residual = e.activation == .none ? .before : .after
        extraInput = r
      } else {
        continue
      }
      var q = p
      q.op = p.op.with(epilogue: newEpilogue)!
      if let r = extraInput { q.inputs.append(r) }
      q.outputs = c.outputs
      // The producer moves to the consumer's position (its inputs are all defined before it already).
      g.nodes[ci] = q
      g.nodes.remove(at: pi)
      return true
    }
    return false
  }
}
