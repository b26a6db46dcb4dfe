// Executor+Flops: the arithmetic cost of a run (2 × multiply-adds of the contraction ops).
import MoeIR

extension Executor {
  /// Floating-point operations (2 × multiply-adds) of conv2d, convTranspose2d, linear, gemm and matmul for one run at
  /// batch `batch`. Symbols in the first dimension of an input are bound to `batch`; any other symbol counts as 1.
  public func flopsPerRun(batch: Int) -> Int {
    var bindings: [String: Int] = [:]
    for i in graph.inputs { if case .symbol(let s)? = i.shape.dims.first { bindings[s] = batch } }
    func dims(_ name: String) -> [Int] {
      types[name]!.shape.bound(bindings).dims.map { $0.value ?? 1 }
    }
    var macs = 0
    for n in graph.nodes {
      let x = n.inputs.map(dims)
      let y = dims(n.outputs[0])
      switch n.op {
      case .linear: macs += y[0] * y[1] * x[1][1]
      case .gemm(let a): macs += elementCount(y) * (a.transA ? x[0][0] : x[0][1])
      case .matmul: macs += elementCount(y) * x[0][x[0].count - 1]
      case .conv2d: macs += elementCount(y) * x[1][1] * x[1][2] * x[1][3]
      case .convTranspose2d: macs += elementCount(x[0]) * x[1][1] * x[1][2] * x[1][3]
      default:
        break
      }
    }
    return 2 * macs
  }
}
