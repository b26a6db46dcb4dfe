// ChainerStepParityTests: MoeKit's DRAGAN + ACGAN iterations against real Chainer from the same state and randomness.
import Foundation
import MoeFormats
import MoeIR
import MoeModels
import MoeTestSupport
import XCTest

@testable import MoeTraining

/// Per-tensor relative error allowed after training iterations (issue 13: ≤ 1e-3).
let trainingParityTolerance = 1e-3

final class ChainerStepParityTests: XCTestCase {
  /// Runs `iterations` steps in MoeKit from the fixture's G/D and batches; returns the snapshot path.
  func runMoeKit(_ dir: URL, iterations: Int) throws -> (URL, [String]) {
    let g = try ChainerImporter.importGraph(from: try NPZFile(url: dir.appendingPathComponent("G.npz"))).graph
    let d = try ChainerImporter.importGraph(from: try NPZFile(url: dir.appendingPathComponent("D.npz"))).graph
    let batches = try NPZFile(url: dir.appendingPathComponent("batches.npz"))
    func tensor(_ k: String) throws -> Tensor { let a = try batches.array(k); return Tensor(shape: a.shape, data: try a.floats()) }
    let real0 = try tensor("real_0")
    let tags = Float(try tensor("tags_0").shape[1])
    let trainer = try DraganTrainer(generator: g, discriminator: d, batch: real0.shape[0],
                                    weights: DraganLossWeights(adversarial: tags), adam: AdamHyperparameters())
    for k in 0..<iterations {
      try trainer.step(DraganBatch(real: try tensor("real_\(k)"), tags: try tensor("tags_\(k)"), zD: try tensor("zd_\(k)"),
                                   zG: try tensor("zg_\(k)"), u: try tensor("u_\(k)")))
    }
    let out = dir.appendingPathComponent("moekit.npz")
    try NPZFile.write(try trainer.snapshotArrays(), to: out)
    let noise = trainer.graphs.generator.cancelledByBatchNorm.map { "gen:" + $0 } + trainer.graphs.discriminator.cancelledByBatchNorm.map { "dis:" + $0 }
    return (out, noise)
  }

  func assertParity(genType: String = "srresnet-generator", genArch: String, disWidths: String, tags: Int = 34, batch: Int,
                    iterations: Int) throws {
    let dir = try TestSupport.temporaryDirectory("dragan-parity")
    defer { try? FileManager.default.removeItem(at: dir) }
    try TestSupport.python(["Converters/chainer/dragan_fixture.py", dir.path, "--gen-type", genType, "--gen-arch", genArch,
                            "--dis-widths", disWidths, "--tags", "\(tags)", "--batch", "\(batch)", "--iterations", "\(iterations)"])
    let (ours, noise) = try runMoeKit(dir, iterations: iterations)
    // Biases right before BN: exact gradient 0; both frameworks' values are rounding noise that Adam amplifies.
    XCTAssertFalse(noise.isEmpty)
    let r = try TestSupport.python(["Converters/chainer/compare_snapshots.py", ours.path, dir.appendingPathComponent("reference.npz").path,
                                    "--noise", noise.joined(separator: ","), "--max-step", "\(2 * Double(iterations) * AdamHyperparameters().alpha)"])
    let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
    let worst = report["worst"] as! [String: Any]
    let errors = report["errors"] as! [String: Double]
    print("training parity (\(genType) \(genArch), \(iterations) iteration(s)): \(report["compared"]!) tensors, worst \(worst["key"]!) \(worst["error"]!)")
    XCTAssertEqual((report["missing"] as! [String]), [], "keys of Chainer's snapshot that MoeKit does not write")
    XCTAssertGreaterThan(errors.count, 50)
    let noiseReport = report["noise"] as! [String: [String: Any]]
    XCTAssertEqual(noiseReport.count, noise.count * 3)
    let noisy = noiseReport.filter { ($0.value["ok"] as? Bool) != true }
    XCTAssertTrue(noisy.isEmpty, "zero-gradient biases not at noise level: \(noisy)")
    let bad = errors.filter { !($0.value <= trainingParityTolerance) }.sorted { $0.key < $1.key }
    XCTAssertTrue(bad.isEmpty, "tensors over \(trainingParityTolerance): " + bad.prefix(20).map { "\($0.key) \($0.value)" }.joined(separator: ", "))
  }

  func testOneIterationMatchesChainer() throws {
    try assertParity(genArch: "16,2,1,162", disWidths: "16,32", batch: 4, iterations: 1)
  }

  /// The paper's generator (C=64, B=16, U=3, 128²) and a paper-like discriminator (widths 32…512), gradients of both
  /// losses at the same weights against real Chainer computing in float64 (so the reference carries no float32 rounding).
  /// ∂L_D/∂θ_D — including the gradient penalty's double-backprop term — must match per tensor to 1e-3 (measured: 2e-6;
  /// Chainer's own float32 gradients are 5e-3 off its float64 ones here). ∂L_G/∂θ_G at batch 2 through 16 BN blocks is
  /// ill-conditioned in float32: Chainer's float32 gradients differ from its float64 ones by up to 0.8% per tensor, and a
  /// ReLU input within rounding of 0 can move one tensor further; G is held to 15% here (issue 13 keeps this open).
  func testPaperSizeGradientsMatchChainer() throws {
    let dir = try TestSupport.temporaryDirectory("dragan-grads")
    try TestSupport.python(["Converters/chainer/dragan_fixture.py", dir.path, "--gen-arch", "64,16,3,162",
                            "--dis-widths", "32,64,128,256,512", "--batch", "2", "--gradients", "--float64"])
    let g = try ChainerImporter.importGraph(from: try NPZFile(url: dir.appendingPathComponent("G.npz"))).graph
    let d = try ChainerImporter.importGraph(from: try NPZFile(url: dir.appendingPathComponent("D.npz"))).graph
    let batches = try NPZFile(url: dir.appendingPathComponent("batches.npz"))
    func tensor(_ k: String) throws -> Tensor { let a = try batches.array(k); return Tensor(shape: a.shape, data: try a.floats()) }
    let trainer = try DraganTrainer(generator: g, discriminator: d, batch: 2, weights: DraganLossWeights(adversarial: 34),
                                    adam: AdamHyperparameters())
    let grads = try trainer.gradients(DraganBatch(real: try tensor("real_0"), tags: try tensor("tags_0"), zD: try tensor("zd_0"),
                                                  zG: try tensor("zg_0"), u: try tensor("u_0")))
    var arrays: [(String, NpyArray)] = []
    for (model, list) in [("gen", grads.gen), ("dis", grads.dis)] {
      for (k, t) in list { arrays.append(("grad/\(model)/\(k)", NpyArray(floats: t.data, shape: t.shape))) }
    }
    let ours = dir.appendingPathComponent("moekit-gradients.npz")
    try NPZFile.write(arrays, to: ours)
    let noise = trainer.graphs.generator.cancelledByBatchNorm.map { "grad/gen/" + $0 }
    for (model, tolerance) in [("dis", trainingParityTolerance), ("gen", 0.15)] {
      let r = try TestSupport.python(["Converters/chainer/compare_snapshots.py", ours.path, dir.appendingPathComponent("gradients.npz").path,
                                      "--prefix", "grad/\(model)/", "--noise-keys", noise.joined(separator: ",")])
      let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
      let errors = report["errors"] as! [String: Double], worst = report["worst"] as! [String: Any]
      let sorted = errors.values.sorted()
      print("paper-size \(model) gradients vs Chainer float64: \(errors.count) tensors, median \(sorted[sorted.count / 2]), worst \(worst["key"]!) \(worst["error"]!)")
      XCTAssertEqual((report["missing"] as! [String]), [])
      XCTAssertGreaterThan(errors.count, 50)
      let noisy = (report["noise"] as! [String: [String: Any]]).filter { ($0.value["ok"] as? Bool) != true }
      XCTAssertTrue(noisy.isEmpty, "zero-gradient biases not at noise level: \(noisy)")
      let bad = errors.filter { !($0.value <= tolerance) }.sorted { $0.key < $1.key }
      XCTAssertTrue(bad.isEmpty, "\(model) gradients over \(tolerance): " + bad.prefix(20).map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }
  }

  /// Issue 17: the generated PyTorch modules trained one step by train_ddp.py's step equal one `moe train` step from the
  /// same state and batch, per parameter, BN statistic and Adam moment to 1e-3 (compared directly, not through Chainer).
  /// The generator's input length is 128 + `tags`.
  func assertOneMoeTrainStepEqualsPyTorch(genType: String, genArch: String, disWidths: String, tags: Int = 34,
                                          file: StaticString = #filePath, line: UInt = #line) throws {
    let dir = try TestSupport.temporaryDirectory("moe-vs-torch")
    defer { try? FileManager.default.removeItem(at: dir) }
    try TestSupport.python(["Converters/chainer/dragan_fixture.py", dir.path, "--gen-type", genType, "--gen-arch", genArch,
                            "--dis-widths", disWidths, "--tags", "\(tags)", "--batch", "3", "--iterations", "1"])
    let (ours, noise) = try runMoeKit(dir, iterations: 1)
    for (role, checkpoint) in [("gen", "G.npz"), ("dis", "D.npz")] {
      try FileManager.default.createDirectory(at: dir.appendingPathComponent(role), withIntermediateDirectories: true)
      let r = try TestSupport.moe(["convert", dir.appendingPathComponent(checkpoint).path, "-o", dir.path + "/\(role)/model.py"])
      XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
    }
    let torch = dir.appendingPathComponent("torch.npz")
    try TestSupport.python(["Converters/torch/dragan_step.py", "--gen", dir.path + "/gen/model.py", "--dis", dir.path + "/dis/model.py",
                            "--batches", dir.path + "/batches.npz", "--iterations", "1", "--lambda-adv", "\(tags)", "--out", torch.path])
    // Parameters, BN statistics and Adam's moments (m = 0.5·g after one step: the gradients themselves).
    let r = try TestSupport.python(["Converters/chainer/compare_snapshots.py", ours.path, torch.path, "--prefix", "updater/",
                                    "--noise", noise.joined(separator: ","), "--max-step", "\(2 * AdamHyperparameters().alpha)"])
    let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
    let errors = report["errors"] as! [String: Double]
    print("moe train vs PyTorch, one step (\(genType) \(genArch), dis \(disWidths)): \(errors.count) tensors, worst \(report["worst"]!)")
    XCTAssertEqual((report["missing"] as! [String]), [], "keys of PyTorch's state that MoeKit does not write", file: file, line: line)
    XCTAssertGreaterThan(errors.count, 90, file: file, line: line)
    XCTAssertTrue(errors.keys.contains { $0.hasPrefix("updater/optimizer:dis/") && $0.hasSuffix("/m") }, "moments compared", file: file, line: line)
    let bad = errors.filter { !($0.value <= trainingParityTolerance) }
    XCTAssertTrue(bad.isEmpty, "tensors over 1e-3: \(bad)", file: file, line: line)
    let noisy = (report["noise"] as! [String: [String: Any]]).filter { ($0.value["ok"] as? Bool) != true }
    XCTAssertTrue(noisy.isEmpty, "zero-gradient biases beyond 2·alpha: \(noisy)", file: file, line: line)
  }

  /// The SRResNet generator with the ACGAN discriminator, at two hyper-parameter sets of each.
  func testOneMoeTrainStepEqualsPyTorch() throws {
    try assertOneMoeTrainStepEqualsPyTorch(genType: "srresnet-generator", genArch: "8,1,1,162", disWidths: "8,16")
    try assertOneMoeTrainStepEqualsPyTorch(genType: "srresnet-generator", genArch: "4,2,2,140", disWidths: "4,8,16", tags: 12)
  }

  /// The DCGAN generator (64² images) with the ACGAN discriminator, at two hyper-parameter sets of each.
  func testOneMoeTrainStepEqualsPyTorchForDCGAN() throws {
    try assertOneMoeTrainStepEqualsPyTorch(genType: "dcgan-generator", genArch: "16,162", disWidths: "8,16")
    try assertOneMoeTrainStepEqualsPyTorch(genType: "dcgan-generator", genArch: "8,140", disWidths: "4,8,16", tags: 12)
  }

  /// `moe train --arch dcgan-generator`'s iterations against real Chainer's updater on the DCGAN generator, two
  /// hyper-parameter sets.
  func testDCGANIterationsMatchChainer() throws {
    try assertParity(genType: "dcgan-generator", genArch: "16,162", disWidths: "8,16", batch: 3, iterations: 2)
    try assertParity(genType: "dcgan-generator", genArch: "8,140", disWidths: "4,8,16", tags: 12, batch: 3, iterations: 1)
  }

  func testThreeIterationsMatchChainer() throws {
    try assertParity(genArch: "8,1,1,162", disWidths: "8,16", batch: 3, iterations: 3)
  }
}
