// Graph.verify: SSA, topological order, outputs, arity, attributes and shapes, with the node named.

extension Graph {
  /// The largest element count a value may have (2⁴⁰): shapes from malformed files beyond it are errors, not traps.
  public static let maximumElementCount = 1 << 40

  /// Checks the graph and returns the inferred type of every value.
  ///
  /// Rejects: a use of an undefined value, a value defined twice, a use before its definition
  /// (non-topological order), arity and attribute errors, shape mismatches, and outputs that name nothing.
  /// When `requireWeights` is set, every declared weight must have data of the declared shape.
  @discardableResult
  public func verify(requireWeights: Bool = false) throws -> [String: ValueInfo] {
    var types: [String: ValueInfo] = [:]
    var definedBy: [String: String] = [:]
    func define(_ v: ValueInfo, by who: String) throws {
      if let prev = definedBy[v.name] {
        throw IRError(.duplicateDefinition, at: who, "'\(v.name)' is already defined by \(prev)")
      }
      definedBy[v.name] = who
      types[v.name] = v
    }
    for i in inputs { try define(i, by: "input '\(i.name)'") }
    for w in weights {
      try define(w, by: "weight '\(w.name)'")
      if requireWeights {
        guard let t = initializers[w.name] else {
          throw IRError(.undefinedValue, at: "weight '\(w.name)'", "declared but has no data")
        }
        if Shape(t.shape) != w.shape {
          throw IRError(.shapeMismatch, at: "weight '\(w.name)'", "declared \(w.shape) but data is \(Shape(t.shape))")
        }
      }
    }
    // Everything any node defines, to tell "defined later" (order) from "never defined".
    var laterDefs: [String: String] = [:]
    for n in nodes { for o in n.outputs where laterDefs[o] == nil { laterDefs[o] = n.name } }

    for n in nodes {
      let at = "node '\(n.name)' (\(n.op.name))"
      if !n.op.arity.contains(n.inputs.count) {
        let r = n.op.arity
        let want = r.upperBound == Int.max ? "at least \(r.lowerBound)" : (r.count == 1 ? "\(r.lowerBound)" : "\(r.lowerBound)–\(r.upperBound)")
        throw IRError(.badArity, at: at, "has \(n.inputs.count) inputs, expected \(want)")
      }
      var ins: [ValueInfo] = []
      for name in n.inputs {
        if let t = types[name] {
          ins.append(t)
        } else if let later = laterDefs[name] {
          throw IRError(.notTopological, at: at, "uses '\(name)' before node '\(later)' defines it")
        } else {
          throw IRError(.undefinedValue, at: at, "uses '\(name)', which is not defined")
        }
      }
      let shapes: [Shape], dtypes: [DType]
      do {
        shapes = try n.op.inferShapes(ins.map(\.shape))
      } catch let e as ShapeError {
        throw IRError(e.kind == .attribute ? .badAttribute : .shapeMismatch, at: at, e.message)
      }
      do {
        dtypes = try n.op.inferDTypes(ins.map(\.dtype))
      } catch let e as ShapeError {
        throw IRError(.badDType, at: at, e.message)
      }
      guard shapes.count == n.outputs.count else {
        throw IRError(.badArity, at: at, "defines \(n.outputs.count) values, op produces \(shapes.count)")
      }
      for s in shapes where s.product.constant > Graph.maximumElementCount {
        throw IRError(.shapeMismatch, at: at, "output shape \(s) has more than \(Graph.maximumElementCount) elements")
      }
      for (o, (s, t)) in zip(n.outputs, zip(shapes, dtypes)) {
        try define(ValueInfo(name: o, dtype: t, shape: s), by: at)
      }
    }
    if outputs.isEmpty {
      throw IRError(.badOutput, at: "graph '\(name)'", "has no outputs")
    }
    for o in outputs where types[o] == nil {
      throw IRError(.badOutput, at: "output '\(o)'", "no input, weight or node defines it")
    }
    return types
  }
}
