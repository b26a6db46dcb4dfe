// ServeTests: `moe serve` against the running server — busy port, piped URL, HEAD, 405, 400, 414, 431, Range, symlinks, SIGTERM cleanup.
import Foundation
import MoeSite
import MoeTestSupport
import XCTest
#if canImport(Glibc)
  import Glibc
#endif

/// A running `moe serve` whose stdout is a pipe, and the URL it printed.
final class ServeProcess {
  let process = Process()
  let port: Int
  let firstLine: String

  /// Starts `moe serve ARGS --port 0` (stdout piped) and waits up to 20 s for the URL line.
  init(_ arguments: [String], environment: [String: String] = [:]) throws {
    process.executableURL = TestSupport.moeBinary
    process.arguments = ["serve"] + arguments + ["--port", "0"]
    if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // The line must arrive while the server keeps running: read it without waiting for EOF.
    var text = ""
    let handle = out.fileHandleForReading
    let deadline = Date().addingTimeInterval(20)
    while !text.contains("\n") && Date() < deadline && process.isRunning {
      var pfd = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
      guard poll(&pfd, 1, 200) > 0 else { continue }
      let chunk = handle.availableData
      if chunk.isEmpty { break }
      text += String(decoding: chunk, as: UTF8.self)
    }
    firstLine = text.split(separator: "\n").first.map(String.init) ?? ""
    guard let r = firstLine.range(of: #"http://127\.0\.0\.1:(\d+)/"#, options: .regularExpression),
      let p = Int(firstLine[r].dropFirst("http://127.0.0.1:".count).dropLast())
    else {
      process.terminate()
      throw NSError(domain: "ServeTests", code: 1, userInfo: [NSLocalizedDescriptionKey: "no URL printed: '\(text)'"])
    }
    port = p
  }

  deinit { if process.isRunning { process.terminate(); process.waitUntilExit() } }
}

final class ServeTests: XCTestCase {
  static var work: URL!
  static var site: URL!
  static var bundle: URL!
  static var checkpoint: URL!

  override class func setUp() {
    super.setUp()
    work = try! TestSupport.temporaryDirectory("serve")
    let f = try! ChainerFixture.make("dcgan-generator", ["--C", "8", "--n", "20", "--batch", "1"], in: work)
    checkpoint = f.checkpointURL
    bundle = work.appendingPathComponent("m.moe")
    precondition(try! TestSupport.moe(["convert", f.checkpointURL.path, "-o", bundle.path]).status == 0)
    site = work.appendingPathComponent("site")
    precondition(try! TestSupport.moe(["export-site", bundle.path, "-o", site.path]).status == 0)
  }

  override class func tearDown() {
    try? FileManager.default.removeItem(at: work)
    super.tearDown()
  }

  /// Sends `request` raw over loopback and reads until the server closes (at most `timeout` s).
  /// With `pieces` > 1 the request is sent in that many parts with pauses between (a head split across reads).
  func raw(_ port: Int, _ request: Data, timeout: Int = 5, pieces: Int = 1) throws -> (response: Data, closed: Bool, seconds: Double) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    XCTAssertGreaterThanOrEqual(fd, 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    XCTAssertEqual(ok, 0, "connect")
    var tv = timeval(tv_sec: timeout, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    let start = Date()
    // The server may answer (and stop reading) before the whole request is sent: ignore send errors.
    let step = max(1, (request.count + pieces - 1) / pieces)
    for start in stride(from: 0, to: request.count, by: step) {
      let part = request.subdata(in: start..<min(request.count, start + step))
      _ = part.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      if pieces > 1 { usleep(2_000) }
    }
    var response = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    var closed = false
    while true {
      let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n == 0 { closed = true; break }
      if n < 0 { break }
      response.append(contentsOf: buffer[0..<n])
    }
    return (response, closed, Date().timeIntervalSince(start))
  }

  /// Status code, header fields (lower-cased names) and body of a raw response.
  func parse(_ response: Data) -> (status: Int, fields: [String: String], body: Data) {
    guard let end = response.range(of: Data("\r\n\r\n".utf8)) else { return (0, [:], Data()) }
    let lines = String(decoding: response[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
    let status = Int(lines[0].split(separator: " ").dropFirst().first ?? "") ?? 0
    var fields: [String: String] = [:]
    for l in lines.dropFirst() {
      if let c = l.firstIndex(of: ":") { fields[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces) }
    }
    return (status, fields, Data(response[end.upperBound...]))
  }

  func request(_ text: String) -> Data { Data(text.utf8) }

  func testBusyPortFailsFastAndPipedURLIsPrinted() throws {
    let first = try ServeProcess([Self.site.path])
    XCTAssertTrue(first.firstLine.hasPrefix("serving \(Self.site.path) at http://127.0.0.1:"), first.firstLine)
    let start = Date()
    let second = try TestSupport.moe(["serve", Self.site.path, "--port", "\(first.port)"])
    let seconds = Date().timeIntervalSince(start)
    XCTAssertNotEqual(second.status, 0)
    XCTAssertFalse(second.crashed)
    XCTAssertLessThan(seconds, 2, "a busy port must fail at once")
    XCTAssertTrue(second.stderr.contains("127.0.0.1:\(first.port): the port is already in use"), second.stderr)
    XCTAssertEqual(second.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1, second.stderr)
    XCTAssertTrue(first.process.isRunning, "the first server keeps serving")
  }

  func testHeadGetAndRange() throws {
    let s = try ServeProcess([Self.site.path])
    let file = try Data(contentsOf: Self.site.appendingPathComponent("model.moe"))
    let head = parse(try raw(s.port, request("HEAD /model.moe HTTP/1.1\r\nHost: x\r\n\r\n")).response)
    XCTAssertEqual(head.status, 200)
    XCTAssertEqual(head.fields["content-length"], "\(file.count)")
    XCTAssertEqual(head.body.count, 0, "HEAD has no body")
    XCTAssertEqual(head.fields["cross-origin-embedder-policy"], "require-corp")
    let get = parse(try raw(s.port, request("GET /model.moe HTTP/1.1\r\nHost: x\r\n\r\n")).response)
    XCTAssertEqual(get.status, 200)
    XCTAssertEqual(get.body, file)
    XCTAssertEqual(get.fields["accept-ranges"], "bytes")
    // Single ranges: start-end, start-, suffix; each body checked against the file's bytes.
    for (spec, range) in [("10-19", 10..<20), ("\(file.count - 7)-", (file.count - 7)..<file.count), ("-5", (file.count - 5)..<file.count),
                          ("0-\(file.count + 100)", 0..<file.count)] {
      let r = parse(try raw(s.port, request("GET /model.moe HTTP/1.1\r\nHost: x\r\nRange: bytes=\(spec)\r\n\r\n")).response)
      XCTAssertEqual(r.status, 206, spec)
      XCTAssertEqual(r.fields["content-range"], "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(file.count)", spec)
      XCTAssertEqual(r.body, file.subdata(in: range), spec)
    }
    let bad = parse(try raw(s.port, request("GET /model.moe HTTP/1.1\r\nHost: x\r\nRange: bytes=\(file.count)-\r\n\r\n")).response)
    XCTAssertEqual(bad.status, 416)
    XCTAssertEqual(bad.fields["content-range"], "bytes */\(file.count)")
    // curl as an independent client agrees.
    let part = Self.work.appendingPathComponent("part-\(UUID().uuidString.prefix(6))")
    let c = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "-r", "100-199", "-o", part.path, "-w", "%{http_code}", "http://127.0.0.1:\(s.port)/model.moe"])
    XCTAssertEqual(c.stdout, "206")
    XCTAssertEqual(try Data(contentsOf: part), file.subdata(in: 100..<200))
  }

  func testRefusals() throws {
    let s = try ServeProcess([Self.site.path])
    let post = try raw(s.port, request("POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"))
    let p = parse(post.response)
    XCTAssertEqual(p.status, 405)
    XCTAssertEqual(p.fields["allow"], "GET, HEAD")
    XCTAssertTrue(post.closed, "the connection is closed after 405")
    XCTAssertEqual(parse(try raw(s.port, request("DELETE /model.moe HTTP/1.1\r\nHost: x\r\n\r\n")).response).status, 405)
    for garbage in ["GARBAGE\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", "GET / FTP/1.0\r\n\r\n",
                    "GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost x\r\n\r\n", "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
                    "\u{1}\u{2}\u{3}\r\n\r\n"] {
      let r = try raw(s.port, request(garbage))
      XCTAssertEqual(parse(r.response).status, 400, garbage.debugDescription)
      XCTAssertTrue(r.closed, garbage.debugDescription)
    }
    // A 256 KB path: 414 at once (the server stops reading at its request-line limit).
    let long = try raw(s.port, request("GET /" + String(repeating: "a", count: 256 * 1024) + " HTTP/1.1\r\nHost: x\r\n\r\n"))
    XCTAssertEqual(parse(long.response).status, 414)
    XCTAssertLessThan(long.seconds, 2)
    let fields = (0..<2000).map { "X-Filler-\($0): \(String(repeating: "b", count: 20))\r\n" }.joined()
    XCTAssertEqual(parse(try raw(s.port, request("GET / HTTP/1.1\r\nHost: x\r\n\(fields)\r\n")).response).status, 431)
    XCTAssertEqual(parse(try raw(s.port, request("GET / HTTP/2.0\r\nHost: x\r\n\r\n")).response).status, 505)
    // Still serving after all that; a head arriving byte by byte, and one with bare LF line ends, are read whole.
    XCTAssertEqual(parse(try raw(s.port, request("GET / HTTP/1.0\r\n\r\n")).response).status, 200)
    let index = try Data(contentsOf: Self.site.appendingPathComponent("index.html"))
    let slow = "GET /index.html HTTP/1.1\r\nHost: x\r\nUser-Agent: slow\r\n\r\n"
    XCTAssertEqual(parse(try raw(s.port, request(slow), pieces: slow.utf8.count).response).body, index)
    XCTAssertEqual(parse(try raw(s.port, request("GET /index.html HTTP/1.1\nHost: x\n\n")).response).body, index)
  }

  func testSymlinkOutOfRootAndHiddenFilesRefused() throws {
    let site = Self.work.appendingPathComponent("site-links")
    try FileManager.default.createDirectory(at: site, withIntermediateDirectories: true)
    try Data("<p>hi</p>".utf8).write(to: site.appendingPathComponent("index.html"))
    try FileManager.default.createSymbolicLink(atPath: site.appendingPathComponent("passwd").path, withDestinationPath: "/etc/passwd")
    try FileManager.default.createSymbolicLink(atPath: site.appendingPathComponent("inside.html").path, withDestinationPath: "index.html")
    try Data("secret".utf8).write(to: site.appendingPathComponent(".hidden"))
    let s = try ServeProcess([site.path])
    XCTAssertEqual(parse(try raw(s.port, request("GET /passwd HTTP/1.1\r\nHost: x\r\n\r\n")).response).status, 403)
    XCTAssertEqual(parse(try raw(s.port, request("GET /.hidden HTTP/1.1\r\nHost: x\r\n\r\n")).response).status, 403)
    XCTAssertEqual(parse(try raw(s.port, request("GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n")).response).status, 403)
    let inside = parse(try raw(s.port, request("GET /inside.html HTTP/1.1\r\nHost: x\r\n\r\n")).response)
    XCTAssertEqual(inside.status, 200)
    XCTAssertEqual(inside.body, Data("<p>hi</p>".utf8))
  }

  /// Serving a model exports it into a temp folder (a checkpoint is converted to a temp bundle first); SIGTERM and
  /// SIGINT remove them (TMPDIR private to the test).
  func testTemporarySiteRemovedOnSignals() throws {
    for (signal, model) in [(SIGTERM, Self.bundle!), (SIGINT, Self.checkpoint!)] {
      let tmp = try TestSupport.temporaryDirectory("serve-tmp")
      defer { try? FileManager.default.removeItem(at: tmp) }
      let s = try ServeProcess([model.path], environment: ["TMPDIR": tmp.path])
      let made = try FileManager.default.contentsOfDirectory(atPath: tmp.path).filter { $0.hasPrefix("moe-serve-") }
      XCTAssertEqual(made.count, 1, "one temporary site while serving")
      let served = parse(try raw(s.port, request("GET /model.moe HTTP/1.1\r\nHost: x\r\n\r\n")).response)
      XCTAssertEqual(served.status, 200)
      if model == Self.bundle { XCTAssertEqual(served.body, try Data(contentsOf: Self.bundle)) }
      kill(s.process.processIdentifier, signal)
      s.process.waitUntilExit()
      XCTAssertEqual(s.process.terminationReason, .exit, "handled signal \(signal)")
      XCTAssertEqual(s.process.terminationStatus, 0)
      XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.path), [], "temp folders left after signal \(signal)")
    }
  }
}
