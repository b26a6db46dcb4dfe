// HTTPRequestHead: parses an HTTP/1.x request head (request line, header fields) and a single byte Range, with size limits.
import Foundation

/// Size limits of a request head the static server accepts.
public enum HTTPLimits {
  /// Longest request line (method, target, version): longer ones get 414 URI Too Long.
  public static let requestLine = 8 * 1024
  /// Longest head (request line and header fields): longer ones get 431 Request Header Fields Too Large.
  public static let head = 32 * 1024
}

/// Why a request head was refused: the status code and a short reason for the body.
public struct HTTPHeadError: Error, Equatable {
  public var status: Int
  public var reason: String
  public init(_ status: Int, _ reason: String) { self.status = status; self.reason = reason }
}

/// The parts of an HTTP/1.x request the static server uses.
public struct HTTPRequestHead: Equatable {
  public var method: String
  /// The request target as sent (origin-form `/path?query`).
  public var target: String
  /// `HTTP/1.0` or `HTTP/1.1`.
  public var version: String
  /// Header fields in order, names as sent.
  public var fields: [(name: String, value: String)]

  public static func == (a: HTTPRequestHead, b: HTTPRequestHead) -> Bool {
    a.method == b.method && a.target == b.target && a.version == b.version && a.fields.elementsEqual(b.fields) { $0 == $1 }
  }

  /// The value of the first field named `name` (case-insensitive).
  public func field(_ name: String) -> String? {
    fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
  }

  /// Where a complete head ends in `bytes`: the index just past its blank line (CRLF CRLF, or LF LF), or nil.
  /// `from` is where to start looking (bytes before it were searched already).
  public static func endOfHead(in bytes: [UInt8], from: Int = 0) -> Int? {
    var i = max(0, from - 3)
    while i < bytes.count {
      if bytes[i] == 0x0A {
        if i + 1 < bytes.count, bytes[i + 1] == 0x0A { return i + 2 }
        if i + 2 < bytes.count, bytes[i + 1] == 0x0D, bytes[i + 2] == 0x0A { return i + 3 }
      }
      i += 1
    }
    return nil
  }

  /// Checks a head still arriving against the limits: 414 when the request line is already too long, 431 when the
  /// head is. Nil while it may still become valid.
  public static func limitError(forPartial bytes: [UInt8]) -> HTTPHeadError? {
    let lineEnd = bytes.firstIndex(of: 0x0A) ?? bytes.count
    if lineEnd > HTTPLimits.requestLine { return HTTPHeadError(414, "request line longer than \(HTTPLimits.requestLine) bytes") }
    if bytes.count > HTTPLimits.head { return HTTPHeadError(431, "request head longer than \(HTTPLimits.head) bytes") }
    return nil
  }

  /// Parses a complete head (everything before the blank line, or including it).
  public init(parsing bytes: [UInt8]) throws {
    if let e = Self.limitError(forPartial: bytes) { throw e }
    // Lines split on LF bytes (a Swift String would keep CR LF together as one Character), CR stripped.
    var lines: [Substring] = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
      let trimmed = line.last == 0x0D ? line.dropLast() : line
      return Substring(String(decoding: trimmed, as: UTF8.self))
    }
    while lines.last?.isEmpty == true { lines.removeLast() }
    guard let requestLine = lines.first, !requestLine.isEmpty else { throw HTTPHeadError(400, "empty request line") }
    let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
    guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
      throw HTTPHeadError(400, "malformed request line (expected METHOD TARGET HTTP/1.1)")
    }
    let tokenCharacters = Set("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    guard parts[0].allSatisfy({ tokenCharacters.contains($0) }) else { throw HTTPHeadError(400, "malformed method") }
    guard parts[1].allSatisfy({ $0.isASCII && $0 > " " && $0 != "\u{7F}" }) else { throw HTTPHeadError(400, "malformed request target") }
    let version = String(parts[2])
    guard version.hasPrefix("HTTP/"), version.count == 8, version.dropFirst(5).enumerated().allSatisfy({ $0.offset == 1 ? $0.element == "." : $0.element.isASCII && $0.element.isNumber })
    else { throw HTTPHeadError(400, "malformed HTTP version") }
    guard version == "HTTP/1.1" || version == "HTTP/1.0" else { throw HTTPHeadError(505, "only HTTP/1.0 and HTTP/1.1 are served") }
    var fields: [(name: String, value: String)] = []
    for line in lines.dropFirst() {
      guard let colon = line.firstIndex(of: ":") else { throw HTTPHeadError(400, "malformed header field (no colon)") }
      let name = line[..<colon]
      guard !name.isEmpty, name.allSatisfy({ tokenCharacters.contains($0) }) else { throw HTTPHeadError(400, "malformed header field name") }
      fields.append((String(name), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
    }
    method = String(parts[0])
    target = String(parts[1])
    self.version = version
    self.fields = fields
    if version == "HTTP/1.1" && field("Host") == nil { throw HTTPHeadError(400, "HTTP/1.1 request without a Host field") }
  }

  /// The percent-decoded path of the target, without query or fragment; 400 for a target that is not a path or
  /// that decodes to invalid UTF-8 or a NUL byte.
  public func decodedPath() throws -> String {
    var t = Substring(target)
    for scheme in ["http://", "https://"] where t.lowercased().hasPrefix(scheme) {
      t = t.dropFirst(scheme.count)
      t = t.firstIndex(of: "/").map { t[$0...] } ?? "/"
    }
    guard t.hasPrefix("/") else { throw HTTPHeadError(400, "request target is not a path") }
    let raw = t.prefix { $0 != "?" && $0 != "#" }
    guard let decoded = raw.removingPercentEncoding else { throw HTTPHeadError(400, "malformed percent-encoding in the path") }
    guard !decoded.contains("\0") else { throw HTTPHeadError(400, "NUL byte in the path") }
    return decoded
  }
}

/// What a `Range` field asks of a resource of a given size (RFC 9110 §14; one range only).
public enum ByteRangeRequest: Equatable {
  /// No usable Range field (absent, not `bytes`, malformed or several ranges): send the whole resource.
  case whole
  /// Send these bytes as 206 Partial Content.
  case partial(Range<Int>)
  /// 416 Range Not Satisfiable.
  case unsatisfiable

  /// Interprets `field` (e.g. `bytes=0-99`, `bytes=100-`, `bytes=-50`) for a resource of `size` bytes.
  public init(field: String?, size: Int) {
    guard let field = field?.trimmingCharacters(in: .whitespaces), field.lowercased().hasPrefix("bytes=") else { self = .whole; return }
    let spec = field.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
    guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { self = .whole; return }
    /// A run of digits; overflow saturates (a start beyond any file is unsatisfiable, not malformed).
    func number(_ s: Substring) -> Int? {
      guard !s.isEmpty, s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
      return Int(s) ?? Int.max
    }
    let first = spec[..<dash], last = spec[spec.index(after: dash)...]
    if first.isEmpty {
      guard let n = number(last) else { self = .whole; return }
      self = n == 0 || size == 0 ? .unsatisfiable : .partial(max(0, size - n)..<size)
      return
    }
    guard let start = number(first) else { self = .whole; return }
    var end = Int.max
    if !last.isEmpty {
      guard let e = number(last), e >= start else { self = .whole; return }
      end = e
    }
    self = start >= size ? .unsatisfiable : .partial(start..<(min(end, size - 1) + 1))
  }
}
