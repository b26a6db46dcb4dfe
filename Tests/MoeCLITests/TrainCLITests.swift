// TrainCLITests: `moe train` end to end — Chainer loads what it writes, a SIGKILLed run resumes to the same state, bad input.
import Foundation
import MoeFormats
import MoeTestSupport
import XCTest

final class TrainCLITests: XCTestCase {
  static let model = ["--arch", "srresnet-generator:C=8,B=1", "--dis", "acgan-discriminator:widths=8.16.32", "--size", "32",
                      "--batch", "4", "--seed", "5"]

  func dataset(_ dir: URL, count: Int = 40) throws -> String {
    let path = dir.appendingPathComponent("data.npz").path
    let r = try TestSupport.moe(["dataset", "synth", "--count", "\(count)", "--size", "32", "--seed", "2", "-o", path])
    XCTAssertEqual(r.status, 0, r.stderr)
    return path
  }

  /// Every array of two snapshots, bit for bit (the elapsed-time entry aside).
  func assertSameArrays(_ a: URL, _ b: URL, file: StaticString = #filePath, line: UInt = #line) throws {
    let x = try NPZFile(url: a).readAll(), y = try NPZFile(url: b).readAll()
    XCTAssertEqual(Set(x.keys), Set(y.keys), file: file, line: line)
    for (k, v) in x where k != "_snapshot_elapsed_time" {
      XCTAssertEqual(v.data, y[k]?.data, "\(k) differs", file: file, line: line)
    }
  }

  func logWithoutTimes(_ run: URL) throws -> [String] {
    try String(contentsOf: run.appendingPathComponent("log.jsonl"), encoding: .utf8).split(separator: "\n").map {
      String($0).replacingOccurrences(of: #","seconds_per_iteration":[0-9.e+-]+"#, with: "", options: .regularExpression)
    }
  }

  func testTrainedFilesLoadInChainerAndRunLikeMoeRun() throws {
    let dir = try TestSupport.temporaryDirectory("train")
    let data = try dataset(dir)
    let run = dir.appendingPathComponent("run")
    let r = try TestSupport.moe(["train", "--data", data, "--iterations", "6", "--interval", "3", "--out", run.path] + Self.model)
    XCTAssertEqual(r.status, 0, r.stderr)
    for k in [3, 6] {
      for f in ["snapshot_iter_\(k).npz", "gen_iter_\(k).npz", "dis_iter_\(k).npz", "samples_iter_\(k).png"] {
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent(f).path), f)
      }
    }
    XCTAssertEqual(try logWithoutTimes(run).count, 6)
    // The generator file loads into the Chainer reference model; the trainer snapshot into a real Trainer (strict).
    let z = dir.appendingPathComponent("z.npy")
    try TestSupport.python(["-c", "import numpy as np; np.save('\(z.path)', np.random.default_rng(1).standard_normal((3, 162)).astype(np.float32))"])
    let chainerOut = dir.appendingPathComponent("chainer.npy"), moeOut = dir.appendingPathComponent("moe.npy")
    let check = try TestSupport.python(["Converters/chainer/check_train_run.py", run.path, "6", "--z", z.path, "--out", chainerOut.path])
    XCTAssertTrue(check.stdout.contains(#""iteration": 6"#) && check.stdout.contains(#""same_gen_weights": true"#), check.stdout)
    let m = try TestSupport.moe(["run", run.appendingPathComponent("gen_iter_6.npz").path, "--input", z.path, "-o", moeOut.path])
    XCTAssertEqual(m.status, 0, m.stderr)
    let a = try Npy.read(moeOut).floats(), b = try Npy.read(chainerOut).floats()
    XCTAssertLessThanOrEqual(TestSupport.maxAbsDiff(a, b), 1e-4, "moe run vs Chainer on the trained generator")
  }

  func testKilledRunResumesToTheSameState() throws {
    let dir = try TestSupport.temporaryDirectory("train-resume")
    let data = try dataset(dir)
    let whole = dir.appendingPathComponent("whole"), killed = dir.appendingPathComponent("killed")
    let args = ["train", "--data", data, "--iterations", "12", "--interval", "4"] + Self.model
    XCTAssertEqual(try TestSupport.moe(args + ["--out", whole.path]).status, 0)
    // The same run, killed with SIGKILL once its first snapshot exists (mid-interval), then resumed.
    let p = Process()
    p.executableURL = TestSupport.moeBinary
    p.arguments = args + ["--out", killed.path]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    let first = killed.appendingPathComponent("snapshot_iter_4.npz")
    let deadline = Date().addingTimeInterval(120)
    while !FileManager.default.fileExists(atPath: first.path) && p.isRunning && Date() < deadline { usleep(20_000) }
    usleep(150_000)
    kill(p.processIdentifier, SIGKILL)
    p.waitUntilExit()
    XCTAssertEqual(p.terminationReason, .uncaughtSignal, "the run finished before it could be killed")
    XCTAssertFalse(FileManager.default.fileExists(atPath: killed.appendingPathComponent("snapshot_iter_12.npz").path))
    let r = try TestSupport.moe(["train", "--resume", killed.path, "--iterations", "12"])
    XCTAssertEqual(r.status, 0, r.stderr)
    try assertSameArrays(whole.appendingPathComponent("snapshot_iter_12.npz"), killed.appendingPathComponent("snapshot_iter_12.npz"))
    try assertSameArrays(whole.appendingPathComponent("gen_iter_12.npz"), killed.appendingPathComponent("gen_iter_12.npz"))
    XCTAssertEqual(try logWithoutTimes(whole), try logWithoutTimes(killed))
    // No temporary files left by the kill.
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: killed.path).filter { $0.contains("tmp") || $0.hasPrefix(".") }
    XCTAssertEqual(leftovers, [])
  }

  func testBadInputStopsWithOneLineAndAValidSnapshot() throws {
    let dir = try TestSupport.temporaryDirectory("train-bad")
    func refuse(_ args: [String], _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
      let r = try TestSupport.moe(["train"] + args)
      XCTAssertNotEqual(r.status, 0, file: file, line: line)
      XCTAssertFalse(r.crashed, file: file, line: line)
      XCTAssertTrue(r.stderr.contains(expected), "expected '\(expected)' in: \(r.stderr)", file: file, line: line)
      XCTAssertLessThanOrEqual(r.stderr.split(separator: "\n").count, 2, r.stderr, file: file, line: line)
    }
    let out = dir.appendingPathComponent("r").path
    try refuse(["--data", dir.appendingPathComponent("nope.npz").path, "--iterations", "2", "--out", out] + Self.model, "nope.npz: no such dataset")
    // A folder dataset: a PNG of the wrong size, then a tag row missing.
    let folder = dir.appendingPathComponent("folder")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let tags = (["file"] + ["blonde_hair", "brown_hair", "black_hair", "blue_hair", "pink_hair", "purple_hair", "green_hair", "red_hair",
                           "silver_hair", "white_hair", "orange_hair", "aqua_hair", "grey_hair", "long_hair", "short_hair", "twin_tail",
                           "drill_hair", "ponytail", "blush", "smile", "open_mouth", "hat", "ribbon", "glasses", "blue_eyes", "red_eyes",
                           "brown_eyes", "green_eyes", "purple_eyes", "yellow_eyes", "pink_eyes", "aqua_eyes", "black_eyes",
                           "orange_eyes"]).joined(separator: ",")
    let row = { (name: String) in ([name] + (0..<34).map { $0 == 0 || $0 == 24 ? "1" : "-1" }).joined(separator: ",") }
    try TestSupport.python(["-c", """
      import zlib, struct, sys
      def png(path, w, h):
          raw = b''.join(b'\\x00' + bytes([128, 64, 32] * w) for _ in range(h))
          def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
          open(path, 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
      png('\(folder.path)/a.png', 32, 32)
      png('\(folder.path)/b.png', 48, 32)
      """])
    try (tags + "\n" + row("a.png") + "\n" + row("b.png") + "\n").write(to: folder.appendingPathComponent("tags.csv"), atomically: true, encoding: .utf8)
    try refuse(["--data", folder.path, "--iterations", "2", "--out", out] + Self.model, "b.png: image is 48×32, expected 32×32")
    try (tags + "\n" + row("a.png") + "\n").write(to: folder.appendingPathComponent("tags.csv"), atomically: true, encoding: .utf8)
    try refuse(["--data", folder.path, "--iterations", "2", "--out", out] + Self.model, "no tag row for image 'b.png'")
    XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing written for refused input")

    // A loss that becomes NaN: a run with a valid snapshot at 4, resumed with an absurd step size.
    let data = try dataset(dir)
    let run = dir.appendingPathComponent("nan")
    XCTAssertEqual(try TestSupport.moe(["train", "--data", data, "--iterations", "4", "--interval", "4", "--out", run.path] + Self.model).status, 0)
    let configURL = run.appendingPathComponent("config.json")
    var config = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as! [String: Any]
    config["alpha"] = 1e30
    try JSONSerialization.data(withJSONObject: config).write(to: configURL)
    let before = try Data(contentsOf: run.appendingPathComponent("snapshot_iter_4.npz"))
    try refuse(["--resume", run.path, "--iterations", "40"], "last snapshot: \(run.path)/snapshot_iter_4.npz")
    XCTAssertEqual(try Data(contentsOf: run.appendingPathComponent("snapshot_iter_4.npz")), before)
    XCTAssertNoThrow(try NPZFile(url: run.appendingPathComponent("snapshot_iter_4.npz")).readAll())
    let names = try FileManager.default.contentsOfDirectory(atPath: run.path)
    XCTAssertEqual(names.filter { $0.hasPrefix("snapshot_iter_") }, ["snapshot_iter_4.npz"])
  }

  /// `--arch dcgan-generator`: a 64² run whose generator file and trainer snapshot load into real Chainer (strict), the
  /// generator computing what `moe run` computes; sizes and keys the generator cannot take are refused by name.
  func testDCGANGeneratorRunLoadsInChainer() throws {
    let dir = try TestSupport.temporaryDirectory("train-dcgan")
    defer { try? FileManager.default.removeItem(at: dir) }
    let data = dir.appendingPathComponent("data.npz").path
    XCTAssertEqual(try TestSupport.moe(["dataset", "synth", "--count", "8", "--size", "64", "--seed", "3", "-o", data]).status, 0)
    let run = dir.appendingPathComponent("run")
    let model = ["--arch", "dcgan-generator:C=16", "--dis", "acgan-discriminator:widths=8.16", "--batch", "3", "--seed", "1"]
    let r = try TestSupport.moe(["train", "--data", data, "--size", "64", "--iterations", "2", "--interval", "2", "--out", run.path] + model)
    XCTAssertEqual(r.status, 0, r.stderr)
    XCTAssertTrue(r.stdout.contains("dcgan-generator C=16 n=162"), r.stdout)
    XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("samples_iter_2.png").path))
    let z = dir.appendingPathComponent("z.npy")
    try TestSupport.python(["-c", "import numpy as np; np.save('\(z.path)', np.random.default_rng(2).standard_normal((3, 162)).astype(np.float32))"])
    let chainerOut = dir.appendingPathComponent("chainer.npy"), moeOut = dir.appendingPathComponent("moe.npy")
    let check = try TestSupport.python(["Converters/chainer/check_train_run.py", run.path, "2", "--z", z.path, "--out", chainerOut.path])
    XCTAssertTrue(check.stdout.contains(#""iteration": 2"#) && check.stdout.contains(#""same_gen_weights": true"#), check.stdout)
    let m = try TestSupport.moe(["run", run.appendingPathComponent("gen_iter_2.npz").path, "--input", z.path, "-o", moeOut.path])
    XCTAssertEqual(m.status, 0, m.stderr)
    let a = try Npy.read(moeOut).floats(), b = try Npy.read(chainerOut).floats()
    XCTAssertEqual(a.count, 3 * 3 * 64 * 64)
    XCTAssertLessThanOrEqual(TestSupport.maxAbsDiff(a, b), 1e-4, "moe run vs Chainer on the trained DCGAN generator")

    for (args, expected) in [(["--arch", "dcgan-generator:C=16", "--size", "32"], "--size 32: dcgan-generator makes 64² images only"),
                             (["--arch", "dcgan-generator:C=12", "--size", "64"], "C=12 must be divisible by 8"),
                             (["--arch", "dcgan-generator:B=2", "--size", "64"], "unknown key 'B'; dcgan-generator takes C"),
                             (["--arch", "resnet", "--size", "64"], "--arch resnet: expected srresnet-generator[:KEY=VALUE,…] or dcgan-generator")] {
      let out = dir.appendingPathComponent("refused").path
      let r = try TestSupport.moe(["train", "--data", data, "--iterations", "1", "--out", out, "--batch", "2"] + args)
      XCTAssertNotEqual(r.status, 0, "\(args)")
      XCTAssertFalse(r.crashed)
      XCTAssertTrue(r.stderr.contains(expected), "expected '\(expected)' in: \(r.stderr)")
      XCTAssertLessThanOrEqual(r.stderr.split(separator: "\n").count, 2, r.stderr)
      XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing written for a refused configuration")
    }
  }
}
