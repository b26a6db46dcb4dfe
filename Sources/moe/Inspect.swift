// moe inspect: what a file holds (keys, shapes, dtypes, bytes, the layer each key feeds), prefix and architecture.
import ArgumentParser
import Foundation
import MoeFormats
import MoeIR
import MoeModels
import MoeQuant

struct Inspect: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Show a checkpoint's keys and the architecture inferred from them.")

  @Argument(help: ArgumentHelp("A model (\(ModelFile.inputFormatsHelp)) or a .npy array."))
  var file: String

  @OptionGroup var model: ModelOptions

  func run() throws {
    let url = URL(fileURLWithPath: file)
    switch url.pathExtension.lowercased() {
    case "npy":
      let a = try Npy.read(url)
      print("\(file): \(a.dtype.descr) \(a.shape), \(a.data.count) bytes")
    case "moeir", "moe", "onnx":
      let m = try model.load(file)
      inspect(graph: m.graph)
      if url.pathExtension.lowercased() == "moe" {
        let manifest = try MoeBundle.read(url).manifest
        print("  producer \(manifest.producer)" + (manifest.source.map { ", source \($0.file) (sha256 \($0.sha256))" } ?? ""))
        let encodings = Dictionary(grouping: manifest.tensors, by: \.encoding).mapValues(\.count)
        print("  encodings: " + encodings.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", "))
      }
    case "h5", "hdf5":
      try inspect(source: try HDF5File(url: url))
    case "safetensors":
      try inspect(safeTensors: try SafeTensorsFile(url: url))
    default:
      try inspect(source: try NPZFile(url: url))
    }
  }

  /// The graph's size, metadata, inputs (with their priors), outputs and op counts.
  func inspect(graph g: Graph) {
    var counts: [String: Int] = [:]
    for n in g.nodes { counts[n.op.name, default: 0] += 1 }
    print("\(file): graph '\(g.name)', \(g.nodes.count) nodes, \(g.weights.count) weights, \(g.parameterCount) parameters")
    let priorKeys: Set = [ModelPriors.vocabularyKey, ModelPriors.inputPriorKey]
    for (k, v) in g.metadata.sorted(by: { $0.key < $1.key }) where !priorKeys.contains(k) { print("  meta \(k) = \(v)") }
    // Loading checked the priors; a model without them has none.
    let priors = (try? ModelPriors(of: g)) ?? ModelPriors()
    if let v = priors.vocabulary {
      let groups = v.groups.map { "\($0.name)\($0.oneOf ? " (one of)" : ""): \($0.tags.joined(separator: " "))" }
      print("  tag vocabulary: \(v.noiseLength) noise + \(v.tags.count) tags; " + groups.joined(separator: "; "))
    } else {
      print("  tag vocabulary: none")
    }
    for i in g.inputs { print("  input \(i.name): \(i.dtype.rawValue)\(i.shape), \((priors.inputs[i.name] ?? .normal).rawValue)") }
    for o in g.outputs { print("  output \(o)") }
    print("  ops: " + counts.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", "))
  }

  func inspect(source: ArraySource) throws {
    // Map each key to the layer that reads it, when the architecture is recognised.
    var layerOf: [String: String] = [:]
    var summary: [String] = []
    do {
      let m = try ChainerImporter.importGraph(from: source, options: model.importOptions)
      for n in m.graph.nodes { for i in n.inputs where m.graph.initializers[i] != nil { layerOf[m.prefix + i] = "\(n.name) (\(n.op.name))" } }
      for k in m.counters.keys { layerOf[m.prefix + k] = "counter" }
      summary.append("prefix: '\(m.prefix)'")
      summary.append("architecture: \(m.graph.metadata["model"] ?? m.graph.name) (\(m.graph.parameterCount) parameters)")
      summary.append("unused keys: " + (m.unusedKeys.isEmpty ? "none" : "\(m.unusedKeys.count): " + m.unusedKeys.joined(separator: ", ")))
      summary += m.notes.map { "note: \($0)" }
    } catch {
      summary.append("architecture: not recognised: \(error)")
    }
    print("\(source.path): \(source.keys.count) keys")
    let width = min(56, source.keys.map(\.count).max() ?? 0)
    var total = 0
    for k in source.keys {
      let name = k.padding(toLength: max(width, k.count), withPad: " ", startingAt: 0)
      do {
        let a = try source.array(k)
        total += a.data.count
        let shape = "\(a.shape)".padding(toLength: 18, withPad: " ", startingAt: 0)
        print("  \(name)  \(a.dtype.descr.padding(toLength: 4, withPad: " ", startingAt: 0))  \(shape) \(String(a.data.count).leftPad(10)) B  \(layerOf[k] ?? "unused")")
      } catch {
        print("  \(name)  unreadable: \(error)")
      }
    }
    print("  total \(total) bytes")
    summary.forEach { print($0) }
  }
}

extension String {
  func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
