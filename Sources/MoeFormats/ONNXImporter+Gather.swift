// ONNXImporter+Gather: Gather of a tensor with constant indices (PyTorch's `x[:, 0]`, `x[:, [2, 0]]`) → one `slice`
// per index, `concat` along the axis, `reshape` to data[:axis] + indices.shape + data[axis+1:].
import MoeIR

extension ONNXImporter.Reader {
  mutating func gatherTensor(_ n: ONNXImporter.ONode) throws {
    let x = n.inputs[0], o = n.outputs[0]
    guard let s = shapes[x] else { throw err(n, "input has no known shape") }
    guard let idx = symValue(n.inputs[1]), let indices = idx.constants else {
      throw refuse(n, "indices '\(n.inputs[1])' must be int64 values known at import time (a gather by computed indices is not imported)")
    }
    var axis = int(n, "axis", 0)
    if axis < 0 { axis += s.rank }
    guard axis >= 0, axis < s.rank else { throw err(n, "axis \(int(n, "axis", 0)) out of range for rank \(s.rank)") }
    guard let extent = s[axis].value else { throw refuse(n, "gather along the symbolic axis \(axis) of \(s) is not supported") }
    guard !indices.isEmpty, indices.count <= 4096 else { throw refuse(n, "\(indices.count) indices (1…4096 supported)") }
    var parts: [String] = []
    for (k, i) in indices.enumerated() {
      let j = i < 0 ? i + extent : i
      guard j >= 0, j < extent else { throw err(n, "index \(i) out of range for axis \(axis) of extent \(extent)") }
      let single = indices.count == 1 && idx.shape.count == 1
      parts.append(try emit(n, .slice(SliceAttrs(starts: [j], ends: [j + 1], axes: [axis], steps: [1])), [x],
                            output: single ? o : "\(o)/index_\(k)"))
    }
    if indices.count == 1 && idx.shape.count == 1 { return }
    let joined = parts.count == 1 ? parts[0] : try emit(n, .concat(axis: axis), parts, output: "\(o)/gathered")
    let target = Shape(Array(s.dims[..<axis]) + idx.shape.map { Dim.fixed($0) } + Array(s.dims[(axis + 1)...]))
    guard let dims = reshapeDims(target, from: shapes[joined]!) else {
      throw refuse(n, "gathered shape \(target) needs more than one inferred symbolic dimension")
    }
    try emit(n, .reshape(shape: dims), [joined])
  }
}
