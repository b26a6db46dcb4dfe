// ONNXTests+Opsets: models in the attribute/input forms of opsets before 13, imported and compared with ONNX Runtime.
import MoeFormats
import MoeIR
import XCTest

extension ONNXTests {
  /// Opsets before 13: Unsqueeze/Squeeze `axes` and (opset < 10) Slice bounds as attributes, BN `spatial`.
  func testImportOldOpsetForms() throws {
    let body = """
      nodes = [
        helper.make_node("BatchNormalization", ["x", "g", "b", "mu", "var"], ["bn"], name="bn", epsilon=2e-5, **BN),
        helper.make_node("Unsqueeze", ["bn"], ["u"], name="unsqueeze", axes=[0]),
        helper.make_node("Squeeze", ["u"], ["sq"], name="squeeze", axes=[0]),
        SLICE,
        helper.make_node("Flatten", ["s"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "w", "c"], ["y"], name="gemm", transB=1),
      ]
      var = np.abs(rng.standard_normal(3)).astype(np.float32) + 0.5
      inits = [W("g", 3), W("b", 3), W("mu", 3), numpy_helper.from_array(var, "var"), W("w", 5, 18), W("c", 5)] + EXTRA
      x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4, 4])
      m = helper.make_model(helper.make_graph(nodes, "old", [x], [F("y", 2, 5)], inits), opset_imports=[helper.make_opsetid("", OPSET)])
      """
    let attrSlice = #"helper.make_node("Slice", ["sq"], ["s"], name="slice", starts=[1, 0], ends=[3, -1], axes=[2, 3])"#
    let inputSlice = #"helper.make_node("Slice", ["sq", "st", "en", "ax"], ["s"], name="slice")"#
    let inputInits = #"[I("st", [1, 0]), I("en", [3, -1]), I("ax", [2, 3])]"#
    for (opset, bn, slice, extra) in [(7, "dict(spatial=1)", attrSlice, "[]"), (9, "{}", attrSlice, "[]"), (11, "{}", inputSlice, inputInits)] {
      let g = try importAndCompare("OPSET = \(opset)\nBN = \(bn)\nSLICE = \(slice)\nEXTRA = \(extra)\n" + body)
      XCTAssertTrue(g.nodes.contains { $0.op == .batchNorm(eps: 2e-5) }, "opset \(opset)")
    }
  }

  /// Well-formed models outside MoeKit's limits: one `unsupportedONNX` line naming the file and the node.
  func testRefusalsNameFileAndNode() throws {
    let dir = try TemporaryDirectory()
    let dynamic = try makeModel("""
      n = helper.make_node("Reshape", ["x", "s"], ["y"], name="dyn_reshape")
      s = helper.make_tensor_value_info("s", TensorProto.INT64, [2])
      onnx.save(M(helper.make_graph([n], "g", [F("x", 2, 3), s], [F("y", 3, 2)])), sys.argv[1])
      """, name: "dynamic.onnx", in: dir)
    assertFormatError({ _ = try ONNXImporter.read(dynamic) }, kind: .kind(.unsupportedONNX), path: dynamic.path, key: "s",
                      contains: "element type INT64")
    let conv1d = try makeModel("""
      w = numpy_helper.from_array(np.ones((2, 1, 3), np.float32), "w")
      n = helper.make_node("Conv", ["x", "w"], ["y"], name="conv1d")
      onnx.save(M(helper.make_graph([n], "g", [F("x", 1, 1, 5)], [F("y", 1, 2, 3)], [w]), 9), sys.argv[1])
      """, name: "conv1d.onnx", in: dir)
    assertFormatError({ _ = try ONNXImporter.read(conv1d) }, kind: .kind(.unsupportedONNX), path: conv1d.path,
                      contains: "node 'conv1d' (Conv): only 2-D convolutions")
    let training = try makeModel("""
      p = [numpy_helper.from_array(np.ones(2, np.float32), k) for k in ("g", "b", "m", "v")]
      n = helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["y", "rm", "rv"], name="bn_train", training_mode=1)
      onnx.save(M(helper.make_graph([n], "g", [F("x", 1, 2, 2, 2)], [F("y", 1, 2, 2, 2)], p), 15), sys.argv[1])
      """, name: "training.onnx", in: dir)
    assertFormatError({ _ = try ONNXImporter.read(training) }, kind: .kind(.unsupportedONNX), path: training.path,
                      contains: "node 'bn_train' (BatchNormalization): training mode")
  }

  /// Invalid convolution attributes met by the auto_pad / output_shape arithmetic: one `invalidONNX` line, no trap.
  func testInvalidConvAttributesBeforePadArithmetic() throws {
    let dir = try TemporaryDirectory()
    let cases: [(String, String, String)] = [
      ("zero_stride", "Conv", "auto_pad='SAME_UPPER', strides=[0, 0]"),
      ("short_pads", "Conv", "auto_pad='SAME_UPPER', pads=[1, 1]"),
      ("ct_short_pads", "ConvTranspose", "pads=[1, 1], output_shape=[16, 16]"),
      ("ct_big_output_padding", "ConvTranspose", "strides=[2, 2], output_padding=[2, 0]"),
    ]
    for (name, op, attrs) in cases {
      let model = try makeModel("""
        w = numpy_helper.from_array(np.ones((2, 2, 3, 3), np.float32), "w")
        n = helper.make_node("\(op)", ["x", "w"], ["y"], name="\(name)", \(attrs))
        onnx.save(M(helper.make_graph([n], "g", [F("x", 1, 2, 8, 8)], [F("y", 1, 2, 8, 8)], [w]), 17), sys.argv[1])
        """, name: "\(name).onnx", in: dir)
      assertFormatError({ _ = try ONNXImporter.read(model) }, kind: .kind(.invalidONNX), path: model.path, contains: "node '\(name)' (\(op))")
    }
  }

  /// The native-vs-onnxruntime check fails on NaN (anywhere, including after a finite element), a missing output or
  /// a shape mismatch; equal outputs and a small difference pass.
  func testOutputComparisonFailsOnNaN() {
    let want = ["y": Tensor(shape: [4], data: [0.5, -1, 2, 3])]
    for nanAt in 0..<4 {
      var got = want["y"]!
      got.data[nanAt] = .nan
      let worst = ONNXOracle.worstDifference(["y": got], want)
      XCTAssertFalse(worst <= 1e-4, "a NaN at \(nanAt) must fail the check, got worst \(worst)")
    }
    XCTAssertFalse(ONNXOracle.worstDifference([:], want) <= 1e-4, "missing output")
    XCTAssertFalse(ONNXOracle.worstDifference(["y": Tensor(shape: [2, 2], data: [0.5, -1, 2, 3])], want) <= 1e-4, "shape")
    XCTAssertEqual(ONNXOracle.worstDifference(want, want), 0)
    XCTAssertEqual(ONNXOracle.worstDifference(["y": Tensor(shape: [4], data: [0.5, -1, 2, 3.25])], want), 0.25)
  }
}
