// HDF5IsolationTests: a file that crashes libhdf5 itself (found by `make fuzz`) is one error line from `moe`, not a crash.
import Foundation
import MoeFormats
import MoeTestSupport
import XCTest

final class HDF5IsolationTests: XCTestCase {
  /// Tests/fixtures/hdf5-local-heap-crash.h5: FuzzHDF5's find — libhdf5 1.10 copies into a null pointer after failing
  /// to allocate a local heap of the size the file claims (SIGSEGV inside H5F__accum_read, under H5Ovisit).
  let crasher = TestSupport.root.appendingPathComponent("Tests/fixtures/hdf5-local-heap-crash.h5")

  func testACrashInsideLibHDF5IsAnErrorNamingTheFile() throws {
    let dir = try TestSupport.temporaryDirectory("hdf5-isolation")
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("out.npz")
    for args in [["inspect", crasher.path], ["convert", crasher.path, "-o", out.path], ["run", crasher.path, "--input", crasher.path, "-o", out.path]] {
      let r = try TestSupport.moe(args)
      XCTAssertFalse(r.crashed, "\(args[0]): \(r.stderr)")
      XCTAssertEqual(r.status, 1, "\(args[0]): \(r.stderr)")
      let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("Usage:") && !$0.contains("See 'moe") }
      XCTAssertEqual(lines.count, 1, r.stderr)
      XCTAssertTrue(r.stderr.contains(crasher.path) && r.stderr.contains("crashed a probe process"), r.stderr)
      XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }
  }

  func testWellFormedHDF5StillReadsThroughTheProbe() throws {
    let dir = try TestSupport.temporaryDirectory("hdf5-isolation-ok")
    defer { try? FileManager.default.removeItem(at: dir) }
    let f = try ChainerFixture.make("dcgan-generator", ["--C", "16", "--n", "20", "--batch", "2", "--format", "h5"], in: dir)
    let out = dir.appendingPathComponent("out.npy")
    let b = f.batches[0]
    let r = try TestSupport.moe(["run", f.checkpointURL.path, "--input", f.url(b.inputs[0]).path, "-o", out.path])
    XCTAssertEqual(r.status, 0, r.stderr)
    let d = TestSupport.maxAbsDiff(try Npy.read(out).floats(), try Npy.read(f.url(b.outputs[0])).floats())
    XCTAssertLessThanOrEqual(d, chainerParityTolerance)
  }
}
