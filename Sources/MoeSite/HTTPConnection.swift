// HTTPConnection: writes one HTTP/1.1 response (status line, headers every response carries, body) and closes gracefully.
import Foundation
#if canImport(Glibc)
  import Glibc
#endif

extension StaticServer {
  /// One accepted connection, answered once and closed.
  struct Connection {
    let fd: Int32

    static let reasons = [200: "OK", 206: "Partial Content", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
                          405: "Method Not Allowed", 414: "URI Too Long", 416: "Range Not Satisfiable",
                          431: "Request Header Fields Too Large", 505: "HTTP Version Not Supported"]

    /// Headers of every response: cross-origin isolation (so WASM threads may be used), no caching, no sniffing.
    static let commonFields = [("Cross-Origin-Opener-Policy", "same-origin"), ("Cross-Origin-Embedder-Policy", "require-corp"),
                               ("Cross-Origin-Resource-Policy", "same-origin"), ("Cache-Control", "no-cache"),
                               ("X-Content-Type-Options", "nosniff"), ("Connection", "close")]

    /// Writes all of `data`; false when the peer is gone.
    func send(_ data: Data) -> Bool {
      data.withUnsafeBytes { raw -> Bool in
        var offset = 0
        while offset < raw.count {
          let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
          if n < 0 && errno == EINTR { continue }
          guard n > 0 else { return false }
          offset += n
        }
        return true
      }
    }

    /// The status line and header fields (the common ones added).
    func sendHead(_ status: Int, _ fields: [(String, String)]) -> Bool {
      var text = "HTTP/1.1 \(status) \(Self.reasons[status] ?? "Status")\r\n"
      for (name, value) in Self.commonFields + fields { text += "\(name): \(value)\r\n" }
      return send(Data((text + "\r\n").utf8))
    }

    /// An error response with a one-line text body (left out for HEAD).
    func sendError(_ status: Int, _ reason: String, extra: [(String, String)] = [], body: Bool = true) {
      let text = Data("\(status) \(Self.reasons[status] ?? ""): \(reason)\n".utf8)
      guard sendHead(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "\(text.count)")] + extra) else { return }
      if body { _ = send(text) }
    }

    /// Ends the response and closes: half-closes the sending side, then drains what the client still sends (a request
    /// body, the rest of an over-long line) for a moment, so closing does not reset the connection before the client
    /// has read the response.
    func close() {
      shutdown(fd, Int32(SHUT_WR))
      StaticServer.setTimeout(fd, SO_RCVTIMEO, seconds: 1)
      var sink = [UInt8](repeating: 0, count: 16 * 1024)
      var drained = 0
      let deadline = Date().addingTimeInterval(2)
      while drained < 4 << 20 && Date() < deadline {
        let n = sink.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { break }
        drained += n
      }
      _ = Glibc.close(fd)
    }
  }
}
