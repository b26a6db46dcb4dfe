// moe inspect FILE.safetensors: tensors (PyTorch names, dtype, shape, bytes), metadata, and the Chainer layer each feeds.
import Foundation
import MoeFormats
import MoeModels

extension Inspect {
  /// Lists a safetensors file's tensors in data order with the layer each one feeds when the architecture is known.
  func inspect(safeTensors file: SafeTensorsFile) throws {
    let chainer = ChainerKeyedSafeTensors(file)
    let chainerKey = PyTorchKeys.chainerNames(file.keys)
    var layerOf: [String: String] = [:]
    var summary: [String] = []
    do {
      let m = try ChainerImporter.importGraph(from: chainer, options: model.importOptions)
      for n in m.graph.nodes { for i in n.inputs where m.graph.initializers[i] != nil { layerOf[m.prefix + i] = "\(n.name) (\(n.op.name))" } }
      for k in m.counters.keys { layerOf[m.prefix + k] = "counter" }
      summary.append("architecture: \(m.graph.metadata["model"] ?? m.graph.name) (\(m.graph.parameterCount) parameters)")
      summary.append("unused keys: " + (m.unusedKeys.isEmpty ? "none" : "\(m.unusedKeys.count): " + m.unusedKeys.joined(separator: ", ")))
    } catch {
      summary.append("architecture: not recognised: \(error)")
    }
    print("\(file.path): \(file.entries.count) tensors")
    for (k, v) in file.metadata.sorted(by: { $0.key < $1.key }) { print("  metadata \(k): \(v)") }
    let width = min(56, file.keys.map(\.count).max() ?? 0)
    var total = 0
    for e in file.entries {
      total += e.end - e.begin
      let name = e.name.padding(toLength: max(width, e.name.count), withPad: " ", startingAt: 0)
      let shape = "\(e.shape)".padding(toLength: 18, withPad: " ", startingAt: 0)
      let key = chainerKey[e.name] ?? e.name
      print("  \(name)  \(e.dtype.padding(toLength: 4, withPad: " ", startingAt: 0))  \(shape) \(String(e.end - e.begin).leftPad(10)) B  \(key)  \(layerOf[key] ?? "unused")")
    }
    print("  total \(total) bytes")
    summary.forEach { print($0) }
  }
}
