// moe generate: a PNG grid of generator samples for chosen tags (unspecified tags sampled from the priors).
import ArgumentParser
import Foundation
import MoeFormats
import MoeIR
import MoeQuant
import MoeRuntime

struct Generate: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Generate images from a generator into a PNG grid.")

  enum GridMode: String, ExpressibleByArgument {
    case none, fixedNoise = "fixed-noise", fixedTags = "fixed-tags", interpolate
  }

  @Argument(help: ArgumentHelp("Generator model: \(ModelFile.inputFormatsHelp)."))
  var modelPath: String

  @Option(help: "Comma-separated tag names of the model's vocabulary to switch on (at most one per one-of group).")
  var tags: String = ""

  @Option(help: "Random seed.")
  var seed: UInt64 = 0

  @Option(parsing: .unconditional, help: "Number of images.")
  var count: Int = 16

  @Option(help: """
    fixed-noise: one noise, sampled tags; fixed-tags: one tag vector, sampled noise; interpolate: --count steps \
    from one noise vector to another (linear), with one tag vector.
    """)
  var grid: GridMode = .none

  @Option(name: .shortAndLong, help: "Output PNG.")
  var output: String

  @Option(help: "Also write the input vectors (NPY, one row per image, in grid order): `moe run` on them gives the grid's images.")
  var saveInputs: String?

  @OptionGroup var model: ModelOptions

  @OptionGroup var optimization: OptimizeOptions

  func validate() throws {
    guard (1...256).contains(count) else { throw ValidationError("--count must be 1…256, got \(count)") }
    guard URL(fileURLWithPath: output).pathExtension.lowercased() == "png" else {
      throw ValidationError("-o \(output): moe generate writes PNG only; give a file name ending in .png")
    }
  }

  func run() throws {
    let chosen = tags.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    var g = try model.load(modelPath).graph
    try optimization.optimize(&g)
    guard g.inputs.count == 1, g.outputs.count == 1 else { throw ValidationError("\(modelPath): not a one-input, one-output generator") }
    // The vocabulary comes from the model's metadata (recorded by its importer), never from the input's width.
    let priors = try ModelPriors(of: g)
    let tagged = priors.taggedInput.flatMap { name in priors.vocabulary.map { (name, $0) } }
    if !chosen.isEmpty {
      guard let (_, vocab) = tagged else {
        throw ValidationError("\(modelPath): --tags \(chosen.joined(separator: ",")): the model has no tag vocabulary (its metadata records no '\(ModelPriors.vocabularyKey)' and noise+tags '\(ModelPriors.inputPriorKey)'), so it takes no tags")
      }
      if let problem = vocab.conflicts(in: chosen) { throw ValidationError("\(modelPath): --tags: \(problem)") }
    }
    if grid == .fixedTags && tagged == nil {
      throw ValidationError("\(modelPath): --grid fixed-tags needs a model with a tag vocabulary; this one takes noise only")
    }
    if grid == .interpolate && count < 2 { throw ValidationError("--grid interpolate needs --count 2 or more, got \(count)") }
    var feeds = sampleInputs(for: g, batch: count, seed: seed, tags: Set(chosen), fixedNoise: grid == .fixedNoise)
    if grid == .fixedTags, let (name, vocab) = tagged, var z = feeds[name] {
      let n = vocab.inputWidth
      for r in 1..<count { for c in vocab.noiseLength..<n { z.data[r * n + c] = z.data[c] } }
      feeds[name] = z
    }
    if grid == .interpolate { feeds = interpolated(feeds, noiseLength: tagged?.1.noiseLength) }
    if let saveInputs, let z = feeds[g.inputs[0].name] {
      try Npy.write(NpyArray(floats: z.data, shape: z.shape), to: URL(fileURLWithPath: saveInputs))
    }
    let exec = try Executor(graph: g)
    let t0 = DispatchTime.now().uptimeNanoseconds
    let out = try exec.run(feeds)[g.outputs[0]]!
    let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
    guard out.shape.count == 4, out.shape[1] == 3, out.shape[2] == out.shape[3] else {
      throw ValidationError("\(modelPath): output \(out.shape) is not a batch of square RGB images")
    }
    let side = out.shape[2], cols = Int(Double(count).squareRoot().rounded(.up)), rows = (count + cols - 1) / cols
    let pad = 2, w = cols * side + (cols + 1) * pad, h = rows * side + (rows + 1) * pad
    var canvas = [UInt8](repeating: 255, count: w * h * 3)
    let plane = 3 * side * side
    for i in 0..<count {
      let rgb = PNG.rgb(fromCHW: out.data[(i * plane)..<((i + 1) * plane)], side: side)
      let x0 = pad + (i % cols) * (side + pad), y0 = pad + (i / cols) * (side + pad)
      for y in 0..<side {
        let dst = ((y0 + y) * w + x0) * 3
        canvas.replaceSubrange(dst..<(dst + side * 3), with: rgb[(y * side * 3)..<((y + 1) * side * 3)])
      }
    }
    try AtomicFile.write(PNG.encode(rgb: canvas, width: w, height: h), to: URL(fileURLWithPath: output))
    print(String(format: "%@: %d images %dx%d in %.1f ms (%.1f ms/image)", output, count, side, side, ms, ms / Double(count)))
  }

  /// Row r of every input becomes (1 − t)·row 0 + t·row 1 with t = r / (count − 1) over the noise entries (the first
  /// `noiseLength`, or all when the model takes no tags); tag entries are row 0's everywhere.
  func interpolated(_ feeds: [String: Tensor], noiseLength: Int?) -> [String: Tensor] {
    feeds.mapValues { z in
      var z = z
      let n = z.count / count, noise = min(noiseLength ?? n, n)
      let a = Array(z.data[0..<n]), b = Array(z.data[n..<(2 * n)])
      for r in 0..<count {
        let t = Float(r) / Float(count - 1)
        for c in 0..<n { z.data[r * n + c] = c < noise ? (1 - t) * a[c] + t * b[c] : a[c] }
      }
      return z
    }
  }
}
