// ONNXTests+TorchExport: the forms torch.export's ONNX exporter (`dynamo=True`) writes at opset 20 when its graph
// optimizer is off — `view` targets built from Shape/Squeeze/Reshape/Concat with allowzero=1 over a symbolic batch,
// CastLike of scalar constants, Expand of shape values — imported and compared with ONNX Runtime; a literal 0 with allowzero=1 refused.
import MoeFormats
import MoeIR
import XCTest

extension ONNXTests {
  /// `x.view(x.size(0), 1, 4, -1)` as torch.export writes it (Reshape allowzero=1 whose target's batch element is
  /// the symbolic Shape(x)[0]); CastLike of a float scalar, of an int64 scalar to float, and of an int64 constant
  /// like a shape value (stays shape arithmetic); Expand of a shape value (folded).
  func testTorchExportViewAndCastLikeMatchONNXRuntime() throws {
    let g = try importAndCompare("""
      C = lambda name, v, t=np.int64: helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.array(v, t), name))
      nodes = [
        helper.make_node("Shape", ["x"], ["s0"], name="sym_size", start=0, end=1),
        helper.make_node("Squeeze", ["s0"], ["n"], name="squeeze"),
        C("minus1", [-1]), C("one", [1]), C("four", [4]), C("alpha", 0.25, np.float32), C("two", 2),
        helper.make_node("Reshape", ["n", "minus1"], ["n1"], name="n_1d", allowzero=0),
        helper.make_node("Concat", ["n1", "one", "four", "minus1"], ["view_shape"], name="cat", axis=0),
        helper.make_node("Reshape", ["x", "view_shape"], ["v"], name="view", allowzero=1),
        helper.make_node("CastLike", ["alpha", "x"], ["alpha_f"], name="castlike_float"),
        helper.make_node("Mul", ["v", "alpha_f"], ["scaled"], name="scale"),
        helper.make_node("CastLike", ["two", "x"], ["two_f"], name="castlike_int_to_float"),
        helper.make_node("Add", ["x", "two_f"], ["shifted"], name="shift"),
        helper.make_node("CastLike", ["one", "s0"], ["one_i"], name="castlike_shape"),
        helper.make_node("Concat", ["n1", "one_i", "minus1"], ["flat_shape"], name="cat2", axis=0),
        helper.make_node("Reshape", ["x", "flat_shape"], ["flat"], name="flatten", allowzero=1),
        C("three", [3]),
        helper.make_node("Expand", ["one", "three"], ["ones3"], name="expand_shape_value"),
        helper.make_node("Concat", ["n1", "four", "ones3", "minus1"], ["unit_shape"], name="cat3", axis=0),
        helper.make_node("Reshape", ["x", "unit_shape"], ["units"], name="view_units", allowzero=1),
      ]
      x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 3, 3])
      outs = [F("scaled", "N", 1, 4, 9), F("shifted", "N", 4, 3, 3), F("flat", "N", 1, 36), F("units", "N", 4, 1, 1, 1, 9)]
      m = helper.make_model(helper.make_graph(nodes, "torch_export", [x], outs), opset_imports=[helper.make_opsetid("", 20)])
      """)
    let reshapes = g.nodes.compactMap { n -> [Int]? in if case .reshape(let s) = n.op { return s } else { return nil } }
    XCTAssertEqual(reshapes, [[0, 1, 4, -1], [0, 1, -1], [0, 4, 1, 1, 1, -1]])
  }

  /// allowzero=1 with a 0 written in the target (an empty axis, not a copy) is still refused, naming the node.
  func testReshapeAllowZeroLiteralZeroRefused() throws {
    let dir = try TemporaryDirectory()
    let url = try makeModel("""
      I = lambda n, v: numpy_helper.from_array(np.array(v, np.int64), n)
      nodes = [helper.make_node("Shape", ["x"], ["s"], start=0, end=1), helper.make_node("Concat", ["s", "z", "m"], ["t"], axis=0),
               helper.make_node("Reshape", ["x", "t"], ["y"], name="view", allowzero=1)]
      g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])], [F("y", None)],
                            [I("z", [0]), I("m", [-1])])
      onnx.save(M(g, 20), sys.argv[1])
      """, name: "allowzero.onnx", in: dir)
    assertFormatError({ _ = try ONNXImporter.read(url) }, kind: .kind(.unsupportedONNX), path: url.path,
                      contains: "node 'view' (Reshape): allowzero=1 with a 0 in the shape")
  }
}
