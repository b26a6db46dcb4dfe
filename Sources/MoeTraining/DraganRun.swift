// DraganRun: `moe train` — a run folder with config, Chainer-layout snapshots, sample grids and log.jsonl; resumable.
import Foundation
import MoeData
import MoeFormats
import MoeIR
import MoeModels
import MoeQuant

/// What a run is: written once to RUN/config.json; a resumed run reads it back.
public struct DraganConfig: Codable, Sendable, Equatable {
  public var data: String
  public var generator: String
  public var discriminator: String
  public var size: Int
  public var batch: Int
  public var seed: UInt64
  public var interval: Int
  public var lambdaAdversarial: Float?
  public var lambdaGradientPenalty: Float = 0.5
  public var alpha: Double = 2e-4
  public var beta1: Double = 0.5
  public var beta2: Double = 0.999
  public init(data: String, generator: String, discriminator: String, size: Int, batch: Int, seed: UInt64, interval: Int) {
    self.data = data
    self.generator = generator
    self.discriminator = discriminator
    self.size = size
    self.batch = batch
    self.seed = seed
    self.interval = interval
  }
}

/// One line of log.jsonl.
public struct DraganLogLine: Codable, Sendable, Equatable {
  public var iteration: Int
  public var epoch: Int
  public var losses: DraganLosses
  public var secondsPerIteration: Double

  public init(iteration: Int, epoch: Int, losses: DraganLosses, secondsPerIteration: Double) {
    (self.iteration, self.epoch, self.losses, self.secondsPerIteration) = (iteration, epoch, losses, secondsPerIteration)
  }

  enum CodingKeys: String, CodingKey {
    case iteration, epoch, losses
    case secondsPerIteration = "seconds_per_iteration"
  }
}

/// A training run in a folder.
public final class DraganRun {
  public let config: DraganConfig
  public let directory: URL
  public let data: TrainingData
  public let trainer: DraganTrainer
  public let generatorModel: any ZooGenerator
  public let discriminatorModel: ACGANDiscriminator
  var rng: TrainingRandom
  var order: [Int] = []
  /// Seconds spent in training iterations (Chainer's `_snapshot_elapsed_time`).
  var trainingSeconds = 0.0
  let tagSampler: TagVocabulary
  let noiseLength: Int

  /// Starts a new run in `directory` (which must not hold one) or resumes the one there.
  /// - Throws: `TrainingError` naming the file or option at fault.
  public init(config given: DraganConfig?, directory: URL, resume: Bool) throws {
    self.directory = directory
    let configURL = directory.appendingPathComponent("config.json")
    var config: DraganConfig
    if resume {
      guard let d = FileManager.default.contents(atPath: configURL.path) else {
        throw TrainingError("\(configURL.path): missing; --resume needs a run folder written by moe train")
      }
      do { config = try JSONDecoder().decode(DraganConfig.self, from: d) } catch {
        throw TrainingError("\(configURL.path): not a moe train config (\(error))")
      }
    } else {
      guard let g = given else { throw TrainingError("no configuration given") }
      config = g
      if FileManager.default.fileExists(atPath: configURL.path) {
        throw TrainingError("\(directory.path): already holds a run (config.json); use --resume \(directory.path) to continue it, or another --out")
      }
    }
    self.config = config
    // The model options are checked before the (possibly large) dataset is read; the tag count comes from the data.
    _ = try DraganRun.models(config, tags: 1, noise: 128)
    data = try TrainingData.load(config.data, size: config.size)
    let tags = data.tagCount
    noiseLength = 128
    (generatorModel, discriminatorModel) = try DraganRun.models(config, tags: tags, noise: noiseLength)
    tagSampler = DraganRun.sampler(tags: tags, frequencies: data.tagFrequencies)

    rng = TrainingRandom(seed: config.seed)
    var initRNG = TrainingRandom(seed: config.seed ^ 0x5EED_1A17)
    var g = generatorModel.graph(bnEps: chainerBatchNormEps), d = discriminatorModel.graph()
    g.initializers = Initializers.chainerDefaults(generatorModel.parameters, rng: &initRNG)
    d.initializers = Initializers.chainerDefaults(discriminatorModel.parameters, rng: &initRNG)
    trainer = try DraganTrainer(
      generator: g, discriminator: d, batch: config.batch,
      weights: DraganLossWeights(adversarial: config.lambdaAdversarial ?? Float(tags), gradientPenalty: config.lambdaGradientPenalty),
      adam: AdamHyperparameters(alpha: config.alpha, beta1: config.beta1, beta2: config.beta2))

    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    if resume {
      try restoreLatest()
    } else {
      try AtomicFile.write(try JSONEncoder.pretty.encode(config), to: configURL)
      try AtomicFile.write(Data(), to: logURL)
    }
  }

  /// The zoo models a config names: `srresnet-generator[:C=64,B=16,U=2]` or `dcgan-generator[:C=64]` (64² images only),
  /// and `acgan-discriminator[:widths=32.64.128.256]`.
  static func models(_ c: DraganConfig, tags: Int, noise: Int) throws -> (any ZooGenerator, ACGANDiscriminator) {
    let generators = [SRResNetGenerator.architecture, DCGANGenerator.architecture]
    let generatorChoice = "--arch \(c.generator): expected \(generators.map { $0 + "[:KEY=VALUE,…]" }.joined(separator: " or "))"
    func spec(_ s: String, option: String, _ archs: [String], keys: Set<String>) throws -> (arch: String, values: [String: String]) {
      let parts = s.split(separator: ":", maxSplits: 1).map(String.init)
      guard let arch = parts.first, archs.contains(arch) else {
        throw TrainingError(option == "--arch" ? generatorChoice : "\(option) \(s): expected \(archs[0])[:KEY=VALUE,…]")
      }
      var out: [String: String] = [:]
      for kv in (parts.count > 1 ? parts[1].split(separator: ",") : []) {
        let p = kv.split(separator: "=", maxSplits: 1).map(String.init)
        guard p.count == 2 else { throw TrainingError("\(option) \(s): '\(kv)' is not KEY=VALUE") }
        guard keys.contains(p[0]) else {
          throw TrainingError("\(option) \(s): unknown key '\(p[0])'; \(arch) takes \(keys.sorted().joined(separator: ", "))")
        }
        out[p[0]] = p[1]
      }
      return (arch, out)
    }
    func int(_ d: [String: String], _ k: String, _ def: Int) throws -> Int {
      guard let v = d[k] else { return def }
      guard let i = Int(v), i > 0 else { throw TrainingError("\(k)=\(v): expected a positive integer") }
      return i
    }
    let archOf = c.generator.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
    let generator: any ZooGenerator
    if archOf == DCGANGenerator.architecture {
      let gs = try spec(c.generator, option: "--arch", generators, keys: ["C"]).values
      let channels = try int(gs, "C", 64)
      guard channels % 8 == 0 else { throw TrainingError("--arch \(c.generator): C=\(channels) must be divisible by 8 (d1…d3 halve it)") }
      let g = DCGANGenerator(channels: channels, inputLength: noise + tags)
      guard g.outputSide == c.size else {
        throw TrainingError("--size \(c.size): dcgan-generator makes \(g.outputSide)² images only; use --size \(g.outputSide) or srresnet-generator")
      }
      generator = g
    } else {
      let gs = try spec(c.generator, option: "--arch", generators, keys: ["C", "B", "U"]).values
      var u = 0
      while 16 << u < c.size { u += 1 }
      guard 16 << u == c.size else { throw TrainingError("--size \(c.size): the generator makes 16·2^U pixels (32, 64, 128, …)") }
      let g = SRResNetGenerator(channels: try int(gs, "C", 64), blocks: try int(gs, "B", 16), upsamplings: try int(gs, "U", u),
                                inputLength: noise + tags)
      guard g.outputSide == c.size else { throw TrainingError("U=\(g.upsamplings) makes \(g.outputSide)² images, but --size is \(c.size)") }
      generator = g
    }
    let ds = try spec(c.discriminator, option: "--dis", [ACGANDiscriminator.architecture], keys: ["widths"]).values
    var widths: [Int] = []
    if let w = ds["widths"] {
      widths = try w.split(separator: ".").map { v -> Int in
        guard let i = Int(v), i > 0 else { throw TrainingError("widths=\(w): expected positive integers separated by '.'") }
        return i
      }
    } else {
      var s = c.size, k = 0
      while s > 4 { widths.append(32 << k); s /= 2; k += 1 }
    }
    return (generator, ACGANDiscriminator(widths: widths, size: c.size, tags: tags))
  }

  /// Tags for the generator's inputs, drawn from the dataset's frequencies (MakeGirls groups when the data has its 34 tags).
  static func sampler(tags: Int, frequencies f: [Double]) -> TagVocabulary {
    let mg = TagVocabulary.makeGirls
    if mg.tags.count == tags {
      var k = 0
      return TagVocabulary(noiseLength: mg.noiseLength, groups: mg.groups.map { g in
        defer { k += g.tags.count }
        let p = Array(f[k..<(k + g.tags.count)])
        return TagVocabulary.Group(name: g.name, oneOf: g.oneOf, tags: g.tags, prior: g.oneOf && p.reduce(0, +) == 0 ? g.prior : p)
      })
    }
    return TagVocabulary(noiseLength: 128, groups: f.enumerated().map { TagVocabulary.Group(name: "tag\($0.offset)", oneOf: false, tags: ["tag\($0.offset)"], prior: [$0.element]) })
  }

  var logURL: URL { directory.appendingPathComponent("log.jsonl") }
  func snapshotURL(_ k: Int) -> URL { directory.appendingPathComponent("snapshot_iter_\(k).npz") }

  // MARK: the data iterator and the randomness of an iteration

  /// The next batch's indices, as Chainer's shuffling SerialIterator: a permutation per epoch, wrapping into the next.
  func nextIndices() -> [Int] {
    let n = data.count, b = config.batch
    var it = trainer.iterator
    if order.isEmpty { order = Array(0..<n).shuffled(using: &rng) }
    var out: [Int] = []
    it.previousEpochDetail = Double(it.epoch) + Double(it.position) / Double(n)
    while out.count < b {
      let take = min(b - out.count, n - it.position)
      out += order[it.position..<(it.position + take)]
      it.position += take
      if it.position == n {
        it.position = 0
        it.epoch += 1
        order = Array(0..<n).shuffled(using: &rng)
      }
    }
    it.isNewEpoch = it.epoch > trainer.iterator.epoch
    trainer.iterator = it
    return out
  }

  func generatorInputs() -> Tensor {
    var z: [Float] = []
    for _ in 0..<config.batch {
      for _ in 0..<noiseLength { z.append(rng.normal()) }
      z += tagSampler.sampleTags(using: &rng)
    }
    return Tensor(shape: [config.batch, noiseLength + data.tagCount], data: z)
  }

  /// The next iteration's batch and randomness (data indices, z of the D step, z of the G step, perturbation noise).
  public func nextBatch() -> DraganBatch {
    let (x, t) = data.batch(nextIndices())
    let zD = generatorInputs(), zG = generatorInputs()
    let u = Tensor(shape: x.shape, data: (0..<x.count).map { _ in rng.uniform() })
    return DraganBatch(real: x, tags: t, zD: zD, zG: zG, u: u)
  }

  // MARK: running

  /// Trains until `iterations` (total, counting any resumed ones), writing a snapshot, a sample grid and the log
  /// every `interval` iterations and at the end. `report` receives each iteration's log line.
  public func train(to iterations: Int, report: (DraganLogLine) -> Void) throws {
    let log = try FileHandle(forWritingTo: logURL)
    defer { try? log.close() }
    try log.seekToEnd()
    while trainer.iteration < iterations {
      let batch = nextBatch()
      let losses: DraganLosses
      do { losses = try trainer.step(batch) } catch let e as TrainingError {
        let last = latestSnapshotIteration().map { snapshotURL($0).path } ?? "none yet"
        throw TrainingError("\(e.message); last snapshot: \(last)")
      }
      trainingSeconds += trainer.lastSeconds
      let line = DraganLogLine(iteration: trainer.iteration, epoch: trainer.iterator.epoch, losses: losses,
                               secondsPerIteration: trainer.lastSeconds)
      log.write(try JSONEncoder.sorted.encode(line) + Data("\n".utf8))
      report(line)
      if trainer.iteration % config.interval == 0 || trainer.iteration == iterations { try writeSnapshot() }
    }
  }

  /// Writes snapshot_iter_K.npz (trainer layout + MoeKit's RNG and iterator order), gen_iter_K.npz and
  /// dis_iter_K.npz (the models alone, Chainer's layout), samples_iter_K.png and losses.svg, each atomically.
  public func writeSnapshot() throws {
    let k = trainer.iteration
    func float64(_ v: Double) throws -> NpyArray {
      try NpyArray(dtype: .float64, shape: [], data: withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) })
    }
    let extra: [(String, NpyArray)] = [
      // What Chainer's Trainer itself serializes, so `load_npz(snapshot, trainer)` reads the file strictly.
      ("_snapshot_elapsed_time", try float64(trainingSeconds)),
      ("stop_trigger/previous_iteration", NpyArray(int64s: [Int64(k)], shape: [])),
      ("stop_trigger/previous_epoch_detail", try float64(Double(trainer.iterator.epoch) + Double(trainer.iterator.position) / Double(data.count))),
      ("moekit/rng_state", NpyArray(int64s: rng.state.map { Int64(bitPattern: $0) }, shape: [4])),
      ("moekit/order", NpyArray(int64s: order.map(Int64.init), shape: [order.count])),
    ]
    try NPZFile.write(try trainer.modelArrays("gen", prefix: ""), to: directory.appendingPathComponent("gen_iter_\(k).npz"))
    try NPZFile.write(try trainer.modelArrays("dis", prefix: ""), to: directory.appendingPathComponent("dis_iter_\(k).npz"))
    try SampleGrid.write(trainer: trainer, generator: generatorModel, vocabulary: tagSampler, seed: config.seed,
                         to: directory.appendingPathComponent("samples_iter_\(k).png"))
    try LossChart.write(run: directory, title: directory.lastPathComponent)
    // The trainer snapshot last: its presence marks a complete interval.
    try NPZFile.write(try trainer.snapshotArrays(extra: extra), to: snapshotURL(k))
  }

  /// The iteration of the newest trainer snapshot in the folder.
  public func latestSnapshotIteration() -> Int? {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    return names.compactMap { n -> Int? in
      guard n.hasPrefix("snapshot_iter_"), n.hasSuffix(".npz") else { return nil }
      return Int(n.dropFirst("snapshot_iter_".count).dropLast(".npz".count))
    }.max()
  }

  /// Loads the newest snapshot and cuts log.jsonl back to it (lines written after it belong to lost iterations).
  func restoreLatest() throws {
    // A run killed during an atomic write leaves its temporary file (never a half-written final one): remove those.
    for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where name.hasPrefix(".") && name.contains(".tmp-") {
      try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
    }
    guard let k = latestSnapshotIteration() else {
      throw TrainingError("\(directory.path): no snapshot_iter_K.npz to resume from")
    }
    let url = snapshotURL(k)
    let npz = try NPZFile(url: url)
    try trainer.restore(from: npz, file: url.path)
    guard npz.contains("moekit/rng_state"), npz.contains("moekit/order") else {
      throw TrainingError("\(url.path): no moekit/rng_state; not written by moe train")
    }
    rng = TrainingRandom(state: try npz.array("moekit/rng_state").int64s().map { UInt64(bitPattern: $0) })
    if npz.contains("_snapshot_elapsed_time") { trainingSeconds = Double(try npz.array("_snapshot_elapsed_time").floats().first ?? 0) }
    order = try npz.array("moekit/order").int64s().map { Int($0) }
    let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
    let kept = text.split(separator: "\n").filter { l in
      (try? JSONDecoder().decode(DraganLogLine.self, from: Data(l.utf8)))?.iteration ?? Int.max <= k
    }
    try AtomicFile.write(Data((kept.map { $0 + "\n" }.joined()).utf8), to: logURL)
  }
}

extension JSONEncoder {
  static var pretty: JSONEncoder {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys]
    return e
  }
  static var sorted: JSONEncoder {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    return e
  }
}
