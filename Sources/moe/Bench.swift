// moe bench: ms per image (median after warm-up), GFLOP/s and peak activation memory of the native runtime.
import ArgumentParser
import Foundation
import MoeFormats
import MoeIR
import MoeRuntime
import MoeSite

struct Bench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Measure inference speed and memory.")

  @Argument(help: ArgumentHelp("Model: \(ModelFile.inputFormatsHelp)."))
  var modelPath: String

  // `.unconditional`: `--batch -3` reaches validate() (a clear error) instead of reading as a missing value.
  @Option(parsing: .unconditional, help: "Batch size.")
  var batch: Int = 1

  @Option(parsing: .unconditional, help: "Timed runs after the warm-up (at least 3 runs and 250 ms, or one run over a second).")
  var runs: Int = 5

  @Option(parsing: .unconditional, help: "OpenBLAS threads.")
  var threads: Int = 2

  @Option(help: "Runtime: native, wasm (node), browser (headless Chromium: wasm threads on the served, cross-origin-isolated page, the single-thread figure beside it, and native in the same run).")
  var runtime: String = "native"

  @Flag(help: "One JSON object per line.")
  var json = false

  @Flag(help: "After the timed runs, profiled runs (native, as many as --runs): mean seconds by op and the slowest nodes.")
  var profile = false

  @OptionGroup var model: ModelOptions

  @OptionGroup var optimization: OptimizeOptions

  func validate() throws {
    guard batch >= 1 else { throw ValidationError("--batch must be ≥ 1, got \(batch)") }
    guard runs >= 1 else { throw ValidationError("--runs must be ≥ 1, got \(runs)") }
    guard threads >= 1 else { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
    guard ["native", "wasm", "browser"].contains(runtime) else { throw ValidationError("unknown runtime '\(runtime)'; use native, wasm or browser") }
  }

  func run() async throws {
    var g = try model.load(modelPath).graph
    try optimization.optimize(&g)
    if runtime != "native" { return try await runWeb(g) }
    let exec = try Executor(graph: g, options: ExecutorOptions(threads: threads))
    let feeds = sampleInputs(for: g, batch: batch, seed: 1)
    let median = try medianBatchMs(exec, feeds)
    let msPerImage = median / Double(batch)
    let gflops = Double(exec.flopsPerRun(batch: batch)) / (median / 1000) / 1e9
    let peak = exec.lastPeakArenaBytes
    let resident = peakResidentBytes()
    if profile { try printProfile(exec, feeds) }
    if json {
      let line = "{\"model\":\"\(modelPath)\",\"runtime\":\"native\",\"batch\":\(batch),\"threads\":\(threads),\"runs\":\(runs),"
        + "\"ms_per_image\":\(String(format: "%.3f", msPerImage)),\"ms_per_batch\":\(String(format: "%.3f", median)),"
        + "\"gflops\":\(String(format: "%.2f", gflops)),\"peak_bytes\":\(peak),\"peak_resident_bytes\":\(resident),"
        + "\"blas_core\":\"\(BLASCore.choice.active)\",\"blas_core_detected\":\"\(BLASCore.choice.detected)\"}"
      print(line)
    } else {
      print(String(format: "%@: native, batch %d, %d threads: %.2f ms/image (median of %d runs, %.1f ms/batch), %.2f GFLOP/s, peak activation memory %.1f MiB (the memory plan, weights excluded), peak resident %.1f MiB (the whole process); %@",
                   modelPath, batch, threads, msPerImage, runs, median, gflops, Double(peak) / 1_048_576, Double(resident) / 1_048_576,
                   BLASCore.summary))
    }
  }

  /// The web runtimes: exactly the exported site's moe.js + kernels.wasm, in node or headless Chromium.
  func runWeb(_ g: Graph) async throws {
    let bundle = try bundleForWeb(modelPath, graph: g)
    defer { if bundle.temporary { try? FileManager.default.removeItem(at: bundle.url) } }
    let feeds = sampleInputs(for: g, batch: batch, seed: 1)
    var msPerImage: Double
    var browser: (threads: Int, backend: String, single: Double, native: Double)?
    if runtime == "wasm" {
      // Warm-up plus `runs` timed runs inside one node process (bench-node.mjs beside moe.js).
      let script = try WebAssets.directory().appendingPathComponent("bench-node.mjs")
      let r = try Subprocess.run(program: "node", [script.path, bundle.url.path, "--batch", "\(batch)", "--runs", "\(runs)", "--json"])
      guard r.status == 0, let obj = try? JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], let ms = obj["ms_per_image"] as? Double
      else { throw ValidationError("node benchmark failed (exit \(r.status)): \(r.errorText)") }
      msPerImage = ms
    } else {
      // Native first (the ratio's reference, same process and moment), then Chromium with threads and with one thread.
      let native = try nativeMsPerImage(g, feeds)
      let r = try await WebRuntimes.runBrowser(bundle: bundle.url, inputs: feeds, benchRuns: runs)
      guard let ms = r.benchMsPerImage, let single = r.bench?["singleThreadMsPerImage"] as? Double
      else { throw ValidationError("the browser runner returned no timing") }
      msPerImage = ms
      browser = (r.bench?["threads"] as? Int ?? 1, r.bench?["backend"] as? String ?? "?", single, native)
    }
    let flops = Double(try Executor(graph: g).flopsPerRun(batch: 1))
    let gflops = flops / (msPerImage / 1000) / 1e9
    if let b = browser {
      if json {
        print("{\"model\":\"\(modelPath)\",\"runtime\":\"browser\",\"batch\":\(batch),\"threads\":\(b.threads),\"backend\":\"\(b.backend)\",\"runs\":\(runs),"
              + "\"ms_per_image\":\(String(format: "%.3f", msPerImage)),\"gflops\":\(String(format: "%.2f", gflops)),\"peak_bytes\":null,"
              + "\"single_thread_ms_per_image\":\(String(format: "%.3f", b.single)),\"native_ms_per_image\":\(String(format: "%.3f", b.native)),"
              + "\"native_threads\":\(threads),\"ratio_to_native\":\(String(format: "%.3f", msPerImage / b.native))}")
      } else {
        print(String(format: "%@: browser (%@), batch %d, %d threads: %.2f ms/image (median of %d runs), %.2f GFLOP/s; 1 thread: %.2f ms/image; native %d threads in the same run: %.2f ms/image; browser ÷ native %.2f× (1 thread %.2f×)",
                     modelPath, b.backend, batch, b.threads, msPerImage, runs, gflops, b.single, threads, b.native, msPerImage / b.native, b.single / b.native))
      }
      return
    }
    if json {
      print("{\"model\":\"\(modelPath)\",\"runtime\":\"\(runtime)\",\"batch\":\(batch),\"threads\":1,\"runs\":\(runs),\"ms_per_image\":\(String(format: "%.3f", msPerImage)),\"gflops\":\(String(format: "%.2f", gflops)),\"peak_bytes\":null}")
    } else {
      print(String(format: "%@: %@, batch %d, 1 thread: %.2f ms/image (median of %d runs), %.2f GFLOP/s", modelPath, runtime, batch, msPerImage, runs, gflops))
    }
  }

  /// Milliseconds per run of `exec` on `feeds`: the median of `runs` timed runs after a warm-up of at least three
  /// runs and 250 ms (as the web runner's; a single run when it takes over a second). After one warm-up run, the first tens of milliseconds of a fresh process
  /// ran at half speed now and then (the second core still waking: a 2.2 ms model measured 4.4–5.2 ms over 20 runs).
  func medianBatchMs(_ exec: Executor, _ feeds: [String: Tensor]) throws -> Double {
    let warmStart = DispatchTime.now().uptimeNanoseconds
    var warmRuns = 0
    func elapsed() -> UInt64 { DispatchTime.now().uptimeNanoseconds - warmStart }
    // One run is enough once a second has passed (a large batch).
    while warmRuns < 1 || elapsed() < 250_000_000 || (warmRuns < 3 && elapsed() < 1_000_000_000) {
      _ = try exec.run(feeds)
      warmRuns += 1
    }
    var times: [Double] = []
    for _ in 0..<runs {
      let t0 = DispatchTime.now().uptimeNanoseconds
      _ = try exec.run(feeds)
      times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
    }
    return times.sorted()[times.count / 2]
  }

  /// Native ms per image (median of `runs` after the warm-up) with `threads` threads.
  func nativeMsPerImage(_ g: Graph, _ feeds: [String: Tensor]) throws -> Double {
    try medianBatchMs(Executor(graph: g, options: ExecutorOptions(threads: threads)), feeds) / Double(batch)
  }
}

/// The process's peak resident set size in bytes (/proc/self/status VmHWM; getrusage elsewhere).
func peakResidentBytes() -> Int {
  // VmHWM belongs to this process image; getrusage's ru_maxrss survives execve on Linux, so a `moe bench` started
  // by a large parent process (a Python benchmark holding Chainer's buffers) would report the parent's peak.
  if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
     let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
     let kb = Int(line.split(separator: " ").dropFirst().first(where: { !$0.isEmpty }) ?? "") {
    return kb * 1024
  }
  var usage = rusage()
  guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
  return Int(usage.ru_maxrss) * 1024
}

extension Bench {
  /// `runs` runs with per-node timing: the mean share of each op and the slowest nodes (stderr with --json, else
  /// stdout).
  func printProfile(_ exec: Executor, _ feeds: [String: Tensor]) throws {
    exec.nodeSeconds = Array(repeating: 0, count: exec.graph.nodes.count)
    defer { exec.nodeSeconds = nil }
    let count = max(runs, 1)
    for _ in 0..<count { _ = try exec.run(feeds) }
    let byOp = exec.secondsByOp.map { ($0.0, $0.1 / Double(count)) }
    let times = exec.nodeSeconds!.map { $0 / Double(count) }, total = times.reduce(0, +)
    var lines = [String(format: "profile (mean of %d run%@, batch %d): %.2f ms in nodes", count, count == 1 ? "" : "s", batch, total * 1000)]
    for (op, seconds) in byOp.prefix(12) {
      lines.append("  " + op.padding(toLength: 22, withPad: " ", startingAt: 0)
                   + String(format: " %8.2f ms  %5.1f%%", seconds * 1000, 100 * seconds / max(total, 1e-12)))
    }
    lines.append("slowest nodes:")
    for i in times.indices.sorted(by: { times[$0] > times[$1] }).prefix(12) {
      let n = exec.graph.nodes[i]
      lines.append("  " + n.name.padding(toLength: 28, withPad: " ", startingAt: 0) + " " + n.op.name.padding(toLength: 18, withPad: " ", startingAt: 0)
                   + String(format: " %8.2f ms  ", times[i] * 1000) + exec.inputShapes(ofNode: i))
    }
    let text = lines.joined(separator: "\n") + "\n"
    if json { FileHandle.standardError.write(Data(text.utf8)) } else { print(text, terminator: "") }
  }
}
