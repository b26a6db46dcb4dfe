// GradientBuilder: appends gradient nodes to a graph with fresh names, tracking every value's type as it goes.
import MoeIR

/// Appends verified nodes to a graph; every helper returns the new value's name.
struct GradientBuilder {
  var graph: Graph
  var types: [String: ValueInfo]
  private var used: Set<String>

  init(_ graph: Graph) throws {
    self.graph = graph
    do { types = try graph.verify() } catch { throw AutodiffError("graph does not verify: \(error)") }
    used = Set(types.keys).union(graph.nodes.map(\.name))
  }

  /// A name not used in the graph yet, derived from `base`.
  mutating func fresh(_ base: String) -> String {
    var name = base, i = 1
    while used.contains(name) {
      i += 1
      name = "\(base)_\(i)"
    }
    used.insert(name)
    return name
  }

  /// Appends a node and returns its outputs (types inferred; errors name the node).
  @discardableResult
  mutating func node(_ op: Op, _ inputs: [String], _ base: String, outputs count: Int = 1) throws -> [String] {
    let name = fresh(base)
    let outs = count == 1 ? [name] : (0..<count).map { fresh(name + "/\($0)") }
    let shapes: [Shape], dtypes: [DType]
    do {
      shapes = try op.inferShapes(inputs.map { types[$0]!.shape })
      dtypes = try op.inferDTypes(inputs.map { types[$0]!.dtype })
    } catch {
      throw AutodiffError("gradient node '\(name)' (\(op.name)): \(error)")
    }
    for (o, (s, d)) in zip(outs, zip(shapes, dtypes)) { types[o] = ValueInfo(name: o, dtype: d, shape: s) }
    graph.nodes.append(Node(name: name, op: op, inputs: inputs, outputs: outs))
    return outs
  }

  mutating func add(_ op: Op, _ inputs: [String], _ base: String) throws -> String { try node(op, inputs, base)[0] }

  /// A scalar constant.
  mutating func constant(_ v: Float, name base: String) -> String {
    let name = fresh(base)
    graph.nodes.append(Node(name: name, op: .constant(Tensor(shape: [], data: [v])), inputs: [], outputs: [name]))
    types[name] = ValueInfo(name: name, dtype: .float32, shape: [])
    return name
  }

  /// Zeros of `like`'s shape.
  mutating func zeros(like: String) throws -> String {
    try add(.broadcastTo, [constant(0, name: like + "/zero"), like], like + "/grad_zero")
  }

  func shape(_ v: String) -> Shape { types[v]!.shape }

  /// `reshape` target for value `v`'s shape: fixed extents, −1 for the one symbolic dimension.
  func reshapeTarget(_ s: Shape, at node: String) throws -> [Int] {
    var symbolic = 0
    let t = s.dims.map { d -> Int in
      if let v = d.value { return v }
      symbolic += 1
      return -1
    }
    if symbolic > 1 { throw AutodiffError("node '\(node)': cannot reshape a gradient to \(s) with more than one symbolic dimension") }
    return t
  }

  /// `g` reshaped to `like`'s shape.
  mutating func reshape(_ g: String, like: String, _ base: String) throws -> String {
    if shape(g) == shape(like) { return g }
    return try add(.reshape(shape: try reshapeTarget(shape(like), at: base)), [g], base)
  }

  /// `g` summed down to `x`'s shape (the adjoint of broadcasting `x` to `g`'s shape).
  mutating func sumTo(_ g: String, like x: String, _ base: String) throws -> String {
    if shape(g) == shape(x) { return g }
    return try add(.sumTo, [g, x], base)
  }

  /// A (C) per-channel vector reshaped to broadcast along axis 1 of a rank-`rank` tensor.
  mutating func channelView(_ v: String, rank: Int, _ base: String) throws -> String {
    let c = shape(v)[0].value ?? -1
    return try add(.reshape(shape: [1, c] + Array(repeating: 1, count: max(0, rank - 2))), [v], base)
  }
}
