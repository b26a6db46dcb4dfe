// moe convert: a model file in, another format out (IR text for now), written atomically.
import ArgumentParser
import Foundation
import MoeModels

struct Convert: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Convert a checkpoint to another format (by the output's extension).")

  @Argument(help: "Input model: Chainer .npz / .h5, or IR text .moeir.")
  var input: String

  @Option(name: .shortAndLong, help: "Output: .moeir (IR text; weights beside it as NAME.weights.npz), .npz or .h5 (Chainer layout).")
  var output: String

  @OptionGroup var model: ModelOptions

  @OptionGroup var optimization: OptimizeOptions

  func validate() throws {
    let ext = URL(fileURLWithPath: output).pathExtension.lowercased()
    guard ModelFile.writable.contains(ext) else {
      throw ValidationError("\(output): unsupported output format '.\(ext)'; supported: \(ModelFile.writable.map { "." + $0 }.joined(separator: ", "))")
    }
  }

  func run() throws {
    var m = try model.load(input)
    let ext = URL(fileURLWithPath: output).pathExtension.lowercased()
    // A Chainer checkpoint keeps Chainer's layout: its weights are written as imported.
    if ext == "moeir" {
      try optimization.optimize(&m.graph, log: true)
    }
    try ModelFile.write(m, to: URL(fileURLWithPath: output))
    let prefix = m.prefix.isEmpty ? "" : " (prefix '\(m.prefix)')"
    let what = m.graph.metadata["model"] ?? m.graph.metadata["arch"] ?? m.graph.name
    print("\(input)\(prefix) → \(output): \(what), \(m.graph.nodes.count) nodes, \(m.graph.parameterCount) parameters")
  }
}
