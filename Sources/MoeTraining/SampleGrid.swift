// SampleGrid: the fixed-noise × fixed-tags PNG grid a run writes at every snapshot (same inputs every time).
import Foundation
import MoeData
import MoeFormats
import MoeIR
import MoeModels
import MoeQuant
import MoeRuntime

enum SampleGrid {
  /// 8 rows of tag vectors × 8 columns of noise, drawn once from `seed` (not the training generator's stream),
  /// rendered by the generator in inference form (BN running averages) with the trainer's current weights.
  static func write(trainer: DraganTrainer, generator: any ZooGenerator, vocabulary: TagVocabulary, seed: UInt64, to url: URL) throws {
    let rows = 8, cols = 8, side = generator.outputSide
    var g = generator.graph(bnEps: chainerBatchNormEps)
    for w in g.weights { g.initializers[w.name] = try trainer.weight("gen", w.name) }
    var rng = TrainingRandom(seed: seed ^ 0x6A1D)
    let noise = (0..<cols).map { _ in (0..<vocabulary.noiseLength).map { _ in rng.normal() } }
    let tags = (0..<rows).map { _ in vocabulary.sampleTags(using: &rng) }
    var z: [Float] = []
    for r in 0..<rows { for c in 0..<cols { z += noise[c] + tags[r] } }
    let out = try Executor(graph: g).run([g.inputs[0].name: Tensor(shape: [rows * cols, generator.inputLength], data: z)])
    let img = out[g.outputs[0]]!
    let gap = 2, width = cols * side + (cols + 1) * gap, height = rows * side + (rows + 1) * gap
    var canvas = [UInt8](repeating: 255, count: width * height * 3)
    let plane = 3 * side * side
    for i in 0..<(rows * cols) {
      let rgb = PNG.rgb(fromCHW: img.data[(i * plane)..<((i + 1) * plane)], side: side)
      let x0 = gap + (i % cols) * (side + gap), y0 = gap + (i / cols) * (side + gap)
      for y in 0..<side {
        let dst = ((y0 + y) * width + x0) * 3
        canvas.replaceSubrange(dst..<(dst + side * 3), with: rgb[(y * side * 3)..<((y + 1) * side * 3)])
      }
    }
    try AtomicFile.write(PNG.encode(rgb: canvas, width: width, height: height), to: url)
  }
}
