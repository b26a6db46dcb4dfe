// ContractionTests: linear, gemm and matmul against naive loops.
import MoeIR
import MoeTestSupport
import XCTest

@testable import MoeRuntime

final class ContractionTests: XCTestCase {
  func testLinearFlattensRank4Input() throws {
    var rng = SplitMix64(seed: 10)
    for bias in [false, true] {
      let n = rng.int(1...3), c = rng.int(1...3), h = rng.int(1...4), w = rng.int(1...4), out = rng.int(1...7)
      let x = rng.tensor([n, c, h, w]), wt = rng.tensor([out, c * h * w]), b = rng.tensor([out])
      let got = try runSingle(.linear(.plain), [x, wt] + (bias ? [b] : []), weights: [1, 2])
      var want = Tensor(zeros: [n, out])
      let k = c * h * w
      for i in 0..<n {
        for o in 0..<out {
          var s: Float = bias ? b.data[o] : 0
          for p in 0..<k { s += x.data[i * k + p] * wt.data[o * k + p] }
          want.data[i * out + o] = s
        }
      }
      assertClose(got, want, contractionTolerance, "linear bias \(bias)")
    }
  }

  func testGemmAllTransposesAndCBroadcasts() throws {
    var rng = SplitMix64(seed: 11)
    for transA in [false, true] {
      for transB in [false, true] {
        let m = rng.int(1...5), k = rng.int(1...6), n = rng.int(1...5)
        for cShape in [nil, [], [1], [n], [m, 1], [1, n], [m, n]] as [[Int]?] {
          let a = rng.tensor(transA ? [k, m] : [m, k]), b = rng.tensor(transB ? [n, k] : [k, n])
          let attrs = GemmAttrs(
            alpha: Float(rng.int(-2...2)) + 0.5, beta: Float(rng.int(-2...2)) + 0.25,
            transA: transA, transB: transB)
          var operands = [a, b]
          if let cShape { operands.append(rng.tensor(cShape)) }
          let got = try runSingle(.gemm(attrs), operands)
          let opA = transA ? Naive.transpose(a, [1, 0]) : a, opB = transB ? Naive.transpose(b, [1, 0]) : b
          var y = Tensor(shape: [m, n], data: Naive.matrixProduct(opA.data, opB.data, m: m, k: k, n: n).map { $0 * attrs.alpha })
          if let c = operands.count > 2 ? operands[2] : nil {
            y = Naive.broadcast(y, c) { $0 + attrs.beta * $1 }
          }
          assertClose(got, y, contractionTolerance, "gemm transA \(transA) transB \(transB) C \(String(describing: cShape))")
        }
      }
    }
  }

  func testBatchedMatmulWithBroadcast() throws {
    var rng = SplitMix64(seed: 12)
    let m = 3, k = 4, n = 2
    for (aBatch, bBatch) in [([], []), ([2, 3], []), ([2, 1], [3]), ([], [4]), ([1, 2], [2, 1, 1]), ([2], [2])] as [([Int], [Int])] {
      let a = rng.tensor(aBatch + [m, k]), b = rng.tensor(bBatch + [k, n])
      let got = try runSingle(.matmul, [a, b])
      // Reference: broadcast the batch dimensions by index arithmetic.
      let r = max(aBatch.count, bBatch.count)
      let pa = [Int](repeating: 1, count: r - aBatch.count) + aBatch, pb = [Int](repeating: 1, count: r - bBatch.count) + bBatch
      let batch = zip(pa, pb).map { max($0, $1) }
      var data: [Float] = []
      for idx in allIndices(batch) {
        let ia = zip(idx, pa).map { $1 == 1 ? 0 : $0 }, ib = zip(idx, pb).map { $1 == 1 ? 0 : $0 }
        let ao = zip(ia, stridesOf(pa)).reduce(0) { $0 + $1.0 * $1.1 } * m * k
        let bo = zip(ib, stridesOf(pb)).reduce(0) { $0 + $1.0 * $1.1 } * k * n
        data += Naive.matrixProduct(Array(a.data[ao..<(ao + m * k)]), Array(b.data[bo..<(bo + k * n)]), m: m, k: k, n: n)
      }
      assertClose(got, Tensor(shape: batch + [m, n], data: data), contractionTolerance, "matmul \(a.shape)·\(b.shape)")
    }
  }
}
