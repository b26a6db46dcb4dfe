// RuntimeDrivers+Torch: the `torch` runtime: the graph as generated model.py + model.safetensors, run in PyTorch eval().
import Foundation
import MoeFormats
import MoeIR

extension RuntimeDrivers {
  /// Writes `graph` as PyTorch source with its weights and runs it in eval mode (every named value exposed with
  /// `layerwise`); inputs and outputs are matched by the graph's names.
  public static func runTorch(_ graph: Graph, inputs: [String: Tensor], layerwise: Bool) throws -> RuntimeOutputs {
    let work = try temporaryFolder("moe-torch")
    defer { try? FileManager.default.removeItem(at: work) }
    let source = work.appendingPathComponent("model.py")
    do { try PyTorchModuleWriter.write(ImportedModel(graph: graph), to: source) } catch {
      throw VerifyError("torch: cannot generate model.py: \(error)")
    }
    var args = ["Converters/torch/run_torch.py", "--model", source.path, "--out", work.appendingPathComponent("out").path]
    if layerwise { args.append("--expose-all") }
    for (i, v) in graph.inputs.enumerated() {
      let f = work.appendingPathComponent("in\(i).npy")
      guard let x = inputs[v.name] else { throw VerifyError("no value for input '\(v.name)'") }
      try writeNpy(x, to: f)
      args.append("\(v.name)=\(f.path)")
    }
    let start = Date()
    try Python.run(args, needs: .torch)
    let (listed, version) = try readManifest(work.appendingPathComponent("out"))
    var all: [String: Tensor] = [:]
    for (name, t) in listed { all[name] = t }
    var outputs: [String: Tensor] = [:]
    for o in graph.outputs {
      guard let t = all.removeValue(forKey: o) else { throw VerifyError("torch: output '\(o)' missing") }
      outputs[o] = t
    }
    return RuntimeOutputs(outputs: outputs, intermediates: layerwise ? all : [:], seconds: Date().timeIntervalSince(start), version: version)
  }
}
