// StaticServer: serves a folder on 127.0.0.1 (FlyingFox) with MIME types, COOP/COEP headers and no path traversal.
import FlyingFox
import Foundation

/// A static file server for an exported site.
public final class StaticServer: @unchecked Sendable {
  public let root: URL
  let server: HTTPServer
  /// Extra routes (e.g. the browser runner posting results) may be added before `start`.
  public init(root: URL, port: UInt16) throws {
    self.root = root.standardizedFileURL.resolvingSymlinksInPath()
    server = HTTPServer(address: try .inet(ip4: "127.0.0.1", port: port), timeout: 60, logger: .disabled)
    let rootPath = self.root.path
    Task { [server] in
      await server.appendRoute("GET *") { request in StaticServer.respond(to: request.path, root: rootPath) }
      await server.appendRoute("HEAD *") { request in StaticServer.respond(to: request.path, root: rootPath) }
    }
  }

  static let mimeTypes = [
    "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "mjs": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8", "wasm": "application/wasm", "json": "application/json", "png": "image/png",
    "moe": "application/octet-stream", "npy": "application/octet-stream", "svg": "image/svg+xml", "txt": "text/plain; charset=utf-8",
  ]

  /// The response for a request path: the file under the root, 404, or 403 for anything escaping it.
  static func respond(to rawPath: String, root: String) -> HTTPResponse {
    var headers: HTTPHeaders = [:]
    headers[HTTPHeader("Cross-Origin-Opener-Policy")] = "same-origin"
    headers[HTTPHeader("Cross-Origin-Embedder-Policy")] = "require-corp"
    headers[HTTPHeader("Cross-Origin-Resource-Policy")] = "same-origin"
    headers[HTTPHeader("Cache-Control")] = "no-cache"
    let decoded = (rawPath.removingPercentEncoding ?? rawPath).split(separator: "?").first.map(String.init) ?? "/"
    let parts = decoded.split(separator: "/", omittingEmptySubsequences: true)
    if parts.contains(where: { $0 == ".." || $0.hasPrefix(".") }) || decoded.contains("\0") {
      return HTTPResponse(statusCode: .forbidden, headers: headers, body: Data("forbidden\n".utf8))
    }
    var file = URL(fileURLWithPath: root)
    for p in parts { file.appendPathComponent(String(p)) }
    if decoded.hasSuffix("/") || parts.isEmpty { file.appendPathComponent("index.html") }
    let resolved = file.resolvingSymlinksInPath().path
    guard resolved == root || resolved.hasPrefix(root + "/") else {
      return HTTPResponse(statusCode: .forbidden, headers: headers, body: Data("forbidden\n".utf8))
    }
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDir), !isDir.boolValue,
      let data = FileManager.default.contents(atPath: resolved)
    else {
      return HTTPResponse(statusCode: .notFound, headers: headers, body: Data("not found\n".utf8))
    }
    headers[.contentType] = mimeTypes[URL(fileURLWithPath: resolved).pathExtension.lowercased()] ?? "application/octet-stream"
    return HTTPResponse(statusCode: .ok, headers: headers, body: data)
  }

  /// Starts listening in the background; returns the bound port.
  public func start() async throws -> UInt16 {
    Task { [server] in try? await server.run() }
    try await server.waitUntilListening(timeout: 10)
    guard let address = await server.listeningAddress, case .ip4(_, let port) = address else {
      throw SiteError("the server did not report its address")
    }
    return port
  }

  /// Serves until the process ends.
  public func run() async throws { try await server.run() }

  public func stop() async { await server.stop() }
}
