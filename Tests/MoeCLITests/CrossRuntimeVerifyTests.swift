// CrossRuntimeVerifyTests: `moe verify` runs native, wasm, browser, real Chainer and ONNX Runtime on the same inputs, passes when
// they agree, fails when one runtime's copy of a weight is perturbed, and --layerwise names the perturbed node.
import Foundation
import MoeTestSupport
import XCTest

final class CrossRuntimeVerifyTests: XCTestCase {
  static var work: URL!
  override class func setUp() {
    super.setUp()
    work = try! TestSupport.temporaryDirectory("verify")
  }
  override class func tearDown() {
    try? FileManager.default.removeItem(at: work)
    super.tearDown()
  }

  /// Runs `moe verify ARGS --json` and returns the exit status and the decoded report.
  func verify(_ args: [String]) throws -> (status: Int32, report: [String: Any], stderr: String) {
    let r = try TestSupport.moe(["verify"] + args + ["--json"])
    XCTAssertFalse(r.crashed, r.stderr)
    let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
    return (r.status, obj ?? [:], r.stderr)
  }

  func rows(_ report: [String: Any]) -> [[String: Any]] { report["rows"] as? [[String: Any]] ?? [] }

  func maxAbs(_ row: [String: Any]) -> Double { (row["comparison"] as? [String: Any])?["max_abs"] as? Double ?? .infinity }

  func testPaperGeneratorAgreesAcrossAllFiveRuntimes() throws {
    let f = try ChainerFixture.make("srresnet-generator", ["--C", "64", "--B", "16", "--U", "3", "--n", "162", "--batch", "1"], in: Self.work)
    let (status, report, err) = try verify([f.checkpointURL.path, "--inputs", "2"])
    XCTAssertEqual(status, 0, err)
    XCTAssertEqual(report["passed"] as? Bool, true)
    XCTAssertEqual(report["reference"] as? String, "chainer")
    let runtimes = report["runtimes"] as? [[String: Any]] ?? []
    XCTAssertEqual(runtimes.map { $0["name"] as? String ?? "" }, ["native", "wasm", "browser", "chainer", "onnxruntime"])
    for r in runtimes { XCTAssertNil(r["error"], "\(r)") }
    XCTAssertEqual(rows(report).map { $0["runtime"] as? String ?? "" }, ["native", "wasm", "browser", "onnxruntime"])
    for row in rows(report) {
      XCTAssertLessThanOrEqual(maxAbs(row), 1e-4, "\(row)")
      XCTAssertEqual(row["passed"] as? Bool, true)
    }
    // The text report carries the same table.
    let text = try TestSupport.moe(["verify", f.checkpointURL.path, "--runtimes", "native,chainer"])
    XCTAssertEqual(text.status, 0, text.stderr)
    XCTAssertTrue(text.stdout.contains("result: PASS"), text.stdout)
    XCTAssertTrue(text.stdout.contains("native") && text.stdout.contains("max-abs"), text.stdout)
  }

  func testPerturbedWeightFailsAndLayerwiseNamesTheNode() throws {
    let f = try ChainerFixture.make("srresnet-generator", ["--C", "64", "--B", "16", "--U", "3", "--n", "162", "--batch", "1"], in: Self.work)
    let html = Self.work.appendingPathComponent("verify.html")
    let (status, report, err) = try verify([f.checkpointURL.path, "--runtimes", "native,wasm,onnxruntime,chainer", "--layerwise",
                                            "--perturb", "wasm:res/7/c2/W=0.5", "--html", html.path])
    XCTAssertEqual(status, 1, err)
    // The HTML page: verdict, the first divergence, the layerwise chart, 4 images and 3 difference heat maps.
    let page = try String(contentsOf: html, encoding: .utf8)
    XCTAssertTrue(page.contains("FAIL") && page.contains("First divergence: node <b>res/7/c2</b>"), page.prefix(400).description)
    XCTAssertTrue(page.contains("<svg") && page.contains("max-abs ÷ tolerance"))
    XCTAssertEqual(page.components(separatedBy: "src=\"data:image/png;base64,").count - 1, 4 + 3)
    XCTAssertEqual(report["passed"] as? Bool, false)
    let byRuntime = Dictionary(uniqueKeysWithValues: rows(report).map { ($0["runtime"] as? String ?? "", $0) })
    XCTAssertEqual(byRuntime["wasm"]?["passed"] as? Bool, false)
    XCTAssertEqual(byRuntime["native"]?["passed"] as? Bool, true)
    XCTAssertEqual(byRuntime["onnxruntime"]?["passed"] as? Bool, true)
    let lw = report["layers"] as? [String: Any] ?? [:]
    let layers = lw["layers"] as? [[String: Any]] ?? []
    guard let i = lw["first_divergence"] as? Int, i < layers.count else { return XCTFail("no first divergence: \(lw)") }
    XCTAssertEqual(layers[i]["node"] as? String, "res/7/c2")
    XCTAssertTrue((layers[i]["weights"] as? [String] ?? []).contains("res/7/c2/W"))
    // Every layer before it agrees in all three runtimes; ONNX Runtime agrees with native everywhere.
    for l in layers.prefix(i) { for r in l["rows"] as? [[String: Any]] ?? [] { XCTAssertEqual(r["passed"] as? Bool, true, "\(l)") } }
    for l in layers {
      for r in l["rows"] as? [[String: Any]] ?? [] where r["runtime"] as? String == "onnxruntime" {
        XCTAssertEqual(r["passed"] as? Bool, true, "\(l)")
      }
    }

    // The same in ONNX Runtime's copy of a small model, and in the text report.
    let small = try ChainerFixture.make("srresnet-generator", ["--C", "8", "--B", "2", "--U", "1", "--n", "162", "--batch", "1"], in: Self.work)
    let t = try TestSupport.moe(["verify", small.checkpointURL.path, "--runtimes", "native,wasm,onnxruntime", "--layerwise",
                                 "--perturb", "onnxruntime:up/0/c/W"])
    XCTAssertEqual(t.status, 1, t.stderr)
    XCTAssertTrue(t.stdout.contains("first divergence: node 'up/0/c'"), t.stdout)
    XCTAssertTrue(t.stdout.contains("result: FAIL"), t.stdout)
    // Perturbing Chainer's copy fails every comparison against it.
    let c = try verify([small.checkpointURL.path, "--runtimes", "native,chainer", "--perturb", "chainer:out/W=0.5"])
    XCTAssertEqual(c.status, 1, c.stderr)
    XCTAssertEqual(rows(c.report).first?["passed"] as? Bool, false)
  }

  /// HDF5 and NPZ checkpoints under trainer prefixes: the Chainer driver reads the same subtree MoeKit did.
  func testOtherZooModelsAgreeWithChainerAndONNXRuntime() throws {
    for (arch, hp) in [("acgan-discriminator", ["--widths", "4,8", "--size", "16", "--tags", "3", "--format", "h5", "--prefix", "updater/model:main/"]),
                      ("dcgan-generator", ["--C", "16", "--n", "20", "--prefix", "predictor/"])] {
      let f = try ChainerFixture.make(arch, hp + ["--batch", "1"], in: Self.work)
      let (status, report, err) = try verify([f.checkpointURL.path, "--runtimes", "native,wasm,chainer,onnxruntime", "--inputs", "3", "--layerwise"])
      XCTAssertEqual(status, 0, "\(arch): \(err)")
      XCTAssertEqual(rows(report).count, 3 * (arch == "acgan-discriminator" ? 2 : 1), arch)
      for row in rows(report) { XCTAssertLessThanOrEqual(maxAbs(row), 1e-4, "\(arch) \(row)") }
      XCTAssertNil((report["layers"] as? [String: Any])?["first_divergence"], arch)
    }
  }

  func testQuantizedBundlesAgreeAcrossRuntimes() throws {
    let f = try ChainerFixture.make("srresnet-generator", ["--C", "8", "--B", "2", "--U", "1", "--n", "162", "--batch", "1"], in: Self.work)
    for scheme in ["int8", "palette16", "eightbit"] {
      let bundle = Self.work.appendingPathComponent("q-\(scheme).moe")
      XCTAssertEqual(try TestSupport.moe(["convert", f.checkpointURL.path, "-o", bundle.path, "--quantize", scheme]).status, 0)
      // As shipped (the web runtimes decode the bundle's encodings), then layerwise (the bundle re-encoded).
      for extra in [["--runtimes", "native,wasm,onnxruntime"], ["--runtimes", "native,wasm,onnxruntime", "--layerwise"]] {
        let (status, report, err) = try verify([bundle.path] + extra)
        XCTAssertEqual(status, 0, "\(scheme) \(extra): \(err)")
        XCTAssertEqual(report["reference"] as? String, "native")
        for row in rows(report) { XCTAssertLessThanOrEqual(maxAbs(row), 1e-4, "\(scheme) \(row)") }
      }
    }
  }

  func testBadRequestsGiveOneClearLine() throws {
    let f = try ChainerFixture.make("dcgan-generator", ["--C", "16", "--n", "20", "--batch", "1"], in: Self.work)
    let onnx = Self.work.appendingPathComponent("dcgan.onnx")
    XCTAssertEqual(try TestSupport.moe(["convert", f.checkpointURL.path, "-o", onnx.path]).status, 0)
    let cases: [([String], String)] = [
      ([f.checkpointURL.path, "--runtimes", "native,cuda"], "unknown runtime 'cuda'"),
      ([onnx.path, "--runtimes", "native,chainer"], "needs a Chainer checkpoint"),
      ([f.checkpointURL.path, "--runtimes", "native,wasm", "--perturb", "wasm:nope/W"], "no weight 'nope/W'"),
      ([f.checkpointURL.path, "--runtimes", "native,wasm", "--reference", "onnxruntime"], "not among --runtimes"),
      ([f.checkpointURL.path, "--runtimes", "native,native"], "at least two different runtimes"),
      ([f.checkpointURL.path, "--runtimes", "chainer"], "at least two different runtimes"),
      ([f.checkpointURL.path, "--runtimes", "native,"], "unknown runtime ''"),
      ([f.checkpointURL.path, "--runtimes", "native,onnxruntime", "--perturb", "wasm:fc/W=5"], "wasm is not among --runtimes"),
      ([f.checkpointURL.path, "--runtimes", "native,onnxruntime", "--perturb", "native"], "expected RUNTIME:WEIGHT"),
      ([f.checkpointURL.path, "--runtimes", "native,onnxruntime", "--perturb", "native:fc/W=inf"], "not a finite number"),
      ([f.checkpointURL.path, "--runtimes", "native,onnxruntime", "--html", "/nonexistent-dir/r.html"], "does not exist"),
    ]
    for (args, message) in cases {
      let r = try TestSupport.moe(["verify"] + args)
      XCTAssertFalse(r.crashed, r.stderr)
      XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
      XCTAssertTrue(r.stderr.contains(message), "\(args): \(r.stderr)")
    }
    for (args, message) in cases {
      XCTAssertEqual(try TestSupport.moe(["verify"] + args).status, 64, "a usage error, not a failed verification: \(args) \(message)")
    }
    // An ONNX model verifies without the chainer runtime (left out of the default runtimes, with a note).
    let r = try TestSupport.moe(["verify", onnx.path, "--runtimes", "native,wasm,onnxruntime"])
    XCTAssertEqual(r.status, 0, r.stderr + r.stdout)
    let d = try TestSupport.moe(["verify", onnx.path])
    XCTAssertEqual(d.status, 0, d.stderr + d.stdout)
    XCTAssertTrue(d.stderr.contains("chainer runtime left out"), d.stderr)
    // A multi-input model given only some of its inputs: one line naming the missing one.
    let two = Self.work.appendingPathComponent("two.onnx"), a = Self.work.appendingPathComponent("a.npy")
    let made = try TestSupport.run(TestSupport.root.appendingPathComponent("Converters/py"), ["-c", """
      import sys, numpy as np, onnx
      from onnx import helper as h, TensorProto as T
      g = h.make_graph([h.make_node("Add", ["a", "b"], ["y"], name="add")], "two",
                       [h.make_tensor_value_info(n, T.FLOAT, ["N", 4]) for n in "ab"], [h.make_tensor_value_info("y", T.FLOAT, ["N", 4])])
      m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)]); m.ir_version = 8
      onnx.save(m, sys.argv[1]); np.save(sys.argv[2], np.ones((2, 4), np.float32))
      """, two.path, a.path])
    XCTAssertEqual(made.status, 0, made.stderr)
    let missing = try TestSupport.moe(["verify", two.path, "--runtimes", "native,onnxruntime", "--input", "a=\(a.path)"])
    XCTAssertFalse(missing.crashed, missing.stderr)
    XCTAssertEqual(missing.status, 64, missing.stderr)
    XCTAssertTrue(missing.stderr.contains(two.path) && missing.stderr.contains("missing input 'b'"), missing.stderr)
    let both = try TestSupport.moe(["verify", two.path, "--runtimes", "native,wasm,onnxruntime", "--input", "a=\(a.path)", "--input", "b=\(a.path)"])
    XCTAssertEqual(both.status, 0, both.stderr + both.stdout)
  }
}
