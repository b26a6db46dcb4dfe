// moe inspect: what a file holds (keys, shapes, dtypes, bytes), its prefix and inferred architecture.
import ArgumentParser
import Foundation
import MoeFormats
import MoeIR
import MoeModels

struct Inspect: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Show a checkpoint's keys and the architecture inferred from them.")

  @Argument(help: "A Chainer .npz, an IR text .moeir, or a .npy.")
  var file: String

  @OptionGroup var model: ModelOptions

  func run() throws {
    let url = URL(fileURLWithPath: file)
    switch url.pathExtension.lowercased() {
    case "npy":
      let a = try Npy.read(url)
      print("\(file): \(a.dtype.descr) \(a.shape), \(a.data.count) bytes")
    case "moeir":
      let g = try ModelFile.loadIR(url)
      var counts: [String: Int] = [:]
      for n in g.nodes { counts[n.op.name, default: 0] += 1 }
      print("\(file): graph '\(g.name)', \(g.nodes.count) nodes, \(g.weights.count) weights, \(g.parameterCount) parameters")
      for (k, v) in g.metadata.sorted(by: { $0.key < $1.key }) { print("  meta \(k) = \(v)") }
      for i in g.inputs { print("  input \(i.name): \(i.dtype.rawValue)\(i.shape)") }
      for o in g.outputs { print("  output \(o)") }
      print("  ops: " + counts.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", "))
    default:
      try inspectNPZ(url)
    }
  }

  func inspectNPZ(_ url: URL) throws {
    let npz = try NPZFile(url: url)
    var arrays: [String: NpyArray] = [:]
    var total = 0
    print("\(file): \(npz.keys.count) keys")
    let width = min(48, npz.keys.map(\.count).max() ?? 0)
    for k in npz.keys {
      do {
        let a = try npz.array(k)
        arrays[k] = a
        total += a.data.count
        print("  " + k.padding(toLength: max(width, k.count), withPad: " ", startingAt: 0) + "  \(a.dtype.descr.padding(toLength: 4, withPad: " ", startingAt: 0))  \(a.shape)  \(a.data.count) B")
      } catch {
        print("  " + k.padding(toLength: max(width, k.count), withPad: " ", startingAt: 0) + "  unreadable: \(error)")
      }
    }
    print("  total \(total) bytes")
    do {
      let m = try ChainerImporter.importGraph(arrays: arrays, file: file, arch: model.arch, prefix: model.prefix, bnEps: model.bnEps)
      let md = m.graph.metadata
      print("prefix: '\(m.prefix)'")
      print("architecture: \(md["arch"] ?? "?") C=\(md["channels"] ?? "?") B=\(md["blocks"] ?? "?") U=\(md["upsamplings"] ?? "?") n=\(md["input_length"] ?? "?") (\(m.graph.parameterCount) parameters)")
      print("unused keys: " + (m.unusedKeys.isEmpty ? "none" : m.unusedKeys.joined(separator: ", ")))
      for n in m.notes { print("note: \(n)") }
    } catch {
      print("architecture: not recognised: \(error)")
    }
  }
}
