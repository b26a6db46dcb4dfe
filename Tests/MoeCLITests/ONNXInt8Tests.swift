// ONNXInt8Tests: zoo NPZ → int8 .onnx (DequantizeLinear) → onnx.checker + ONNX Runtime vs MoeKit's int8 bundle run.
import Foundation
import MoeFormats
import MoeTestSupport
import XCTest

final class ONNXInt8Tests: XCTestCase {
  /// Hyper-parameters large enough that weights dominate the file (so the size ratio means something).
  let zoo: [(String, [String])] = [("srresnet-generator", ["--C", "16", "--B", "2", "--U", "1", "--n", "162"]),
                                   ("acgan-discriminator", ["--widths", "16,32", "--size", "32", "--tags", "3"]),
                                   ("dcgan-generator", ["--C", "64", "--n", "20"])]

  /// Runs `moe run MODEL` on batch `b`'s inputs; returns each output's values by name.
  func run(_ model: URL, _ f: ChainerFixture, _ b: ChainerFixture.Batch, _ extra: [String], tag: String) throws -> [String: [Float]] {
    let out = URL(fileURLWithPath: f.dir).appendingPathComponent("run-\(tag)")
    var args = ["run", model.path, "-o", out.path + (b.outputs.count == 1 ? ".npy" : "")] + extra
    for x in b.inputs { args += ["--input", "\(x.name)=\(f.url(x).path)"] }
    let r = try TestSupport.moe(args)
    XCTAssertEqual(r.status, 0, r.stderr)
    var result: [String: [Float]] = [:]
    for o in b.outputs {
      let file = b.outputs.count == 1 ? URL(fileURLWithPath: out.path + ".npy") : out.appendingPathComponent("\(o.name).npy")
      result[o.name] = try Npy.read(file).floats()
    }
    return result
  }

  func testInt8ZooThroughONNXRuntimeMatchesNativeInt8() throws {
    let work = try TestSupport.temporaryDirectory("onnx-int8")
    defer { try? FileManager.default.removeItem(at: work) }
    var report: [String] = []
    for (arch, hp) in zoo {
      let f = try ChainerFixture.make(arch, hp + ["--batch", "2"], in: work)
      let dir = URL(fileURLWithPath: f.dir), b = f.batches[0]
      // BN folded (default passes, opset 13) and kept (--no-optimize, opset 21).
      for (mode, flags, opset) in [("folded", [String](), "13"), ("kept", ["--no-optimize"], "21")] {
        let onnx = dir.appendingPathComponent("int8-\(mode).onnx"), bundle = dir.appendingPathComponent("int8-\(mode).moe")
        let c = try TestSupport.moe(["convert", f.checkpointURL.path, "-o", onnx.path, "--quantize", "int8", "--opset", opset] + flags)
        XCTAssertEqual(c.status, 0, c.stderr)
        let ortDir = dir.appendingPathComponent("ort-\(mode)")
        let check = try TestSupport.python(["Converters/onnx/check_onnx.py", "--model", onnx.path, "--fixture", f.dir,
                                            "--chainer-report-only", "--expect-int8", "--save", ortDir.path])
        XCTAssertTrue(check.stdout.contains("int8 weights through DequantizeLinear"), check.stdout)
        // MoeKit's own int8 run: the same checkpoint as an int8 bundle, run natively.
        let q = try TestSupport.moe(["convert", f.checkpointURL.path, "-o", bundle.path, "--quantize", "int8"] + flags)
        XCTAssertEqual(q.status, 0, q.stderr)
        let native = try run(bundle, f, b, flags, tag: "native-\(mode)")
        let back = try run(onnx, f, b, flags, tag: "back-\(mode)")
        for o in b.outputs {
          let ort = try Npy.read(ortDir.appendingPathComponent("\(o.name)_b\(b.batch).npy")).floats()
          let dNative = TestSupport.maxAbsDiff(ort, native[o.name] ?? [])
          let dBack = TestSupport.maxAbsDiff(ort, back[o.name] ?? [])
          let dChainer = TestSupport.maxAbsDiff(ort, try Npy.read(f.url(o)).floats())
          XCTAssertLessThanOrEqual(dNative, 1e-4, "\(arch) \(mode) \(o.name): ORT int8 vs moe run int8 bundle")
          XCTAssertLessThanOrEqual(dBack, 1e-4, "\(arch) \(mode) \(o.name): moe run of the int8 .onnx vs ORT")
          XCTAssertGreaterThan(dChainer, 0, "\(arch) \(mode) \(o.name): int8 differs from the float model")
          report.append("\(arch) BN \(mode) opset \(opset) \(o.name): max-abs ORT vs native int8 \(dNative), imported .onnx vs ORT \(dBack), vs float Chainer \(dChainer)")
        }
      }
      // Size: int8 vs float ONNX of the same (folded) graph. Not quite 4×: float biases and 5 bytes of scale +
      // zero point per output channel (1024 rows for the generators' fc) stay.
      let floatONNX = dir.appendingPathComponent("float.onnx")
      XCTAssertEqual(try TestSupport.moe(["convert", f.checkpointURL.path, "-o", floatONNX.path]).status, 0)
      let sizes = try [dir.appendingPathComponent("int8-folded.onnx"), floatONNX].map { try Data(contentsOf: $0).count }
      let ratio = Double(sizes[1]) / Double(sizes[0])
      XCTAssertGreaterThan(ratio, 3.3, "\(arch): int8 .onnx \(sizes[0]) bytes vs float \(sizes[1])")
      report.append(String(format: "\(arch): float .onnx %d bytes, int8 .onnx %d bytes (%.2f×)", sizes[1], sizes[0], ratio))
    }
    print(report.joined(separator: "\n"))
  }

  func testInt8RoundTripsThroughBundleAndONNX() throws {
    let work = try TestSupport.temporaryDirectory("onnx-int8-rt")
    defer { try? FileManager.default.removeItem(at: work) }
    let f = try ChainerFixture.make("dcgan-generator", ["--C", "16", "--n", "20", "--batch", "2"], in: work)
    let dir = URL(fileURLWithPath: f.dir)
    let bundle = dir.appendingPathComponent("m.moe"), onnx = dir.appendingPathComponent("from-bundle.onnx")
    let again = dir.appendingPathComponent("again.moe")
    XCTAssertEqual(try TestSupport.moe(["convert", f.checkpointURL.path, "-o", bundle.path, "--quantize", "int8"]).status, 0)
    // An int8 bundle converts to an int8 .onnx without --quantize, and that back to an int8 bundle.
    let c = try TestSupport.moe(["convert", bundle.path, "-o", onnx.path])
    XCTAssertEqual(c.status, 0, c.stderr)
    try TestSupport.python(["Converters/onnx/check_onnx.py", "--model", onnx.path, "--fixture", f.dir, "--chainer-report-only", "--expect-int8"])
    XCTAssertEqual(try TestSupport.moe(["convert", onnx.path, "-o", again.path]).status, 0)
    let manifest = try MoeBundle.read(again).manifest
    XCTAssertEqual(manifest.tensors.filter { $0.shape.count >= 2 }.map(\.encoding), ["int8", "int8-a1", "int8-a1", "int8-a1", "int8-a1"])
    // .moe → .onnx → .moe gives back the same payload bytes.
    let (first, second) = (try Data(contentsOf: bundle), try Data(contentsOf: again))
    let original = try MoeBundle.read(bundle).manifest.tensors
    XCTAssertEqual(original.map(\.name), manifest.tensors.map(\.name))
    for (t, u) in zip(original, manifest.tensors) {
      XCTAssertEqual(first[t.offset..<t.offset + t.length], second[u.offset..<u.offset + u.length], t.name)
    }
    let b = f.batches[0]
    let x = try run(bundle, f, b, [], tag: "bundle")["out"] ?? [], y = try run(again, f, b, [], tag: "again")["out"] ?? []
    XCTAssertLessThanOrEqual(TestSupport.maxAbsDiff(x, y), 1e-5)
    // Encodings ONNX lacks are refused when asked for, and decoded (with a note) when they come from a bundle.
    let refused = try TestSupport.moe(["convert", f.checkpointURL.path, "-o", dir.appendingPathComponent("x.onnx").path, "--quantize", "int4-g32"])
    XCTAssertNotEqual(refused.status, 0)
    XCTAssertTrue(refused.stderr.contains("none or int8"), refused.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.onnx").path))
    let palette = dir.appendingPathComponent("p.moe"), pOnnx = dir.appendingPathComponent("p.onnx")
    XCTAssertEqual(try TestSupport.moe(["convert", f.checkpointURL.path, "-o", palette.path, "--quantize", "palette16"]).status, 0)
    let n = try TestSupport.moe(["convert", palette.path, "-o", pOnnx.path])
    XCTAssertEqual(n.status, 0, n.stderr)
    XCTAssertTrue(n.stderr.contains("note: 5 weight(s) encoded palette16") && n.stderr.contains("as float32"), n.stderr)
    let p1 = try run(palette, f, b, [], tag: "palette")["out"] ?? [], p2 = try run(pOnnx, f, b, [], tag: "palette-onnx")["out"] ?? []
    XCTAssertLessThanOrEqual(TestSupport.maxAbsDiff(p1, p2), 1e-5)
  }

  func testBrokenDequantizeLinearNamesTheNode() throws {
    let work = try TestSupport.temporaryDirectory("onnx-int8-bad")
    defer { try? FileManager.default.removeItem(at: work) }
    let script = work.appendingPathComponent("make_bad.py")
    try """
      import sys, numpy as np, onnx
      from onnx import helper, TensorProto, numpy_helper
      d = sys.argv[1]
      F = lambda n, t, *s: helper.make_tensor_value_info(n, t, list(s))
      s = numpy_helper.from_array(np.full([4], 0.5, np.float32), "s")
      z = numpy_helper.from_array(np.zeros([4], np.int8), "z")
      def save(nodes, inputs, inits, name):
          g = helper.make_graph(nodes, "g", inputs, [F("y", TensorProto.FLOAT, 1, 4)], inits)
          onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), d + "/" + name)
      mm = helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")
      # x of DequantizeLinear is a graph input (an activation), not an initializer.
      save([helper.make_node("DequantizeLinear", ["wq", "s", "z"], ["w"], name="dq_runtime", axis=0), mm],
           [F("x", TensorProto.FLOAT, 1, 4), F("wq", TensorProto.INT8, 4, 4)], [s, z], "runtime.onnx")
      # x is a float initializer.
      wf = numpy_helper.from_array(np.ones([4, 4], np.float32), "wq")
      save([helper.make_node("DequantizeLinear", ["wq", "s"], ["w"], name="dq_float", axis=0), mm],
           [F("x", TensorProto.FLOAT, 1, 4)], [wf, s], "float.onnx")
      """.write(to: script, atomically: true, encoding: .utf8)
    try TestSupport.python([script.path, work.path])
    for (file, node, what) in [("runtime.onnx", "dq_runtime", "is not an initializer"), ("float.onnx", "dq_float", "'wq' is FLOAT")] {
      let out = work.appendingPathComponent(file + ".moe")
      let r = try TestSupport.moe(["convert", work.appendingPathComponent(file).path, "-o", out.path])
      XCTAssertNotEqual(r.status, 0)
      XCTAssertFalse(r.crashed)
      let lines = r.stderr.split(separator: "\n")
      XCTAssertEqual(lines.count, 1, r.stderr)
      XCTAssertTrue(r.stderr.contains("node '\(node)' (DequantizeLinear)") && r.stderr.contains(what) && r.stderr.contains(file), r.stderr)
      XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }
  }
}
