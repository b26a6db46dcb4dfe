// RuntimeDrivers: one model, one set of inputs, run by each runtime `moe verify` knows (native, wasm in node,
// browser, Chainer, ONNX Runtime and PyTorch through the project's Python venv), with intermediates where the runtime can.
import Foundation
import MoeFormats
import MoeIR
import MoeModels
import MoeQuant
import MoeRuntime
import MoeSite

/// A runtime `moe verify` can drive.
public enum VerifyRuntime: String, CaseIterable, Codable, Sendable {
  case native, wasm, browser, chainer, onnxruntime, torch

  /// Runtimes that can expose every intermediate value (for `--layerwise`).
  public var exposesIntermediates: Bool { self == .native || self == .wasm || self == .onnxruntime || self == .torch }

  /// What runs, in words.
  public var summary: String {
    switch self {
    case .native: return "MoeKit native (Swift + OpenBLAS)"
    case .wasm: return "moe.js + kernels.wasm in node"
    case .browser: return "moe.js + kernels.wasm in headless Chromium"
    case .chainer: return "real Chainer on the checkpoint"
    case .onnxruntime: return "ONNX Runtime on the given .onnx, else on MoeKit's ONNX export"
    case .torch: return "PyTorch eval() on the generated model.py + model.safetensors"
    }
  }
}

/// What a Chainer checkpoint needs for the `chainer` runtime: the file, the subtree, the zoo model description
/// (`srresnet-generator C=64 B=16 U=3 n=162`) and the BN eps the import used.
public struct ChainerSource: Sendable {
  public var checkpoint: URL
  public var prefix: String
  public var model: String
  public var bnEps: Float

  public init(checkpoint: URL, prefix: String, model: String, bnEps: Float) {
    self.checkpoint = checkpoint
    self.prefix = prefix
    self.model = model
    self.bnEps = bnEps
  }
}

/// A deliberate change to one weight in one runtime's copy of the model (fault injection): `delta` is added to the
/// weight's first element. Used to prove that a verification catches a wrong weight and names where it acts.
public struct Perturbation: Sendable, Equatable {
  public var runtime: VerifyRuntime
  public var weight: String
  public var delta: Float

  public init(runtime: VerifyRuntime, weight: String, delta: Float) {
    self.runtime = runtime
    self.weight = weight
    self.delta = delta
  }

  /// Parses `RUNTIME:WEIGHT[=DELTA]` (delta defaults to 1).
  public init(parsing text: String) throws {
    guard let colon = text.firstIndex(of: ":"), let r = VerifyRuntime(rawValue: String(text[..<colon])) else {
      throw VerifyError("--perturb '\(text)': expected RUNTIME:WEIGHT[=DELTA] with RUNTIME one of \(VerifyRuntime.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    var rest = String(text[text.index(after: colon)...])
    var delta: Float = 1
    if let eq = rest.lastIndex(of: "=") {
      guard let d = Float(rest[rest.index(after: eq)...]), d.isFinite else { throw VerifyError("--perturb '\(text)': DELTA is not a finite number") }
      delta = d
      rest = String(rest[..<eq])
    }
    guard !rest.isEmpty else { throw VerifyError("--perturb '\(text)': no weight named") }
    self.init(runtime: r, weight: rest, delta: delta)
  }
}

/// An error of `moe verify`: one line.
public struct VerifyError: Error, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// What one runtime computed.
public struct RuntimeOutputs {
  /// Graph outputs by name.
  public var outputs: [String: Tensor]
  /// Intermediate values by IR value name (empty unless asked for and the runtime can).
  public var intermediates: [String: Tensor]
  public var seconds: Double
  /// Runtime and version, e.g. `onnxruntime 1.32.0`.
  public var version: String
  /// Anything worth telling (e.g. a bundle rewritten as float32 for --layerwise).
  public var notes: [String] = []
}

/// Runs one runtime on a graph.
public enum RuntimeDrivers {
  /// The graph with `perturbations` for `runtime` applied.
  public static func perturbed(_ graph: Graph, _ perturbations: [Perturbation], for runtime: VerifyRuntime) throws -> Graph {
    var g = graph
    for p in perturbations where p.runtime == runtime {
      guard var t = g.initializers[p.weight], t.count > 0 else {
        let names = g.weights.map(\.name)
        throw VerifyError("--perturb: the model has no weight '\(p.weight)' (weights: \(names.prefix(6).joined(separator: ", "))\(names.count > 6 ? ", …" : ""))")
      }
      t.data[0] += p.delta
      g.initializers[p.weight] = t
    }
    return g
  }

  /// The graph with every node output also marked as a graph output (what the web runtime then keeps).
  static func exposingAll(_ graph: Graph) -> Graph {
    var g = graph
    var seen = Set(g.outputs)
    for n in g.nodes { for o in n.outputs where seen.insert(o).inserted { g.outputs.append(o) } }
    return g
  }

  public static func runNative(_ graph: Graph, inputs: [String: Tensor], layerwise: Bool, threads: Int = 2) throws -> RuntimeOutputs {
    let start = Date()
    let results = try Executor(graph: graph, options: ExecutorOptions(threads: threads, keepIntermediates: layerwise)).run(inputs)
    var outputs: [String: Tensor] = [:]
    for o in graph.outputs { outputs[o] = results[o] }
    return RuntimeOutputs(outputs: outputs, intermediates: layerwise ? results : [:], seconds: Date().timeIntervalSince(start),
                          version: "moekit native")
  }

  /// Runs in node or headless Chromium. `bundle` is the model's own `.moe` when it has one; it is used as is unless
  /// the graph must change (layerwise, perturbation), in which case a float32 bundle is written from `graph`.
  public static func runWeb(_ graph: Graph, bundle: URL?, mustRewrite: Bool, inputs: [String: Tensor], browser: Bool,
                            layerwise: Bool) async throws -> RuntimeOutputs {
    var notes: [String] = []
    var url = bundle
    var temporary: URL? = nil
    let expose = layerwise && !browser
    if url == nil || mustRewrite || expose {
      // A bundle's weights are re-encoded with the encodings it records, so the web decoders still run.
      var plan = QuantizationPlan()
      if let bundle {
        for t in try MoeBundle.read(bundle).manifest.tensors {
          if let s = QuantScheme(name: t.encoding), s != .float32 { plan.schemes[t.name] = s }
        }
        notes.append("bundle rewritten for --layerwise/--perturb, its weights re-encoded with the encodings it records")
      }
      let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("moe-verify-\(UUID().uuidString.prefix(8)).moe")
      try ModelFile.writeBundle(expose ? exposingAll(graph) : graph, to: tmp, plan: plan)
      url = tmp
      temporary = tmp
    }
    defer { if let temporary { try? FileManager.default.removeItem(at: temporary) } }
    let start = Date()
    var results: [String: Tensor]
    if browser {
      results = try await WebRuntimes.runBrowser(bundle: url!, inputs: inputs).outputs
    } else {
      results = try WebRuntimes.runNode(bundle: url!, inputs: inputs).outputs
    }
    var outputs: [String: Tensor] = [:]
    for o in graph.outputs {
      guard let t = results.removeValue(forKey: o) else { throw VerifyError("\(browser ? "browser" : "wasm"): output '\(o)' missing") }
      outputs[o] = t
    }
    return RuntimeOutputs(outputs: outputs, intermediates: expose ? results : [:], seconds: Date().timeIntervalSince(start),
                          version: browser ? "moe.js in \(chromiumVersion())" : "moe.js in node \(nodeVersion())", notes: notes)
  }

  /// Runs the Chainer reference model on the checkpoint (inputs and outputs matched to the graph's by position).
  public static func runChainer(_ graph: Graph, source: ChainerSource, inputs: [String: Tensor], perturbations: [Perturbation]) throws -> RuntimeOutputs {
    let work = try temporaryFolder("moe-chainer")
    defer { try? FileManager.default.removeItem(at: work) }
    var args = ["Converters/chainer/run_chainer.py", "--checkpoint", source.checkpoint.path, "--model", source.model,
                "--out", work.appendingPathComponent("out").path, "--bn-eps", "\(source.bnEps)"]
    if !source.prefix.isEmpty { args += ["--prefix", source.prefix] }
    for p in perturbations where p.runtime == .chainer { args += ["--perturb", "\(p.weight)=\(p.delta)"] }
    for (i, v) in graph.inputs.enumerated() {
      let f = work.appendingPathComponent("in\(i).npy")
      guard let x = inputs[v.name] else { throw VerifyError("no value for input '\(v.name)'") }
      try writeNpy(x, to: f)
      args.append(f.path)
    }
    let start = Date()
    try Python.run(args, needs: .chainer)
    let (listed, version) = try readManifest(work.appendingPathComponent("out"))
    guard listed.count == graph.outputs.count else {
      throw VerifyError("chainer: the reference model returns \(listed.count) output(s), the graph has \(graph.outputs.count)")
    }
    var outputs: [String: Tensor] = [:]
    for (o, t) in zip(graph.outputs, listed) { outputs[o] = t.1 }
    return RuntimeOutputs(outputs: outputs, intermediates: [:], seconds: Date().timeIntervalSince(start), version: version)
  }

  /// Runs ONNX Runtime on `file`, the model's own `.onnx`, when given (ORT loads that file itself), else on MoeKit's
  /// ONNX export of `graph` (every node output exposed with `layerwise`). A note says which file ORT ran.
  public static func runONNXRuntime(_ graph: Graph, file: URL? = nil, inputs: [String: Tensor], layerwise: Bool,
                                    opset: Int = 17) throws -> RuntimeOutputs {
    let work = try temporaryFolder("moe-ort")
    defer { try? FileManager.default.removeItem(at: work) }
    var model = work.appendingPathComponent("model.onnx")
    if let file {
      model = file
    } else {
      try ONNXExporter.write(graph, to: model, opset: opset)
    }
    var args = ["Converters/onnx/run_onnxruntime.py", "--model", model.path, "--out", work.appendingPathComponent("out").path]
    if layerwise { args.append("--expose-all") }
    for (i, v) in graph.inputs.enumerated() {
      let f = work.appendingPathComponent("in\(i).npy")
      guard let x = inputs[v.name] else { throw VerifyError("no value for input '\(v.name)'") }
      try writeNpy(x, to: f)
      args.append("\(v.name)=\(f.path)")
    }
    let start = Date()
    try Python.run(args, needs: .onnxruntime)
    let (listed, version) = try readManifest(work.appendingPathComponent("out"))
    var all: [String: Tensor] = [:]
    for (name, t) in listed { all[name] = t }
    var outputs: [String: Tensor] = [:]
    for o in graph.outputs {
      guard let t = all.removeValue(forKey: o) else { throw VerifyError("onnxruntime: output '\(o)' missing") }
      outputs[o] = t
    }
    let digest = manifestField(work.appendingPathComponent("out"), "model_sha256") ?? "?"
    let note = file.map { "ran \($0.path) as given (sha256 \(digest))" } ?? "ran MoeKit's ONNX export of the graph (opset \(opset), sha256 \(digest))"
    return RuntimeOutputs(outputs: outputs, intermediates: layerwise ? all : [:], seconds: Date().timeIntervalSince(start), version: version,
                          notes: [note])
  }

  // MARK: helpers

  static func temporaryFolder(_ label: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
  }

  static func writeNpy(_ t: Tensor, to url: URL) throws {
    try Npy.write(NpyArray(floats: t.data, shape: t.shape), to: url)
  }

  /// Reads `manifest.json` (`{runtime, outputs: [{name, file, shape}]}`) and the arrays it lists, in order.
  static func readManifest(_ dir: URL) throws -> ([(String, Tensor)], String) {
    let url = dir.appendingPathComponent("manifest.json")
    guard let data = FileManager.default.contents(atPath: url.path),
      let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let list = obj["outputs"] as? [[String: Any]]
    else { throw VerifyError("\(url.path): missing or malformed driver manifest") }
    var result: [(String, Tensor)] = []
    for e in list {
      guard let name = e["name"] as? String, let file = e["file"] as? String else { throw VerifyError("\(url.path): malformed entry") }
      let a = try Npy.read(dir.appendingPathComponent(file))
      result.append((name, Tensor(shape: a.shape, data: try a.floats())))
    }
    return (result, obj["runtime"] as? String ?? "?")
  }

  /// A string field of a driver's `manifest.json`.
  static func manifestField(_ dir: URL, _ key: String) -> String? {
    guard let data = FileManager.default.contents(atPath: dir.appendingPathComponent("manifest.json").path),
      let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
    return obj[key] as? String
  }

  static func nodeVersion() -> String { Subprocess.output(of: "node", ["--version"]) ?? "?" }

  static func chromiumVersion() -> String {
    ["chromium", "chromium-browser"].lazy.compactMap { Subprocess.output(of: $0, ["--version"]) }.first { !$0.isEmpty } ?? "Chromium"
  }
}
