// TestSupport: seeded PRNG, random tensors, single-op graphs, tolerance checks shared by the runtime tests.
import MoeIR
import MoeTestSupport
import XCTest

@testable import MoeRuntime

/// Max |actual − expected| allowed, relative to max(1, max |expected|).
let convTolerance: Float = 1e-4
let contractionTolerance: Float = 1e-4
let elementwiseTolerance: Float = 1e-6
/// Activations go through libm on both sides but may differ in the last bits.
let activationTolerance: Float = 1e-6

extension SplitMix64 {
  mutating func tensor(_ shape: [Int], _ range: ClosedRange<Float> = -1...1) -> Tensor {
    Tensor(shape: shape, data: (0..<elementCount(shape)).map { _ in Float.random(in: range, using: &self) })
  }
}

/// Builds a graph with one node applying `op` to `operands`: operands whose index is in `weights` become weights,
/// the others graph inputs `in0`, `in1`, … Returns the node output.
func runSingle(
  _ op: Op, _ operands: [Tensor], weights: Set<Int> = [], file: StaticString = #filePath,
  line: UInt = #line
) throws -> Tensor {
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
  let out = try Executor(graph: g).run(feeds)
  return try XCTUnwrap(out["y"], file: file, line: line)
}

/// Asserts equal shapes and max |a − e| ≤ tolerance · max(1, max |e|).
func assertClose(
  _ actual: Tensor, _ expected: Tensor, _ tolerance: Float, _ what: @autoclosure () -> String = "",
  file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertEqual(actual.shape, expected.shape, "shape \(what())", file: file, line: line)
  guard actual.shape == expected.shape else { return }
  let scale = max(1, expected.data.map(abs).max() ?? 0)
  var worst: Float = 0, at = 0
  for i in 0..<expected.count {
    let d = abs(actual.data[i] - expected.data[i])
    if !(d <= worst) { worst = d; at = i }
  }
  XCTAssertLessThanOrEqual(
    worst, tolerance * scale,
    "\(what()): max diff \(worst) at \(at) (got \(actual.data[at]), want \(expected.data[at]))",
    file: file, line: line)
}

/// Row-major strides of a shape.
func stridesOf(_ shape: [Int]) -> [Int] {
  var s = [Int](repeating: 1, count: shape.count)
  for d in stride(from: shape.count - 2, through: 0, by: -1) { s[d] = s[d + 1] * shape[d + 1] }
  return s
}

/// All indices of `shape` in row-major order.
func allIndices(_ shape: [Int]) -> [[Int]] {
  var out: [[Int]] = [[]]
  for n in shape { out = out.flatMap { prefix in (0..<n).map { prefix + [$0] } } }
  return out
}

/// Reads t[idx].
func element(_ t: Tensor, _ idx: [Int]) -> Float {
  let s = stridesOf(t.shape)
  return t.data[zip(idx, s).reduce(0) { $0 + $1.0 * $1.1 }]
}

/// A random tensor from a fresh generator with `seed`.
func seededTensor(seed: UInt64, _ shape: [Int], _ range: ClosedRange<Float> = -1...1) -> Tensor {
  var rng = SplitMix64(seed: seed)
  return rng.tensor(shape, range)
}

/// Runs a conv geometry directly with scratch poisoned by NaN (every scratch float read must have been written).
func runGeometry(_ g: ConvGeometry, transposed: Bool, _ x: Tensor, _ w: Tensor, _ b: Tensor?, outShape: [Int]) -> Tensor {
  var y = Tensor(zeros: outShape)
  var scratch = [Float](repeating: .nan, count: max(g.scratchCount, 1))
  let bias = b?.data ?? [0]
  x.data.withUnsafeBufferPointer { xp in
    w.data.withUnsafeBufferPointer { wp in
      bias.withUnsafeBufferPointer { bp in
        y.data.withUnsafeMutableBufferPointer { yp in
          scratch.withUnsafeMutableBufferPointer { sp in
            let bptr = b == nil ? nil : bp.baseAddress!
            if transposed {
              Kernels.convTranspose2d(
                g, x: xp.baseAddress!, w: wp.baseAddress!, bias: bptr, y: yp.baseAddress!,
                scratch: sp.baseAddress!)
            } else {
              Kernels.conv2d(g, x: xp.baseAddress!, w: wp.baseAddress!, bias: bptr, y: yp.baseAddress!, scratch: sp.baseAddress!)
            }
          }
        }
      }
    }
  }
  return y
}
