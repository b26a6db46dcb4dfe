// moe evaluate: attribute control of a generator measured by the tagger, and a Fréchet distance on tagger features.
import ArgumentParser
import Foundation
import MoeData
import MoeFormats
import MoeIR
import MoeQuant
import MoeRuntime
import MoeTraining

struct Evaluate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Generate images for tags drawn from the priors; report per tag how often the tagger finds the requested tag.",
    discussion: """
      Attribute-control accuracy of a tag: of the images generated with the tag on, the fraction the tagger tags with it
      (one-of groups such as hair and eye colour by argmax, so each image has exactly one). Beside it, how often the tagger
      finds the tag when it was NOT requested: a generator that draws glasses on every face scores 100% on glasses but
      also finds them when off. Groups whose tags are independent also get their balanced accuracy (the mean of the
      on-rate when requested and the off-rate when not). With --data, also the Fréchet distance between the tagger's
      features of generated and dataset images (a tagger-feature Fréchet distance — not FID).
      """)

  @Argument(help: ArgumentHelp("Generator model (\(ModelFile.inputFormatsHelp)): a MakeGirls-style generator whose metadata holds its tag vocabulary.")) var generator: String
  @Option(help: "Tagger checkpoint (tagger-cnn NPZ).") var tagger: String
  @Option(help: "Images to generate.") var count: Int = 512
  @Option(help: "Dataset for the Fréchet distance (the first --count images are used).") var data: String?
  @Option(help: "Probability at or above which a tag outside the one-of groups is on.") var threshold: Float = 0.5
  @Option(help: "Random seed.") var seed: UInt64 = 0
  @Flag(help: "Print JSON.") var json = false
  @Option(help: "Write an HTML page with a per-tag bar chart.") var html: String?

  func validate() throws {
    guard count >= 2 else { throw ValidationError("--count must be ≥ 2, got \(count)") }
    if let html, !FileManager.default.fileExists(atPath: (html as NSString).deletingLastPathComponent.isEmpty ? "." : (html as NSString).deletingLastPathComponent) {
      throw ValidationError("--html \(html): the folder does not exist")
    }
  }

  func run() throws {
    let model = try ModelFile.load(URL(fileURLWithPath: generator))
    let priors = try ModelPriors(of: model.graph)
    guard let vocab = priors.vocabulary, let zName = priors.taggedInput else {
      throw ValidationError("\(generator): the model has no tag vocabulary in its metadata; moe evaluate needs a tag-conditioned generator")
    }
    let exec = try Executor(graph: model.graph)
    var rng = TrainingRandom(seed: seed)
    var requested: [[Float]] = [], images: [Float] = []
    var side = 0
    var done = 0
    while done < count {
      let n = min(32, count - done)
      var z: [Float] = []
      for _ in 0..<n {
        z += (0..<vocab.noiseLength).map { _ in rng.normal() }
        let t = vocab.sampleTags(using: &rng)
        requested.append(t)
        z += t
      }
      let out = try exec.run([zName: Tensor(shape: [n, vocab.inputWidth], data: z)])[model.graph.outputs[0]]!
      side = out.shape[2]
      images += out.data
      done += n
    }
    let t = try LoadedTagger(path: tagger, size: side)
    guard t.vocabulary.tags == vocab.tags else { throw ValidationError("\(tagger): its tags differ from the generator's vocabulary") }
    let (probs, feats) = try t.run(Tensor(shape: [count, 3, side, side], data: images))
    var hits = [Int](repeating: 0, count: vocab.tags.count), asked = hits, offHits = hits, offAsked = hits
    for (r, p) in probs.enumerated() {
      let on = decideTags(p, vocabulary: vocab, threshold: threshold)
      for k in vocab.tags.indices {
        if requested[r][k] > 0 {
          asked[k] += 1
          if on[k] { hits[k] += 1 }
        } else {
          offAsked[k] += 1
          if on[k] { offHits[k] += 1 }
        }
      }
    }
    func rate(_ h: Int, _ a: Int) -> Double? { a == 0 ? nil : Double(h) / Double(a) }
    var groups: [(String, Double)] = [], balanced: [(String, Double)] = []
    var k = 0
    for g in vocab.groups {
      let r = k..<(k + g.tags.count)
      let a = r.reduce(0) { $0 + asked[$1] }, h = r.reduce(0) { $0 + hits[$1] }
      groups.append((g.name, a == 0 ? 0 : Double(h) / Double(a)))
      if !g.oneOf {
        let b = r.compactMap { i in rate(hits[i], asked[i]).flatMap { on in rate(offAsked[i] - offHits[i], offAsked[i]).map { (on + $0) / 2 } } }
        if !b.isEmpty { balanced.append((g.name, b.reduce(0, +) / Double(b.count))) }
      }
      k += g.tags.count
    }
    var fd: Double? = nil
    if let data {
      let d = try TrainingData.load(data, size: side)
      let m = min(count, d.count)
      fd = frechetDistance(feats, try t.run(d.batch(Array(0..<m)).images).features)
    }
    let perTag = vocab.tags.indices.map { (vocab.tags[$0], asked[$0], rate(hits[$0], asked[$0]), rate(offHits[$0], offAsked[$0])) }
    if json {
      let tags = vocab.tags.indices.map { i -> (String, [String: Any]) in
        (vocab.tags[i], ["requested": asked[i], "found_when_requested": hits[i], "accuracy": rate(hits[i], asked[i]) ?? NSNull(),
                         "not_requested": offAsked[i], "found_when_not_requested": offHits[i],
                         "found_rate_when_not_requested": rate(offHits[i], offAsked[i]) ?? NSNull()])
      }
      var obj: [String: Any] = ["generator": generator, "tagger": tagger, "count": count,
                                "tags": Dictionary(uniqueKeysWithValues: tags),
                                "groups": Dictionary(uniqueKeysWithValues: groups.map { ($0.0, $0.1) }),
                                "groups_balanced_accuracy": Dictionary(uniqueKeysWithValues: balanced.map { ($0.0, $0.1) })]
      if let fd { obj["tagger_feature_frechet_distance"] = fd }
      print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
    } else {
      print("attribute control of \(generator) by \(tagger) on \(count) images (\(side)²):")
      let pct = { (v: Double?) in v.map { String(format: "%5.1f%%", 100 * $0) } ?? "    —" }
      print("  tag          requested  found when requested  found when not requested")
      for (name, a, acc, off) in perTag {
        print("  " + name.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: " %9d", a) + "  " + pct(acc)
              + "                 " + pct(off))
      }
      for (name, acc) in groups {
        let b = balanced.first { $0.0 == name }.map { String(format: " (balanced accuracy %.1f%%)", 100 * $0.1) } ?? ""
        print("  group " + name.padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: " %5.1f%%", 100 * acc) + b)
      }
      if let fd { print(String(format: "  tagger-feature Fréchet distance to %@: %.3f", data!, fd)) }
    }
    if let html {
      let bars = perTag.enumerated().map { i, e -> String in
        let w = Int(((e.2 ?? 0) * 300).rounded()), off = Int(((e.3 ?? 0) * 300).rounded())
        return "<text x='0' y='\(i * 18 + 13)'>\(e.0)</text><rect x='110' y='\(i * 18 + 2)' width='\(w)' height='10' fill='#5b7bd5'/>"
          + "<rect x='110' y='\(i * 18 + 12)' width='\(off)' height='3' fill='#aaa'/>"
          + "<text x='\(115 + max(w, off))' y='\(i * 18 + 13)'>\(e.2.map { String(format: "%.0f%%", 100 * $0) } ?? "—")"
          + "\(e.3.map { String(format: " (%.0f%% when not requested)", 100 * $0) } ?? "")</text>"
      }.joined()
      let page = """
        <!doctype html><meta charset="utf-8"><title>moe evaluate</title>
        <style>body{font:14px system-ui;margin:2em}text{font-size:12px}</style>
        <h1>Attribute control</h1><p>\(generator) tagged by \(tagger), \(count) images of \(side)²\(fd.map { String(format: "; tagger-feature Fréchet distance %.3f", $0) } ?? "").</p>
        <p>\(groups.map { String(format: "%@ %.1f%%", $0.0, 100 * $0.1) }.joined(separator: " · "))\(balanced.isEmpty ? "" : " — balanced: " + balanced.map { String(format: "%@ %.1f%%", $0.0, 100 * $0.1) }.joined(separator: " · "))</p>
        <p>Blue: found when requested. Grey: found when not requested.</p>
        <svg width="720" height="\(perTag.count * 18 + 4)" role="img" aria-label="per-tag accuracy">\(bars)</svg>
        """
      try AtomicFile.write(Data(page.utf8), to: URL(fileURLWithPath: html))
    }
  }
}
