// WebAssets: where the web runtime's files are (moe.js, kernels.wasm, the page), and exporting a static site.
import Foundation
import MoeFormats

/// An error of the web side (site export, server, node or browser runs), one line naming the file or step.
public struct SiteError: Error, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// The web runtime's files.
public enum WebAssets {
  /// Files of the static site besides the bundle, in `Sources/MoeWeb`.
  public static let siteFiles = ["index.html", "app.js", "style.css", "npy.js", "moe.js", "kernels.wasm", "runner.html", "runner.js"]

  /// The folder holding them: `$MOE_WEB_DIR`, else the checkout's `Sources/MoeWeb`.
  public static func directory() throws -> URL {
    var candidates: [URL] = []
    if let env = ProcessInfo.processInfo.environment["MOE_WEB_DIR"] { candidates.append(URL(fileURLWithPath: env)) }
    candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("MoeWeb"))
    for c in candidates where FileManager.default.fileExists(atPath: c.appendingPathComponent("moe.js").path) { return c }
    throw SiteError("web runtime files not found (looked in \(candidates.map(\.path).joined(separator: ", "))); set MOE_WEB_DIR to the folder holding moe.js and kernels.wasm")
  }

  /// Writes the static site into `dir`: the page, moe.js, kernels.wasm and `bundle` as `model.moe`.
  /// Each file is written atomically; returns (file, bytes) in order.
  @discardableResult
  public static func exportSite(bundle: URL, to dir: URL) throws -> [(String, Int)] {
    let source = try directory()
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    var written: [(String, Int)] = []
    for name in siteFiles {
      let from = source.appendingPathComponent(name)
      guard let data = FileManager.default.contents(atPath: from.path) else { throw SiteError("\(from.path): missing web runtime file") }
      try AtomicFile.write(data, to: dir.appendingPathComponent(name))
      written.append((name, data.count))
    }
    guard let model = FileManager.default.contents(atPath: bundle.path) else { throw SiteError("\(bundle.path): cannot read the bundle") }
    try AtomicFile.write(model, to: dir.appendingPathComponent("model.moe"))
    written.append(("model.moe", model.count))
    return written
  }
}
