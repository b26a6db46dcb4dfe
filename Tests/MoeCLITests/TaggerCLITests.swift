// TaggerCLITests: moe train-tagger, moe tag on PNG and JPEG (hair and eye colour one each), bad images, moe evaluate.
import Foundation
import MoeTestSupport
import XCTest

final class TaggerCLITests: XCTestCase {
  static let hair = ["blonde_hair", "brown_hair", "black_hair", "blue_hair", "pink_hair", "purple_hair", "green_hair", "red_hair",
                     "silver_hair", "white_hair", "orange_hair", "aqua_hair", "grey_hair"]
  static let eyes = ["blue_eyes", "red_eyes", "brown_eyes", "green_eyes", "purple_eyes", "yellow_eyes", "pink_eyes", "aqua_eyes",
                     "black_eyes", "orange_eyes"]

  func testTrainTagAndEvaluate() throws {
    let dir = try TestSupport.temporaryDirectory("tagger")
    let data = dir.appendingPathComponent("d.npz").path, tagger = dir.appendingPathComponent("t.npz").path
    XCTAssertEqual(try TestSupport.moe(["dataset", "synth", "--count", "96", "--size", "32", "--seed", "4", "-o", data]).status, 0)
    let t = try TestSupport.moe(["train-tagger", "--data", data, "--size", "32", "--iterations", "6", "--batch", "16", "-o", tagger])
    XCTAssertEqual(t.status, 0, t.stderr)
    XCTAssertTrue(t.stdout.contains("held-out 9 images: mean per-tag accuracy"), t.stdout)
    // The checkpoint is an ordinary zoo checkpoint: moe inspect and moe run read it.
    let inspect = try TestSupport.moe(["inspect", tagger])
    XCTAssertTrue(inspect.stdout.contains("tagger-cnn"), inspect.stdout)

    // Two images of the dataset as PNG and JPEG (written by Pillow).
    let png = dir.appendingPathComponent("a.png").path, jpg = dir.appendingPathComponent("a.jpg").path
    let raw = dir.appendingPathComponent("raw").path
    try TestSupport.python(["-c", "import numpy as np; a = np.load('\(data)')['images']; open('\(raw)0', 'wb').write(a[0].transpose(1, 2, 0).tobytes()); open('\(raw)1', 'wb').write(a[1].transpose(1, 2, 0).tobytes())"])
    let r = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/python3"), ["-c", """
      from PIL import Image
      Image.frombytes('RGB', (32, 32), open('\(raw)0', 'rb').read()).save('\(png)')
      Image.frombytes('RGB', (32, 32), open('\(raw)1', 'rb').read()).save('\(jpg)', quality=95)
      """])
    XCTAssertEqual(r.status, 0, "python3 with Pillow (apt python3-pil) is needed: \(r.stderr)")
    let tag = try TestSupport.moe(["tag", png, jpg, "--model", tagger, "--size", "32", "--json"])
    XCTAssertEqual(tag.status, 0, tag.stderr)
    let lines = tag.stdout.split(separator: "\n")
    XCTAssertEqual(lines.count, 2)
    for line in lines {
      let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
      let tags = Set((obj["tags"] as! [String: Double]).keys)
      XCTAssertEqual(tags.intersection(Self.hair).count, 1, "exactly one hair colour: \(tags)")
      XCTAssertEqual(tags.intersection(Self.eyes).count, 1, "exactly one eye colour: \(tags)")
    }
    let acc = try TestSupport.moe(["tag", "--data", data, "--model", tagger, "--size", "32", "--json"])
    XCTAssertEqual(acc.status, 0, acc.stderr)
    XCTAssertTrue(acc.stdout.contains("\"mean_accuracy\""), acc.stdout)

    // Bad images: one line each naming the file.
    let notImage = dir.appendingPathComponent("x.png"), truncated = dir.appendingPathComponent("cut.png")
    try Data("hello".utf8).write(to: notImage)
    try Data(try Data(contentsOf: URL(fileURLWithPath: png)).prefix(60)).write(to: truncated)
    for bad in [notImage.path, truncated.path] {
      let b = try TestSupport.moe(["tag", bad, "--model", tagger, "--size", "32"])
      XCTAssertNotEqual(b.status, 0)
      XCTAssertFalse(b.crashed)
      XCTAssertTrue(b.stderr.contains(bad), b.stderr)
    }

    // evaluate: a MakeGirls-vocabulary generator (random weights) against this tagger; JSON with every tag and group.
    let gen = dir.appendingPathComponent("g")
    try TestSupport.python(["Converters/chainer/make_fixture.py", "--arch", "srresnet-generator", "--C", "8", "--B", "1", "--U", "1",
                            "--n", "162", "--seed", "1", "--batch", "1", "--out", gen.path])
    let e = try TestSupport.moe(["evaluate", gen.appendingPathComponent("model.npz").path, "--tagger", tagger, "--count", "40",
                                 "--data", data, "--json", "--html", dir.appendingPathComponent("e.html").path])
    XCTAssertEqual(e.status, 0, e.stderr)
    let report = try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as! [String: Any]
    let tags = report["tags"] as! [String: [String: Any]]
    XCTAssertEqual(tags.count, 34)
    XCTAssertNotNil((report["groups"] as! [String: Double])["hair_color"])
    XCTAssertNotNil((report["groups_balanced_accuracy"] as! [String: Double])["other"])
    // Every image requests one hair colour and the tagger finds exactly one (argmax): the counts must add up.
    var requested = 0, found = 0
    for t in Self.hair {
      let e = tags[t]!
      XCTAssertEqual((e["requested"] as! Int) + (e["not_requested"] as! Int), 40, t)
      requested += e["requested"] as! Int
      found += (e["found_when_requested"] as! Int) + (e["found_when_not_requested"] as! Int)
      if let acc = e["accuracy"] as? Double { XCTAssertEqual(acc, Double(e["found_when_requested"] as! Int) / Double(e["requested"] as! Int), accuracy: 1e-12) }
    }
    XCTAssertEqual(requested, 40)
    XCTAssertEqual(found, 40)
    XCTAssertNotNil(report["tagger_feature_frechet_distance"] as? Double)
    XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("e.html").path))
  }

  /// `moe train-tagger --init T.npz`: one step over the whole training split (batch = every training image, so the order
  /// drawn does not matter) from a Chainer tagger's weights equals real Chainer's Adam step on those images (issue 17);
  /// a checkpoint of another architecture or tag count is refused by name.
  func testTrainTaggerFromGivenWeightsEqualsChainerStep() throws {
    let dir = try TestSupport.temporaryDirectory("tagger-init")
    defer { try? FileManager.default.removeItem(at: dir) }
    let data = dir.appendingPathComponent("d.npz").path, out = dir.appendingPathComponent("trained.npz").path
    XCTAssertEqual(try TestSupport.moe(["dataset", "synth", "--count", "10", "--size", "64", "--seed", "6", "-o", data]).status, 0)
    let fixture = dir.appendingPathComponent("fixture")
    try TestSupport.python(["Converters/chainer/make_fixture.py", "--arch", "tagger-cnn", "--widths", "4,8", "--size", "64", "--tags", "34",
                            "--batch", "1", "--seed", "2", "--out", fixture.path])
    let initial = fixture.appendingPathComponent("model.npz").path
    // --holdout 0.1 of 10 images keeps the last one back; the step sees images 0…8.
    let t = try TestSupport.moe(["train-tagger", "--data", data, "--size", "64", "--iterations", "1", "--batch", "9", "--init", initial, "-o", out])
    XCTAssertEqual(t.status, 0, t.stderr)
    let x = dir.appendingPathComponent("x.npy").path, tags = dir.appendingPathComponent("t.npy").path
    try TestSupport.python(["-c", "import numpy as np; d = np.load('\(data)'); np.save('\(x)', d['images'][:9].astype(np.float32) / 127.5 - 1); "
                            + "np.save('\(tags)', (d['tags'][:9] > 0).astype(np.float32))"])
    let chainer = dir.appendingPathComponent("chainer.npz").path, chainerModel = dir.appendingPathComponent("chainer-model.npz").path
    try TestSupport.python(["Converters/chainer/tagger_step.py", initial, "--widths", "4,8", "--size", "64", "--tags", "34", "--x", x,
                            "--t", tags, "--out", chainer, "--model-out", chainerModel])
    let r = try TestSupport.python(["Converters/chainer/compare_snapshots.py", out, chainerModel, "--prefix", ""])
    let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
    let errors = report["errors"] as! [String: Double]
    print("moe train-tagger --init, one step vs Chainer: \(errors.count) tensors, worst \(report["worst"]!)")
    XCTAssertEqual(report["missing"] as? [String], [])
    XCTAssertEqual(errors.count, 8)
    XCTAssertTrue(errors.values.allSatisfy { $0 <= 1e-3 }, "\(errors)")
    // The step moved every tensor (so the comparison is not of two copies of the initial weights).
    let unchanged = try TestSupport.python(["Converters/chainer/compare_snapshots.py", out, initial, "--prefix", ""])
    let moved = (try JSONSerialization.jsonObject(with: Data(unchanged.stdout.utf8)) as! [String: Any])["errors"] as! [String: Double]
    XCTAssertTrue(moved.values.allSatisfy { $0 > 1e-4 }, "\(moved)")

    let other = fixture.deletingLastPathComponent().appendingPathComponent("five")
    try TestSupport.python(["Converters/chainer/make_fixture.py", "--arch", "tagger-cnn", "--widths", "4", "--size", "64", "--tags", "5",
                            "--batch", "1", "--out", other.path])
    for (file, expected) in [(other.appendingPathComponent("model.npz").path, "the tagger has 5 tags, but \(data) has 34"),
                             (data, "not a tagger-cnn checkpoint")] {
      let bad = try TestSupport.moe(["train-tagger", "--data", data, "--size", "64", "--iterations", "1", "--batch", "9", "--init", file,
                                     "-o", dir.appendingPathComponent("bad.npz").path])
      XCTAssertNotEqual(bad.status, 0)
      XCTAssertFalse(bad.crashed)
      XCTAssertTrue(bad.stderr.contains("--init \(file): " + expected), bad.stderr)
      XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, bad.stderr)
      XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("bad.npz").path))
    }
  }

}

final class SampleTaggerTests: XCTestCase {
  /// The shipped tagger on synthetic faces it never saw (a seed its training set did not use): ≥ 95% mean per-tag accuracy.
  func testShippedTaggerOnFreshSyntheticFaces() throws {
    let dir = try TestSupport.temporaryDirectory("sample-tagger")
    let data = dir.appendingPathComponent("fresh.npz").path
    XCTAssertEqual(try TestSupport.moe(["dataset", "synth", "--count", "400", "--size", "64", "--seed", "4242", "-o", data]).status, 0)
    let r = try TestSupport.moe(["tag", "--data", data, "--model", TestSupport.root.appendingPathComponent("Samples/tagger.npz").path,
                                 "--threshold", "0.5", "--json"])
    XCTAssertEqual(r.status, 0, r.stderr)
    let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
    let mean = obj["mean_accuracy"] as! Double
    print("shipped tagger on 400 fresh synthetic faces: mean per-tag accuracy \(mean)")
    XCTAssertGreaterThanOrEqual(mean, 0.95)
  }
}
