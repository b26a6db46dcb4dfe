// WebDriver: a minimal W3C WebDriver client for headless Chromium through chromedriver (session, navigate, script, screenshot).
import Foundation
#if canImport(Glibc)
  import Glibc
#endif

/// A free TCP port on 127.0.0.1 (bound once and released).
public func freeLoopbackPort() throws -> UInt16 {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  guard fd >= 0 else { throw SiteError("cannot open a socket to find a free port") }
  defer { close(fd) }
  var addr = sockaddr_in()
  addr.sin_family = sa_family_t(AF_INET)
  addr.sin_addr.s_addr = inet_addr("127.0.0.1")
  addr.sin_port = 0
  var len = socklen_t(MemoryLayout<sockaddr_in>.size)
  let ok = withUnsafeMutablePointer(to: &addr) { p in
    p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
  }
  guard ok else { throw SiteError("cannot bind a socket to find a free port") }
  return UInt16(bigEndian: addr.sin_port)
}

/// Headless Chromium driven through chromedriver.
public final class WebDriver {
  let process = Process()
  let base: URL
  var session = ""

  /// Starts chromedriver and a headless Chromium session.
  public init(chromedriver: String = "/usr/bin/chromedriver", chromium: String = "/usr/bin/chromium", windowSize: String = "1280,1000") throws {
    for (what, path) in [("chromedriver", chromedriver), ("chromium", chromium)] where !FileManager.default.isExecutableFile(atPath: path) {
      throw SiteError("\(path): \(what) not found (Debian: apt install chromium chromium-driver)")
    }
    let port = try freeLoopbackPort()
    base = URL(string: "http://127.0.0.1:\(port)")!
    process.executableURL = URL(fileURLWithPath: chromedriver)
    process.arguments = ["--port=\(port)", "--allowed-ips=127.0.0.1"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    try process.run()
    var ready = false
    for _ in 0..<100 {
      if (try? request("GET", "/status"))?["value"] != nil { ready = true; break }
      usleep(100_000)
    }
    guard ready else {
      stopProcess()
      throw SiteError("chromedriver did not start on port \(port)")
    }
    let caps: [String: Any] = ["capabilities": ["alwaysMatch": ["goog:chromeOptions": [
      "binary": chromium,
      "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=\(windowSize)"],
    ]]]]
    let r = try request("POST", "/session", caps)
    guard let value = r["value"] as? [String: Any], let id = value["sessionId"] as? String else {
      stopProcess()
      throw SiteError("chromedriver did not create a session: \(r)")
    }
    session = id
    _ = try request("POST", "/session/\(id)/timeouts", ["script": 300_000, "pageLoad": 120_000])
  }

  deinit { quit() }

  /// Ends the session and chromedriver.
  public func quit() {
    if !session.isEmpty { _ = try? request("DELETE", "/session/\(session)") }
    session = ""
    stopProcess()
  }

  /// Ends chromedriver: its own /shutdown, then SIGTERM, then SIGKILL — a chromedriver that inherited a blocked
  /// SIGTERM (e.g. started from a test runner or a shell with signals masked) ignores the terminate. Reaps it.
  func stopProcess() {
    guard process.isRunning else { return }
    _ = try? request("GET", "/shutdown")
    for step in 0..<40 where process.isRunning {
      if step == 10 { process.terminate() }
      usleep(50_000)
    }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
  }

  public func navigate(_ url: String) throws { _ = try request("POST", "/session/\(session)/url", ["url": url]) }

  /// Runs an async script (it must call `arguments[arguments.length - 1](value)`); returns the value.
  public func executeAsync(_ script: String, args: [Any] = []) throws -> Any? {
    let r = try request("POST", "/session/\(session)/execute/async", ["script": script, "args": args])
    if let v = r["value"] as? [String: Any], let error = v["error"] as? String {
      throw SiteError("browser script failed: \(error): \(v["message"] as? String ?? "")")
    }
    return r["value"]
  }

  /// A PNG screenshot of the viewport.
  public func screenshot() throws -> Data {
    let r = try request("GET", "/session/\(session)/screenshot")
    guard let b64 = r["value"] as? String, let data = Data(base64Encoded: b64) else { throw SiteError("no screenshot returned") }
    return data
  }

  /// One WebDriver call. Through curl: swift-corelibs-foundation's URLSession fails on some libcurl builds
  /// ("Failed writing header") when talking to chromedriver.
  func request(_ method: String, _ path: String, _ body: [String: Any]? = nil) throws -> [String: Any] {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    var args = ["-s", "--max-time", "600", "-X", method, base.absoluteString + path]
    let input = Pipe(), output = Pipe()
    if let body {
      args += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
      p.standardInput = input
      _ = try JSONSerialization.data(withJSONObject: body)
    } else {
      p.standardInput = FileHandle.nullDevice
    }
    p.arguments = args
    p.standardOutput = output
    p.standardError = FileHandle.nullDevice
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") else { throw SiteError("/usr/bin/curl not found (Debian: apt install curl)") }
    try p.run()
    if let body {
      input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: body))
      try input.fileHandleForWriting.close()
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw SiteError("WebDriver \(method) \(path): curl exit \(p.terminationStatus)") }
    return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
  }
}
