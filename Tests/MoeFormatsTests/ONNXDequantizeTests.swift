// ONNXDequantizeTests: int8 weights as DequantizeLinear — export (checked + run by onnxruntime), import at opsets 13–21
// (per-tensor, per-axis, INT8/UINT8, zero points) against onnxruntime, exact int8 round trip, and clear errors.
import Foundation
import MoeFormats
import MoeIR
import MoeQuant
import XCTest

final class ONNXDequantizeTests: XCTestCase {
  /// Seeded values in [-0.5, 0.5).
  func tensor(_ shape: [Int], seed: UInt64) -> Tensor {
    var s = seed
    return Tensor(shape: shape, data: (0..<elementCount(shape)).map { _ in
      s = s &* 6364136223846793005 &+ 1442695040888963407
      return Float(s >> 40) / Float(1 << 24) - 0.5
    })
  }

  func testExportInt8RunsInONNXRuntimeAndRoundTripsExactly() throws {
    var g = Graph(name: "q", inputs: [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(4), .fixed(5), .fixed(5)]))])
    for (i, (n, s)) in [("c/W", [6, 4, 3, 3]), ("c/b", [6]), ("d/W", [6, 3, 4, 4]), ("fc/W", [5, 150]), ("fc/b", [5])].enumerated() {
      g.addWeight(n, tensor(s, seed: UInt64(i + 1)))
    }
    let c = g.add(.conv2d(ConvAttrs(pads: [1, 1, 1, 1], epilogue: Epilogue(activation: .relu))), ["x", "c/W", "c/b"], name: "c")
    let d = g.add(.convTranspose2d(ConvTransposeAttrs(strides: [2, 2], pads: [1, 1, 1, 1])), [c, "d/W"], name: "d")
    let f = g.add(.linear(.plain), [c, "fc/W", "fc/b"], name: "fc")
    g.outputs = [d, f]
    let schemes: [String: QuantScheme] = ["c/W": .int8(axis: 0), "d/W": .int8(axis: 1), "fc/W": .int8(axis: 0)]
    // MoeKit's int8 model: the same graph with every quantized weight decoded.
    var dequantized = g
    var encoded: [String: EncodedTensor] = [:]
    for (name, s) in schemes {
      encoded[name] = try Quantizer.encode(g.initializers[name]!, as: s)
      dequantized.initializers[name] = try Quantizer.decode(encoded[name]!)
    }
    for opset in [13, 21] {
      let dir = try TemporaryDirectory()
      let model = dir.file("int8.onnx")
      try ONNXExporter.write(g, to: model, opset: opset, encoding: { schemes[$0] })
      try ONNXOracle.compare(model: model, graph: dequantized, in: dir.url)
      let (back, encodings) = try ONNXImporter.readWithEncodings(model)
      XCTAssertEqual(encodings, encoded, "the int8 payloads come back byte for byte")
      for (name, t) in dequantized.initializers { XCTAssertEqual(back.initializers[name], t, name) }
      try ONNXOracle.compare(model: model, graph: back, in: dir.url)
    }
    XCTAssertThrowsError(try ONNXExporter.serialize(g, encoding: { $0 == "c/W" ? .float16 : nil })) { e in
      XCTAssertTrue("\(e)".contains("c/W") && "\(e)".contains("no ONNX equivalent"), "\(e)")
    }
  }

  /// A model with a per-axis INT8 conv kernel, a per-tensor UINT8 Gemm B with zero point 128, and a ConvTranspose
  /// kernel with a negative axis and non-zero INT8 zero points (raw_data and int32_data storage mixed).
  static let mixed = """
    import sys, numpy as np, onnx
    from onnx import helper, TensorProto, numpy_helper
    rng = np.random.default_rng(3)
    opset = int(sys.argv[2])
    T = numpy_helper.from_array
    wq = rng.integers(-127, 128, (6, 4, 3, 3)).astype(np.int8)
    bq = rng.integers(0, 256, (3, 150)).astype(np.uint8)
    dq = rng.integers(-128, 128, (6, 2, 4, 4)).astype(np.int8)
    inits = [T(wq, "wq"), T((rng.random(6) * 0.01).astype(np.float32), "ws"), T(np.zeros(6, np.int8), "wz"),
             T(rng.standard_normal(6).astype(np.float32), "cb"),
             T(bq, "bq"), T(np.array(0.002, np.float32), "bs"), T(np.array(128, np.uint8), "bz"),
             helper.make_tensor("dq", TensorProto.INT8, [6, 2, 4, 4], dq.flatten().tolist()),
             T(np.array([0.01, 0.02], np.float32), "ds"), helper.make_tensor("dz", TensorProto.INT8, [2], [3, -5])]
    nodes = [
      helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["w"], name="dq_w", axis=0),
      helper.make_node("Conv", ["x", "w", "cb"], ["c"], name="conv", pads=[1, 1, 1, 1]),
      helper.make_node("Relu", ["c"], ["r"], name="relu"),
      helper.make_node("Flatten", ["r"], ["f"], name="flatten"),
      helper.make_node("DequantizeLinear", ["bq", "bs", "bz"], ["B"], name="dq_b"),
      helper.make_node("Gemm", ["f", "B"], ["y"], name="gemm", transB=1),
      helper.make_node("DequantizeLinear", ["dq", "ds", "dz"], ["dw"], name="dq_d", axis=-3),
      helper.make_node("ConvTranspose", ["r", "dw"], ["d"], name="deconv", strides=[2, 2], pads=[1, 1, 1, 1]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 5, 5])
    outs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3]), helper.make_tensor_value_info("d", TensorProto.FLOAT, ["N", 2, 10, 10])]
    m = helper.make_model(helper.make_graph(nodes, "mixed", [x], outs, inits), opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, sys.argv[1])
    """

  func testImportMixedDequantizeAtOpsets13To21() throws {
    for opset in [13, 19, 21] {
      let dir = try TemporaryDirectory()
      let model = dir.file("mixed.onnx")
      try ONNXOracle.python(Self.mixed, [model.path, "\(opset)"], in: dir.url)
      let (g, encodings) = try ONNXImporter.readWithEncodings(model)
      try ONNXOracle.compare(model: model, graph: g, in: dir.url)
      // Only INT8 with zero points 0 keeps an int8 encoding; it decodes to exactly the imported weight.
      XCTAssertEqual(Set(encodings.keys), ["w"])
      XCTAssertEqual(encodings["w"]?.scheme, .int8(axis: 0))
      XCTAssertEqual(try Quantizer.decode(encodings["w"]!), g.initializers["w"])
      XCTAssertFalse(g.weights.contains { ["wq", "ws", "wz", "bq", "bs", "bz"].contains($0.name) }, "no leftover quantization tensors")
    }
  }

  func testBrokenDequantizeLinear() throws {
    let dir = try TemporaryDirectory()
    let cases: [(String, String, String)] = [
      ("block", """
        x = numpy_helper.from_array(np.ones((4, 4), np.int8), "q")
        s = numpy_helper.from_array(np.ones((4, 2), np.float32), "s")
        node = helper.make_node("DequantizeLinear", ["q", "s"], ["w"], name="dq_block", axis=1, block_size=2)
        """, "node 'dq_block' (DequantizeLinear): block_size=2"),
      ("output_dtype", """
        x = numpy_helper.from_array(np.ones((4, 4), np.int8), "q")
        s = numpy_helper.from_array(np.array(0.5, np.float32), "s")
        node = helper.make_node("DequantizeLinear", ["q", "s"], ["w"], name="dq_f16", output_dtype=TensorProto.FLOAT16)
        """, "node 'dq_f16' (DequantizeLinear): output_dtype FLOAT16"),
      ("int32", """
        x = numpy_helper.from_array(np.ones((4, 4), np.int32), "q")
        s = numpy_helper.from_array(np.array(0.5, np.float32), "s")
        node = helper.make_node("DequantizeLinear", ["q", "s"], ["w"], name="dq_int32")
        """, "node 'dq_int32' (DequantizeLinear): x 'q' is INT32"),
      ("scale", """
        x = numpy_helper.from_array(np.ones((4, 4), np.int8), "q")
        s = numpy_helper.from_array(np.ones(3, np.float32), "s")
        node = helper.make_node("DequantizeLinear", ["q", "s"], ["w"], name="dq_scale", axis=0)
        """, "node 'dq_scale' (DequantizeLinear): x_scale shape [3]"),
    ]
    for (name, body, message) in cases {
      let url = dir.file("\(name).onnx")
      try ONNXOracle.python("""
        import sys, numpy as np, onnx
        from onnx import helper, TensorProto, numpy_helper
        \(body)
        mm = helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")
        F = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 4])
        g = helper.make_graph([node, mm], "g", [F("x")], [F("y")], [x, s])
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)]), sys.argv[1])
        """, [url.path], in: dir.url)
      assertFormatError({ _ = try ONNXImporter.read(url) }, path: url.path, contains: message)
    }
  }
}
