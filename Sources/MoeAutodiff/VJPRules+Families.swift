// VJPRules+Families: gradients of the binary family and of the statistics norms (batch norm in training form, group norm).
import MoeIR

extension GradientBuilder {
  mutating func binaryGradient(_ f: BinaryFunction, _ n: Node, _ g: String, want: (Int) -> Bool, into out: inout [String?]) throws {
    let (a, b, y, base) = (n.inputs[0], n.inputs[1], n.outputs[0], n.name + "/grad")
    func toA(_ v: String) throws -> String { try sumTo(v, like: a, base + "/a") }
    func toB(_ v: String) throws -> String { try sumTo(v, like: b, base + "/b") }
    switch f {
    case .add:
      if want(0) { out[0] = try toA(g) }
      if want(1) { out[1] = try toB(g) }
    case .sub:
      if want(0) { out[0] = try toA(g) }
      if want(1) { out[1] = try toB(try add(.unary(.neg), [g], base + "/neg")) }
    case .mul:
      if want(0) { out[0] = try toA(try add(.mul, [g, b], base + "/gb")) }
      if want(1) { out[1] = try toB(try add(.mul, [g, a], base + "/ga")) }
    case .div:
      if want(0) { out[0] = try toA(try add(.binary(.div), [g, b], base + "/g_b")) }
      if want(1) { out[1] = try toB(try add(.unary(.neg), [try add(.binary(.div), [try add(.mul, [g, y], base + "/gy"), b], base + "/gy_b")], base + "/neg")) }
    case .pow:
      if want(0) {
        let bm1 = try add(.sub, [b, constant(1, name: base + "/one")], base + "/bm1")
        out[0] = try toA(try add(.mul, [g, try add(.mul, [b, try add(.binary(.pow), [a, bm1], base + "/a_bm1")], base + "/d")], base + "/ga"))
      }
      if want(1) { out[1] = try toB(try add(.mul, [g, try add(.mul, [y, try add(.unary(.log), [a], base + "/log_a")], base + "/d")], base + "/gb")) }
    case .max, .min:
      // The larger (smaller) operand takes the gradient; ties split it evenly.
      let wins = try add(.cast(.float32), [try add(.binary(f == .max ? .greater : .less), [a, b], base + "/wins")], base + "/wins_f")
      let ties = try add(.cast(.float32), [try add(.binary(.equal), [a, b], base + "/ties")], base + "/ties_f")
      let share = try add(.add, [wins, try add(.mul, [ties, constant(0.5, name: base + "/half")], base + "/half_ties")], base + "/share")
      let ga = try add(.mul, [g, share], base + "/ga")
      if want(0) { out[0] = try toA(ga) }
      if want(1) { out[1] = try toB(try add(.sub, [g, ga], base + "/gb")) }
    case .greater, .less, .equal:
      throw AutodiffError("node '\(n.name)' (\(n.op.name)) is not differentiable: a comparison's result is boolean")
    }
  }

  /// Batch normalization with batch statistics (axes 0, 2, …): the full gradient through the mean and variance,
  /// plus the contributions of cotangents on the mean and variance outputs.
  mutating func batchNormTrainingGradient(_ n: Node, _ gs: [String?], eps: Float, want: (Int) -> Bool, into out: inout [String?]) throws {
    let (x, gamma, base) = (n.inputs[0], n.inputs[1], n.name + "/grad")
    let rank = shape(x).rank
    let axes = [0] + Array(2..<rank)
    let mean = try channelView(n.outputs[1], rank: rank, base + "/mean_view")
    let variance = try channelView(n.outputs[2], rank: rank, base + "/var_view")
    let rstd = try add(.unary(.reciprocal), [try add(.unary(.sqrt), [try add(.add, [variance, constant(eps, name: base + "/eps")], base + "/v_eps")], base + "/std")], base + "/rstd")
    let centered = try add(.sub, [x, mean], base + "/centered")
    let xhat = try add(.mul, [centered, rstd], base + "/xhat")
    var gx: String? = nil
    if let gy = gs[0] {
      if want(0) {
        let gyg = try add(.mul, [gy, try channelView(gamma, rank: rank, base + "/gamma_view")], base + "/gy_gamma")
        let m1 = try add(.reduce(.mean, axes: axes, keepDims: true), [gyg], base + "/m1")
        let m2 = try add(.reduce(.mean, axes: axes, keepDims: true), [try add(.mul, [gyg, xhat], base + "/gx_hat")], base + "/m2")
        let inner = try add(.sub, [try add(.sub, [gyg, m1], base + "/d1"), try add(.mul, [xhat, m2], base + "/d2")], base + "/inner")
        gx = try add(.mul, [rstd, inner], base + "/x_y")
      }
      if want(1) { out[1] = try add(.reduce(.sum, axes: axes, keepDims: false), [try add(.mul, [gy, xhat], base + "/gy_xhat")], base + "/gamma") }
      if want(2) { out[2] = try add(.reduce(.sum, axes: axes, keepDims: false), [gy], base + "/beta") }
    }
    if want(0) {
      let m = try count(x, axes: axes, base + "/count")
      if let gm = gs[1] {
        let t = try add(.binary(.div), [try add(.broadcastTo, [try channelView(gm, rank: rank, base + "/gm_view"), x], base + "/gm_spread"), m], base + "/x_mean")
        gx = try gx.map { try add(.add, [$0, t], base + "/x_acc") } ?? t
      }
      if let gv = gs[2] {
        let two = try add(.mul, [centered, constant(2, name: base + "/two")], base + "/2c")
        let t = try add(.binary(.div), [try add(.mul, [two, try channelView(gv, rank: rank, base + "/gv_view")], base + "/gv_c"), m], base + "/x_var")
        gx = try gx.map { try add(.add, [$0, t], base + "/x_acc") } ?? t
      }
      out[0] = gx
    }
  }

  /// Group normalization (instance norm: groups = channels): statistics per (n, group) over (N, G, rest).
  mutating func groupNormGradient(_ n: Node, _ g: String, groups: Int, eps: Float, want: (Int) -> Bool, into out: inout [String?]) throws {
    let (x, scale, base) = (n.inputs[0], n.inputs[1], n.name + "/grad")
    let rank = shape(x).rank
    let grouped = try add(.reshape(shape: [0, groups, -1]), [x], base + "/grouped")
    let mean = try add(.reduce(.mean, axes: [2], keepDims: true), [grouped], base + "/mean")
    let centered = try add(.sub, [grouped, mean], base + "/centered")
    let variance = try add(.reduce(.mean, axes: [2], keepDims: true), [try add(.unary(.square), [centered], base + "/sq")], base + "/var")
    let rstd = try add(.unary(.reciprocal), [try add(.unary(.sqrt), [try add(.add, [variance, constant(eps, name: base + "/eps")], base + "/v_eps")], base + "/std")], base + "/rstd")
    let xhatGrouped = try add(.mul, [centered, rstd], base + "/xhat_g")
    let xhat = try reshape(xhatGrouped, like: x, base + "/xhat")
    let axes = [0] + Array(2..<rank)
    if want(1) { out[1] = try add(.reduce(.sum, axes: axes, keepDims: false), [try add(.mul, [g, xhat], base + "/g_xhat")], base + "/scale") }
    if want(2) { out[2] = try add(.reduce(.sum, axes: axes, keepDims: false), [g], base + "/bias") }
    if want(0) {
      let gxhat = try add(.reshape(shape: [0, groups, -1]), [try add(.mul, [g, try channelView(scale, rank: rank, base + "/scale_view")], base + "/g_scale")], base + "/gxhat")
      let m1 = try add(.reduce(.mean, axes: [2], keepDims: true), [gxhat], base + "/m1")
      let m2 = try add(.reduce(.mean, axes: [2], keepDims: true), [try add(.mul, [gxhat, xhatGrouped], base + "/gxx")], base + "/m2")
      let inner = try add(.sub, [try add(.sub, [gxhat, m1], base + "/d1"), try add(.mul, [xhatGrouped, m2], base + "/d2")], base + "/inner")
      out[0] = try reshape(try add(.mul, [rstd, inner], base + "/x_g"), like: x, base + "/x")
    }
  }
}
