// moe bench-train: seconds per DRAGAN + ACGAN iteration (D step + G step) for a named model size, on random data.
import ArgumentParser
import Foundation
import MoeIR
import MoeModels
import MoeTraining

struct BenchTrain: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-train",
    abstract: "Time full training iterations (D step + G step, Adam) of the zoo GAN at a given size.",
    discussion: "Random images and inputs; the first iteration is a warm-up. Converters/bench_train.py runs this beside Chainer and PyTorch.")

  @Option(help: "Image side (32, 64, 128).") var size: Int = 64
  @Option(name: .customLong("C"), help: "Generator channels.") var channels: Int = 64
  @Option(name: .customLong("B"), help: "Generator residual blocks.") var blocks: Int = 16
  @Option(help: "Batch size.") var batch: Int = 32
  @Option(help: "Timed iterations after the warm-up.") var iterations: Int = 3
  @Option(help: "Tags (the generator input is 128 noise values + tags).") var tags: Int = 34
  @Flag(help: "One JSON object on stdout.") var json = false
  @Flag(help: "Print seconds by op of the last iteration.") var profile = false

  func validate() throws {
    guard [32, 64, 128, 256].contains(size) else { throw ValidationError("--size must be 32, 64, 128 or 256, got \(size)") }
    guard channels >= 1, blocks >= 1, batch >= 2, iterations >= 1, tags >= 1 else {
      throw ValidationError("--C, --B, --iterations and --tags must be ≥ 1 and --batch ≥ 2")
    }
  }

  func run() throws {
    var u = 0
    while 16 << u < size { u += 1 }
    let g = SRResNetGenerator(channels: channels, blocks: blocks, upsamplings: u, inputLength: 128 + tags)
    var widths: [Int] = []
    var s = size, k = 0
    while s > 4 { widths.append(32 << k); s /= 2; k += 1 }
    let d = ACGANDiscriminator(widths: widths, size: size, tags: tags)
    var rng = TrainingRandom(seed: 1)
    var gg = g.graph(), dg = d.graph()
    gg.initializers = Initializers.chainerDefaults(g.parameters, rng: &rng)
    dg.initializers = Initializers.chainerDefaults(d.parameters, rng: &rng)
    let trainer = try DraganTrainer(generator: gg, discriminator: dg, batch: batch, weights: DraganLossWeights(adversarial: Float(tags)),
                                    adam: AdamHyperparameters())
    func tensor(_ shape: [Int], _ f: () -> Float) -> Tensor { Tensor(shape: shape, data: (0..<elementCount(shape)).map { _ in f() }) }
    func batchData() -> DraganBatch {
      DraganBatch(real: tensor([batch, 3, size, size]) { rng.uniform() * 2 - 1 }, tags: tensor([batch, tags]) { rng.uniform() < 0.3 ? 1 : 0 },
                  zD: tensor([batch, 128 + tags]) { rng.normal() }, zG: tensor([batch, 128 + tags]) { rng.normal() },
                  u: tensor([batch, 3, size, size]) { rng.uniform() })
    }
    try trainer.step(batchData())
    var times: [Double] = []
    for i in 0..<iterations {
      if profile && i == iterations - 1 { trainer.setProfiling(true) }
      let b = batchData()
      let start = DispatchTime.now().uptimeNanoseconds
      try trainer.step(b)
      times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    let median = times.sorted()[times.count / 2]
    if json {
      let obj: [String: Any] = ["runtime": "moekit", "size": size, "C": channels, "B": blocks, "batch": batch,
                                "seconds_per_iteration": median, "all": times]
      print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
    } else {
      print(String(format: "moekit: %@ + acgan-discriminator %@ at %d², batch %d: %.3f s/iteration (median of %d)",
                   g.description, "\(widths)", size, batch, median, times.count))
    }
    if profile {
      let p = trainer.profile
      for (name, list) in [("D step", p.d), ("G step", p.g)] {
        print("\(name): " + list.prefix(10).map { String(format: "%@ %.3f s", $0.op, $0.seconds) }.joined(separator: ", "))
      }
      print("slowest nodes (step, op, input shapes):")
      for n in trainer.slowestNodes(ProcessInfo.processInfo.environment["MOE_PROFILE_NODES"].flatMap { Int($0) } ?? 25) {
        print(String(format: "  %@ %8.1f ms  %@ %@", n.step, n.seconds * 1000, n.op, n.shapes))
      }
    }
  }
}
