// VerifyONNXFileTests: `moe verify X.onnx` runs ONNX Runtime on X.onnx itself (not on MoeKit's re-export of the graph it
// imported), says so with the file's SHA-256, and agrees with the native runtime and with ONNX Runtime run directly.
import Foundation
import MoeFormats
import MoeTestSupport
import XCTest

final class VerifyONNXFileTests: XCTestCase {
  func testOnnxRuntimeRunsTheGivenFile() throws {
    let work = try TestSupport.temporaryDirectory("verify-onnx-file")
    defer { try? FileManager.default.removeItem(at: work) }
    let model = work.appendingPathComponent("hand.onnx"), x = work.appendingPathComponent("x.npy")
    let ortOut = work.appendingPathComponent("ort.npy"), reexport = work.appendingPathComponent("re.onnx")
    // A hand-built model with ops MoeKit rewrites on import (HardSwish, Gemm, Flatten) and node names of its own; the
    // script prints the SHA-256 of the file and saves ONNX Runtime's output on x.
    let made = try TestSupport.python(["-c", """
      import sys, hashlib, numpy as np, onnx, onnxruntime as ort
      from onnx import helper as h, numpy_helper as nh, TensorProto as T
      r = np.random.default_rng(7)
      inits = [nh.from_array(r.normal(0, 0.5, (4, 3, 3, 3)).astype(np.float32), "conv.weight"),
               nh.from_array(r.normal(0, 0.1, (4,)).astype(np.float32), "conv.bias"),
               nh.from_array(r.normal(0, 0.2, (5, 64)).astype(np.float32), "fc.weight"),
               nh.from_array(r.normal(0, 0.1, (5,)).astype(np.float32), "fc.bias")]
      nodes = [h.make_node("Conv", ["x", "conv.weight", "conv.bias"], ["c"], name="/features/Conv_0", pads=[1, 1, 1, 1], strides=[2, 2]),
               h.make_node("HardSwish", ["c"], ["a"], name="/features/HardSwish_1"),
               h.make_node("Flatten", ["a"], ["f"], name="/Flatten_2", axis=1),
               h.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], name="/fc/Gemm_3", transB=1),
               h.make_node("Softmax", ["logits"], ["y"], name="/Softmax_4", axis=1)]
      g = h.make_graph(nodes, "hand", [h.make_tensor_value_info("x", T.FLOAT, ["N", 3, 8, 8])],
                       [h.make_tensor_value_info("y", T.FLOAT, ["N", 5])], initializer=inits)
      m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)]); m.ir_version = 8
      onnx.checker.check_model(m, full_check=True)
      onnx.save(m, sys.argv[1])
      x = r.normal(0, 1, (2, 3, 8, 8)).astype(np.float32); np.save(sys.argv[2], x)
      s = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
      np.save(sys.argv[3], s.run(None, {"x": x})[0])
      print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())
      """, model.path, x.path, ortOut.path])
    let sha = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    XCTAssertEqual(sha.count, 64, made.stdout)

    // MoeKit's export of the imported graph is a different file (the ops are rewritten): running it would not test X.onnx.
    XCTAssertEqual(try TestSupport.moe(["convert", model.path, "-o", reexport.path]).status, 0)
    let ops = try TestSupport.python(["-c", "import sys, onnx; print(sorted({n.op_type for n in onnx.load(sys.argv[1]).graph.node}))", reexport.path])
    XCTAssertFalse(ops.stdout.contains("HardSwish"), "the re-export rewrites HardSwish: \(ops.stdout)")

    let r = try TestSupport.moe(["verify", model.path, "--runtimes", "native,onnxruntime", "--input", x.path, "--json"])
    XCTAssertEqual(r.status, 0, r.stderr + r.stdout)
    let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    let runtimes = report["runtimes"] as? [[String: Any]] ?? []
    let ortNotes = runtimes.first { $0["name"] as? String == "onnxruntime" }?["notes"] as? [String] ?? []
    XCTAssertTrue(ortNotes.contains("ran \(model.standardizedFileURL.path) as given (sha256 \(sha))"), "\(ortNotes)")
    let rows = report["rows"] as? [[String: Any]] ?? []
    XCTAssertEqual(rows.count, 1)
    let maxAbs = (rows.first?["comparison"] as? [String: Any])?["max_abs"] as? Double ?? .infinity
    XCTAssertLessThanOrEqual(maxAbs, 1e-5, "native against ONNX Runtime on the file")
    // The text report names the file too.
    let text = try TestSupport.moe(["verify", model.path, "--runtimes", "native,onnxruntime", "--input", x.path])
    XCTAssertEqual(text.status, 0, text.stderr)
    XCTAssertTrue(text.stdout.contains("note: ran \(model.standardizedFileURL.path) as given"), text.stdout)

    // The native values equal ONNX Runtime's on the file, run directly.
    let native = work.appendingPathComponent("native.npy")
    XCTAssertEqual(try TestSupport.moe(["run", model.path, "--input", x.path, "-o", native.path]).status, 0)
    XCTAssertLessThanOrEqual(TestSupport.maxAbsDiff(try Npy.read(native).floats(), try Npy.read(ortOut).floats()), 1e-5)

    // --layerwise compares IR values by name, so ORT then runs the re-export, and the report says that it did.
    let lw = try TestSupport.moe(["verify", model.path, "--runtimes", "native,onnxruntime", "--input", x.path, "--layerwise"])
    XCTAssertEqual(lw.status, 0, lw.stderr + lw.stdout)
    XCTAssertTrue(lw.stdout.contains("ran MoeKit's ONNX export of the graph") && lw.stdout.contains("not \(model.standardizedFileURL.path) itself"), lw.stdout)
  }
}
