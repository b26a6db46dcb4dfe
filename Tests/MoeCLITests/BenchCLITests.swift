// BenchCLITests: `moe bench --json` reports timing, the memory plan's peak and the process's peak resident memory.
import Foundation
import MoeTestSupport
import XCTest

final class BenchCLITests: XCTestCase {
  func testJSONCarriesPlanPeakAndResidentPeak() throws {
    let dir = try TestSupport.temporaryDirectory("bench-cli")
    defer { try? FileManager.default.removeItem(at: dir) }
    let f = try ChainerFixture.make("srresnet-generator", ["--C", "8", "--B", "1", "--U", "1", "--n", "40", "--batch", "1"], in: dir)
    let r = try TestSupport.moe(["bench", f.checkpointURL.path, "--batch", "4", "--runs", "2", "--json"])
    XCTAssertEqual(r.status, 0, r.stderr)
    let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
    let plan = report["peak_bytes"] as! Int, resident = report["peak_resident_bytes"] as! Int
    // The plan holds at least the batch's output image (4 × 3 × 32 × 32 floats); the process holds the plan and more.
    XCTAssertGreaterThanOrEqual(plan, 4 * 3 * 32 * 32 * 4)
    XCTAssertGreaterThan(resident, plan)
    XCTAssertGreaterThan(report["ms_per_image"] as! Double, 0)
    let text = try TestSupport.moe(["bench", f.checkpointURL.path, "--batch", "1", "--runs", "1"])
    XCTAssertTrue(text.stdout.contains("peak activation memory") && text.stdout.contains("peak resident"), text.stdout)
    // --profile: the ops' shares add up to the profiled run, and the slowest nodes are named.
    let p = try TestSupport.moe(["bench", f.checkpointURL.path, "--batch", "1", "--runs", "1", "--profile"])
    XCTAssertEqual(p.status, 0, p.stderr)
    let shares = p.stdout.split(separator: "\n").filter { $0.hasSuffix("%") }.compactMap { Double($0.split(separator: " ").last!.dropLast()) }
    XCTAssertGreaterThan(shares.count, 2, p.stdout)
    XCTAssertEqual(shares.reduce(0, +), 100, accuracy: 0.5, p.stdout)
    XCTAssertTrue(p.stdout.contains("slowest nodes:") && p.stdout.contains("conv2d"), p.stdout)
  }
}
