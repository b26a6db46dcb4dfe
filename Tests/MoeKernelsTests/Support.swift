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
  var g = Graph(name: "single")
  var feeds: [String: Tensor] = [:]
  var names: [String] = []
  for (i, t) in operands.enumerated() {
    let name = "in\(i)"
    names.append(name)
    if weights.contains(i) {
      g.addWeight(name, t)
    } else {
      g.inputs.append(ValueInfo(name: name, shape: Shape(t.shape)))
      feeds[name] = t
    }
  }
  g.add(op, names, name: "op", output: "y")
  g.outputs = ["y"]
  return try XCTUnwrap(try Executor(graph: g).run(feeds)["y"])
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
