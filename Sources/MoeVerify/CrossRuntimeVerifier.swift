// CrossRuntimeVerifier: the same inputs through every chosen runtime, each output compared with the reference
// runtime's, and (layerwise) every intermediate value compared to find the first node where runtimes diverge.
import Foundation
import MoeIR
import MoeQuant

/// Options of a cross-runtime verification.
public struct VerifyOptions: Sendable {
  public var runtimes: [VerifyRuntime]
  /// The runtime the others are compared with (default: `chainer` when it runs, else the first runtime).
  public var reference: VerifyRuntime?
  /// An output passes when every element has |a − b| ≤ atol + rtol·|ref|.
  public var atol: Double
  public var rtol: Double
  public var layerwise: Bool
  public var perturbations: [Perturbation]
  public var threads: Int

  public init(runtimes: [VerifyRuntime], reference: VerifyRuntime? = nil, atol: Double = 1e-4, rtol: Double = 0,
              layerwise: Bool = false, perturbations: [Perturbation] = [], threads: Int = 2) {
    self.runtimes = runtimes
    self.reference = reference
    self.atol = atol
    self.rtol = rtol
    self.layerwise = layerwise
    self.perturbations = perturbations
    self.threads = threads
  }
}

/// Runs a model through several runtimes and compares them.
public struct CrossRuntimeVerifier {
  public var graph: Graph
  /// The model's own `.moe` bundle, when it is one (the web runtimes then load it as is).
  public var bundle: URL?
  /// The Chainer checkpoint, when the model is one of a zoo architecture.
  public var chainer: ChainerSource?
  /// The model's own `.onnx`, when it is one: the onnxruntime runtime loads that file itself, unless `--layerwise`
  /// (which compares every IR value by name) or a perturbation of onnxruntime needs MoeKit's export of the graph.
  public var onnxFile: URL?
  /// The graph as imported (before optimization), which the torch runtime's generated model.py follows; nil: `graph`.
  public var importedGraph: Graph?
  public var options: VerifyOptions
  /// Called with a line of progress (runtime started / finished).
  public var progress: (String) -> Void = { _ in }

  public init(graph: Graph, bundle: URL? = nil, chainer: ChainerSource? = nil, options: VerifyOptions) {
    self.graph = graph
    self.bundle = bundle
    self.chainer = chainer
    self.options = options
  }

  /// Runs every runtime on `inputs` and builds the report. A runtime that cannot run is a failed row, not an abort.
  public func verify(inputs: [String: Tensor]) async throws -> VerifyReport {
    guard Set(options.runtimes).count == options.runtimes.count, options.runtimes.count >= 2 else {
      throw VerifyError("give at least two different runtimes to compare (got \(options.runtimes.map(\.rawValue).joined(separator: ",")))")
    }
    for p in options.perturbations where !options.runtimes.contains(p.runtime) {
      throw VerifyError("--perturb \(p.runtime.rawValue):\(p.weight): \(p.runtime.rawValue) is not among --runtimes")
    }
    for v in graph.inputs where inputs[v.name] == nil {
      throw VerifyError("missing input '\(v.name)' (inputs: \(graph.inputs.map(\.name).joined(separator: ", ")))")
    }
    if options.runtimes.contains(.chainer), chainer == nil {
      throw VerifyError("the chainer runtime needs a Chainer checkpoint (.npz/.h5) of a zoo architecture")
    }
    let reference = options.reference ?? (options.runtimes.contains(.chainer) ? .chainer : options.runtimes[0])
    guard options.runtimes.contains(reference) else {
      throw VerifyError("the reference runtime \(reference.rawValue) is not among --runtimes")
    }
    for p in options.perturbations where p.runtime != .chainer {
      _ = try RuntimeDrivers.perturbed(graph, [p], for: p.runtime)  // an unknown weight is a usage error, not a failed row
    }
    var results: [VerifyRuntime: RuntimeOutputs] = [:]
    var failures: [VerifyRuntime: String] = [:]
    for r in options.runtimes {
      progress("running \(r.rawValue) (\(r.summary))…")
      do {
        let out = try await run(r, inputs: inputs)
        progress(String(format: "  %@ done in %.2f s", r.rawValue, out.seconds))
        results[r] = out
      } catch {
        progress("  \(r.rawValue) failed: \(error)")
        failures[r] = "\(error)"
      }
    }
    var report = VerifyReport(model: graph.metadata["model"] ?? graph.name, reference: reference.rawValue,
                              atol: options.atol, rtol: options.rtol,
                              inputs: graph.inputs.map { VerifyReport.InputInfo(name: $0.name, shape: inputs[$0.name]?.shape ?? []) })
    report.perturbations = options.perturbations.map { "\($0.runtime.rawValue):\($0.weight)+\($0.delta)" }
    for r in options.runtimes {
      report.runtimes.append(VerifyReport.RuntimeInfo(name: r.rawValue, version: results[r]?.version ?? "", seconds: results[r]?.seconds ?? 0,
                                                      error: failures[r], notes: results[r]?.notes ?? []))
    }
    guard let ref = results[reference] else {
      report.fatal = "the reference runtime \(reference.rawValue) failed: \(failures[reference] ?? "?")"
      return report
    }
    for r in options.runtimes where r != reference {
      guard let got = results[r] else { continue }
      for o in graph.outputs {
        report.rows.append(compare(runtime: r.rawValue, value: o, ref: ref.outputs[o], got: got.outputs[o], layerwise: false))
      }
    }
    if options.layerwise { report.layers = layerwise(results) }
    let ran = [(reference.rawValue, ref.outputs)] + options.runtimes.filter { $0 != reference }.compactMap { r in results[r].map { (r.rawValue, $0.outputs) } }
    report.images = VerifyImages.collect(outputs: graph.outputs, reference: reference.rawValue, results: ran)
    return report
  }

  func run(_ r: VerifyRuntime, inputs: [String: Tensor]) async throws -> RuntimeOutputs {
    // Chainer's perturbations name Chainer parameters (BN ones too); its driver applies and checks them.
    let g = r == .chainer ? graph : try RuntimeDrivers.perturbed(graph, options.perturbations, for: r)
    let perturbed = options.perturbations.contains { $0.runtime == r }
    let layerwise = options.layerwise && r.exposesIntermediates
    switch r {
    case .native: return try RuntimeDrivers.runNative(g, inputs: inputs, layerwise: layerwise, threads: options.threads)
    case .wasm, .browser:
      return try await RuntimeDrivers.runWeb(g, bundle: bundle, mustRewrite: perturbed, inputs: inputs, browser: r == .browser, layerwise: layerwise)
    case .chainer: return try RuntimeDrivers.runChainer(graph, source: chainer!, inputs: inputs, perturbations: options.perturbations)
    case .onnxruntime:
      guard let file = onnxFile else { return try RuntimeDrivers.runONNXRuntime(g, inputs: inputs, layerwise: layerwise) }
      if !layerwise && !perturbed { return try RuntimeDrivers.runONNXRuntime(g, file: file, inputs: inputs, layerwise: false) }
      var out = try RuntimeDrivers.runONNXRuntime(g, inputs: inputs, layerwise: layerwise)
      out.notes.append("not \(file.path) itself: \(perturbed ? "--perturb" : "--layerwise") needs the graph MoeKit imported, re-exported")
      return out
    case .torch:
      let t = try RuntimeDrivers.perturbed(importedGraph ?? graph, options.perturbations, for: r)
      return try RuntimeDrivers.runTorch(t, inputs: inputs, layerwise: layerwise)
    }
  }

  /// One comparison. Layerwise rows scale atol by the reference's magnitude (max(1, max|ref|)) so that large
  /// pre-activation values are held to the same relative float32 precision as outputs in [-1, 1].
  func compare(runtime: String, value: String, ref: Tensor?, got: Tensor?, layerwise: Bool) -> VerifyReport.Row {
    var row = VerifyReport.Row(runtime: runtime, value: value)
    guard let ref, let got else {
      row.error = got == nil ? "\(runtime) produced no '\(value)'" : "the reference produced no '\(value)'"
      return row
    }
    guard ref.shape == got.shape else {
      row.error = "shape \(got.shape), reference \(ref.shape)"
      return row
    }
    let c = Comparison(reference: ref.data, approx: got.data, rtol: options.rtol)
    let scale = layerwise ? max(1, ref.data.reduce(0) { max($0, abs(Double($1))) }) : 1
    row.comparison = c
    row.tolerance = options.atol * scale
    row.passed = c.minimumAtol <= options.atol * scale && c.maxAbs.isFinite
    return row
  }

  /// Every node output, in graph order, compared across the runtimes that expose intermediates.
  func layerwise(_ results: [VerifyRuntime: RuntimeOutputs]) -> VerifyReport.Layerwise {
    let exposing = options.runtimes.filter { $0.exposesIntermediates && results[$0] != nil }
    var lw = VerifyReport.Layerwise(runtimes: exposing.map(\.rawValue), reference: exposing.first?.rawValue ?? "")
    guard exposing.count >= 2 else {
      lw.note = "needs two of native, wasm, onnxruntime, torch to have run"
      return lw
    }
    let ref = results[exposing[0]]!
    let weights = Set(graph.weights.map(\.name))
    for n in graph.nodes {
      let v = n.outputs[0]
      var layer = VerifyReport.Layer(node: n.name, op: n.op.name, value: v, weights: n.inputs.filter { weights.contains($0) })
      for r in exposing.dropFirst() {
        let got = results[r]!
        layer.rows.append(compare(runtime: r.rawValue, value: v, ref: ref.intermediates[v] ?? ref.outputs[v],
                                  got: got.intermediates[v] ?? got.outputs[v], layerwise: true))
      }
      if lw.firstDivergence == nil, layer.rows.contains(where: { !$0.passed }) { lw.firstDivergence = lw.layers.count }
      lw.layers.append(layer)
    }
    return lw
  }
}
