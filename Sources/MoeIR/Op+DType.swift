// Op.inferDTypes: the element type of each output, and the dtypes each op accepts.

extension Op {
  /// Output dtypes for the given input dtypes; throws `ShapeError(.shape, …)` naming the offending input.
  ///
  /// Float ops take `f32`. Comparisons give `bool`; `where` takes a `bool` condition; `cast` converts between any
  /// dtypes; data-movement ops (reshape, transpose, slice, concat, …) keep their input's dtype.
  public func inferDTypes(_ d: [DType]) throws -> [DType] {
    func require(_ i: Int, _ allowed: Set<DType>, _ what: String) throws {
      guard i < d.count else { return }
      if !allowed.contains(d[i]) {
        throw ShapeError(.shape, "\(what) must be \(allowed.map(\.rawValue).sorted().joined(separator: " or ")), got \(d[i].rawValue)")
      }
    }
    let float: Set<DType> = [.float32]
    switch self {
    case .cast(let to):
      return [to]
    case .select:
      try require(0, [.bool], "condition")
      guard d[1] == d[2] else { throw ShapeError(.shape, "branches differ in dtype: \(d[1].rawValue) and \(d[2].rawValue)") }
      return [d[1]]
    case .binary(let f) where f.isComparison:
      guard d[0] == d[1] else { throw ShapeError(.shape, "operands differ in dtype: \(d[0].rawValue) and \(d[1].rawValue)") }
      return [.bool]
    case .reshape, .flatten, .transpose, .slice, .identity, .depthToSpace, .spaceToDepth, .broadcastTo:
      return [d[0]]
    case .concat:
      if let other = d.first(where: { $0 != d[0] }) {
        throw ShapeError(.shape, "inputs differ in dtype: \(d[0].rawValue) and \(other.rawValue)")
      }
      return [d[0]]
    case .constant:
      return [.float32]
    case .batchNormTraining:
      for i in d.indices { try require(i, float, "input \(i)") }
      return [.float32, .float32, .float32]
    case .linear, .gemm, .matmul, .conv2d, .convTranspose2d, .conv2dFilterGrad, .batchNorm, .unary, .binary, .leakyRelu, .clip, .prelu,
      .reduce, .sumTo, .softmax, .logSoftmax, .instanceNorm, .groupNorm, .pad, .maxPool, .averagePool,
      .globalAveragePool, .globalMaxPool, .resize:
      for i in d.indices { try require(i, float, "input \(i)") }
      return [.float32]
    }
  }
}
