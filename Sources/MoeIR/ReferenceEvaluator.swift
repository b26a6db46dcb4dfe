// ReferenceEvaluator: plain-loop evaluation of the layout and elementwise ops constant folding meets (no runtime).

/// Evaluates one op on concrete tensors with straightforward loops, for the ops constant folding meets: `constant`,
/// `identity`, `reshape`, `flatten`, `transpose`, `concat`, `slice`, `add`, `sub`, `mul` (NumPy broadcasting),
/// `relu` and `leaky_relu`. Each result is exactly what the native runtime computes (copies, or one IEEE operation
/// per element). Other ops return nil: the caller leaves them as they are or evaluates them some other way.
public enum ReferenceEvaluator {
  /// The op's single output, or nil when the op is not one this evaluator knows. Throws `ShapeError` on bad shapes.
  public static func evaluate(_ op: Op, _ inputs: [Tensor]) throws -> Tensor? {
    func outputShape() throws -> [Int] {
      guard let s = try op.inferShapes(inputs.map { Shape($0.shape) }).first?.fixed else {
        throw ShapeError(.shape, "\(op.name) of constants has a symbolic output shape")
      }
      return s
    }
    switch op {
    case .constant(let t): return t
    case .identity: return inputs[0]
    case .reshape, .flatten: return Tensor(shape: try outputShape(), data: inputs[0].data)
    case .transpose(let perm): return transpose(inputs[0], perm: perm, shape: try outputShape())
    case .concat(let axis): return concat(inputs, axis: axis, shape: try outputShape())
    case .slice(let attrs): return slice(inputs[0], attrs, shape: try outputShape())
    case .add: return broadcast(inputs[0], inputs[1], shape: try outputShape(), +)
    case .sub: return broadcast(inputs[0], inputs[1], shape: try outputShape(), -)
    case .mul: return broadcast(inputs[0], inputs[1], shape: try outputShape(), *)
    case .relu: return Tensor(shape: inputs[0].shape, data: inputs[0].data.map { Swift.max($0, 0) })
    case .leakyRelu(let alpha): return Tensor(shape: inputs[0].shape, data: inputs[0].data.map { $0 >= 0 ? $0 : alpha * $0 })
    default: return nil
    }
  }

  /// Row-major strides of `shape`.
  static func strides(_ shape: [Int]) -> [Int] {
    var s = [Int](repeating: 1, count: shape.count)
    for i in stride(from: shape.count - 2, through: 0, by: -1) { s[i] = s[i + 1] * shape[i + 1] }
    return s
  }

  /// Calls `body` with the flat index of every element of `shape` under `strides`, in row-major order.
  static func forEachIndex(_ shape: [Int], _ strides: [Int], _ body: (Int) -> Void) {
    let n = elementCount(shape)
    guard n > 0 else { return }
    var index = [Int](repeating: 0, count: shape.count)
    var flat = 0
    for _ in 0..<n {
      body(flat)
      var d = shape.count - 1
      while d >= 0 {
        index[d] += 1
        flat += strides[d]
        if index[d] < shape[d] { break }
        flat -= strides[d] * shape[d]
        index[d] = 0
        d -= 1
      }
    }
  }

  static func transpose(_ x: Tensor, perm: [Int], shape: [Int]) -> Tensor {
    let inStrides = strides(x.shape)
    var out: [Float] = []
    out.reserveCapacity(x.count)
    forEachIndex(shape, perm.map { inStrides[$0] }) { out.append(x.data[$0]) }
    return Tensor(shape: shape, data: out)
  }

  static func concat(_ xs: [Tensor], axis: Int, shape: [Int]) -> Tensor {
    let a = axis < 0 ? axis + shape.count : axis
    let outer = elementCount(Array(shape[..<a])), inner = elementCount(Array(shape[(a + 1)...]))
    var out: [Float] = []
    out.reserveCapacity(elementCount(shape))
    for o in 0..<outer {
      for x in xs {
        let chunk = x.shape[a] * inner
        out += x.data[(o * chunk)..<((o + 1) * chunk)]
      }
    }
    return Tensor(shape: shape, data: out)
  }

  static func slice(_ x: Tensor, _ attrs: SliceAttrs, shape: [Int]) -> Tensor {
    var selected = x.shape.map { Array(0..<$0) }
    for (i, axis) in attrs.axes.enumerated() {
      let a = axis < 0 ? axis + x.shape.count : axis
      selected[a] = Array(sliceRange(n: x.shape[a], start: attrs.starts[i], end: attrs.ends[i], step: attrs.steps[i]))
    }
    let inStrides = strides(x.shape)
    var out: [Float] = []
    out.reserveCapacity(elementCount(shape))
    forEachIndex(shape, strides(shape)) { flat in
      var rest = flat, source = 0
      for d in stride(from: shape.count - 1, through: 0, by: -1) {
        source += selected[d][rest % shape[d]] * inStrides[d]
        rest /= shape[d]
      }
      out.append(x.data[source])
    }
    return Tensor(shape: shape, data: out)
  }

  /// NumPy broadcasting: shapes aligned at the right, extent-1 axes repeated.
  static func broadcast(_ a: Tensor, _ b: Tensor, shape: [Int], _ f: (Float, Float) -> Float) -> Tensor {
    func broadcastStrides(_ t: Tensor) -> [Int] {
      let s = strides(t.shape), pad = shape.count - t.shape.count
      return shape.indices.map { d in d < pad || t.shape[d - pad] == 1 ? 0 : s[d - pad] }
    }
    var left: [Int] = [], right: [Int] = []
    forEachIndex(shape, broadcastStrides(a)) { left.append($0) }
    forEachIndex(shape, broadcastStrides(b)) { right.append($0) }
    return Tensor(shape: shape, data: zip(left, right).map { f(a.data[$0], b.data[$1]) })
  }
}
