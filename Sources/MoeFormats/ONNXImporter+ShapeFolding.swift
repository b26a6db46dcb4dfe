// ONNXImporter+ShapeFolding: int64 shape arithmetic (Shape, Gather, Concat, Unsqueeze, Div, Expand, …, If on a known
// condition) evaluated at import time, symbolic dimensions carried as c·symbol + d, so PyTorch's view/flatten and
// dynamic-axis subgraphs fold into static Reshape targets.
import CONNX
import MoeIR

extension ONNXImporter {
  /// Op types added with shape folding: ConstantOfShape, Range and If exist only as shape arithmetic (folded;
  /// refused on float data or an unknown condition); Gather folds on shape values, else slices (+Gather.swift); Size of a tensor is its element count (at most
  /// one symbolic dimension); Split (+Split.swift) also slices tensors.
  static let shapeOps: Set<String> = ["Gather", "ConstantOfShape", "Range", "If", "Size", "Split"]
}

extension ONNXImporter.Reader {
  typealias SymInt = ONNXImporter.SymInt
  typealias SymTensor = ONNXImporter.SymTensor

  /// The value `x` as an int64 tensor known at import time (constants, shape values), or nil.
  func symValue(_ x: String) -> SymTensor? {
    if let s = symbolic[x] { return s }
    if let v = ints[x] { return SymTensor(shape: intShapes[x] ?? [v.count], values: v.map(SymInt.const)) }
    if let like = shapeSources[x], let s = shapes[like] { return SymTensor(shape: [s.rank], values: s.dims.map(SymInt.dim)) }
    return nil
  }

  mutating func setSymValue(_ x: String, _ t: SymTensor) {
    if let c = t.constants {
      ints[x] = c
      intShapes[x] = t.shape
    } else {
      symbolic[x] = t
    }
  }

  /// Folds `n` when it is shape arithmetic on values known at import time; true when it did.
  mutating func foldShapeArithmetic(_ n: ONNXImporter.ONode) throws -> Bool {
    let foldable: Set<String> = [
      "Gather", "ConstantOfShape", "Range", "Concat", "Unsqueeze", "Squeeze", "Slice", "Cast", "Identity", "Reshape",
      "Transpose", "Add", "Sub", "Mul", "Div", "Mod", "Equal", "Less", "Greater", "Max", "Min", "And", "Or", "Not",
      "Neg", "Abs", "Where", "Shape", "If", "Size", "Expand",
    ]
    guard foldable.contains(n.opType) else { return false }
    if n.opType == "Shape" { return try foldShape(n) }
    if n.opType == "If" { try inlineIf(n); return true }
    let data = n.inputs.filter { !$0.isEmpty }
    if n.opType == "ConstantOfShape" { try constantOfShape(n); return true }
    if n.opType == "Size", symValue(n.inputs[0]) == nil {
      guard let s = shapes[n.inputs[0]] else { throw err(n, "input has no known shape") }
      let fixed = s.dims.compactMap(\.value).reduce(1, *), symbols = s.dims.filter { $0.value == nil }
      guard symbols.count <= 1 else { throw refuse(n, "the size of \(s) is a product of symbolic dimensions") }
      let count = symbols.first.map { SymInt(symbol: "\($0)", coef: fixed, offset: 0) } ?? .const(fixed)
      setSymValue(n.outputs[0], SymTensor(shape: [], values: [count]))
      return true
    }
    if n.opType == "Gather", symValue(n.inputs[0]) == nil, shapes[n.inputs[0]] != nil { try gatherTensor(n); return true }
    guard !data.isEmpty, data.allSatisfy({ symValue($0) != nil }) else {
      if n.opType == "Range" {
        throw refuse(n, "only shape arithmetic on int64 values known at import time is supported (data '\(data.first { symValue($0) == nil } ?? "")' is a tensor)")
      }
      return false
    }
    guard let out = try evaluate(n, data.map { symValue($0)! }) else { return false }
    guard out.count <= 1 << 20 else { throw refuse(n, "folded shape value of \(out.count) elements is too large") }
    setSymValue(n.outputs[0], out)
    return true
  }

  /// Shape: fixed → int64 constants; of a symbolic shape → its dimensions as symbols (and "the shape of x").
  mutating func foldShape(_ n: ONNXImporter.ONode) throws -> Bool {
    guard let s = shapes[n.inputs[0]] else { return false }
    let r = s.rank
    func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + r : v, 0), r) }
    let start = clamp(int(n, "start", 0)), end = clamp(int(n, "end", r))
    let dims = Array(s.dims[start..<max(start, end)])
    if start == 0 && end == r && dims.contains(where: { $0.value == nil }) { shapeSources[n.outputs[0]] = n.inputs[0] }
    setSymValue(n.outputs[0], SymTensor(shape: [dims.count], values: dims.map(SymInt.dim)))
    return true
  }

  /// ConstantOfShape of a constant shape: a float weight (the `value` tensor's type, float32 default) or int64 constants.
  mutating func constantOfShape(_ n: ONNXImporter.ONode) throws {
    guard let s = symValue(n.inputs[0]) else { throw refuse(n, "shape input '\(n.inputs[0])' must be known at import time") }
    guard let dims = s.constants else {
      throw refuse(n, "shape \(s.values) has a symbolic dimension; a tensor of symbolic shape cannot be a constant")
    }
    var count = 1
    for d in dims {
      guard d >= 0, case let (c, o) = count.multipliedReportingOverflow(by: d), !o, c <= 1 << 26 else {
        throw err(n, "shape \(dims) is invalid or too large")
      }
      count = c
    }
    var value: ONNXImporter.Value = .float(Tensor(shape: [1], data: [0]))
    if let a = n.attrs["value"], let t = a.pointee.t { value = try ONNXImporter.tensor(t.pointee, what: "ConstantOfShape '\(n.name)' value", base: baseDirectory) }
    switch value {
    case .float(let t):
      guard t.data.count == 1 else { throw err(n, "value must have one element") }
      addWeight(n.outputs[0], Tensor(shape: dims, data: [Float](repeating: t.data[0], count: count)))
    case .int64(let v, _):
      guard v.count == 1 else { throw err(n, "value must have one element") }
      setSymValue(n.outputs[0], SymTensor(shape: dims, values: [SymInt](repeating: .const(v[0]), count: count)))
    }
  }

  /// The folded result of `n` on known int64 inputs; nil when `n` is left to the regular import.
  func evaluate(_ n: ONNXImporter.ONode, _ xs: [SymTensor]) throws -> SymTensor? {
    let x = xs[0], r = x.shape.count
    func axis(_ a: Int, _ rank: Int) throws -> Int {
      let v = a < 0 ? a + rank : a
      guard v >= 0, v < rank else { throw err(n, "axis \(a) out of range for rank \(rank)") }
      return v
    }
    func unfoldable(_ what: String) -> MoeFormatError {
      refuse(n, "shape arithmetic \(what) on symbolic dimensions is not imported (inputs \(xs.map { "\($0.values)" }.joined(separator: ", ")))")
    }
    switch n.opType {
    case "Identity": return x
    case "Cast":
      let to = int(n, "to", 0)
      if to == 9 {
        guard let b = SymTensor.broadcast([x], { a in a[0].constant.map { SymInt.const($0 != 0 ? 1 : 0) } }) else {
          throw unfoldable("Cast to bool")
        }
        return b
      }
      // A float cast of constants stays a weight-like value (floatInputs converts it); of a symbol it cannot be folded.
      if [1, 10, 11].contains(to) { if x.constants != nil { return nil } else { throw unfoldable("Cast to float") } }
      return x
    case "Neg", "Abs", "Not":
      let f: (SymInt) -> SymInt? = { a in
        switch n.opType {
        case "Neg": return SymInt.apply("Mul", a, .const(-1))
        case "Abs":
          if let c = a.constant { return SymInt.const(Swift.abs(c)) }
          return a.dim != nil ? a : nil
        default: return a.constant.map { SymInt.const($0 == 0 ? 1 : 0) }
        }
      }
      guard let out = SymTensor.broadcast([x], { f($0[0]) }) else { throw unfoldable(n.opType) }
      return out
    case "Add", "Sub", "Mul", "Div", "Mod", "Equal", "Less", "Greater", "Max", "Min", "And", "Or":
      guard xs.count >= 2 else { return nil }
      var acc = x
      for y in xs.dropFirst() {
        guard let v = SymTensor.broadcast([acc, y], { SymInt.apply(n.opType, $0[0], $0[1]) }) else { throw unfoldable(n.opType) }
        acc = v
      }
      return acc
    case "Expand":
      // torch.export's `expand` of a shape value (optimize=False): a constant target shape, broadcast as numpy does.
      guard xs.count == 2, let target = xs[1].constants else { throw unfoldable("Expand to a symbolic shape") }
      var count = 1
      for d in target {
        guard d >= 0, case let (c, o) = count.multipliedReportingOverflow(by: d), !o, c <= 1 << 20 else {
          throw err(n, "Expand target \(target) is invalid or too large")
        }
        count = c
      }
      let zeros = SymTensor(shape: target, values: [SymInt](repeating: .const(0), count: count))
      guard let out = SymTensor.broadcast([x, zeros], { $0[0] }) else { throw err(n, "cannot broadcast \(x.shape) to \(target)") }
      return out
    case "Where":
      guard xs.count == 3 else { throw err(n, "expects 3 inputs") }
      guard let out = SymTensor.broadcast(xs, { a in a[0].constant.map { $0 != 0 ? a[1] : a[2] } }) else { throw unfoldable("Where") }
      return out
    case "Size": return SymTensor(shape: [], values: [.const(x.count)])
    case "Gather":
      guard xs.count == 2, let idx = xs[1].constants else { throw unfoldable("Gather indices") }
      let a = try axis(int(n, "axis", 0), r)
      var perAxis = x.shape.map { Array(0..<$0) }
      var picked: [SymInt] = []
      for i in idx {
        let j = i < 0 ? i + x.shape[a] : i
        guard j >= 0, j < x.shape[a] else { throw err(n, "index \(i) out of range for axis \(a) of extent \(x.shape[a])") }
        perAxis[a] = [j]
        picked += x.pick(perAxis).values
      }
      // Gathered blocks are in index order; move the index axes into place (data[:a] + idx + data[a+1:]).
      let outer = x.shape[..<a].reduce(1, *), inner = x.shape[(a + 1)...].reduce(1, *)
      var values: [SymInt] = []
      for o in 0..<outer { for k in idx.indices { values += picked[(k * outer + o) * inner..<(k * outer + o + 1) * inner] } }
      return SymTensor(shape: Array(x.shape[..<a]) + xs[1].shape + Array(x.shape[(a + 1)...]), values: values)
    case "Range":
      guard xs.count == 3, let s = xs[0].constants?.first, let l = xs[1].constants?.first, let d = xs[2].constants?.first else {
        throw unfoldable("Range")
      }
      guard d != 0 else { throw err(n, "delta is 0") }
      let count = max(0, (l - s + d - (d > 0 ? 1 : -1)) / d)
      guard count <= 1 << 20 else { throw err(n, "Range of \(count) elements is too large") }
      return SymTensor(shape: [count], values: (0..<count).map { .const(s + $0 * d) })
    case "Concat":
      let a = try axis(int(n, "axis", 0), r)
      guard xs.allSatisfy({ $0.shape.count == r }) else { throw err(n, "inputs of different ranks") }
      let outer = x.shape[..<a].reduce(1, *)
      var values: [SymInt] = []
      for o in 0..<outer {
        for t in xs {
          let block = t.count / max(outer, 1)
          values += t.values[o * block..<(o + 1) * block]
        }
      }
      var shape = x.shape
      shape[a] = xs.map { $0.shape[a] }.reduce(0, +)
      return SymTensor(shape: shape, values: values)
    case "Unsqueeze", "Squeeze":
      guard let axes = xs.count > 1 ? xs[1].constants : intList(n, "axes") ?? (n.opType == "Squeeze" ? [] : nil) else {
        throw err(n, "missing axes")
      }
      var shape = x.shape
      if n.opType == "Unsqueeze" {
        let outRank = r + axes.count
        for a in try axes.map({ try axis($0, outRank) }).sorted() { shape.insert(1, at: a) }
      } else {
        let drop = try Set(axes.isEmpty ? shape.indices.filter { shape[$0] == 1 } : axes.map { try axis($0, r) })
        shape = shape.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
      }
      return SymTensor(shape: shape, values: x.values)
    case "Reshape":
      guard xs.count == 2, let target = xs[1].constants else { throw unfoldable("Reshape target") }
      var shape = target.enumerated().map { $0.element == 0 && $0.offset < r ? x.shape[$0.offset] : $0.element }
      if let k = shape.firstIndex(of: -1) {
        let known = shape.enumerated().filter { $0.offset != k }.map(\.element).reduce(1, *)
        shape[k] = known == 0 ? 0 : x.count / known
      }
      guard shape.reduce(1, *) == x.count else { throw err(n, "cannot reshape \(x.shape) to \(target)") }
      return SymTensor(shape: shape, values: x.values)
    case "Transpose":
      let perm = intList(n, "perm") ?? Array((0..<r).reversed())
      guard perm.sorted() == Array(0..<r) else { throw err(n, "perm \(perm) is not a permutation of rank \(r)") }
      return x.transposed(perm)
    case "Slice":
      var st: [Int], en: [Int], axes: [Int], steps: [Int]
      if opset >= 10 {
        guard xs.count >= 3, let s = xs[1].constants, let e = xs[2].constants else { throw unfoldable("Slice bounds") }
        st = s
        en = e
        axes = xs.count > 3 ? xs[3].constants ?? [] : Array(0..<s.count)
        steps = xs.count > 4 ? xs[4].constants ?? [] : [Int](repeating: 1, count: s.count)
      } else {
        st = intList(n, "starts") ?? []
        en = intList(n, "ends") ?? []
        axes = intList(n, "axes") ?? Array(0..<st.count)
        steps = [Int](repeating: 1, count: st.count)
      }
      guard en.count == st.count, axes.count == st.count, steps.count == st.count else { throw err(n, "starts/ends/axes/steps lengths differ") }
      var perAxis = x.shape.map { Array(0..<$0) }
      for k in st.indices {
        let a = try axis(axes[k], r), d = x.shape[a], step = steps[k]
        guard step != 0 else { throw err(n, "step 0") }
        var s = st[k] < 0 ? st[k] + d : st[k], e = en[k] < 0 ? en[k] + d : en[k]
        if step > 0 {
          s = min(max(s, 0), d); e = min(max(e, 0), d)
          perAxis[a] = Array(stride(from: s, to: e, by: step))
        } else {
          s = min(max(s, -1), d - 1); e = min(max(e, -1), d - 1)
          perAxis[a] = Array(stride(from: s, to: e, by: step))
        }
      }
      return x.pick(perAxis)
    default: return nil
    }
  }

  /// If with a condition known at import time: the taken branch's nodes are imported in place.
  mutating func inlineIf(_ n: ONNXImporter.ONode) throws {
    guard let c = symValue(n.inputs[0]) else { throw refuse(n, "the condition '\(n.inputs[0])' is not known at import time (control flow is not imported)") }
    guard c.values.count == 1, let cond = c.values[0].constant else {
      throw refuse(n, "the condition depends on symbolic dimensions \(c.values) (control flow is not imported)")
    }
    let key = cond != 0 ? "then_branch" : "else_branch"
    guard let a = n.attrs[key], let g = a.pointee.g else { throw err(n, "missing \(key)") }
    for t in ONNXC.list(g.pointee.initializer, g.pointee.n_initializer) {
      let name = ONNXC.string(t.pointee.name)
      switch try ONNXImporter.tensor(t.pointee, what: "initializer '\(name)'", base: baseDirectory) {
      case .float(let f): addWeight(name, f)
      case .int64(let v, let s): ints[name] = v; intShapes[name] = s
      }
    }
    let body = ONNXImporter.nodes(of: g.pointee)
    if let bad = body.first(where: { !ONNXImporter.supportedOps.contains($0.opType) }) {
      throw refuse(n, "branch \(key) uses unsupported op \(bad.opType) (node '\(bad.name)')")
    }
    for b in try topologicalOrder(body) { try convert(b) }
    let outs = ONNXC.list(g.pointee.output, g.pointee.n_output).map { ONNXC.string($0.pointee.name) }
    guard outs.count == n.outputs.count else { throw err(n, "\(key) has \(outs.count) outputs, the node \(n.outputs.count)") }
    for (o, y) in zip(outs, n.outputs) where !y.isEmpty {
      if let v = symValue(o), shapes[o] == nil { setSymValue(y, v); continue }
      try emit(n, .identity, [o], output: y)
    }
  }
}

extension ONNXImporter.Reader {
  /// A Reshape target computed with symbolic elements: constants as they are (0 copies, −1 infers), a symbol at
  /// the position it has in the input as 0, at most one other symbolic element as −1.
  func symbolicReshapeTarget(_ n: ONNXImporter.ONode, _ t: SymTensor) throws -> [Int] {
    guard let from = shapes[n.inputs[0]] else { throw err(n, "input has no known shape") }
    var inferred = t.values.contains(.const(-1))
    var out: [Int] = []
    for (i, v) in t.values.enumerated() {
      if let c = v.constant { out.append(c); continue }
      if let d = v.dim, i < from.rank, from[i] == d { out.append(0); continue }
      guard !inferred else {
        throw refuse(n, "reshape target \(t.values) of \(from): symbolic element \(v) at axis \(i) cannot be expressed (static shapes: at most one inferred axis)")
      }
      inferred = true
      out.append(-1)
    }
    return out
  }

  /// Expand to a shape with symbolic elements: x + zeros of the target with symbols as 1, when every symbolic
  /// dimension of the result comes from x.
  mutating func expandSymbolic(_ n: ONNXImporter.ONode, _ t: SymTensor) throws {
    let x = n.inputs[0]
    guard let xs = shapes[x] else { throw err(n, "input has no known shape") }
    let dims = try t.values.enumerated().map { i, v -> Dim in
      guard let d = v.dim else { throw refuse(n, "Expand target element \(v) at axis \(i) is not a dimension") }
      return d
    }
    let target = Shape(dims), result: Shape
    do { result = try broadcastShapes(xs, target) } catch { throw err(n, "cannot broadcast \(xs) to \(target): \(error)") }
    if result == xs { try emit(n, .identity, [x]); return }
    let ones = dims.map { $0.value ?? 1 }
    guard (try? broadcastShapes(xs, Shape(ones))) == result else {
      throw refuse(n, "Expand of \(xs) to \(target): symbolic axes that x does not have are not supported")
    }
    let zeros = "\(n.name)/expanded_shape"
    addWeight(zeros, Tensor(shape: ones, data: [Float](repeating: 0, count: ones.reduce(1, *))))
    try emit(n, .add, [x, zeros])
  }
}
