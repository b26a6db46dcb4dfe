// ONNXImporter+Split: ONNX Split (split sizes as an attribute before opset 13, an input from 13, num_outputs from
// 18) → one `slice` per output; on int64 values known at import time it is folded.
import MoeIR

extension ONNXImporter.Reader {
  mutating func split(_ n: ONNXImporter.ONode) throws {
    let x = n.inputs[0]
    let known = symValue(x)
    guard let rank = known.map({ $0.shape.count }) ?? shapes[x]?.rank else { throw err(n, "input has no known shape") }
    var axis = int(n, "axis", 0)
    if axis < 0 { axis += rank }
    guard axis >= 0, axis < rank else { throw err(n, "axis \(int(n, "axis", 0)) out of range for rank \(rank)") }
    let extent: Int
    if let known { extent = known.shape[axis] } else {
      guard let e = shapes[x]?[axis].value else { throw refuse(n, "split axis \(axis) of \(shapes[x]!) is symbolic") }
      extent = e
    }
    let outs = n.outputs
    var sizes = opset >= 13 ? try staticInts(n, 1, "split") : intList(n, "split")
    if sizes == nil {
      let parts = opset >= 18 ? int(n, "num_outputs", outs.count) : outs.count
      guard parts >= 1, parts == outs.count else { throw err(n, "num_outputs \(parts) for \(outs.count) outputs") }
      let chunk = (extent + parts - 1) / parts
      sizes = (0..<parts).map { max(0, min(chunk, extent - $0 * chunk)) }
    }
    guard let sizes, sizes.count == outs.count, sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == extent else {
      throw err(n, "split sizes \(sizes ?? []) do not cover axis \(axis) of extent \(extent) in \(outs.count) outputs")
    }
    var start = 0
    for (o, size) in zip(outs, sizes) {
      defer { start += size }
      if o.isEmpty { continue }
      if let known {
        var perAxis = known.shape.map { Array(0..<$0) }
        perAxis[axis] = Array(start..<start + size)
        setSymValue(o, known.pick(perAxis))
        continue
      }
      try emit(n, .slice(SliceAttrs(starts: [start], ends: [start + size], axes: [axis], steps: [1])), [x], output: o)
    }
  }
}
