// ClassifierStepParityTests: `moe train-tagger`'s step (ClassifierTrainer) against real Chainer and the generated PyTorch module.
import Foundation
import MoeFormats
import MoeIR
import MoeModels
import MoeTestSupport
import XCTest

@testable import MoeTraining

final class ClassifierStepParityTests: XCTestCase {
  /// K ClassifierTrainer steps from the checkpoint's weights on one batch, written with tagger_step.py's keys.
  func runMoeKit(_ checkpoint: URL, x: Tensor, t: Tensor, steps: Int, to out: URL) throws {
    let g = try ChainerImporter.importGraph(from: try NPZFile(url: checkpoint)).graph
    let trainer = try ClassifierTrainer(model: g, batch: x.shape[0])
    var arrays: [(String, NpyArray)] = []
    for k in 0..<steps {
      let loss = try trainer.step(images: x, tags: t)
      arrays.append(("loss/\(k)", NpyArray(floats: [loss], shape: [])))
    }
    for (key, w) in try trainer.weights() {
      let s = trainer.states[key]!
      arrays += [("model/\(key)", NpyArray(floats: w.data, shape: w.shape)),
                 ("optimizer/\(key)/m", NpyArray(floats: s.m, shape: w.shape)),
                 ("optimizer/\(key)/v", NpyArray(floats: s.v, shape: w.shape))]
    }
    try NPZFile.write(arrays, to: out)
  }

  /// compare_snapshots.py's per-tensor relative error max|a − b| / max|b| over every key of `reference`.
  func compare(_ ours: URL, _ reference: URL, _ what: String) throws -> [String: Double] {
    let r = try TestSupport.python(["Converters/chainer/compare_snapshots.py", ours.path, reference.path, "--prefix", ""])
    let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
    XCTAssertEqual(report["missing"] as? [String], [], "\(what): keys MoeKit did not write")
    let errors = report["errors"] as! [String: Double]
    print("\(what): \(errors.count) tensors, worst \(report["worst"]!)")
    let bad = errors.filter { !($0.value <= trainingParityTolerance) }.sorted { $0.key < $1.key }
    XCTAssertTrue(bad.isEmpty, "\(what): tensors over \(trainingParityTolerance): \(bad)")
    return errors
  }

  /// Issue 17: one `moe train-tagger` step (sigmoid cross-entropy, Chainer's Adam α 1e-3, β 0.9/0.999) from a Chainer
  /// tagger's weights on one batch equals one step of real Chainer (chainer.optimizers.Adam, F.sigmoid_cross_entropy) and
  /// one step of the generated PyTorch module in train() (BCEWithLogits mean, train_ddp.ChainerAdam), per parameter and
  /// per Adam moment (the moments after one step are 0.1·g and 0.001·g²: they check the gradients, which the first
  /// parameter step, ≈ α·sign(g), barely shows) to 1e-3; three steps on the same batch against Chainer as well.
  func testTaggerStepEqualsChainerAndPyTorch() throws {
    let work = try TestSupport.temporaryDirectory("tagger-step")
    defer { try? FileManager.default.removeItem(at: work) }
    for (i, (widths, tags)) in [("8,16", 5), ("4,8,16,16", 34)].enumerated() {
      let dir = work.appendingPathComponent("set\(i)")
      try TestSupport.python(["Converters/chainer/make_fixture.py", "--arch", "tagger-cnn", "--widths", widths, "--size", "64",
                              "--tags", "\(tags)", "--batch", "4", "--seed", "\(i + 3)", "--out", dir.path])
      let checkpoint = dir.appendingPathComponent("model.npz"), xURL = dir.appendingPathComponent("x_b4.npy")
      let xa = try Npy.read(xURL)
      let x = Tensor(shape: xa.shape, data: try xa.floats())
      var rng = TrainingRandom(seed: UInt64(17 + i))
      let t = Tensor(shape: [4, tags], data: (0..<(4 * tags)).map { _ in rng.uniform() < 0.3 ? 1 : 0 })
      XCTAssertTrue(t.data.contains(1) && t.data.contains(0))
      let tURL = dir.appendingPathComponent("t.npy")
      try Npy.write(NpyArray(floats: t.data, shape: t.shape), to: tURL)

      try FileManager.default.createDirectory(at: dir.appendingPathComponent("torch"), withIntermediateDirectories: true)
      let convert = try TestSupport.moe(["convert", checkpoint.path, "-o", dir.path + "/torch/model.py"])
      XCTAssertEqual(convert.status, 0, convert.stderr)
      for steps in [1, 3] {
        let ours = dir.appendingPathComponent("moekit-\(steps).npz"), chainer = dir.appendingPathComponent("chainer-\(steps).npz")
        try runMoeKit(checkpoint, x: x, t: t, steps: steps, to: ours)
        try TestSupport.python(["Converters/chainer/tagger_step.py", checkpoint.path, "--widths", widths, "--size", "64",
                                "--tags", "\(tags)", "--x", xURL.path, "--t", tURL.path, "--steps", "\(steps)", "--out", chainer.path])
        let layers = widths.split(separator: ",").count + 2
        let errors = try compare(ours, chainer, "tagger \(widths) tags \(tags), \(steps) step(s), moe vs Chainer")
        XCTAssertEqual(errors.count, layers * 2 * 3 + steps, "parameters, m and v of every layer, and the losses")
        guard steps == 1 else { continue }
        let torch = dir.appendingPathComponent("torch-1.npz")
        try TestSupport.python(["Converters/torch/tagger_step.py", "--model", dir.path + "/torch/model.py", "--x", xURL.path,
                                "--t", tURL.path, "--steps", "1", "--out", torch.path])
        XCTAssertEqual(try compare(ours, torch, "tagger \(widths) tags \(tags), one step, moe vs PyTorch").count, layers * 6 + 1)
      }
    }
  }
}
