// moe convert: a model file in, another format out (IR text for now), written atomically.
import ArgumentParser
import Foundation
import MoeModels

struct Convert: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Convert a checkpoint to another format (by the output's extension).")

  @Argument(help: "Input model: Chainer .npz or IR text .moeir.")
  var input: String

  @Option(name: .shortAndLong, help: "Output file: .moeir (IR text; weights beside it as NAME.weights.npz).")
  var output: String

  @OptionGroup var model: ModelOptions

  func run() throws {
    let out = URL(fileURLWithPath: output)
    guard out.pathExtension.lowercased() == "moeir" else {
      throw ValidationError("\(output): unsupported output format '.\(out.pathExtension)'; supported: .moeir")
    }
    let m = try model.load(input)
    try ModelFile.writeIR(m.graph, to: out)
    let prefix = m.prefix.isEmpty ? "" : " (prefix '\(m.prefix)')"
    print("\(input)\(prefix) → \(output): \(m.graph.metadata["arch"] ?? m.graph.name), \(m.graph.nodes.count) nodes, \(m.graph.parameterCount) parameters")
  }
}
