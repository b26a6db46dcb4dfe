// Op+Shape+Spatial: shape functions of reductions, softmax, normalizations, padding, pooling, resize, space-to-depth.

/// Normalizes an axis against `rank` (negative counts from the end).
func normalizedAxis(_ axis: Int, rank: Int) throws -> Int {
  let a = axis < 0 ? axis + rank : axis
  guard a >= 0 && a < rank else { throw ShapeError(.attribute, "axis \(axis) out of range for rank \(rank)") }
  return a
}

/// The sorted, normalized axes of a reduction (all axes when `axes` is empty); rejects repeats.
public func reductionAxes(_ axes: [Int], rank: Int) throws -> [Int] {
  if axes.isEmpty { return Array(0..<rank) }
  let n = try axes.map { try normalizedAxis($0, rank: rank) }
  guard Set(n).count == n.count else { throw ShapeError(.attribute, "axes \(axes) repeat an axis") }
  return n.sorted()
}

/// Output extent of a pooling window along one axis (ONNX rules, including `ceil_mode`).
public func pooledExtent(input n: Int, kernel k: Int, stride s: Int, padBegin pb: Int, padEnd pe: Int, dilation d: Int,
                         ceilMode: Bool) -> Int {
  let span = d * (k - 1) + 1
  let room = n + pb + pe - span
  if room < 0 { return 0 }
  var out = (ceilMode ? (room + s - 1) / s : room / s) + 1
  // With ceil_mode the last window must start inside the input or the left padding.
  if ceilMode && (out - 1) * s >= n + pb { out -= 1 }
  return out
}

extension Op {
  func inferSpatialShapes(_ s: [Shape]) throws -> [Shape] {
    let x = s[0]
    switch self {
    case .reduce(_, let axes, let keep):
      let ax = try reductionAxes(axes, rank: x.rank)
      var dims: [Dim] = []
      for (i, d) in x.dims.enumerated() {
        if ax.contains(i) { if keep { dims.append(.fixed(1)) } } else { dims.append(d) }
      }
      return [Shape(dims)]

    case .softmax(let axis), .logSoftmax(let axis):
      _ = try normalizedAxis(axis, rank: x.rank)
      return [x]

    case .instanceNorm(let eps), .groupNorm(_, let eps):
      guard x.rank >= 3 else { throw ShapeError(.shape, "input must have rank ≥ 3 (N, C, spatial…), got \(x)") }
      guard eps >= 0 else { throw ShapeError(.attribute, "eps must be ≥ 0, got \(eps)") }
      let c = try fixedDim(x[1], "channels")
      if case .groupNorm(let g, _) = self {
        guard g >= 1, c % g == 0 else { throw ShapeError(.attribute, "groups \(g) must divide the \(c) channels") }
      }
      for (i, p) in s.dropFirst().enumerated() where p != Shape([c]) {
        throw ShapeError(.shape, "\(["scale", "bias"][i]) is \(p), expected [\(c)]")
      }
      return [x]

    case .pad(let a):
      guard a.pads.count == 2 * x.rank else {
        throw ShapeError(.attribute, "pads must have \(2 * x.rank) entries (begin of each axis, then end), got \(a.pads.count)")
      }
      var dims = x.dims
      for i in 0..<x.rank where a.pads[i] != 0 || a.pads[i + x.rank] != 0 {
        let n = try fixedDim(x[i], "padded dimension")
        let (b, e) = (a.pads[i], a.pads[i + x.rank])
        if a.mode != .constant && (b < 0 || e < 0) { throw ShapeError(.attribute, "\(a.mode.rawValue) padding cannot be negative") }
        if a.mode == .reflect && (b >= n || e >= n) {
          throw ShapeError(.attribute, "reflect padding \(b),\(e) needs an extent larger than both, axis \(i) has \(n)")
        }
        if a.mode == .edge && n == 0 { throw ShapeError(.shape, "edge padding of an empty axis") }
        let out = n + b + e
        guard out >= 0 else { throw ShapeError(.attribute, "negative pads \(b),\(e) remove more than the \(n) elements of axis \(i)") }
        dims[i] = .fixed(out)
      }
      return [Shape(dims)]

    case .maxPool(let p), .averagePool(let p):
      try rank(x, 4, "input")
      guard p.kernel.count == 2, p.kernel.allSatisfy({ $0 >= 1 }) else { throw ShapeError(.attribute, "kernel must be 2 values ≥ 1, got \(p.kernel)") }
      guard p.strides.count == 2, p.strides.allSatisfy({ $0 >= 1 }) else { throw ShapeError(.attribute, "strides must be 2 values ≥ 1, got \(p.strides)") }
      guard p.pads.count == 4, p.pads.allSatisfy({ $0 >= 0 }) else { throw ShapeError(.attribute, "pads must be 4 values ≥ 0, got \(p.pads)") }
      guard p.dilations.count == 2, p.dilations.allSatisfy({ $0 >= 1 }) else { throw ShapeError(.attribute, "dilations must be 2 values ≥ 1, got \(p.dilations)") }
      for i in 0..<2 where p.pads[i] >= p.dilations[i] * (p.kernel[i] - 1) + 1 || p.pads[i + 2] >= p.dilations[i] * (p.kernel[i] - 1) + 1 {
        throw ShapeError(.attribute, "pads \(p.pads) must be smaller than the window \(p.kernel)")
      }
      var dims: [Dim] = [x[0], x[1]]
      for i in 0..<2 {
        let n = try fixedDim(x[2 + i], "spatial dimension")
        let e = pooledExtent(input: n, kernel: p.kernel[i], stride: p.strides[i], padBegin: p.pads[i], padEnd: p.pads[i + 2],
                             dilation: p.dilations[i], ceilMode: p.ceilMode)
        guard e >= 1 else { throw ShapeError(.shape, "window \(p.kernel) larger than the padded input \(x)") }
        dims.append(.fixed(e))
      }
      return [Shape(dims)]

    case .globalAveragePool, .globalMaxPool:
      guard x.rank >= 3 else { throw ShapeError(.shape, "input must have rank ≥ 3, got \(x)") }
      return [Shape([x[0], x[1]] + Array(repeating: Dim.fixed(1), count: x.rank - 2))]

    case .resize(let r):
      try rank(x, 4, "input")
      guard r.scales.count == 2, r.scales.allSatisfy({ $0 > 0 && $0.isFinite }) else {
        throw ShapeError(.attribute, "scales must be 2 positive values (height, width), got \(r.scales)")
      }
      var dims: [Dim] = [x[0], x[1]]
      for i in 0..<2 {
        let n = try fixedDim(x[2 + i], "spatial dimension")
        let out = Int((Double(n) * Double(r.scales[i])).rounded(.down))
        guard out >= 1 else { throw ShapeError(.shape, "scale \(r.scales[i]) leaves no output along axis \(2 + i) of \(x)") }
        dims.append(.fixed(out))
      }
      return [Shape(dims)]

    case .spaceToDepth(let b):
      try rank(x, 4, "input")
      guard b >= 1 else { throw ShapeError(.attribute, "block size must be ≥ 1, got \(b)") }
      let c = try fixedDim(x[1], "channels"), h = try fixedDim(x[2], "height"), w = try fixedDim(x[3], "width")
      guard h % b == 0, w % b == 0 else { throw ShapeError(.shape, "height \(h) and width \(w) must be multiples of block \(b)") }
      return [Shape([x[0], .fixed(c * b * b), .fixed(h / b), .fixed(w / b)])]

    default:
      throw ShapeError(.attribute, "internal: \(name) has no spatial shape rule")
    }
  }
}
