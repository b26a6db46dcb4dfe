// ONNXImporter+Layout: Slice and Unsqueeze/Squeeze in their input (opset ≥ 10 / 13) and attribute forms.
import MoeIR

extension ONNXImporter.Reader {
  /// Slice: starts/ends/axes/steps are inputs from opset 10, attributes (no steps) before.
  mutating func slice(_ n: ONNXImporter.ONode) throws {
    var st: [Int], en: [Int], axes: [Int], steps: [Int]
    if opset >= 10 {
      guard let s = try staticInts(n, 1, "starts"), let e = try staticInts(n, 2, "ends") else { throw err(n, "missing starts/ends") }
      st = s
      en = e
      axes = try staticInts(n, 3, "axes") ?? Array(0..<st.count)
      steps = try staticInts(n, 4, "steps") ?? [Int](repeating: 1, count: st.count)
    } else {
      guard let s = intList(n, "starts"), let e = intList(n, "ends") else { throw err(n, "missing starts/ends attributes") }
      st = s
      en = e
      axes = intList(n, "axes") ?? Array(0..<st.count)
      steps = [Int](repeating: 1, count: st.count)
    }
    guard axes.count == st.count, en.count == st.count, steps.count == st.count else {
      throw err(n, "starts/ends/axes/steps lengths differ")
    }
    // A full-range slice of a symbolic dimension (start 0, end ≥ INT32_MAX, step 1) is a no-op: drop it.
    if let s = shapes[n.inputs[0]] {
      for k in (0..<axes.count).reversed() {
        let a = axes[k] < 0 ? axes[k] + s.rank : axes[k]
        if a >= 0, a < s.rank, s.dims[a].value == nil, st[k] == 0, steps[k] == 1, en[k] >= Int(Int32.max) {
          axes.remove(at: k); st.remove(at: k); en.remove(at: k); steps.remove(at: k)
        }
      }
    }
    if axes.isEmpty {
      try emit(n, .identity, [n.inputs[0]])
    } else {
      try emit(n, .slice(SliceAttrs(starts: st, ends: en, axes: axes, steps: steps)), [n.inputs[0]])
    }
  }

  /// Unsqueeze/Squeeze → `reshape` when the result is static; axes are an input from opset 13, an attribute before.
  mutating func squeeze(_ n: ONNXImporter.ONode) throws {
    guard let s = shapes[n.inputs[0]] else { throw err(n, "input has no known shape") }
    let r = s.rank
    var axes = opset >= 13 ? try staticInts(n, 1, "axes") : intList(n, "axes")
    var dims = s.dims
    if n.opType == "Unsqueeze" {
      guard let ax = axes else { throw err(n, "missing axes") }
      let outRank = r + ax.count
      let norm = ax.map { $0 < 0 ? $0 + outRank : $0 }.sorted()
      guard Set(norm).count == norm.count, norm.allSatisfy({ $0 >= 0 && $0 < outRank }) else {
        throw err(n, "bad axes \(ax) for output rank \(outRank)")
      }
      for a in norm { dims.insert(.fixed(1), at: a) }
    } else {
      if axes == nil { axes = s.dims.indices.filter { s.dims[$0] == .fixed(1) } }
      let norm = Set(axes!.map { $0 < 0 ? $0 + r : $0 })
      for a in norm {
        guard a >= 0, a < r, s.dims[a] == .fixed(1) else { throw err(n, "cannot squeeze axis \(a) of shape \(s)") }
      }
      dims = s.dims.enumerated().filter { !norm.contains($0.offset) }.map(\.element)
    }
    // Symbolic dims that keep their position are copied with 0 in the Reshape target.
    var target: [Int] = []
    for (i, d) in dims.enumerated() {
      switch d {
      case .fixed(let v): target.append(v)
      case .symbol:
        guard i < r, s.dims[i] == d else { throw refuse(n, "not static: symbolic dimension \(d) moves") }
        target.append(0)
      }
    }
    try emit(n, .reshape(shape: target), [n.inputs[0]])
  }
}
