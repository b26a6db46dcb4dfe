// ExportSiteTests: `moe export-site` validates the bundle first, refuses foreign folders and files, and writes atomically.
import Foundation
import MoeTestSupport
import XCTest

final class ExportSiteTests: XCTestCase {
  static var work: URL!
  static var bundle: URL!

  override class func setUp() {
    super.setUp()
    work = try! TestSupport.temporaryDirectory("export")
    let f = try! ChainerFixture.make("dcgan-generator", ["--C", "8", "--n", "20", "--batch", "1"], in: work)
    bundle = work.appendingPathComponent("m.moe")
    precondition(try! TestSupport.moe(["convert", f.checkpointURL.path, "-o", bundle.path]).status == 0)
  }

  override class func tearDown() {
    try? FileManager.default.removeItem(at: work)
    super.tearDown()
  }

  func fresh(_ label: String) -> URL { Self.work.appendingPathComponent("\(label)-\(UUID().uuidString.prefix(6))") }

  /// Entries of `dir`'s parent that export-site's staging or swap folders would leave behind.
  func leftovers(beside dir: URL) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: dir.deletingLastPathComponent().path).filter { $0.contains(".moe-export-") || $0.contains(".moe-old-") }
  }

  /// One clear line on stderr, a non-zero exit, no trap.
  func assertRefused(_ r: TestSupport.Result, mentioning: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertNotEqual(r.status, 0, file: file, line: line)
    XCTAssertFalse(r.crashed, file: file, line: line)
    let lines = r.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n")
    XCTAssertEqual(lines.count, 1, r.stderr, file: file, line: line)
    XCTAssertTrue(r.stderr.contains(mentioning), r.stderr, file: file, line: line)
    XCTAssertFalse(r.stderr.contains("NSCocoaErrorDomain"), r.stderr, file: file, line: line)
  }

  func testBrokenBundlesRefusedWithNothingWritten() throws {
    let good = try Data(contentsOf: Self.bundle)
    var flipped = good
    flipped[good.count / 2] ^= 0x10
    for (name, bytes) in [("empty", Data()), ("truncated", good.prefix(good.count / 2)), ("flipped", flipped), ("header-only", good.prefix(96))] {
      let broken = Self.work.appendingPathComponent("\(name).moe")
      try bytes.write(to: broken)
      let out = fresh("site-\(name)")
      let r = try TestSupport.moe(["export-site", broken.path, "-o", out.path])
      assertRefused(r, mentioning: broken.path)
      XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "\(name): nothing written")
      XCTAssertEqual(try leftovers(beside: out), [], name)
    }
  }

  func testForeignFolderRefusedUnlessForced() throws {
    let out = fresh("mine")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    let notes = out.appendingPathComponent("notes.txt")
    try Data("my own notes".utf8).write(to: notes)
    let r = try TestSupport.moe(["export-site", Self.bundle.path, "-o", out.path])
    assertRefused(r, mentioning: "notes.txt")
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), ["notes.txt"], "the folder is untouched")
    XCTAssertEqual(try Data(contentsOf: notes), Data("my own notes".utf8))

    let forced = try TestSupport.moe(["export-site", Self.bundle.path, "-o", out.path, "--force"])
    XCTAssertEqual(forced.status, 0, forced.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: notes.path), "--force replaces the folder")
    XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("model.moe")), try Data(contentsOf: Self.bundle))
    XCTAssertEqual(try leftovers(beside: out), [])
  }

  func testOwnOutputReplacedAndAddedFilesProtected() throws {
    let out = fresh("again")
    XCTAssertEqual(try TestSupport.moe(["export-site", Self.bundle.path, "-o", out.path]).status, 0)
    let files = Set(try FileManager.default.contentsOfDirectory(atPath: out.path))
    XCTAssertTrue(files.isSuperset(of: ["index.html", "moe.js", "kernels.wasm", "model.moe", "app.js"]), "\(files)")
    // Its own earlier output is recognised and replaced without --force.
    let again = try TestSupport.moe(["export-site", Self.bundle.path, "-o", out.path])
    XCTAssertEqual(again.status, 0, again.stderr)
    XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: out.path)), files)
    // A file a person added makes it theirs.
    try Data("x".utf8).write(to: out.appendingPathComponent("extra.html"))
    assertRefused(try TestSupport.moe(["export-site", Self.bundle.path, "-o", out.path]), mentioning: "extra.html")
    XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("extra.html").path))
    XCTAssertEqual(try leftovers(beside: out), [])
  }

  func testOutputOntoAFile() throws {
    let file = fresh("file.txt")
    try Data("keep".utf8).write(to: file)
    assertRefused(try TestSupport.moe(["export-site", Self.bundle.path, "-o", file.path]), mentioning: "is an existing file")
    XCTAssertEqual(try Data(contentsOf: file), Data("keep".utf8))
    assertRefused(try TestSupport.moe(["export-site", Self.bundle.path, "-o", file.appendingPathComponent("site").path]), mentioning: "is a file, not a folder")
  }
}
