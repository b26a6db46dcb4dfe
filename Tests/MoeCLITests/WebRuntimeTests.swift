// WebRuntimeTests: the exported site's moe.js + kernels.wasm in node and in headless Chromium match the native runtime.
import Foundation
import MoeFormats
import MoeIR
import MoeSite
import MoeTestSupport
import XCTest

/// Web runtimes and native agree to this max-abs.
let webParityTolerance: Float = 1e-4

final class WebRuntimeTests: XCTestCase {
  static var work: URL!
  override class func setUp() {
    super.setUp()
    work = try! TestSupport.temporaryDirectory("web")
  }
  override class func tearDown() {
    try? FileManager.default.removeItem(at: work)
    super.tearDown()
  }

  let zoo: [(String, [String])] = [("srresnet-generator", ["--C", "8", "--B", "2", "--U", "1", "--n", "162"]),
                                   ("acgan-discriminator", ["--widths", "4,8", "--size", "16", "--tags", "3"]),
                                   ("dcgan-generator", ["--C", "16", "--n", "20"])]

  /// Runs `moe run` with `runtime` and returns the outputs by name.
  func run(_ model: URL, _ f: ChainerFixture, batch: ChainerFixture.Batch, runtime: String, extra: [String] = []) throws -> [String: [Float]] {
    let out = Self.work.appendingPathComponent("out-\(UUID().uuidString.prefix(6))")
    let single = batch.outputs.count == 1
    var args = ["run", model.path, "-o", out.path + (single ? ".npy" : ""), "--runtime", runtime] + extra
    for i in batch.inputs { args += ["--input", "\(i.name)=\(f.url(i).path)"] }
    let r = try TestSupport.moe(args)
    XCTAssertEqual(r.status, 0, "\(runtime): \(r.stderr)")
    var result: [String: [Float]] = [:]
    for o in batch.outputs {
      let file = single ? URL(fileURLWithPath: out.path + ".npy") : out.appendingPathComponent("\(o.name).npy")
      result[o.name] = try Npy.read(file).floats()
    }
    return result
  }

  func testZooInNodeAndBrowserMatchesNative() throws {
    for (arch, hp) in zoo {
      let f = try ChainerFixture.make(arch, hp + ["--batch", "1", "--batch", "4"], in: Self.work)
      for (scheme, extra) in [("none", [String]()), ("int8", ["--deflate"])] {
        let bundle = Self.work.appendingPathComponent("\(arch)-\(scheme).moe")
        XCTAssertEqual(try TestSupport.moe(["convert", f.checkpointURL.path, "-o", bundle.path, "--quantize", scheme] + extra).status, 0)
        for b in f.batches {
          let native = try run(bundle, f, batch: b, runtime: "native")
          for runtime in ["wasm", "browser"] {
            let web = try run(bundle, f, batch: b, runtime: runtime)
            for (name, values) in native {
              let d = TestSupport.maxAbsDiff(web[name] ?? [], values)
              XCTAssertLessThanOrEqual(d, webParityTolerance, "\(arch) \(scheme) batch \(b.batch) \(runtime) output \(name): max-abs \(d)")
            }
          }
          if scheme == "none" {
            for o in b.outputs {
              let d = TestSupport.maxAbsDiff(native[o.name]!, try Npy.read(f.url(o)).floats())
              XCTAssertLessThanOrEqual(d, chainerParityTolerance, "\(arch) native vs Chainer")
            }
          }
        }
      }
    }
  }

  func testPageInChromiumGeneratesAndMatchesNative() throws {
    let f = try ChainerFixture.make("srresnet-generator", ["--C", "8", "--B", "1", "--U", "1", "--n", "162", "--batch", "1"], in: Self.work)
    let shot = Self.work.appendingPathComponent("page.png")
    let b = f.batches[0]
    let native = try run(f.checkpointURL, f, batch: b, runtime: "native")
    let browser = try run(f.checkpointURL, f, batch: b, runtime: "browser", extra: ["--screenshot", shot.path])
    let name = b.outputs[0].name
    XCTAssertLessThanOrEqual(TestSupport.maxAbsDiff(browser[name] ?? [], native[name] ?? []), webParityTolerance)
    let png = try Data(contentsOf: shot)
    XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47], "a PNG screenshot")
    XCTAssertGreaterThan(png.count, 10_000)
    // Kept for people to look at.
    let keep = TestSupport.root.appendingPathComponent(".build/test-output")
    try? FileManager.default.createDirectory(at: keep, withIntermediateDirectories: true)
    try? FileManager.default.removeItem(at: keep.appendingPathComponent("page.png"))
    try FileManager.default.copyItem(at: shot, to: keep.appendingPathComponent("page.png"))
  }

  /// The page itself, exported by `moe export-site` and served by `moe serve`: chosen tags set through
  /// `window.moeApp`, one image generated, compared with the native run on the very input vector the page built;
  /// the screenshot is kept under .build/test-output/ for people to look at.
  func testPageGeneratesWithChosenTags() throws {
    let f = try ChainerFixture.make("srresnet-generator", ["--C", "16", "--B", "2", "--U", "3", "--n", "162", "--batch", "1"], in: Self.work)
    let bundle = Self.work.appendingPathComponent("page.moe")
    XCTAssertEqual(try TestSupport.moe(["convert", f.checkpointURL.path, "-o", bundle.path]).status, 0)
    let site = Self.work.appendingPathComponent("page-site")
    XCTAssertEqual(try TestSupport.moe(["export-site", bundle.path, "-o", site.path]).status, 0)
    let (server, port) = try serve(site)
    defer { server.terminate() }
    let settings: [String: Any] = ["groups": ["hair_color": "blonde_hair", "eye_color": "blue_eyes"], "tags": ["smile": "on", "hat": "off"]]
    let page = try WebRuntimes.generateOnPage(url: "http://127.0.0.1:\(port)/index.html", settings: settings)
    XCTAssertEqual(page.z.shape, [1, 162])
    let tags = ["blonde_hair": 128, "blue_eyes": 128 + 13 + 5 + 6, "smile": 128 + 13 + 5 + 1, "hat": 128 + 13 + 5 + 3]
    XCTAssertEqual(page.z.data[tags["blonde_hair"]!], 1)
    XCTAssertEqual(page.z.data[(tags["blonde_hair"]! + 1)..<(tags["blonde_hair"]! + 13)].filter { $0 == 1 }.count, 0, "one hair colour")
    XCTAssertEqual(page.z.data[tags["blue_eyes"]!], 1)
    XCTAssertEqual(page.z.data[tags["smile"]!], 1)
    XCTAssertEqual(page.z.data[tags["hat"]!], -1)
    let zFile = Self.work.appendingPathComponent("page-z.npy"), out = Self.work.appendingPathComponent("page-native.npy")
    try Npy.write(NpyArray(floats: page.z.data, shape: page.z.shape), to: zFile)
    XCTAssertEqual(try TestSupport.moe(["run", bundle.path, "--input", zFile.path, "-o", out.path]).status, 0)
    XCTAssertLessThanOrEqual(TestSupport.maxAbsDiff(page.img.data, try Npy.read(out).floats()), webParityTolerance)
    let keep = TestSupport.root.appendingPathComponent(".build/test-output")
    try FileManager.default.createDirectory(at: keep, withIntermediateDirectories: true)
    try page.screenshot.write(to: keep.appendingPathComponent("page-generated.png"))
    XCTAssertEqual(Array(page.screenshot.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
  }

  func curl(_ port: Int, _ path: String) throws -> String {
    try TestSupport.run(URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "-i", "--path-as-is", "--max-time", "10", "http://127.0.0.1:\(port)\(path)"]).stdout
  }

  /// Starts `moe serve DIR` on a free port and waits until it answers.
  func serve(_ site: URL) throws -> (Process, Int) {
    for _ in 0..<5 {
      let server = Process()
      server.executableURL = TestSupport.moeBinary
      let port = 20000 + Int.random(in: 0..<20000)
      server.arguments = ["serve", site.path, "--port", "\(port)"]
      server.standardOutput = FileHandle.nullDevice
      server.standardError = FileHandle.nullDevice
      try server.run()
      for _ in 0..<50 {
        if try curl(port, "/index.html").hasPrefix("HTTP/1.1 200") { return (server, port) }
        if !server.isRunning { break }  // the port was taken: try another
        usleep(200_000)
      }
      server.terminate()
    }
    throw NSError(domain: "WebRuntimeTests", code: 1, userInfo: [NSLocalizedDescriptionKey: "moe serve did not start"])
  }

  func testExportSiteAndServe() throws {
    let f = try ChainerFixture.make("dcgan-generator", ["--C", "16", "--n", "162", "--batch", "1"], in: Self.work)
    let site = Self.work.appendingPathComponent("site")
    let e = try TestSupport.moe(["export-site", f.checkpointURL.path, "-o", site.path])
    XCTAssertEqual(e.status, 0, e.stderr)
    for name in ["index.html", "moe.js", "kernels.wasm", "model.moe", "app.js", "style.css"] {
      XCTAssertTrue(FileManager.default.fileExists(atPath: site.appendingPathComponent(name).path), name)
    }
    let (server, port) = try serve(site)
    defer { server.terminate() }
    let head = try curl(port, "/kernels.wasm")
    XCTAssertTrue(head.hasPrefix("HTTP/1.1 200"), head.prefix(200).description)
    let lower = head.lowercased()
    XCTAssertTrue(lower.contains("content-type: application/wasm"))
    XCTAssertTrue(lower.contains("cross-origin-opener-policy: same-origin"))
    XCTAssertTrue(lower.contains("cross-origin-embedder-policy: require-corp"))
    XCTAssertTrue(try curl(port, "/").lowercased().contains("content-type: text/html"))
    XCTAssertTrue(try curl(port, "/moe.js").lowercased().contains("content-type: text/javascript"))
    for evil in ["/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc/passwd"] {
      let r = try curl(port, evil)
      XCTAssertFalse(r.contains("root:x:0:0"), "traversal via \(evil)")
      XCTAssertTrue(r.hasPrefix("HTTP/1.1 403") || r.hasPrefix("HTTP/1.1 404") || r.hasPrefix("HTTP/1.1 400"), r.prefix(100).description)
    }
    XCTAssertTrue(try curl(port, "/nope.txt").hasPrefix("HTTP/1.1 404"))
  }
}
