// moe export-site and moe serve: the static web site for a model, and a local server for it.
import ArgumentParser
import Foundation
import MoeFormats
import MoeIR
import MoeModels
import MoeSite

/// The bundle a web runtime should load: the model itself when it is a `.moe`, else a float32 bundle written
/// to a temporary file from the (optimized) graph.
func bundleForWeb(_ modelPath: String, graph: Graph) throws -> (url: URL, temporary: Bool) {
  if modelPath.lowercased().hasSuffix(".moe") { return (URL(fileURLWithPath: modelPath), false) }
  let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("moe-\(UUID().uuidString.prefix(8)).moe")
  try ModelFile.writeBundle(graph, to: tmp, sourceURL: URL(fileURLWithPath: modelPath))
  return (tmp, true)
}

struct ExportSite: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "export-site", abstract: "Write the static web site (page, moe.js, kernels.wasm, bundle) for a model.")

  @Argument(help: "A .moe bundle, or a checkpoint / IR converted to a float32 bundle.")
  var modelPath: String

  @Option(name: .shortAndLong, help: "Output folder.")
  var output: String

  @OptionGroup var model: ModelOptions
  @OptionGroup var optimization: OptimizeOptions

  func run() throws {
    var graph = Graph(name: "")
    if !modelPath.lowercased().hasSuffix(".moe") {
      graph = try model.load(modelPath).graph
      try optimization.optimize(&graph)
    }
    let bundle = try bundleForWeb(modelPath, graph: graph)
    defer { if bundle.temporary { try? FileManager.default.removeItem(at: bundle.url) } }
    let files = try WebAssets.exportSite(bundle: bundle.url, to: URL(fileURLWithPath: output))
    for (name, bytes) in files { print(String(format: "%@/%@  %d B", output, name, bytes)) }
    print("site: \(files.reduce(0) { $0 + $1.1 }) bytes in all; serve it with `moe serve \(output)`")
  }
}

struct Serve: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Serve a site folder (or a model, exported on the fly) on 127.0.0.1.")

  @Argument(help: "A folder written by export-site, or a model file.")
  var target: String

  @Option(help: "Port (0: any free port).")
  var port: UInt16 = 8000

  @OptionGroup var model: ModelOptions

  func run() async throws {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: target, isDirectory: &isDir) else { throw ValidationError("\(target): no such file or folder") }
    var root = URL(fileURLWithPath: target)
    if !isDir.boolValue {
      var graph = Graph(name: "")
      if !target.lowercased().hasSuffix(".moe") {
        graph = try model.load(target).graph
        let o = try OptimizeOptions.parse([])
        try o.validate()
        try o.optimize(&graph)
      }
      let bundle = try bundleForWeb(target, graph: graph)
      root = FileManager.default.temporaryDirectory.appendingPathComponent("moe-serve-\(UUID().uuidString.prefix(8))")
      try WebAssets.exportSite(bundle: bundle.url, to: root)
      if bundle.temporary { try? FileManager.default.removeItem(at: bundle.url) }
    }
    let server = try StaticServer(root: root, port: port)
    let bound = try await server.start()
    print("serving \(root.path) at http://127.0.0.1:\(bound)/ (Ctrl-C to stop)")
    while true { try await Task.sleep(nanoseconds: 3_600_000_000_000) }
  }
}
