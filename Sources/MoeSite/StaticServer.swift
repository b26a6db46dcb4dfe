// StaticServer: a small HTTP/1.1 file server on POSIX sockets (GET/HEAD, Range, limits, COOP/COEP, no traversal).
import Foundation
#if canImport(Glibc)
  import Glibc
#endif

/// A static file server for an exported site. It binds in `init` (so a busy port fails at once), answers each
/// connection on its own thread with one response and `Connection: close`, and serves only regular files inside
/// `root`: dot segments and hidden names get 403, symlinks leading outside the root get 403.
public final class StaticServer: @unchecked Sendable {
  public let root: URL
  public let host: String
  /// The bound port (the one chosen by the system for port 0).
  public let port: UInt16
  private let listener: Int32
  private let state = NSLock()
  private var stopped = false
  private var started = false

  /// Binds `host:port` (port 0: any free port) and listens; throws one clear line when the port is taken or the
  /// address is not usable. Serving starts with `start()`.
  public init(root: URL, host: String = "127.0.0.1", port: UInt16) throws {
    self.root = root.standardizedFileURL.resolvingSymlinksInPath()
    self.host = host
    (listener, self.port) = try Self.bindListener(host: host, port: port)
  }

  deinit { stopNow() }

  /// The site's address, e.g. `http://127.0.0.1:8000/` (IPv6 hosts in brackets).
  public var url: String { "http://\(Self.authority(host, port))/" }

  /// `host:port`, an IPv6 host in brackets.
  static func authority(_ host: String, _ port: UInt16) -> String { "\(host.contains(":") ? "[\(host)]" : host):\(port)" }

  /// Starts answering connections on a background thread; returns the bound port.
  @discardableResult
  public func start() async throws -> UInt16 {
    try startAccepting()
    return port
  }

  /// The same, synchronously.
  public func startAccepting() throws {
    state.lock()
    defer { state.unlock() }
    guard !stopped else { throw SiteError("the server was stopped") }
    guard !started else { return }
    started = true
    let thread = Thread { [self] in acceptLoop() }
    thread.name = "moe-serve-accept"
    thread.start()
  }

  /// Stops accepting connections (connections being answered finish).
  public func stop() async { stopNow() }

  /// The same, callable from a signal handler's queue.
  public func stopNow() {
    state.lock()
    defer { state.unlock() }
    guard !stopped else { return }
    stopped = true
    // Wakes a blocked accept(); the accept thread closes the socket (or we do when it never started).
    shutdown(listener, Int32(SHUT_RDWR))
    if !started { close(listener) }
  }

  // MARK: sockets

  static func bindListener(host: String, port: UInt16) throws -> (Int32, UInt16) {
    let address = authority(host, port)
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
    var list: UnsafeMutablePointer<addrinfo>?
    let rc = getaddrinfo(host, String(port), &hints, &list)
    guard rc == 0, let info = list else {
      throw SiteError("\(host): not a usable host name or address (\(String(cString: gai_strerror(rc))))")
    }
    defer { freeaddrinfo(list) }
    let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw SiteError("\(address): cannot open a socket (\(String(cString: strerror(errno))))") }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
      let e = errno
      close(fd)
      switch e {
      case EADDRINUSE: throw SiteError("\(address): the port is already in use; choose another with --port (0: any free port)")
      case EACCES: throw SiteError("\(address): permission denied (ports below 1024 need root)")
      case EADDRNOTAVAIL: throw SiteError("\(host): not an address of this machine")
      default: throw SiteError("\(address): cannot bind (\(String(cString: strerror(e))))")
      }
    }
    guard listen(fd, 128) == 0 else {
      let e = errno
      close(fd)
      throw SiteError("\(address): cannot listen (\(String(cString: strerror(e))))")
    }
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let bound: UInt16 = withUnsafeMutablePointer(to: &storage) { p in
      p.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
      if Int32(p.pointee.ss_family) == AF_INET6 {
        return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
      }
      return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
    }
    return (fd, bound)
  }

  private func acceptLoop() {
    while true {
      let client = accept(listener, nil, nil)
      if client < 0 {
        if errno == EINTR || errno == ECONNABORTED { continue }
        state.lock()
        let done = stopped
        state.unlock()
        if done { close(listener); return }
        usleep(10_000)  // e.g. EMFILE: back off instead of spinning
        continue
      }
      DispatchQueue.global().async { [self] in answer(client) }
    }
  }

  static func setTimeout(_ fd: Int32, _ option: Int32, seconds: Int) {
    var tv = timeval(tv_sec: seconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size))
  }

  /// Reads one request head, answers it, and closes the connection.
  private func answer(_ fd: Int32) {
    Self.setTimeout(fd, SO_RCVTIMEO, seconds: 10)
    Self.setTimeout(fd, SO_SNDTIMEO, seconds: 60)
    let connection = Connection(fd: fd)
    defer { connection.close() }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
      let searched = bytes.count
      let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      guard n > 0 else { return }  // closed, reset or timed out before a full head
      bytes += chunk[0..<n]
      if let end = HTTPRequestHead.endOfHead(in: bytes, from: searched) {
        do {
          let head = try HTTPRequestHead(parsing: Array(bytes[0..<end]))
          respond(to: head, on: connection)
        } catch let e as HTTPHeadError {
          connection.sendError(e.status, e.reason)
        } catch {
          connection.sendError(400, "bad request")
        }
        return
      }
      if let e = HTTPRequestHead.limitError(forPartial: bytes) {
        connection.sendError(e.status, e.reason)
        return
      }
    }
  }

  private func respond(to head: HTTPRequestHead, on connection: Connection) {
    guard head.method == "GET" || head.method == "HEAD" else {
      connection.sendError(405, "method \(head.method) not allowed; this server only reads files", extra: [("Allow", "GET, HEAD")])
      return
    }
    let bodyWanted = head.method == "GET"
    let file: URL
    do {
      file = try resolve(try head.decodedPath())
    } catch let e as HTTPHeadError {
      connection.sendError(e.status, e.reason, body: bodyWanted)
      return
    } catch {
      connection.sendError(400, "bad request", body: bodyWanted)
      return
    }
    guard let handle = FileHandle(forReadingAtPath: file.path), let size = try? handle.seekToEnd() else {
      connection.sendError(404, "not found", body: bodyWanted)
      return
    }
    defer { try? handle.close() }
    let total = Int(size)
    var status = 200
    var range = 0..<total
    var fields: [(String, String)] = [("Content-Type", Self.mimeTypes[file.pathExtension.lowercased()] ?? "application/octet-stream"),
                                      ("Accept-Ranges", "bytes")]
    switch ByteRangeRequest(field: head.field("Range"), size: total) {
    case .whole: break
    case .partial(let r):
      status = 206
      range = r
      fields.append(("Content-Range", "bytes \(r.lowerBound)-\(r.upperBound - 1)/\(total)"))
    case .unsatisfiable:
      connection.sendError(416, "range not satisfiable for \(total) bytes", extra: [("Content-Range", "bytes */\(total)")], body: bodyWanted)
      return
    }
    fields.append(("Content-Length", "\(range.count)"))
    guard connection.sendHead(status, fields) else { return }
    guard bodyWanted, !range.isEmpty else { return }
    do {
      try handle.seek(toOffset: UInt64(range.lowerBound))
      var left = range.count
      while left > 0 {
        guard let data = try handle.read(upToCount: min(left, 256 * 1024)), !data.isEmpty else { return }
        guard connection.send(data) else { return }
        left -= data.count
      }
    } catch { return }
  }

  /// The regular file a decoded request path names (`/` and `dir/` → `index.html`); 403 for dot segments, hidden
  /// names and symlinks leading outside the root; 404 otherwise.
  func resolve(_ decoded: String) throws -> URL {
    let parts = decoded.split(separator: "/", omittingEmptySubsequences: true)
    if parts.contains(where: { $0 == ".." || $0.hasPrefix(".") }) { throw HTTPHeadError(403, "forbidden") }
    var file = root
    for p in parts { file.appendPathComponent(String(p)) }
    if decoded.hasSuffix("/") || parts.isEmpty { file.appendPathComponent("index.html") }
    let resolved = file.resolvingSymlinksInPath()
    guard resolved.path.hasPrefix(root.path + "/") else { throw HTTPHeadError(403, "forbidden") }
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: resolved.path, isDirectory: &isDir), !isDir.boolValue else {
      throw HTTPHeadError(404, "not found")
    }
    return resolved
  }

  static let mimeTypes = [
    "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "mjs": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8", "wasm": "application/wasm", "json": "application/json", "png": "image/png",
    "moe": "application/octet-stream", "npy": "application/octet-stream", "svg": "image/svg+xml", "txt": "text/plain; charset=utf-8",
  ]
}
