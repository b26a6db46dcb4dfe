// AutoPlanCLITests: auto's plan saved and reused by convert and report (same bytes), refusals up front, quiet output.
import Foundation
import MoeFormats
import MoeTestSupport
import XCTest

final class AutoPlanCLITests: XCTestCase {
  /// The "weights …" size line both commands print for a plan.
  func sizeLine(_ output: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
    guard let l = output.split(separator: "\n").first(where: { $0.contains("with --deflate") }), let r = l.range(of: "weights ") else {
      XCTFail("no size line in:\n\(output)", file: file, line: line)
      return nil
    }
    return String(l[r.lowerBound...])
  }

  func testPlanIsSharedAndBothCommandsPrintTheBundlesBytes() throws {
    let work = try TestSupport.temporaryDirectory("auto-plan")
    defer { try? FileManager.default.removeItem(at: work) }
    let f = try ChainerFixture.make("srresnet-generator", ["--C", "8", "--B", "2", "--U", "1", "--n", "162", "--batch", "1"], in: work)
    let planFile = work.appendingPathComponent("plan.json"), auto = work.appendingPathComponent("auto.moe")
    let c = try TestSupport.moe(["convert", f.checkpointURL.path, "-o", auto.path, "--quantize", "auto", "--target-psnr", "32", "--plan", planFile.path])
    XCTAssertEqual(c.status, 0, c.stderr)
    XCTAssertTrue(c.stderr.contains("elapsed") && c.stderr.contains("ETA"), "progress has elapsed time and an ETA:\n\(c.stderr)")
    XCTAssertFalse(c.stdout.contains("  pass "), "pass lines only with --verbose:\n\(c.stdout)")
    let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: planFile)) as! [String: Any]
    let schemes = saved["schemes"] as! [String: String]
    XCTAssertFalse(schemes.isEmpty)

    // The bundle holds exactly the saved plan, and its tensor payloads add up to the printed bytes.
    let bundle = try MoeBundle.read(auto)
    for t in bundle.manifest.tensors { XCTAssertEqual(t.encoding, schemes[t.name] ?? "f32", t.name) }
    let stored = bundle.manifest.tensors.reduce(0) { $0 + $1.length }
    let convertLine = try XCTUnwrap(sizeLine(c.stdout))
    XCTAssertTrue(convertLine.contains("(\(grouped(stored)) B)"), "\(convertLine) vs the bundle's \(stored) B")

    // report and convert with --plan reuse it and print the same size line, to the byte.
    let r = try TestSupport.moe(["report", f.checkpointURL.path, "--plan", planFile.path, "--no-sweep", "--calibration", "2"])
    XCTAssertEqual(r.status, 0, r.stderr)
    XCTAssertEqual(try XCTUnwrap(sizeLine(r.stdout)), convertLine)
    XCTAssertFalse(r.stdout.contains("passes:"), "pass lines only with --verbose")
    let again = work.appendingPathComponent("again.moe")
    let c2 = try TestSupport.moe(["convert", f.checkpointURL.path, "-o", again.path, "--plan", planFile.path])
    XCTAssertEqual(c2.status, 0, c2.stderr)
    XCTAssertEqual(try XCTUnwrap(sizeLine(c2.stdout)), convertLine)
    XCTAssertEqual(try Data(contentsOf: again).count, try Data(contentsOf: auto).count)
    let v = try TestSupport.moe(["report", f.checkpointURL.path, "--plan", planFile.path, "--no-sweep", "--calibration", "1", "--verbose"])
    XCTAssertTrue(v.stdout.contains("passes:"), v.stdout)

    // A plan naming a weight the model does not have is refused, naming the file and the weight.
    try Data(#"{"format": "moekit-quantization-plan", "version": 1, "schemes": {"nosuch/W": "int8"}}"#.utf8).write(to: planFile)
    let bad = try TestSupport.moe(["convert", f.checkpointURL.path, "-o", work.appendingPathComponent("bad.moe").path, "--plan", planFile.path])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.stderr.contains(planFile.path) && bad.stderr.contains("nosuch/W"), bad.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("bad.moe").path))
  }

  func testRefusalsComeBeforeTheAnalysis() throws {
    let work = try TestSupport.temporaryDirectory("auto-refuse")
    defer { try? FileManager.default.removeItem(at: work) }
    let f = try ChainerFixture.make("srresnet-generator", ["--C", "8", "--B", "2", "--U", "1", "--n", "162", "--batch", "1"], in: work)
    let out = work.appendingPathComponent("q.moe")
    let start = Date()
    let u = try TestSupport.moe(["convert", f.checkpointURL.path, "-o", out.path, "--quantize", "auto", "--target-psnr", "500"])
    XCTAssertNotEqual(u.status, 0)
    XCTAssertTrue(u.stderr.contains("500.00 dB is unreachable") && u.stderr.contains("gives "), u.stderr)
    XCTAssertFalse(u.stderr.contains("sensitivity"), "refused before the sensitivity analysis:\n\(u.stderr)")
    XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    let html = try TestSupport.moe(["report", f.checkpointURL.path, "--html", work.appendingPathComponent("nodir/r.html").path])
    XCTAssertNotEqual(html.status, 0)
    XCTAssertTrue(html.stderr.contains("nodir") && html.stderr.contains("does not exist"), html.stderr)
    XCTAssertFalse(html.stderr.contains("auto:"), "the folder is checked before the analysis:\n\(html.stderr)")
    XCTAssertLessThan(Date().timeIntervalSince(start), 30)
    let mixed = try TestSupport.moe(["convert", f.checkpointURL.path, "-o", out.path, "--quantize", "int8", "--plan", "p.json"])
    XCTAssertNotEqual(mixed.status, 0)
    XCTAssertTrue(mixed.stderr.contains("--plan goes with --quantize auto"), mixed.stderr)
  }

  /// "2,964,078": the exact byte count as the size line prints it.
  func grouped(_ n: Int) -> String {
    let s = String(n)
    return s.enumerated().map { ($0.offset > 0 && (s.count - $0.offset) % 3 == 0 ? "," : "") + String($0.element) }.joined()
  }
}
