// Support: seeded random data, single-op graphs run by MoeRuntime's Executor (the oracle), tolerance checks.
import MoeIR
import MoeRuntime
import MoeTestSupport
import XCTest

/// Contractions: max |got − want| ≤ this · max(1, max |want|) (different summation order than OpenBLAS).
let contractionTolerance: Float = 2e-5
/// Elementwise ops and layout moves are exact or one rounding apart.
let elementwiseTolerance: Float = 1e-6
/// The portable exp/tanh/sigmoid/softplus against libm.
let mathTolerance: Float = 4e-7

extension SplitMix64 {
  mutating func tensor(_ shape: [Int], _ range: ClosedRange<Float> = -1...1) -> Tensor {
    Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float.random(in: range, using: &self) })
  }
}

/// Runs one op through the native Executor: operands in `weights` become weights, the rest inputs.
func executor(_ op: Op, _ operands: [Tensor], weights: Set<Int> = []) throws -> Tensor {
  try executorOutputs(op, operands, weights: weights)[0]
}

/// Every output of one op run by the native Executor; `dtypes` gives input dtypes by operand index (default f32).
func executorOutputs(_ op: Op, _ operands: [Tensor], weights: Set<Int> = [], dtypes: [Int: DType] = [:]) throws -> [Tensor] {
  var g = Graph(name: "single")
  var feeds: [String: Tensor] = [:]
  var names: [String] = []
  for (i, t) in operands.enumerated() {
    let name = "in\(i)"
    names.append(name)
    if weights.contains(i) {
      g.addWeight(name, t)
    } else {
      g.inputs.append(ValueInfo(name: name, dtype: dtypes[i] ?? .float32, shape: Shape(t.shape)))
      feeds[name] = t
    }
  }
  let outputs = (0..<op.outputCount).map { "y\($0)" }
  g.nodes.append(Node(name: "op", op: op, inputs: names, outputs: outputs))
  g.outputs = outputs
  let results = try Executor(graph: g).run(feeds)
  return try outputs.map { try XCTUnwrap(results[$0]) }
}

/// Row-major strides of `shape` broadcast to `to` (0 along broadcast axes).
func broadcastStrides(_ shape: [Int], to: [Int]) -> [Int] {
  var s = [Int](repeating: 0, count: to.count), acc = 1
  for i in shape.indices.reversed() {
    s[i + to.count - shape.count] = shape[i] == 1 ? 0 : acc
    acc *= shape[i]
  }
  return s
}

/// The Int32 StridedGeometry descriptor of MoeKernels (unmerged): `[rank, y…, strides of each operand…]`.
func stridedGeometry(_ y: [Int], _ strideSets: [[Int]]) -> [Int32] {
  if y.isEmpty { return [1, 1] + strideSets.map { _ in Int32(0) } }
  return ([y.count] + y + strideSets.flatMap { $0 }).map { Int32($0) }
}

/// NumPy broadcast of two shapes.
func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
  let r = max(a.count, b.count)
  return (0..<r).map { i in
    let x = i < r - a.count ? 1 : a[i - (r - a.count)], y = i < r - b.count ? 1 : b[i - (r - b.count)]
    return x == 1 ? y : x
  }
}

/// Asserts max |got − want| ≤ tolerance · max(1, max |want|).
func assertClose(
  _ got: [Float], _ want: [Float], _ tolerance: Float, _ what: @autoclosure () -> String,
  file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertEqual(got.count, want.count, "count \(what())", file: file, line: line)
  guard got.count == want.count else { return }
  let scale = max(1, want.map(abs).max() ?? 0)
  var worst: Float = 0, at = 0
  for i in want.indices {
    let d = abs(got[i] - want[i])
    if !(d <= worst) { worst = d; at = i }
  }
  XCTAssertLessThanOrEqual(worst, tolerance * scale, "\(what()): max diff \(worst) at \(at)", file: file, line: line)
}

/// Calls `body` with a pointer to each array (nil for nil arrays).
func withPointers<R>(_ arrays: [[Float]?], _ body: ([UnsafePointer<Float>?]) -> R) -> R {
  var ptrs: [UnsafePointer<Float>?] = []
  func rec(_ i: Int) -> R {
    if i == arrays.count { return body(ptrs) }
    guard let a = arrays[i] else {
      ptrs.append(nil)
      defer { ptrs.removeLast() }
      return rec(i + 1)
    }
    return a.withUnsafeBufferPointer { b in
      ptrs.append(b.baseAddress)
      defer { ptrs.removeLast() }
      return rec(i + 1)
    }
  }
  return rec(0)
}
