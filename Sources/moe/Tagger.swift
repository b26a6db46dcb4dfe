// moe train-tagger and moe tag: the tagger (Illustration2Vec's role) trained by MoeKit, and tagging image files.
import ArgumentParser
import Foundation
import MoeData
import MoeFormats
import MoeIR
import MoeModels
import MoeQuant
import MoeRuntime
import MoeTraining

/// The tagger, its vocabulary and an executor, shared by `tag` and `evaluate`.
struct LoadedTagger {
  let model: TaggerCNN
  let executor: Executor
  let vocabulary: TagVocabulary

  init(path: String, size: Int) throws {
    let imported = try ModelFile.load(URL(fileURLWithPath: path))
    guard imported.graph.metadata["arch"] == TaggerCNN.architecture,
          let base = try TaggerCNN.infer(shapes: imported.graph.initializers.mapValues(\.shape)) else {
      throw ValidationError("\(path): not a tagger-cnn checkpoint (keys convs/k/W, mix/W, fc/W)")
    }
    model = TaggerCNN(widths: base.widths, size: size, tags: base.tags)
    var g = model.graph()
    g.initializers = imported.graph.initializers
    executor = try Executor(graph: g)
    guard base.tags == TagVocabulary.makeGirls.tags.count else {
      throw ValidationError("\(path): the tagger has \(base.tags) tags; MoeKit's vocabulary (tags.json) has \(TagVocabulary.makeGirls.tags.count)")
    }
    vocabulary = .makeGirls
  }

  /// Per-tag accuracy on dataset images (one-of groups by argmax, the rest at `threshold`).
  func accuracy(on d: TrainingData, indices: [Int], threshold: Float) throws -> [Double] {
    var correct = [Int](repeating: 0, count: d.tagCount)
    var start = 0
    while start < indices.count {
      let chunk = Array(indices[start..<min(start + 256, indices.count)])
      let (images, truth) = d.batch(chunk)
      for (r, p) in try run(images).probabilities.enumerated() {
        let on = decideTags(p, vocabulary: vocabulary, threshold: threshold)
        for k in 0..<d.tagCount where on[k] == (truth.data[r * d.tagCount + k] > 0.5) { correct[k] += 1 }
      }
      start += chunk.count
    }
    return correct.map { Double($0) / Double(max(indices.count, 1)) }
  }

  /// Tag probabilities (sigmoid of the logits) and features of CHW images in [−1, 1], in batches.
  func run(_ images: Tensor) throws -> (probabilities: [[Float]], features: [[Float]]) {
    var p: [[Float]] = [], f: [[Float]] = []
    let n = images.shape[0], plane = elementCount(Array(images.shape.dropFirst()))
    var start = 0
    while start < n {
      let count = min(64, n - start)
      let slice = Tensor(shape: [count] + Array(images.shape.dropFirst()), data: Array(images.data[(start * plane)..<((start + count) * plane)]))
      let out = try executor.run(["x": slice])
      let t = model.tags, fw = out["features"]!.shape[1]
      for r in 0..<count {
        p.append(out["logits"]!.data[(r * t)..<((r + 1) * t)].map { 1 / (1 + exp(-$0)) })
        f.append(Array(out["features"]!.data[(r * fw)..<((r + 1) * fw)]))
      }
      start += count
    }
    return (p, f)
  }
}

/// An RGB image as a CHW float tensor in [−1, 1].
func chw(_ image: RGBImage) -> [Float] { image.planes.map { Float($0) / 127.5 - 1 } }

struct TrainTagger: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train-tagger", abstract: "Train the tagger (tagger-cnn) on a dataset with MoeKit's trainer; prints held-out accuracy.")

  @Option(help: "Dataset NPZ or folder (as for moe train).") var data: String
  @Option(help: "Image side.") var size: Int = 64
  @Option(help: "Iterations.") var iterations: Int = 1500
  @Option(help: "Batch size.") var batch: Int = 64
  @Option(help: "Fraction of the dataset held out for the accuracy figure.") var holdout: Double = 0.1
  @Option(help: "Random seed.") var seed: UInt64 = 0
  @Option(name: .shortAndLong, help: "Output tagger NPZ (Chainer layout).") var output: String
  @Option(name: .customLong("init"), help: "Start from this tagger-cnn checkpoint (e.g. to fine-tune) instead of new weights; its tags must match the data's.")
  var initial: String?

  func validate() throws {
    guard iterations >= 1, batch >= 2, holdout > 0, holdout < 1 else {
      throw ValidationError("--iterations ≥ 1, --batch ≥ 2 and 0 < --holdout < 1 are required")
    }
    guard output.hasSuffix(".npz") else { throw ValidationError("-o \(output): the tagger is written as a Chainer .npz") }
  }

  func run() throws {
    let d = try TrainingData.load(data, size: size)
    let held = max(1, Int(Double(d.count) * holdout)), trainCount = d.count - held
    guard trainCount >= batch else { throw ValidationError("\(data): \(d.count) images leave \(trainCount) for training, fewer than --batch \(batch)") }
    var model = TaggerCNN.standard(size: size, tags: d.tagCount)
    var rng = TrainingRandom(seed: seed)
    var g = model.graph()
    g.initializers = Initializers.chainerDefaults(model.parameters, rng: &rng)
    if let initial {
      let imported: ImportedModel
      do { imported = try ModelFile.load(URL(fileURLWithPath: initial)) } catch {
        throw TrainingError("--init \(initial): not a tagger-cnn checkpoint (\(error))")
      }
      guard imported.graph.metadata["arch"] == TaggerCNN.architecture,
            let base = try TaggerCNN.infer(shapes: imported.graph.initializers.mapValues(\.shape)) else {
        throw TrainingError("--init \(initial): not a tagger-cnn checkpoint (keys convs/k/W, mix/W, fc/W)")
      }
      guard base.tags == d.tagCount else {
        throw TrainingError("--init \(initial): the tagger has \(base.tags) tags, but \(data) has \(d.tagCount)")
      }
      model = TaggerCNN(widths: base.widths, size: size, tags: base.tags)
      g = model.graph()
      g.initializers = imported.graph.initializers
    }
    let trainer = try ClassifierTrainer(model: g, batch: batch)
    let progress = ProgressLine(total: iterations, noun: "iterations")
    var order = Array(0..<trainCount).shuffled(using: &rng), position = 0
    var recent: [Float] = []
    for i in 0..<iterations {
      if position + batch > trainCount { order.shuffle(using: &rng); position = 0 }
      let (x, t) = d.batch(Array(order[position..<(position + batch)]))
      position += batch
      recent.append(try trainer.step(images: x, tags: t))
      if recent.count > 50 { recent.removeFirst() }
      progress.update(i + 1)
    }
    progress.finish()
    var weights = g
    weights.initializers = try trainer.weights()
    let arrays = model.parameters.map { ($0.key, NpyArray(floats: weights.initializers[$0.key]!.data, shape: $0.shape)) }
    try NPZFile.write(arrays, to: URL(fileURLWithPath: output))
    let tagger = try LoadedTagger(path: output, size: size)
    let acc = try tagger.accuracy(on: d, indices: Array(trainCount..<d.count), threshold: 0.5)
    print(String(format: "tagger: %@; loss %.4f (mean of the last 50 iterations); held-out %d images: mean per-tag accuracy %.2f%%",
                 model.description, recent.reduce(0, +) / Float(max(recent.count, 1)), held, 100 * acc.reduce(0, +) / Double(acc.count)))
    for (name, a) in zip(tagger.vocabulary.tags, acc) where a < 0.95 { print(String(format: "  %@ %.1f%%", name, 100 * a)) }
    print("wrote \(output)")
  }
}

struct Tag: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Tag PNG or JPEG images with the tagger: one line per image, tags with probabilities (hair and eye colour by argmax).")

  @Argument(help: "PNG or JPEG files.") var images: [String] = []
  @Option(help: "Instead of files: report the tagger's per-tag accuracy on this dataset (NPZ or folder).") var data: String?
  @Option(help: "Tagger checkpoint (tagger-cnn NPZ).") var model: String = "Samples/tagger.npz"
  @Option(help: "Probability at or above which a tag outside the one-of groups is on.") var threshold: Float = 0.25
  @Option(help: "Side the tagger reads (images are centre-cropped and resized to it).") var size: Int = 64
  @Flag(help: "One JSON object per image.") var json = false

  func validate() throws {
    guard !images.isEmpty || data != nil else { throw ValidationError("give at least one image, or --data DATASET") }
    guard threshold > 0, threshold < 1 else { throw ValidationError("--threshold must be in (0, 1), got \(threshold)") }
  }

  func run() throws {
    let tagger = try LoadedTagger(path: model, size: size)
    if let data {
      let d = try TrainingData.load(data, size: size)
      let acc = try tagger.accuracy(on: d, indices: Array(0..<d.count), threshold: threshold)
      let mean = acc.reduce(0, +) / Double(acc.count)
      if json {
        let obj: [String: Any] = ["data": data, "images": d.count, "mean_accuracy": mean,
                                  "tags": Dictionary(uniqueKeysWithValues: zip(tagger.vocabulary.tags, acc).map { ($0.0, $0.1) })]
        print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
      } else {
        print(String(format: "%@: %d images, mean per-tag accuracy %.2f%%", data, d.count, 100 * mean))
        for (name, a) in zip(tagger.vocabulary.tags, acc) { print(String(format: "  %-12@ %.1f%%", name, 100 * a)) }
      }
      return
    }
    for path in images {
      let image = try ImageFile.read(path).centreCropped().resized(width: size, height: size)
      let p = try tagger.run(Tensor(shape: [1, 3, size, size], data: chw(image))).probabilities[0]
      let on = decideTags(p, vocabulary: tagger.vocabulary, threshold: threshold)
      let chosen = tagger.vocabulary.tags.indices.filter { on[$0] }
      if json {
        let obj: [String: Any] = ["file": path, "tags": Dictionary(uniqueKeysWithValues: chosen.map { (tagger.vocabulary.tags[$0], Double(p[$0])) })]
        print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
      } else {
        print("\(path): " + chosen.map { String(format: "%@ %.2f", tagger.vocabulary.tags[$0], p[$0]) }.joined(separator: ", "))
      }
    }
  }
}
