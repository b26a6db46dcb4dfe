// VJPRules: the vector–Jacobian product of every IR op, written in IR ops (one case per op, exhaustive).
import MoeIR

extension GradientBuilder {
  /// Input cotangents of node `n` given its output cotangents (nil: zero). Only inputs marked in `wanted` are
  /// computed; nil in the result means a zero gradient.
  mutating func vjp(_ n: Node, _ gs: [String?], wanted: [Bool]) throws -> [String?] {
    let x = n.inputs, base = n.name + "/grad"
    let want = { (i: Int) in i < wanted.count && wanted[i] }
    func missing(_ why: String) -> AutodiffError {
      AutodiffError("node '\(n.name)' (\(n.op.name)): no gradient: \(why)")
    }
    if !n.op.epilogue.isPlain {
      throw missing("it carries a fused epilogue (act/residual); differentiate the graph before fusing (the training pass preset)")
    }
    var out = [String?](repeating: nil, count: x.count)
    let g = gs[0] ?? ""
    let rank = shape(x.first ?? "").rank
    let spatialAxes = Array(2..<max(2, rank)), allButChannel = [0] + spatialAxes

    switch n.op {
    case .linear:
      if want(0) { out[0] = try reshape(try add(.matmul, [g, x[1]], base + "/x"), like: x[0], base + "/x_shape") }
      if want(1) {
        let flat = rank > 2 ? try add(.flatten(axis: 1), [x[0]], base + "/x_flat") : x[0]
        out[1] = try add(.gemm(GemmAttrs(transA: true)), [g, flat], base + "/W")
      }
      if x.count > 2 && want(2) { out[2] = try add(.reduce(.sum, axes: [0], keepDims: false), [g], base + "/b") }

    case .gemm(let a):
      let gg = a.alpha == 1 ? g : try add(.mul, [g, constant(a.alpha, name: base + "/alpha")], base + "/alpha_g")
      if want(0) {
        out[0] = a.transA
          ? try add(.gemm(GemmAttrs(transA: a.transB, transB: true)), [x[1], gg], base + "/A")
          : try add(.gemm(GemmAttrs(transA: false, transB: !a.transB)), [gg, x[1]], base + "/A")
      }
      if want(1) {
        out[1] = a.transB
          ? try add(.gemm(GemmAttrs(transA: true, transB: a.transA)), [gg, x[0]], base + "/B")
          : try add(.gemm(GemmAttrs(transA: !a.transA, transB: false)), [x[0], gg], base + "/B")
      }
      if x.count > 2 && want(2) {
        let gc = a.beta == 1 ? g : try add(.mul, [g, constant(a.beta, name: base + "/beta")], base + "/beta_g")
        out[2] = try sumTo(gc, like: x[2], base + "/C")
      }

    case .matmul:
      func swapLast(_ v: String) throws -> String {
        let r = shape(v).rank
        return try add(.transpose(perm: Array(0..<(r - 2)) + [r - 1, r - 2]), [v], base + "/t")
      }
      if want(0) { out[0] = try sumTo(try add(.matmul, [g, try swapLast(x[1])], base + "/A_full"), like: x[0], base + "/A") }
      if want(1) { out[1] = try sumTo(try add(.matmul, [try swapLast(x[0]), g], base + "/B_full"), like: x[1], base + "/B") }

    case .conv2d(let c):
      if want(0) { out[0] = try convInputGradient(c, gy: g, w: x[1], like: x[0], base + "/x") }
      if want(1) { out[1] = try add(.conv2dFilterGrad(plainConv(c)), [x[0], g, x[1]], base + "/W") }
      if x.count > 2 && want(2) { out[2] = try add(.reduce(.sum, axes: allButChannel, keepDims: false), [g], base + "/b") }

    case .convTranspose2d(let c):
      let conv = ConvAttrs(strides: c.strides, pads: c.pads, dilations: c.dilations, groups: c.groups)
      if want(0) { out[0] = try add(.conv2d(conv), [g, x[1]], base + "/x") }
      if want(1) { out[1] = try add(.conv2dFilterGrad(conv), [g, x[0], x[1]], base + "/W") }
      if x.count > 2 && want(2) { out[2] = try add(.reduce(.sum, axes: allButChannel, keepDims: false), [g], base + "/b") }

    case .conv2dFilterGrad(let c):
      // dW = F(x, gy) is bilinear: ⟨G, F(x, gy)⟩ = ⟨x, convT(gy, G)⟩ = ⟨gy, conv(x, G)⟩.
      if want(0) { out[0] = try convInputGradient(c, gy: x[1], w: g, like: x[0], base + "/x") }
      if want(1) { out[1] = try add(.conv2d(c), [x[0], g], base + "/gy") }

    case .batchNorm(let eps):
      let rstd = try add(.unary(.reciprocal), [try add(.unary(.sqrt), [try add(.add, [x[4], constant(eps, name: base + "/eps")], base + "/v_eps")], base + "/std")], base + "/rstd")
      let centered = try add(.sub, [x[0], try channelView(x[3], rank: rank, base + "/mean_view")], base + "/centered")
      if want(0) {
        out[0] = try add(.mul, [g, try channelView(try add(.mul, [x[1], rstd], base + "/scale"), rank: rank, base + "/scale_view")], base + "/x")
      }
      let gsum = try add(.reduce(.sum, axes: allButChannel, keepDims: false), [g], base + "/g_sum")
      let gxc = try add(.reduce(.sum, axes: allButChannel, keepDims: false), [try add(.mul, [g, centered], base + "/g_centered")], base + "/gc_sum")
      if want(1) { out[1] = try add(.mul, [gxc, rstd], base + "/gamma") }
      if want(2) { out[2] = gsum }
      if want(3) { out[3] = try add(.unary(.neg), [try add(.mul, [gsum, try add(.mul, [x[1], rstd], base + "/gr")], base + "/gm")], base + "/mean") }
      if want(4) {
        let r3 = try add(.mul, [rstd, try add(.unary(.square), [rstd], base + "/rstd2")], base + "/rstd3")
        let t = try add(.mul, [try add(.mul, [gxc, x[1]], base + "/gv"), r3], base + "/gv3")
        out[4] = try add(.mul, [t, constant(-0.5, name: base + "/half")], base + "/var")
      }

    case .batchNormTraining(let eps):
      try batchNormTrainingGradient(n, gs, eps: eps, want: want, into: &out)

    case .unary(let f):
      let y = n.outputs[0]
      switch f {
      case .relu:
        out[0] = try add(.mul, [g, try add(.cast(.float32), [try add(.binary(.greater), [x[0], constant(0, name: base + "/zero")], base + "/pos")], base + "/mask")], base)
      case .tanh:
        out[0] = try add(.mul, [g, try add(.sub, [constant(1, name: base + "/one"), try add(.unary(.square), [y], base + "/y2")], base + "/d")], base)
      case .sigmoid:
        out[0] = try add(.mul, [g, try add(.mul, [y, try add(.sub, [constant(1, name: base + "/one"), y], base + "/1my")], base + "/d")], base)
      case .softplus:
        out[0] = try add(.mul, [g, try add(.unary(.sigmoid), [x[0]], base + "/d")], base)
      case .neg: out[0] = try add(.unary(.neg), [g], base)
      case .exp: out[0] = try add(.mul, [g, y], base)
      case .log: out[0] = try add(.binary(.div), [g, x[0]], base)
      case .sqrt: out[0] = try add(.binary(.div), [try add(.mul, [g, constant(0.5, name: base + "/half")], base + "/hg"), y], base)
      case .reciprocal: out[0] = try add(.unary(.neg), [try add(.mul, [g, try add(.unary(.square), [y], base + "/y2")], base + "/gy2")], base)
      case .abs: out[0] = try add(.mul, [g, try add(.unary(.sign), [x[0]], base + "/sign")], base)
      case .square: out[0] = try add(.mul, [g, try add(.mul, [x[0], constant(2, name: base + "/two")], base + "/2x")], base)
      case .sign: out[0] = nil  // zero almost everywhere
      case .erf:  // erf'(x) = 2/√π · e^(−x²)
        let gauss = try add(.unary(.exp), [try add(.unary(.neg), [try add(.unary(.square), [x[0]], base + "/x2")], base + "/mx2")], base + "/gauss")
        out[0] = try add(.mul, [g, try add(.mul, [gauss, constant(1.1283791670955126, name: base + "/two_over_sqrt_pi")], base + "/d")], base)
      case .mish:  // mish'(x) = t + x·(1 − t²)·σ(x) with t = tanh(softplus x)
        let t = try add(.unary(.tanh), [try add(.unary(.softplus), [x[0]], base + "/softplus")], base + "/t")
        let dt = try add(.sub, [constant(1, name: base + "/one"), try add(.unary(.square), [t], base + "/t2")], base + "/1mt2")
        let chain = try add(.mul, [try add(.mul, [x[0], dt], base + "/x_1mt2"), try add(.unary(.sigmoid), [x[0]], base + "/sigmoid")], base + "/chain")
        out[0] = try add(.mul, [g, try add(.add, [t, chain], base + "/d")], base)
      }

    case .leakyRelu(let alpha):
      // Slope α at x ≤ 0, as Chainer (`gy[x <= 0] *= slope`) and PyTorch: an input exactly 0 (a zero bias on a
      // constant image region) takes the negative side's slope.
      let pos = try add(.binary(.greater), [x[0], constant(0, name: base + "/zero")], base + "/pos")
      out[0] = try add(.select, [pos, g, try add(.mul, [g, constant(alpha, name: base + "/alpha")], base + "/ag")], base)

    case .clip(let lo, let hi):
      let one = constant(1, name: base + "/one")
      let below = try add(.cast(.float32), [try add(.binary(.less), [x[0], constant(lo, name: base + "/lo")], base + "/lt")], base + "/below")
      let above = try add(.cast(.float32), [try add(.binary(.greater), [x[0], constant(hi, name: base + "/hi")], base + "/gt")], base + "/above")
      let inside = try add(.mul, [try add(.sub, [one, below], base + "/nb"), try add(.sub, [one, above], base + "/na")], base + "/inside")
      out[0] = try add(.mul, [g, inside], base)

    case .prelu:
      let neg = try add(.binary(.less), [x[0], constant(0, name: base + "/zero")], base + "/neg")
      if want(0) { out[0] = try add(.select, [neg, try add(.mul, [g, x[1]], base + "/sg"), g], base + "/x") }
      if want(1) {
        let gx = try add(.select, [neg, try add(.mul, [g, x[0]], base + "/gxv"), constant(0, name: base + "/z")], base + "/gxn")
        out[1] = try sumTo(gx, like: x[1], base + "/slope")
      }

    case .select:
      let zero = constant(0, name: base + "/zero")
      if want(1) { out[1] = try sumTo(try add(.select, [x[0], g, zero], base + "/a_full"), like: x[1], base + "/a") }
      if want(2) { out[2] = try sumTo(try add(.select, [x[0], zero, g], base + "/b_full"), like: x[2], base + "/b") }

    case .cast:
      out[0] = g

    case .binary(let f):
      try binaryGradient(f, n, g, want: want, into: &out)

    case .reduce(let f, let axes, let keep):
      let ax = try reductionAxes(axes, rank: rank)
      let kept = try keepDims(g, input: x[0], axes: ax, keep: keep, base + "/g_kept")
      switch f {
      case .sum: out[0] = try add(.broadcastTo, [kept, x[0]], base)
      case .mean: out[0] = try add(.binary(.div), [try add(.broadcastTo, [kept, x[0]], base + "/spread"), try count(x[0], axes: ax, base + "/count")], base)
      case .max, .min:
        let yk = try keepDims(n.outputs[0], input: x[0], axes: ax, keep: keep, base + "/y_kept")
        let hit = try add(.cast(.float32), [try add(.binary(.equal), [x[0], yk], base + "/eq")], base + "/hit")
        out[0] = try add(.mul, [kept, hit], base)
      }

    case .sumTo:
      out[0] = try add(.broadcastTo, [g, x[0]], base)

    case .broadcastTo:
      out[0] = try sumTo(g, like: x[0], base)

    case .softmax(let axis):
      let y = n.outputs[0]
      let s = try add(.reduce(.sum, axes: [axis], keepDims: true), [try add(.mul, [g, y], base + "/gy")], base + "/s")
      out[0] = try add(.mul, [y, try add(.sub, [g, s], base + "/d")], base)

    case .logSoftmax(let axis):
      let s = try add(.reduce(.sum, axes: [axis], keepDims: true), [g], base + "/s")
      out[0] = try add(.sub, [g, try add(.mul, [try add(.unary(.exp), [n.outputs[0]], base + "/p"), s], base + "/ps")], base)

    case .instanceNorm(let eps):
      try groupNormGradient(n, g, groups: shape(x[0])[1].value ?? 1, eps: eps, want: want, into: &out)

    case .groupNorm(let groups, let eps):
      try groupNormGradient(n, g, groups: groups, eps: eps, want: want, into: &out)

    case .pad(let p):
      guard p.mode == .constant, p.pads.allSatisfy({ $0 >= 0 }) else {
        throw missing("pad mode \(p.mode.rawValue) (or negative pads) has no gradient rule yet")
      }
      let s = shape(x[0])
      let ends = try (0..<s.rank).map { i -> Int in
        guard let v = s[i].value else { throw missing("padded axis \(i) must be fixed") }
        return p.pads[i] + v
      }
      out[0] = try add(.slice(SliceAttrs(starts: Array(p.pads[..<s.rank]), ends: ends, axes: Array(0..<s.rank),
                                         steps: Array(repeating: 1, count: s.rank))), [g], base)

    case .maxPool, .averagePool, .resize:
      throw missing("pooling and resize have no gradient rule yet")

    case .globalAveragePool:
      out[0] = try add(.binary(.div), [try add(.broadcastTo, [g, x[0]], base + "/spread"), try count(x[0], axes: spatialAxes, base + "/count")], base)

    case .globalMaxPool:
      let hit = try add(.cast(.float32), [try add(.binary(.equal), [x[0], n.outputs[0]], base + "/eq")], base + "/hit")
      out[0] = try add(.mul, [g, hit], base)

    case .reshape, .flatten, .identity:
      out[0] = try reshape(g, like: x[0], base)

    case .transpose(let perm):
      var inverse = perm
      for (i, p) in perm.enumerated() { inverse[p] = i }
      out[0] = try add(.transpose(perm: inverse), [g], base)

    case .depthToSpace(let b, let mode):
      if mode == .dcr {
        out[0] = try add(.spaceToDepth(blockSize: b), [g], base)
      } else {
        // CRD: y[n, c, h·b + i, w·b + j] = x[n, c·b² + i·b + j, h, w].
        let s = shape(x[0])
        guard let c = s[1].value, let h = s[2].value, let w = s[3].value else { throw missing("CRD needs fixed C, H, W") }
        let split = try add(.reshape(shape: [-1, c / (b * b), h, b, w, b]), [g], base + "/split")
        let moved = try add(.transpose(perm: [0, 1, 3, 5, 2, 4]), [split], base + "/moved")
        out[0] = try add(.reshape(shape: [-1, c, h, w]), [moved], base)
      }

    case .spaceToDepth(let b):
      out[0] = try add(.depthToSpace(blockSize: b, mode: .dcr), [g], base)

    case .concat(let axis):
      let a = axis < 0 ? axis + rank : axis
      var offset = 0
      for (i, v) in x.enumerated() {
        guard let e = shape(v)[a].value else { throw missing("concatenated axis must be fixed") }
        if want(i) {
          out[i] = try add(.slice(SliceAttrs(starts: [offset], ends: [offset + e], axes: [a], steps: [1])), [g], base + "/\(i)")
        }
        offset += e
      }

    case .slice(let sl):
      let s = shape(x[0])
      var pads = [Int](repeating: 0, count: 2 * s.rank)
      for (i, axis) in sl.axes.enumerated() {
        let ax = axis < 0 ? axis + s.rank : axis
        guard sl.steps[i] == 1 else { throw missing("slices with step \(sl.steps[i]) have no gradient rule yet") }
        guard let extent = s[ax].value else { throw missing("sliced axis must be fixed") }
        let r = Array(sliceRange(n: extent, start: sl.starts[i], end: sl.ends[i], step: 1))
        let first = r.first ?? 0
        pads[ax] = first
        pads[ax + s.rank] = extent - first - r.count
      }
      out[0] = try add(.pad(PadAttrs(mode: .constant, pads: pads, value: 0)), [g], base)

    case .constant:
      break
    }
    return out
  }

  /// ∂x of conv2d(x, W) for output gradient `gy`: a transposed convolution whose output padding restores x's extent.
  mutating func convInputGradient(_ c: ConvAttrs, gy: String, w: String, like x: String, _ base: String) throws -> String {
    let xs = shape(x), gs = shape(gy), ws = shape(w)
    var outputPadding = [0, 0]
    for i in 0..<2 {
      guard let n = xs[2 + i].value, let o = gs[2 + i].value, let k = ws[2 + i].value else {
        throw AutodiffError("'\(base)': spatial extents must be fixed")
      }
      let made = (o - 1) * c.strides[i] - c.pads[i] - c.pads[i + 2] + c.dilations[i] * (k - 1) + 1
      outputPadding[i] = n - made
    }
    let t = ConvTransposeAttrs(strides: c.strides, pads: c.pads, dilations: c.dilations, outputPadding: outputPadding, groups: c.groups)
    return try add(.convTranspose2d(t), [gy, w], base)
  }

  func plainConv(_ c: ConvAttrs) -> ConvAttrs {
    ConvAttrs(strides: c.strides, pads: c.pads, dilations: c.dilations, groups: c.groups)
  }

  /// `g` (the result of reducing `input` over `axes`) with the reduced axes restored as extent 1.
  mutating func keepDims(_ g: String, input: String, axes: [Int], keep: Bool, _ base: String) throws -> String {
    if keep { return g }
    let s = shape(input)
    let kept = Shape(s.dims.enumerated().map { axes.contains($0.offset) ? .fixed(1) : $0.element })
    return try add(.reshape(shape: try reshapeTarget(kept, at: base)), [g], base)
  }

  /// The number of elements of `x` over `axes`, as a scalar value (computed at run time when an extent is symbolic).
  mutating func count(_ x: String, axes: [Int], _ base: String) throws -> String {
    let s = shape(x)
    let fixed = axes.compactMap { s[$0].value }
    if fixed.count == axes.count { return constant(Float(fixed.reduce(1, *)), name: base) }
    let ones = try add(.broadcastTo, [constant(1, name: base + "/one"), x], base + "/ones")
    let perRest = try add(.reduce(.sum, axes: axes, keepDims: false), [ones], base + "/sums")
    return try add(.reduce(.mean, axes: [], keepDims: false), [perRest], base)
  }
}
