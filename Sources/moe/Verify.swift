// moe verify: the same inputs through native, wasm, browser, Chainer and ONNX Runtime; a table of differences.
import ArgumentParser
import Foundation
import MoeFormats
import MoeIR
import MoeModels
import MoeVerify

struct Verify: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a model through several runtimes on the same inputs and compare every output (exit 1 on failure).",
    discussion: """
      Runtimes: native (Swift + OpenBLAS), wasm (moe.js + kernels.wasm in node), browser (the same in headless \
      Chromium), chainer (real Chainer on the checkpoint; Chainer .npz/.h5 of a zoo architecture only), onnxruntime \
      (ONNX Runtime on the given .onnx file itself, else on MoeKit's ONNX export), torch (PyTorch eval() on the generated model.py + .safetensors). Each output of each runtime is compared with the reference runtime's \
      (default: chainer when it runs, else the first); it passes when |a − b| ≤ atol + rtol·|ref| everywhere. \
      --layerwise also compares every intermediate value in native, wasm, onnxruntime and torch and names the first node \
      whose output diverges (atol scaled by max(1, max|ref|) there).
      """)

  @Argument(help: ArgumentHelp("Model: \(ModelFile.inputFormatsHelp)."))
  var modelPath: String

  @Option(help: "Comma-separated runtimes (default: native,wasm,browser,chainer,onnxruntime; chainer only for Chainer checkpoints; torch on request).")
  var runtimes: String?

  @Option(help: "The runtime the others are compared with.")
  var reference: String?

  @Option(name: .customLong("inputs"), parsing: .unconditional, help: "Batch size of the inputs drawn from the model's input prior.")
  var count: Int = 2

  @Option(name: .customLong("input"), help: "Use X.npy (or NAME=X.npy, repeatable) instead of sampled inputs.")
  var inputFiles: [String] = []

  @Option(help: "Seed of the sampled inputs.")
  var seed: UInt64 = 0

  @Option(help: "Absolute tolerance.")
  var atol: Double = 1e-4

  @Option(help: "Relative tolerance.")
  var rtol: Double = 0

  @Flag(help: "Compare every intermediate value (native, wasm, onnxruntime) and name the first diverging node.")
  var layerwise = false

  @Flag(help: "Print the report as JSON.")
  var json = false

  @Option(help: "Also write the report as a self-contained HTML page (tables, images and difference heat maps, layerwise chart).")
  var html: String?

  @Option(help: "Fault injection: RUNTIME:WEIGHT[=DELTA] adds DELTA (default 1) to the weight's first element in that runtime's copy (repeatable).")
  var perturb: [String] = []

  @Option(parsing: .unconditional, help: "OpenBLAS threads of the native runtime.")
  var threads: Int = 2

  @Option(help: "Python of the chainer, onnxruntime and torch drivers (default: $MOE_PYTHON, else the installed venv).")
  var python: String?

  @OptionGroup var model: ModelOptions
  @OptionGroup var optimization: OptimizeOptions
  @OptionGroup var inputOptions: InputOptions

  func validate() throws {
    guard count >= 1 else { throw ValidationError("--inputs must be ≥ 1, got \(count)") }
    guard threads >= 1 else { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
    guard atol >= 0, rtol >= 0 else { throw ValidationError("--atol and --rtol must be ≥ 0") }
    for p in perturb {
      do { _ = try Perturbation(parsing: p) } catch let e as VerifyError { throw ValidationError(e.message) }
    }
    if let html {
      var isDir: ObjCBool = false
      let dir = URL(fileURLWithPath: html).deletingLastPathComponent().path
      guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
        throw ValidationError("--html \(html): folder \(dir) does not exist")
      }
    }
    let listed = runtimes.map { $0.split(separator: ",", omittingEmptySubsequences: false) } ?? []
    for r in listed + (reference.map { [Substring($0)] } ?? []) {
      guard VerifyRuntime(rawValue: String(r)) != nil else {
        throw ValidationError("unknown runtime '\(r)'; known: \(VerifyRuntime.allCases.map(\.rawValue).joined(separator: ", "))")
      }
    }
  }

  func run() async throws {
    Python.interpreterOverride = python
    let url = URL(fileURLWithPath: modelPath)
    let imported = try model.load(modelPath)
    var g = imported.graph
    // --layerwise with torch compares the values of the graph as imported, which the generated model.py follows.
    let layerwiseTorch = layerwise && (runtimes ?? "").split(separator: ",").contains("torch")
    if layerwiseTorch { printErr("note: --layerwise with torch: comparing the graph as imported (not optimized)") } else { try optimization.optimize(&g) }
    let ext = url.pathExtension.lowercased()
    var chainer: ChainerSource? = nil
    if ["npz", "h5", "hdf5"].contains(ext), let desc = g.metadata["model"], let arch = g.metadata["arch"], Zoo.model(named: arch) != nil {
      chainer = ChainerSource(checkpoint: url, prefix: imported.prefix, model: desc, bnEps: model.bnEps)
    }
    var chosen: [VerifyRuntime]
    if let runtimes {
      chosen = runtimes.split(separator: ",", omittingEmptySubsequences: false).map { VerifyRuntime(rawValue: String($0))! }
    } else {
      // torch (PyTorch is optional) runs only when asked for.
      chosen = VerifyRuntime.allCases.filter { ($0 != .chainer || chainer != nil) && $0 != .torch }
      if chainer == nil { printErr("note: \(modelPath) is not a Chainer checkpoint of a zoo architecture: chainer runtime left out") }
    }
    let perturbations = try perturb.map { try Perturbation(parsing: $0) }
    let options = VerifyOptions(runtimes: chosen, reference: reference.flatMap { VerifyRuntime(rawValue: $0) }, atol: atol, rtol: rtol,
                                layerwise: layerwise, perturbations: perturbations, threads: threads)
    var verifier = CrossRuntimeVerifier(graph: g, bundle: ext == "moe" ? url : nil, chainer: chainer, options: options)
    verifier.importedGraph = imported.graph
    if ext == "onnx" { verifier.onnxFile = url.standardizedFileURL }
    verifier.progress = { printErr($0) }
    let feeds = inputFiles.isEmpty ? sampleInputs(for: g, batch: count, seed: seed) : try readInputs(inputFiles, for: g, modelPath: modelPath, allowNonFinite: inputOptions.allowNonFinite)
    let report: VerifyReport
    do { report = try await verifier.verify(inputs: feeds) } catch let e as VerifyError { throw ValidationError("\(modelPath): \(e.message)") }
    if let html {
      do { try AtomicFile.write(Data(report.html().utf8), to: URL(fileURLWithPath: html)) } catch {
        throw ValidationError("--html \(html): \(error)")
      }
    }
    print(json ? try report.json() : report.text(), terminator: json ? "\n" : "")
    if !report.passed { throw ExitCode(1) }
  }
}
