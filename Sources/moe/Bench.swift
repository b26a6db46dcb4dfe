// moe bench: ms per image (median after warm-up), GFLOP/s and peak activation memory of the native runtime.
import ArgumentParser
import Foundation
import MoeIR
import MoeRuntime

struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Measure inference speed and memory.")

  @Argument(help: "Model file.")
  var modelPath: String

  @Option(help: "Batch size.")
  var batch: Int = 1

  @Option(help: "Timed runs after one warm-up run.")
  var runs: Int = 5

  @Option(help: "OpenBLAS threads.")
  var threads: Int = 2

  @Option(help: "Runtime: native.")
  var runtime: String = "native"

  @Flag(help: "One JSON object per line.")
  var json = false

  @OptionGroup var model: ModelOptions

  @OptionGroup var optimization: OptimizeOptions

  func validate() throws {
    guard batch >= 1 else { throw ValidationError("--batch must be ≥ 1") }
    guard runs >= 1 else { throw ValidationError("--runs must be ≥ 1") }
    guard runtime == "native" else { throw ValidationError("runtime '\(runtime)' is not available yet; use native") }
  }

  func run() throws {
    var g = try model.load(modelPath).graph
    try optimization.optimize(&g)
    let exec = try Executor(graph: g, options: ExecutorOptions(threads: threads))
    let feeds = sampleInputs(for: g, batch: batch, seed: 1)
    _ = try exec.run(feeds)
    var times: [Double] = []
    for _ in 0..<runs {
      let t0 = DispatchTime.now().uptimeNanoseconds
      _ = try exec.run(feeds)
      times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
    }
    times.sort()
    let median = times[times.count / 2]
    let msPerImage = median / Double(batch)
    let gflops = Double(exec.flopsPerRun(batch: batch)) / (median / 1000) / 1e9
    let peak = exec.lastPeakArenaBytes
    if json {
      let line = "{\"model\":\"\(modelPath)\",\"runtime\":\"native\",\"batch\":\(batch),\"threads\":\(threads),\"runs\":\(runs),"
        + "\"ms_per_image\":\(String(format: "%.3f", msPerImage)),\"ms_per_batch\":\(String(format: "%.3f", median)),"
        + "\"gflops\":\(String(format: "%.2f", gflops)),\"peak_bytes\":\(peak)}"
      print(line)
    } else {
      print(String(format: "%@: native, batch %d, %d threads: %.2f ms/image (median of %d runs, %.1f ms/batch), %.2f GFLOP/s, peak activation memory %.1f MiB",
                   modelPath, batch, threads, msPerImage, runs, median, gflops, Double(peak) / 1_048_576))
    }
  }
}
