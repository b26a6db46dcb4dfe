// Kernels+Layout: data movement ops: strided gathers (transpose, slice), depthToSpace (DCR/CRD) and concat.
import MoeIR

/// Output element i (row-major over `shape`) comes from input offset `base + Σ index_d · strides_d`;
/// dimensions of size 1 are dropped and runs that stay contiguous in the input are merged.
struct StridedGather: Equatable {
  var shape: [Int]
  var strides: [Int]
  var base: Int
  var count: Int

  init(shape outShape: [Int], strides inStrides: [Int], base: Int) {
    self.base = base
    count = elementCount(outShape)
    shape = []
    strides = []
    for d in 0..<outShape.count where outShape[d] != 1 {
      if let p = shape.indices.last, strides[p] == inStrides[d] * outShape[d] {
        shape[p] *= outShape[d]
        strides[p] = inStrides[d]
      } else {
        shape.append(outShape[d])
        strides.append(inStrides[d])
      }
    }
    if shape.isEmpty {
      shape = [1]
      strides = [1]
    }
  }

  /// transpose: output dimension d is input dimension perm[d].
  static func transpose(_ x: [Int], perm: [Int]) -> StridedGather {
    let s = contiguousStrides(x)
    return StridedGather(shape: perm.map { x[$0] }, strides: perm.map { s[$0] }, base: 0)
  }

  /// NumPy broadcasting of `x` to `y` (stride 0 along broadcast axes; `x` aligned to the right).
  static func broadcast(_ x: [Int], to y: [Int]) -> StridedGather {
    let s = contiguousStrides(x), lead = y.count - x.count
    let strides = y.indices.map { d in d < lead || x[d - lead] == 1 ? 0 : s[d - lead] }
    return StridedGather(shape: y, strides: strides, base: 0)
  }

  /// ONNX SpaceToDepth (DCR): y[n, (i·b + j)·C + c, h, w] = x[n, c, h·b + i, w·b + j].
  static func spaceToDepth(_ x: [Int], block b: Int) -> StridedGather {
    let s = contiguousStrides(x), (n, c, h, w) = (x[0], x[1], x[2] / b, x[3] / b)
    // Output viewed as (N, b, b, C, H/b, W/b).
    return StridedGather(shape: [n, b, b, c, h, w], strides: [s[0], s[2], s[3], s[1], s[2] * b, s[3] * b], base: 0)
  }

  /// ONNX slice: each listed axis keeps `sliceRange(start, end, step)`.
  static func slice(_ x: [Int], _ a: SliceAttrs) -> StridedGather {
    var shape = x, strides = contiguousStrides(x), base = 0
    for (i, axis) in a.axes.enumerated() {
      let ax = axis < 0 ? axis + x.count : axis
      let r = sliceRange(n: x[ax], start: a.starts[i], end: a.ends[i], step: a.steps[i])
      let picked = Array(r)
      if let first = picked.first { base += first * strides[ax] }
      shape[ax] = picked.count
      strides[ax] *= a.steps[i]
    }
    return StridedGather(shape: shape, strides: strides, base: base)
  }
}

/// Row-major strides of a shape.
func contiguousStrides(_ shape: [Int]) -> [Int] {
  var s = [Int](repeating: 1, count: shape.count)
  var acc = 1
  for d in stride(from: shape.count - 1, through: 0, by: -1) {
    s[d] = acc
    acc *= shape[d]
  }
  return s
}

/// depthToSpace of (batch, channels, height, width) by `block`.
struct DepthToSpaceGeometry: Equatable {
  var batch: Int, channels: Int, height: Int, width: Int
  var block: Int
  var mode: DepthToSpaceMode
}

/// concat: the output is `outer` rows, each the concatenation of one `pieces[k]`-float row of every input.
struct ConcatGeometry: Equatable {
  var outer: Int
  var pieces: [Int]

  init(inputs: [[Int]], axis: Int) {
    let a = axis < 0 ? axis + inputs[0].count : axis
    outer = elementCount(Array(inputs[0][..<a]))
    pieces = inputs.map { elementCount(Array($0[a...])) }
  }
}

extension Kernels {
  static func gather(_ g: StridedGather, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
    if g.count == 0 { return }
    let r = g.shape.count, inner = g.shape[r - 1], s = g.strides[r - 1]
    var idx = [Int](repeating: 0, count: r)
    var offset = g.base
    var yp = y
    for _ in 0..<(g.count / inner) {
      let xp = x + offset
      if s == 1 {
        yp.update(from: xp, count: inner)
      } else {
        for i in 0..<inner { yp[i] = xp[i * s] }
      }
      yp += inner
      var d = r - 2
      while d >= 0 {
        idx[d] += 1
        offset += g.strides[d]
        if idx[d] < g.shape[d] { break }
        offset -= g.strides[d] * g.shape[d]
        idx[d] = 0
        d -= 1
      }
    }
  }

  /// ONNX DepthToSpace. DCR: channel (i·b + j)·C′ + c goes to y[c, h·b + i, w·b + j];
  /// CRD: channel c·b² + i·b + j does (C′ = channels / b²).
  static func depthToSpace(_ g: DepthToSpaceGeometry, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
    let b = g.block, cOut = g.channels / (b * b), outW = g.width * b, outH = g.height * b
    for n in 0..<g.batch {
      for c in 0..<cOut {
        for h in 0..<g.height {
          for i in 0..<b {
            let row = y + ((n * cOut + c) * outH + h * b + i) * outW
            for j in 0..<b {
              let ch = g.mode == .dcr ? (i * b + j) * cOut + c : (c * b + i) * b + j
              let src = x + ((n * g.channels + ch) * g.height + h) * g.width
              for w in 0..<g.width { row[w * b + j] = src[w] }
            }
          }
        }
      }
    }
  }

  /// Copies the pieces into place; with one row (`outer` 1), a piece already at its place in `y` (made there by its
  /// producer, see `ExecutionPlan`) is skipped, and large pieces are copied by the workers.
  static func concat(_ g: ConcatGeometry, inputs: [UnsafePointer<Float>], y: UnsafeMutablePointer<Float>, workers: Int = 1) {
    if g.outer == 1 {
      var offsets: [Int] = [], copies: [Int] = [], at = 0
      for (k, piece) in g.pieces.enumerated() {
        if inputs[k] != UnsafePointer(y + at) && piece > 0 { copies.append(k); offsets.append(at) }
        at += piece
      }
      // Chunks of at least 64 Ki floats, so small copies stay on the calling thread.
      let chunk = 1 << 16
      let parts = copies.indices.map { (g.pieces[copies[$0]] + chunk - 1) / chunk }
      let total = parts.reduce(0, +)
      Parallel.forEach(total, workers: total > 1 ? workers : 1) { item, _ in
        var i = item, c = 0
        while i >= parts[c] { i -= parts[c]; c += 1 }
        let k = copies[c], lo = i * chunk, n = min(chunk, g.pieces[k] - lo)
        (y + offsets[c] + lo).update(from: inputs[k] + lo, count: n)
      }
      return
    }
    var yp = y
    for o in 0..<g.outer {
      for (k, piece) in g.pieces.enumerated() {
        yp.update(from: inputs[k] + o * piece, count: piece)
        yp += piece
      }
    }
  }
}
