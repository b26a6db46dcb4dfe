// GeneratorBenchmarkTests: times a paper-size SRResNet-like generator; runs only when MOE_RUNTIME_BENCH is set.
import Foundation
import MoeIR
import XCTest

@testable import MoeRuntime

final class GeneratorBenchmarkTests: XCTestCase {
  /// fc 162→64·16·16, 16 residual blocks (3x3 conv 64→64 + BN, twice), 3 × (3x3 conv 64→256, depthToSpace 2, BN, ReLU),
  /// 9x9 conv 64→3, tanh: 16x16 → 128x128.
  static func paperGenerator(seed: UInt64) -> Graph {
    var rng = SplitMix64(seed: seed)
    var g = Graph(name: "generator")
    g.inputs = [ValueInfo(name: "z", shape: Shape([.symbol("N"), .fixed(162)]))]
    var count = 0
    func weight(_ shape: [Int], _ scale: Float) -> String {
      count += 1
      g.addWeight("w\(count)", rng.tensor(shape, -scale...scale))
      return "w\(count)"
    }
    func bn(_ x: String, _ c: Int, _ name: String) -> String {
      let ps = [weight([c], 1), weight([c], 0.1), weight([c], 0.1)]
      g.addWeight("w\(count)v", rng.tensor([c], 0.5...1.5))
      return g.add(.batchNorm(eps: 2e-5), [x] + ps + ["w\(count)v"], name: name)
    }
    func conv(_ x: String, _ cin: Int, _ cout: Int, _ k: Int, _ name: String) -> String {
      let p = k / 2
      return g.add(.conv2d(ConvAttrs(pads: [p, p, p, p])), [x, weight([cout, cin, k, k], 0.05), weight([cout], 0.1)], name: name)
    }
    var h = g.add(.linear, ["z", weight([64 * 256, 162], 0.1), weight([64 * 256], 0.1)], name: "fc")
    h = g.add(.reshape(shape: [-1, 64, 16, 16]), [h], name: "fc/reshape")
    h = g.add(.relu, [bn(h, 64, "fc/bn")], name: "fc/relu")
    let skip = h
    for i in 0..<16 {
      var r = g.add(.relu, [bn(conv(h, 64, 64, 3, "res\(i)/c1"), 64, "res\(i)/bn1")], name: "res\(i)/relu")
      r = bn(conv(r, 64, 64, 3, "res\(i)/c2"), 64, "res\(i)/bn2")
      h = g.add(.add, [h, r], name: "res\(i)/add")
    }
    h = g.add(.add, [g.add(.relu, [bn(h, 64, "post/bn")], name: "post/relu"), skip], name: "post/add")
    for i in 0..<3 {
      h = g.add(.depthToSpace(blockSize: 2, mode: .dcr), [conv(h, 64, 256, 3, "up\(i)/c")], name: "up\(i)/d2s")
      h = g.add(.relu, [bn(h, 64, "up\(i)/bn")], name: "up\(i)/relu")
    }
    h = g.add(.tanh, [conv(h, 64, 3, 9, "final/c")], name: "final/tanh")
    g.outputs = [h]
    return g
  }

  func testPaperGeneratorTiming() throws {
    guard ProcessInfo.processInfo.environment["MOE_RUNTIME_BENCH"] != nil else {
      throw XCTSkip("set MOE_RUNTIME_BENCH=1 (and build with -c release -Xswiftc -enable-testing) to time the generator")
    }
    let e = try Executor(graph: Self.paperGenerator(seed: 60))
    var rng = SplitMix64(seed: 61)
    for batch in [1, 16] {
      let z = rng.tensor([batch, 162])
      _ = try e.run(["z": z])
      let reps = batch == 1 ? 10 : 2
      var best = Double.infinity
      e.nodeSeconds = [Double](repeating: 0, count: e.graph.nodes.count)
      for _ in 0..<reps {
        let start = Date()
        _ = try e.run(["z": z])
        best = min(best, Date().timeIntervalSince(start))
      }
      let ms = best * 1000 / Double(batch)
      var byKind: [String: Double] = [:]
      for (i, n) in e.graph.nodes.enumerated() {
        let kind = n.name.hasPrefix("res") ? "res/" + n.op.name : n.name
        byKind[kind, default: 0] += e.nodeSeconds![i] * 1000 / Double(reps * batch)
      }
      e.nodeSeconds = nil
      for (k, v) in byKind.sorted(by: { $0.value > $1.value }).prefix(12) { print("  \(k.padding(toLength: 16, withPad: " ", startingAt: 0)) \(String(format: "%7.2f", v)) ms/image") }
      let gflops = Double(e.flopsPerRun(batch: batch)) / Double(batch) / (ms / 1000) / 1e9
      print(String(format: "generator batch %d: %.1f ms/image, %.1f GFLOP/s, arena %.1f MB", batch, ms, gflops,
                   Double(e.lastPeakArenaBytes) / 1e6))
    }
  }
}
