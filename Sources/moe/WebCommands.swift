// moe export-site and moe serve: the static web site for a model (validated, written atomically), and a local server for it.
import ArgumentParser
import Foundation
import MoeFormats
import MoeIR
import MoeModels
import MoeRuntime
import MoeSite

/// The bundle a web runtime should load: the model itself when it is a `.moe`, else a float32 bundle written
/// to a temporary file from the (optimized) graph.
func bundleForWeb(_ modelPath: String, graph: Graph) throws -> (url: URL, temporary: Bool) {
  if modelPath.lowercased().hasSuffix(".moe") { return (URL(fileURLWithPath: modelPath), false) }
  let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("moe-\(UUID().uuidString.prefix(8)).moe")
  try ModelFile.writeBundle(graph, to: tmp, sourceURL: URL(fileURLWithPath: modelPath))
  return (tmp, true)
}

/// Checks a bundle as the page will load it: reads it (header, SHA-256 checksum, manifest, every tensor decoded),
/// then runs it once natively on sampled inputs and requires finite outputs. `name` is the path shown in errors.
func validateBundle(_ url: URL, name: String) throws {
  let contents: MoeBundle.Contents
  do { contents = try MoeBundle.read(url) } catch {
    // The reader's error names the file it read: show the path the user gave.
    let text = String(describing: error).replacingOccurrences(of: url.path, with: name)
    throw SiteError(text.hasPrefix(name) ? text : "\(name): \(text)")
  }
  let outputs: [String: Tensor]
  do {
    outputs = try Executor(graph: contents.graph, options: ExecutorOptions(threads: 1)).run(sampleInputs(for: contents.graph, batch: 1, seed: 0))
  } catch {
    throw SiteError("\(name): the bundle does not run: \(error)")
  }
  for (output, t) in outputs.sorted(by: { $0.key < $1.key }) where !t.data.allSatisfy({ $0.isFinite }) {
    throw SiteError("\(name): output '\(output)' has non-finite values on sampled inputs; the bundle's weights are broken")
  }
}

struct ExportSite: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export-site", abstract: "Write the static web site (page, moe.js, kernels.wasm, bundle) for a model.",
    discussion: """
      The bundle is validated first (checksum, decoding, one native run). The site is written into a temporary \
      folder beside the output and renamed onto it. An existing output folder is replaced only when it is empty or \
      holds exactly a site export-site wrote; --force replaces any folder.
      """)

  @Argument(help: ArgumentHelp("Model: \(ModelFile.inputFormatsHelp); anything but a .moe is converted to a float32 bundle."))
  var modelPath: String

  @Option(name: .shortAndLong, help: "Output folder.")
  var output: String

  @Flag(help: "Replace the output folder even when it holds files export-site did not write.")
  var force = false

  @OptionGroup var model: ModelOptions
  @OptionGroup var optimization: OptimizeOptions

  func run() throws {
    let destination = URL(fileURLWithPath: output).standardizedFileURL
    try SitePublisher.checkDestination(destination, force: force)
    var graph = Graph(name: "")
    if !modelPath.lowercased().hasSuffix(".moe") {
      graph = try model.load(modelPath).graph
      try optimization.optimize(&graph)
    }
    let bundle = try bundleForWeb(modelPath, graph: graph)
    defer { if bundle.temporary { try? FileManager.default.removeItem(at: bundle.url) } }
    try validateBundle(bundle.url, name: modelPath)
    let files = try SitePublisher.publish(bundle: bundle.url, to: destination, force: force)
    for (name, bytes) in files { print(String(format: "%@/%@  %d B", output, name, bytes)) }
    print("site: \(files.reduce(0) { $0 + $1.1 }) bytes in all; serve it with `moe serve \(output)`")
  }
}

/// What a signal must clean up while `moe serve` runs: the server and the temporary site folder.
private final class ServeCleanup: @unchecked Sendable {
  private let lock = NSLock()
  private var server: StaticServer?
  private var temporaries: [URL] = []
  private var sources: [DispatchSourceSignal] = []

  func set(server: StaticServer) { lock.lock(); self.server = server; lock.unlock() }
  /// A file or folder to remove on exit (the temporary site, a bundle being converted).
  func add(temporary: URL) { lock.lock(); temporaries.append(temporary); lock.unlock() }

  /// Stops the server and removes the temporary files.
  func run() {
    lock.lock()
    defer { lock.unlock() }
    server?.stopNow()
    for t in temporaries { try? FileManager.default.removeItem(at: t) }
    temporaries = []
  }

  /// On SIGINT/SIGTERM: clean up and exit 0.
  func installSignalHandlers() {
    let queue = DispatchQueue(label: "moe.serve.signals")
    for sig in [SIGINT, SIGTERM] {
      signal(sig, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
      source.setEventHandler { [self] in
        run()
        FileHandle.standardError.write(Data("moe serve: stopped (\(sig == SIGINT ? "SIGINT" : "SIGTERM"))\n".utf8))
        exit(0)
      }
      source.resume()
      sources.append(source)
    }
  }
}

struct Serve: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Serve a site folder (or a model, exported on the fly) on 127.0.0.1.",
    discussion: """
      Prints its URL (also when stdout is a pipe) and serves GET and HEAD (with Range) of the files under the folder, \
      with COOP/COEP headers so WASM threads work. Exits non-zero at once when the port is taken. Ctrl-C or SIGTERM \
      stop it and remove the temporary site of a served model.
      """)

  @Argument(help: ArgumentHelp("A folder written by export-site, or a model (\(ModelFile.inputFormatsHelp))."))
  var target: String

  @Option(help: "Port (0: any free port).")
  var port: UInt16 = 8000

  @Option(help: "Address to listen on (e.g. 0.0.0.0 for every interface, ::1 for IPv6 loopback).")
  var host: String = "127.0.0.1"

  @OptionGroup var model: ModelOptions

  func run() async throws {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: target, isDirectory: &isDir) else { throw ValidationError("\(target): no such file or folder") }
    let cleanup = ServeCleanup()
    cleanup.installSignalHandlers()
    var root = URL(fileURLWithPath: target)
    if !isDir.boolValue {
      root = FileManager.default.temporaryDirectory.appendingPathComponent("moe-serve-\(UUID().uuidString.prefix(8))")
      try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
      cleanup.add(temporary: root)
    }
    do {
      // Bind first, so a taken port fails before any conversion work.
      let server = try StaticServer(root: root, host: host, port: port)
      cleanup.set(server: server)
      if !isDir.boolValue { try exportModel(into: root, cleanup: cleanup) }
      try await server.start()
      print("serving \(isDir.boolValue ? root.path : target) at \(server.url) (Ctrl-C to stop)")
      fflush(stdout)
    } catch {
      cleanup.run()
      throw error
    }
    while true { try await Task.sleep(nanoseconds: 3_600_000_000_000) }
  }

  /// Converts (and optimizes) a model file into a bundle, validates it and exports its site into `root`.
  private func exportModel(into root: URL, cleanup: ServeCleanup) throws {
    var graph = Graph(name: "")
    if !target.lowercased().hasSuffix(".moe") {
      graph = try model.load(target).graph
      let o = try OptimizeOptions.parse([])
      try o.validate()
      try o.optimize(&graph)
    }
    let bundle = try bundleForWeb(target, graph: graph)
    if bundle.temporary { cleanup.add(temporary: bundle.url) }
    defer { if bundle.temporary { try? FileManager.default.removeItem(at: bundle.url) } }
    try validateBundle(bundle.url, name: target)
    try WebAssets.exportSite(bundle: bundle.url, to: root)
  }
}
