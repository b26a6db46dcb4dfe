// TrainingProfileProbe: prints where a training iteration's time goes (run with MOE_PROFILE=1; otherwise a no-op check).
import Foundation
import MoeIR
import MoeModels
import XCTest

@testable import MoeTraining

final class TrainingProfileProbe: XCTestCase {
  func testProfileOfOneIteration() throws {
    guard let spec = ProcessInfo.processInfo.environment["MOE_PROFILE"] else { return }
    let p = spec.split(separator: ",").map { Int($0)! }  // C,B,U,batch
    let g = SRResNetGenerator(channels: p[0], blocks: p[1], upsamplings: p[2], inputLength: 162)
    var widths: [Int] = []
    var s = g.outputSide, k = 0
    while s > 4 { widths.append(32 << k); s /= 2; k += 1 }
    let d = ACGANDiscriminator(widths: widths, size: g.outputSide, tags: 34)
    var rng = TrainingRandom(seed: 1)
    var gg = g.graph(), dg = d.graph()
    gg.initializers = Initializers.chainerDefaults(g.parameters, rng: &rng)
    dg.initializers = Initializers.chainerDefaults(d.parameters, rng: &rng)
    let t = try DraganTrainer(generator: gg, discriminator: dg, batch: p[3], weights: DraganLossWeights(adversarial: 34), adam: AdamHyperparameters())
    let n = p[3], side = g.outputSide
    func r(_ shape: [Int]) -> Tensor { Tensor(shape: shape, data: (0..<elementCount(shape)).map { _ in rng.uniform() * 2 - 1 }) }
    let b = DraganBatch(real: r([n, 3, side, side]), tags: Tensor(zeros: [n, 34]), zD: r([n, 162]), zG: r([n, 162]), u: r([n, 3, side, side]))
    try t.step(b)
    t.setProfiling(true)
    let start = Date()
    try t.step(b)
    print("iteration: \(Date().timeIntervalSince(start)) s")
    let prof = t.profile
    print("D step:", prof.d.prefix(12).map { "\($0.op) \(String(format: "%.3f", $0.seconds))" }.joined(separator: ", "))
    print("G step:", prof.g.prefix(12).map { "\($0.op) \(String(format: "%.3f", $0.seconds))" }.joined(separator: ", "))
  }
}
