// moe run: runs a model on .npy inputs with the native runtime and writes the outputs as .npy.
import ArgumentParser
import Foundation
import MoeFormats
import MoeIR
import MoeModels
import MoeRuntime
import MoeSite

struct Run: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Run a model on float32 .npy inputs.")

  @Argument(help: ArgumentHelp("Model: \(ModelFile.inputFormatsHelp)."))
  var modelPath: String

  @Option(name: .customLong("input"), help: "X.npy for a single-input model, or NAME=X.npy (repeatable).")
  var inputs: [String] = []

  @Option(name: .shortAndLong, help: "Output .npy (one output) or directory (one NAME.npy per output).")
  var output: String

  @Option(help: "Runtime: native, wasm (node, the exported site's moe.js + kernels.wasm), browser (headless Chromium).")
  var runtime: String = "native"

  @Option(help: "With --runtime browser: also write a screenshot of the page after it generates.")
  var screenshot: String?

  @Option(parsing: .unconditional, help: "OpenBLAS threads.")
  var threads: Int = 2

  @OptionGroup var model: ModelOptions

  @OptionGroup var optimization: OptimizeOptions

  @OptionGroup var inputOptions: InputOptions

  func validate() throws {
    guard threads >= 1 else { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
    guard ["native", "wasm", "browser"].contains(runtime) else { throw ValidationError("unknown runtime '\(runtime)'; use native, wasm or browser") }
  }

  func run() async throws {
    guard !inputs.isEmpty else { throw ValidationError("give at least one --input") }
    var g = try model.load(modelPath).graph
    try optimization.optimize(&g)
    let feeds = try readInputs(inputs, for: g, modelPath: modelPath, allowNonFinite: inputOptions.allowNonFinite)
    let outs: [String: Tensor]
    if runtime == "native" {
      outs = try Executor(graph: g, options: ExecutorOptions(threads: threads)).run(feeds)
    } else {
      let bundle = try bundleForWeb(modelPath, graph: g)
      defer { if bundle.temporary { try? FileManager.default.removeItem(at: bundle.url) } }
      if runtime == "wasm" {
        outs = try WebRuntimes.runNode(bundle: bundle.url, inputs: feeds).outputs
      } else {
        outs = try await WebRuntimes.runBrowser(bundle: bundle.url, inputs: feeds, screenshot: screenshot.map { URL(fileURLWithPath: $0) }).outputs
      }
    }
    if g.outputs.count == 1 {
      let t = outs[g.outputs[0]]!
      try Npy.write(NpyArray(floats: t.data, shape: t.shape), to: URL(fileURLWithPath: output))
    } else {
      let dir = URL(fileURLWithPath: output)
      try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
      for name in g.outputs {
        let t = outs[name]!
        try Npy.write(NpyArray(floats: t.data, shape: t.shape), to: dir.appendingPathComponent("\(name).npy"))
      }
    }
  }
}
