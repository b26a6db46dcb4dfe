// ZooParityTests: every zoo architecture, NPZ and HDF5, plain and under a trainer prefix, matches real Chainer.
import Foundation
import MoeFormats
import MoeTestSupport
import XCTest

/// Two hyper-parameter sets per zoo architecture (make_fixture.py options), for every test that walks the zoo.
let zooHyperParameterSets: [(arch: String, sets: [[String]])] = [
  ("srresnet-generator", [["--C", "16", "--B", "2", "--U", "1", "--n", "40"], ["--C", "8", "--B", "3", "--U", "2", "--n", "162"]]),
  ("acgan-discriminator", [["--widths", "8,16", "--size", "32", "--tags", "5"], ["--widths", "4,8,16", "--size", "48", "--tags", "34"]]),
  ("dcgan-generator", [["--C", "32", "--n", "20"], ["--C", "16", "--n", "162"]]),
  // MoeKit reads a tagger checkpoint at S = 64 (the side is not in the weights).
  ("tagger-cnn", [["--widths", "8,16", "--size", "64", "--tags", "5"], ["--widths", "4,8,16,16", "--size", "64", "--tags", "34"]]),
]

final class ZooParityTests: XCTestCase {
  static var work: URL!

  override class func setUp() {
    super.setUp()
    work = try! TestSupport.temporaryDirectory("zoo")
  }

  override class func tearDown() {
    try? FileManager.default.removeItem(at: work)
    super.tearDown()
  }

  /// Hyper-parameter sets per architecture (two each), as make_fixture.py options.
  let zoo = zooHyperParameterSets

  /// `moe run` on the fixture's checkpoint (no flags) for every batch, compared with Chainer's outputs.
  func assertMatches(_ f: ChainerFixture, model: URL? = nil, extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws {
    let model = model ?? f.checkpointURL
    for b in f.batches {
      let out = URL(fileURLWithPath: f.dir).appendingPathComponent("moe-\(UUID().uuidString.prefix(6))\(b.outputs.count == 1 ? ".npy" : "")")
      var args = ["run", model.path, "-o", out.path] + extra
      for i in b.inputs { args += ["--input", "\(i.name)=\(f.url(i).path)"] }
      let r = try TestSupport.moe(args)
      XCTAssertEqual(r.status, 0, "\(f.arch) \(model.lastPathComponent): \(r.stderr)", file: file, line: line)
      guard r.status == 0 else { return }
      for o in b.outputs {
        let ours = try Npy.read(b.outputs.count == 1 ? out : out.appendingPathComponent("\(o.name).npy"))
        let theirs = try Npy.read(f.url(o))
        XCTAssertEqual(ours.shape, theirs.shape, file: file, line: line)
        let d = TestSupport.maxAbsDiff(try ours.floats(), try theirs.floats(), file: file, line: line)
        XCTAssertLessThanOrEqual(d, chainerParityTolerance, "\(f.arch) \(model.lastPathComponent) prefix '\(f.prefix)' batch \(b.batch) output \(o.name): max-abs \(d)", file: file, line: line)
      }
    }
  }

  func testEveryArchitectureFromNPZAndHDF5WithAndWithoutPrefix() throws {
    for (arch, sets) in zoo {
      for (i, hp) in sets.enumerated() {
        for format in ["npz", "h5"] {
          for prefix in ["", "updater/model:main/"] {
            let f = try ChainerFixture.make(arch, hp + ["--seed", "\(i + 3)", "--batch", "1", "--batch", "16", "--format", format, "--prefix", prefix], in: Self.work)
            XCTAssertEqual(f.prefix, prefix)
            try assertMatches(f)
          }
        }
      }
    }
  }

  func testRoundTripThroughMoeKitBackIntoChainer() throws {
    for (arch, sets) in zoo {
      let f = try ChainerFixture.make(arch, sets[0] + ["--batch", "2", "--prefix", "predictor/"], in: Self.work)
      let dir = URL(fileURLWithPath: f.dir)
      let h5 = dir.appendingPathComponent("via.h5"), npz = dir.appendingPathComponent("back.npz")
      XCTAssertEqual(try TestSupport.moe(["convert", f.checkpointURL.path, "-o", h5.path]).status, 0)
      XCTAssertEqual(try TestSupport.moe(["convert", h5.path, "-o", npz.path]).status, 0)
      // Real Chainer loads both into the reference model and reproduces its own outputs.
      for file in [h5, npz] {
        try TestSupport.python(["Converters/chainer/check_roundtrip.py", "--fixture", dir.path, "--checkpoint", file.path, "--atol", "1e-6"])
      }
    }
  }

  func testSnapshotWithGeneratorAndDiscriminatorNeedsPrefix() throws {
    let f = try ChainerFixture.make("srresnet-generator", ["--C", "8", "--B", "1", "--U", "1", "--n", "162", "--batch", "1", "--snapshot"], in: Self.work)
    let z = f.batches[0].inputs[0]
    let out = URL(fileURLWithPath: f.dir).appendingPathComponent("snap.npy")
    let r = try TestSupport.moe(["run", f.checkpointURL.path, "--input", f.url(z).path, "-o", out.path])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertFalse(r.crashed)
    XCTAssertTrue(r.stderr.contains("--prefix") && r.stderr.contains("updater/model:gen/") && r.stderr.contains("updater/model:dis/"), r.stderr)
    try assertMatches(f, extra: ["--prefix", f.prefix])
    let i = try TestSupport.moe(["inspect", f.checkpointURL.path, "--prefix", f.prefix])
    XCTAssertTrue(i.stdout.contains("updater/optimizer:gen/"), "optimizer state listed as unused: \(i.stdout)")
  }

  func testFloat64AndFloat16CheckpointsConvertWithANote() throws {
    for dtype in ["float64", "float16"] {
      let f = try ChainerFixture.make("dcgan-generator", ["--C", "16", "--n", "20", "--batch", "1", "--dtype", dtype], in: Self.work)
      try assertMatches(f)
      let b = f.batches[0]
      let r = try TestSupport.moe(["run", f.checkpointURL.path, "--input", f.url(b.inputs[0]).path, "-o", URL(fileURLWithPath: f.dir).appendingPathComponent("x.npy").path])
      XCTAssertTrue(r.stderr.contains("note:") && r.stderr.contains(dtype == "float64" ? "<f8" : "<f2"), r.stderr)
    }
  }

  func testBNEpsOverride() throws {
    let f = try ChainerFixture.make("dcgan-generator", ["--C", "16", "--n", "20", "--batch", "1"], in: Self.work)
    let b = f.batches[0]
    let out = URL(fileURLWithPath: f.dir).appendingPathComponent("eps.npy")
    XCTAssertEqual(try TestSupport.moe(["run", f.checkpointURL.path, "--input", f.url(b.inputs[0]).path, "-o", out.path, "--bn-eps", "0.5"]).status, 0)
    let d = TestSupport.maxAbsDiff(try Npy.read(out).floats(), try Npy.read(f.url(b.outputs[0])).floats())
    XCTAssertGreaterThan(d, 1e-3, "a different eps must change the output")
  }
}
