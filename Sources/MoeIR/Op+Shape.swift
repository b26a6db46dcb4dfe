// Op.inferShapes: pure shape functions, one per op, over possibly symbolic shapes.

/// A shape-function failure; `Graph.verify` turns it into an `IRError` naming the node.
public struct ShapeError: Error, CustomStringConvertible, Sendable {
  public enum Kind: Sendable { case shape, attribute }
  public var kind: Kind
  public var message: String
  public init(_ kind: Kind = .shape, _ message: String) {
    self.kind = kind
    self.message = message
  }
  public var description: String { message }
}

func fixedDim(_ d: Dim, _ what: String) throws -> Int {
  guard let v = d.value else { throw ShapeError(.shape, "\(what) must be a fixed dimension, got \(d)") }
  return v
}

func rank(_ s: Shape, _ r: Int, _ what: String) throws {
  if s.rank != r { throw ShapeError(.shape, "\(what) must have rank \(r), got \(s)") }
}

/// A dimension from a product of fixed extents and symbols.
private func dimFromProduct(_ c: Int, _ syms: [String]) throws -> Dim {
  if syms.isEmpty { return .fixed(c) }
  if syms.count == 1 && c == 1 { return .symbol(syms[0]) }
  throw ShapeError(.shape, "cannot express \(c)·\(syms.joined(separator: "·")) as one dimension")
}

/// NumPy broadcasting of two shapes.
public func broadcastShapes(_ a: Shape, _ b: Shape) throws -> Shape {
  let r = max(a.rank, b.rank)
  var out: [Dim] = []
  for i in 0..<r {
    let da: Dim = i < r - a.rank ? .fixed(1) : a.dims[i - (r - a.rank)]
    let db: Dim = i < r - b.rank ? .fixed(1) : b.dims[i - (r - b.rank)]
    if da == db { out.append(da) } else if da == .fixed(1) { out.append(db) } else if db == .fixed(1) { out.append(da) } else {
      throw ShapeError(.shape, "cannot broadcast \(a) with \(b)")
    }
  }
  return Shape(out)
}

extension Op {
  /// Output shapes for the given input shapes; throws `ShapeError` on mismatch or bad attributes.
  /// A residual input of an epilogue must have exactly the output's shape.
  public func inferShapes(_ s: [Shape]) throws -> [Shape] {
    let r = epilogue.residualInputs
    let core = try inferCoreShapes(Array(s.dropLast(r)))
    if r == 1, s.last! != core[0] {
      throw ShapeError(.shape, "residual input is \(s.last!), expected the output shape \(core[0])")
    }
    return core
  }

  func inferCoreShapes(_ s: [Shape]) throws -> [Shape] {
    switch self {
    case .linear:
      let x = s[0], w = s[1]
      guard x.rank >= 2 else { throw ShapeError(.shape, "input must have rank ≥ 2, got \(x)") }
      try rank(w, 2, "W")
      let inFeatures = try Shape(Array(x.dims.dropFirst())).dims.reduce(1) { try $0 * fixedDim($1, "input feature dimension") }
      let out = try fixedDim(w[0], "W rows"), wIn = try fixedDim(w[1], "W columns")
      if wIn != inFeatures { throw ShapeError(.shape, "W is \(w) but the input has \(inFeatures) features (\(x))") }
      if s.count == 3 && s[2] != Shape([out]) { throw ShapeError(.shape, "bias is \(s[2]), expected [\(out)]") }
      return [Shape([x[0], .fixed(out)])]

    case .gemm(let a):
      try rank(s[0], 2, "A")
      try rank(s[1], 2, "B")
      let m = a.transA ? s[0][1] : s[0][0], ka = a.transA ? s[0][0] : s[0][1]
      let kb = a.transB ? s[1][1] : s[1][0], n = a.transB ? s[1][0] : s[1][1]
      if ka != kb { throw ShapeError(.shape, "inner dimensions differ: A \(s[0]) B \(s[1]) (transA \(a.transA), transB \(a.transB))") }
      let y = Shape([m, n])
      if s.count == 3, try broadcastShapes(y, s[2]) != y { throw ShapeError(.shape, "C \(s[2]) does not broadcast to \(y)") }
      return [y]

    case .matmul:
      let a = s[0], b = s[1]
      guard a.rank >= 2, b.rank >= 2 else { throw ShapeError(.shape, "matmul needs rank ≥ 2 operands, got \(a) and \(b)") }
      if a.dims[a.rank - 1] != b.dims[b.rank - 2] { throw ShapeError(.shape, "inner dimensions differ: \(a) · \(b)") }
      let batch = try broadcastShapes(Shape(Array(a.dims.dropLast(2))), Shape(Array(b.dims.dropLast(2))))
      return [Shape(batch.dims + [a.dims[a.rank - 2], b.dims[b.rank - 1]])]

    case .conv2d(let c):
      try checkConv(c.strides, c.pads, c.dilations, c.groups)
      let x = s[0], w = s[1]
      try rank(x, 4, "input")
      try rank(w, 4, "W")
      let cin = try fixedDim(x[1], "input channels"), o = try fixedDim(w[0], "W out channels")
      let wc = try fixedDim(w[1], "W in channels")
      if wc * c.groups != cin { throw ShapeError(.shape, "W \(w) with groups \(c.groups) expects \(wc * c.groups) input channels, input is \(x)") }
      if o % c.groups != 0 { throw ShapeError(.shape, "out channels \(o) not divisible by groups \(c.groups)") }
      if s.count == 3 && s[2] != Shape([o]) { throw ShapeError(.shape, "bias is \(s[2]), expected [\(o)]") }
      var dims: [Dim] = [x[0], .fixed(o)]
      for i in 0..<2 {
        let n = try fixedDim(x[2 + i], "spatial dimension"), k = try fixedDim(w[2 + i], "kernel")
        let span = c.dilations[i] * (k - 1) + 1
        let padded = n + c.pads[i] + c.pads[i + 2]
        if padded < span { throw ShapeError(.shape, "kernel \(k) (dilation \(c.dilations[i])) larger than padded input \(padded)") }
        dims.append(.fixed((padded - span) / c.strides[i] + 1))
      }
      return [Shape(dims)]

    case .convTranspose2d(let c):
      try checkConv(c.strides, c.pads, c.dilations, c.groups)
      guard c.outputPadding.count == 2 else { throw ShapeError(.attribute, "output_padding must have 2 entries") }
      let x = s[0], w = s[1]
      try rank(x, 4, "input")
      try rank(w, 4, "W")
      let cin = try fixedDim(x[1], "input channels"), wc = try fixedDim(w[0], "W in channels")
      if wc != cin { throw ShapeError(.shape, "W \(w) expects \(wc) input channels, input is \(x)") }
      let o = try fixedDim(w[1], "W out channels") * c.groups
      if s.count == 3 && s[2] != Shape([o]) { throw ShapeError(.shape, "bias is \(s[2]), expected [\(o)]") }
      var dims: [Dim] = [x[0], .fixed(o)]
      for i in 0..<2 {
        let n = try fixedDim(x[2 + i], "spatial dimension"), k = try fixedDim(w[2 + i], "kernel")
        let e = (n - 1) * c.strides[i] - c.pads[i] - c.pads[i + 2] + c.dilations[i] * (k - 1) + 1 + c.outputPadding[i]
        if e <= 0 { throw ShapeError(.shape, "output extent \(e) ≤ 0") }
        dims.append(.fixed(e))
      }
      return [Shape(dims)]

    case .conv2dFilterGrad(let c):
      let forward = try Op.conv2d(ConvAttrs(strides: c.strides, pads: c.pads, dilations: c.dilations, groups: c.groups))
        .inferCoreShapes([s[0], s[2]])
      if forward[0] != s[1] { throw ShapeError(.shape, "output gradient is \(s[1]), but conv2d of \(s[0]) with \(s[2]) gives \(forward[0])") }
      return [s[2]]

    case .batchNorm:
      let x = s[0]
      guard x.rank >= 2 else { throw ShapeError(.shape, "input must have rank ≥ 2, got \(x)") }
      let c = try fixedDim(x[1], "channels")
      for (i, p) in s.dropFirst().enumerated() where p != Shape([c]) {
        throw ShapeError(.shape, "\(["gamma", "beta", "mean", "var"][i]) is \(p), expected [\(c)]")
      }
      return [x]

    case .binary:
      return [try broadcastShapes(s[0], s[1])]

    case .select:
      return [try broadcastShapes(try broadcastShapes(s[0], s[1]), s[2])]

    case .unary, .identity, .leakyRelu, .cast, .clip:
      if case .clip(let lo, let hi) = self, !(lo <= hi) { throw ShapeError(.attribute, "min \(lo) > max \(hi)") }
      return [s[0]]

    case .prelu:
      if try broadcastShapes(s[0], s[1]) != s[0] { throw ShapeError(.shape, "slope \(s[1]) does not broadcast to \(s[0])") }
      return [s[0]]

    case .sumTo:
      if try broadcastShapes(s[0], s[1]) != s[0] { throw ShapeError(.shape, "\(s[1]) does not broadcast to \(s[0]), so \(s[0]) cannot be summed to it") }
      return [s[1]]

    case .broadcastTo:
      if try broadcastShapes(s[0], s[1]) != s[1] { throw ShapeError(.shape, "\(s[0]) does not broadcast to \(s[1])") }
      return [s[1]]

    case .batchNormTraining:
      let x = s[0]
      guard x.rank >= 2 else { throw ShapeError(.shape, "input must have rank ≥ 2, got \(x)") }
      let c = try fixedDim(x[1], "channels")
      for (i, p) in s.dropFirst().enumerated() where p != Shape([c]) {
        throw ShapeError(.shape, "\(["gamma", "beta"][i]) is \(p), expected [\(c)]")
      }
      return [x, Shape([c]), Shape([c])]

    case .reduce, .softmax, .logSoftmax, .instanceNorm, .groupNorm, .pad, .maxPool, .averagePool, .globalAveragePool,
      .globalMaxPool, .resize, .spaceToDepth:
      return try inferSpatialShapes(s)

    case .reshape(let target):
      return [try reshapeShape(s[0], target)]

    case .flatten(let axis):
      let x = s[0]
      let a = axis < 0 ? axis + x.rank : axis
      guard a >= 0 && a <= x.rank else { throw ShapeError(.attribute, "axis \(axis) out of range for \(x)") }
      let l = Shape(Array(x.dims[..<a])).product, r = Shape(Array(x.dims[a...])).product
      return [Shape([try dimFromProduct(l.constant, l.symbols), try dimFromProduct(r.constant, r.symbols)])]

    case .transpose(let perm):
      let x = s[0]
      if perm.sorted() != Array(0..<x.rank) { throw ShapeError(.attribute, "perm \(perm) is not a permutation of 0..<\(x.rank)") }
      return [Shape(perm.map { x.dims[$0] })]

    case .depthToSpace(let b, _):
      let x = s[0]
      try rank(x, 4, "input")
      guard b >= 1 else { throw ShapeError(.attribute, "block size must be ≥ 1, got \(b)") }
      let c = try fixedDim(x[1], "channels"), h = try fixedDim(x[2], "height"), w = try fixedDim(x[3], "width")
      if c % (b * b) != 0 { throw ShapeError(.shape, "channels \(c) not divisible by block² = \(b * b)") }
      return [Shape([x[0], .fixed(c / (b * b)), .fixed(h * b), .fixed(w * b)])]

    case .concat(let axis):
      let r = s[0].rank
      let a = axis < 0 ? axis + r : axis
      guard a >= 0 && a < r else { throw ShapeError(.attribute, "axis \(axis) out of range for rank \(r)") }
      var total = 0
      for (i, x) in s.enumerated() {
        if x.rank != r { throw ShapeError(.shape, "input \(i) has rank \(x.rank), expected \(r)") }
        for d in 0..<r where d != a && x[d] != s[0][d] {
          throw ShapeError(.shape, "input \(i) is \(x), differs from \(s[0]) outside axis \(a)")
        }
        total += try fixedDim(x[a], "concatenated dimension")
      }
      var dims = s[0].dims
      dims[a] = .fixed(total)
      return [Shape(dims)]

    case .slice(let sl):
      let x = s[0]
      guard sl.starts.count == sl.ends.count, sl.axes.count == sl.starts.count, sl.steps.count == sl.starts.count else {
        throw ShapeError(.attribute, "starts, ends, axes and steps must have equal lengths")
      }
      var dims = x.dims
      for (i, axis) in sl.axes.enumerated() {
        let a = axis < 0 ? axis + x.rank : axis
        guard a >= 0 && a < x.rank else { throw ShapeError(.attribute, "axis \(axis) out of range for \(x)") }
        guard sl.steps[i] != 0 else { throw ShapeError(.attribute, "step 0 on axis \(axis)") }
        let n = try fixedDim(x[a], "sliced dimension")
        dims[a] = .fixed(sliceRange(n: n, start: sl.starts[i], end: sl.ends[i], step: sl.steps[i]).reduce(0) { c, _ in c + 1 })
      }
      return [Shape(dims)]

    case .constant(let t):
      return [Shape(t.shape)]
    }
  }
}

private func checkConv(_ strides: [Int], _ pads: [Int], _ dilations: [Int], _ groups: Int) throws {
  guard strides.count == 2, strides.allSatisfy({ $0 >= 1 }) else { throw ShapeError(.attribute, "strides must be 2 values ≥ 1, got \(strides)") }
  guard pads.count == 4, pads.allSatisfy({ $0 >= 0 }) else { throw ShapeError(.attribute, "pads must be 4 values ≥ 0, got \(pads)") }
  guard dilations.count == 2, dilations.allSatisfy({ $0 >= 1 }) else { throw ShapeError(.attribute, "dilations must be 2 values ≥ 1, got \(dilations)") }
  guard groups >= 1 else { throw ShapeError(.attribute, "groups must be ≥ 1, got \(groups)") }
}

/// The indices an ONNX-style slice selects on an axis of extent `n`.
public func sliceRange(n: Int, start: Int, end: Int, step: Int) -> StrideTo<Int> {
  func clampIndex(_ v: Int, _ lo: Int, _ hi: Int) -> Int { Swift.min(Swift.max(v, lo), hi) }
  var s = start < 0 ? start + n : start
  var e = end < 0 ? end + n : end
  if step > 0 {
    s = clampIndex(s, 0, n)
    e = clampIndex(e, 0, n)
  } else {
    s = clampIndex(s, 0, n - 1)
    e = clampIndex(e, -1, n - 1)
  }
  return stride(from: s, to: e, by: step)
}

/// ONNX Reshape: 0 copies the input extent at that position, −1 is inferred (symbols allowed).
public func reshapeShape(_ x: Shape, _ target: [Int]) throws -> Shape {
  var dims: [Dim?] = []
  var inferAt: Int? = nil
  for (i, t) in target.enumerated() {
    switch t {
    case 0:
      guard i < x.rank else { throw ShapeError(.attribute, "0 at position \(i) but input \(x) has rank \(x.rank)") }
      dims.append(x[i])
    case -1:
      if inferAt != nil { throw ShapeError(.attribute, "more than one -1 in \(target)") }
      inferAt = i
      dims.append(nil)
    case let v where v > 0: dims.append(.fixed(v))
    default: throw ShapeError(.attribute, "bad extent \(t) in \(target)")
    }
  }
  let total = x.product
  var known = 1
  var knownSyms: [String] = []
  for d in dims {
    switch d {
    case .fixed(let v)?:
      let (p, overflow) = known.multipliedReportingOverflow(by: v)
      if overflow { throw ShapeError(.attribute, "extents \(target) multiply past the largest element count") }
      known = p
    case .symbol(let s)?: knownSyms.append(s)
    case nil: break
    }
  }
  var remaining = total.symbols
  for s in knownSyms {
    guard let idx = remaining.firstIndex(of: s) else { throw ShapeError(.shape, "cannot reshape \(x) to \(target)") }
    remaining.remove(at: idx)
  }
  if let at = inferAt {
    guard known > 0, total.constant % known == 0 else { throw ShapeError(.shape, "cannot reshape \(x) (\(total.constant) elements) to \(target)") }
    dims[at] = try dimFromProduct(total.constant / known, remaining)
  } else if known != total.constant || !remaining.isEmpty {
    throw ShapeError(.shape, "cannot reshape \(x) to \(target): element counts differ")
  }
  return Shape(dims.map { $0! })
}
