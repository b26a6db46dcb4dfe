// moe train: DRAGAN + ACGAN training of the zoo generator and discriminator, resumable, in a run folder.
import ArgumentParser
import Foundation
import MoeTraining

struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train a generator and discriminator with DRAGAN + ACGAN (the MakeGirls.moe objective).",
    discussion: """
      RUN/ receives config.json, log.jsonl (one JSON line per iteration), and every --interval iterations and at the
      end: snapshot_iter_K.npz (a Chainer trainer snapshot: updater/model:gen/…, updater/model:dis/…, the Adam state),
      gen_iter_K.npz and dis_iter_K.npz (the models alone, Chainer's layout) and samples_iter_K.png. \
      `moe train --resume RUN/ --iterations K` continues from the newest snapshot and ends as an uninterrupted run would.
      """)

  @Option(help: "Dataset: a dataset NPZ (images uint8 N×3×S×S, tags float32 N×T) or a folder of PNGs with tags.csv.")
  var data: String?
  @Option(help: "Generator: srresnet-generator[:C=64,B=16,U=…] (U follows from --size when omitted) or dcgan-generator[:C=64] (--size 64 only).")
  var arch = "srresnet-generator"
  @Option(help: "Discriminator: acgan-discriminator[:widths=32.64.128.256] (default widths follow from --size).")
  var dis = "acgan-discriminator"
  @Option(help: "Image side (32, 64, 128, …).") var size: Int = 64
  @Option(help: "Batch size.") var batch: Int = 32
  @Option(help: "Total iterations to reach (counting resumed ones).") var iterations: Int
  @Option(help: "Run folder to create.") var out: String?
  @Option(help: "Run folder to continue (its config is used).") var resume: String?
  @Option(help: "Random seed (data order, noise, tags, perturbations, initial weights).") var seed: UInt64 = 0
  @Option(help: "Snapshot, sample grid and progress line every this many iterations.") var interval: Int = 100
  @Option(help: "Weight of the adversarial loss (default: the number of tags).") var lambdaAdv: Float?
  @Option(help: "Weight of the gradient penalty.") var lambdaGp: Float = 0.5
  @Option(help: "Adam alpha.") var alpha: Double = 2e-4
  @Option(help: "Adam beta1.") var beta1: Double = 0.5
  @Option(help: "Adam beta2.") var beta2: Double = 0.999

  func validate() throws {
    if (out == nil) == (resume == nil) { throw ValidationError("give exactly one of --out RUN/ (a new run) or --resume RUN/") }
    if resume == nil && data == nil { throw ValidationError("--data is required for a new run") }
    guard iterations >= 1 else { throw ValidationError("--iterations must be ≥ 1, got \(iterations)") }
    guard batch >= 2 else { throw ValidationError("--batch must be ≥ 2 (batch statistics), got \(batch)") }
    guard interval >= 1 else { throw ValidationError("--interval must be ≥ 1, got \(interval)") }
    guard lambdaGp >= 0, alpha > 0, (0..<1).contains(beta1), (0..<1).contains(beta2) else {
      throw ValidationError("--lambda-gp must be ≥ 0, --alpha > 0, --beta1 and --beta2 in [0, 1)")
    }
  }

  func run() throws {
    let dir = URL(fileURLWithPath: resume ?? out!)
    var config: DraganConfig? = nil
    if resume == nil {
      var c = DraganConfig(data: data!, generator: arch, discriminator: dis, size: size, batch: batch, seed: seed, interval: interval)
      c.lambdaAdversarial = lambdaAdv
      c.lambdaGradientPenalty = lambdaGp
      c.alpha = alpha
      c.beta1 = beta1
      c.beta2 = beta2
      config = c
    }
    let run = try DraganRun(config: config, directory: dir, resume: resume != nil)
    let start = run.trainer.iteration
    if start >= iterations {
      print("\(dir.path): already at iteration \(start) (≥ --iterations \(iterations)); nothing to do")
      return
    }
    print("moe train: \(run.generatorModel) + acgan-discriminator widths \(run.discriminatorModel.widths) on \(run.data.count) images "
          + "\(run.data.size)² from \(run.data.source), batch \(run.config.batch), iterations \(start + 1)…\(iterations) → \(dir.path)")
    let terminal = isatty(2) != 0
    let began = Date()
    var lastPrint = Date.distantPast
    do {
      try run.train(to: iterations) { line in
        let l = line.losses
        let done = line.iteration - start, elapsed = Date().timeIntervalSince(began)
        let rate = Double(done) / max(elapsed, 1e-9), eta = Double(iterations - line.iteration) / max(rate, 1e-9)
        let text = String(format: "iter %d/%d  %.2f it/s  ETA %.0f s  D %.3f (adv %.3f cls %.3f gp %.3f |∇D| %.2f)  G %.3f (adv %.3f cls %.3f)",
                          line.iteration, iterations, rate, eta, l.lossD, l.advD, l.clsD, l.gp, l.gradNorm, l.lossG, l.advG, l.clsG)
        if terminal {
          FileHandle.standardError.write(Data("\r\(text)\u{1B}[K".utf8))
        } else if line.iteration % run.config.interval == 0 || line.iteration == iterations || Date().timeIntervalSince(lastPrint) > 30 {
          FileHandle.standardError.write(Data("\(text)\n".utf8))
          lastPrint = Date()
        }
      }
    } catch {
      if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
      throw error
    }
    if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    print("moe train: iteration \(run.trainer.iteration) in \(String(format: "%.0f", Date().timeIntervalSince(began))) s; snapshot \(dir.path)/snapshot_iter_\(run.trainer.iteration).npz, generator gen_iter_\(run.trainer.iteration).npz, samples samples_iter_\(run.trainer.iteration).png")
  }
}

