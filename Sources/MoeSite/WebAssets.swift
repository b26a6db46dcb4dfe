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
  /// Files of the static site besides the bundle, in `Sources/MoeWeb` (`kernels-mt*.wasm`: the shared-memory builds
  /// moe.js picks on cross-origin-isolated pages; installed into `share/moekit/web` with the
  /// node scripts `run-node.mjs` and `bench-node.mjs`: see the Makefile's WEB_FILES).
  public static let siteFiles = ["index.html", "app.js", "style.css", "npy.js", "moe.js", "kernels.wasm", "kernels-mt.wasm", "kernels-mt-fma.wasm", "runner.html", "runner.js"]

  /// The folder holding them: `$MOE_WEB_DIR`, else `share/moekit/web` of an installed `moe`, else the checkout's
  /// `Sources/MoeWeb` for a binary built in the checkout (see `InstallLayout`).
  public static func directory() throws -> URL {
    let (found, searched) = InstallLayout.locate(env: "MOE_WEB_DIR", installed: "web", inCheckout: "Sources/MoeWeb", marker: "moe.js")
    if let found { return found }
    let looked = searched.isEmpty ? "no share/moekit beside \(InstallLayout.executable.path)" : "looked in \(searched.map(\.path).joined(separator: ", "))"
    throw SiteError("web runtime files not found (\(looked)); run `make install`, or set MOE_WEB_DIR to the folder holding moe.js and kernels.wasm")
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
