// ONNXTests+ShapeFolding: int64 shape subgraphs over a symbolic batch (as PyTorch writes view/flatten, channel
// shuffles, expand), If on a known condition and Split, folded at import and compared with ONNX Runtime; and the
// shape arithmetic that cannot be folded, refused naming the node.
import MoeFormats
import MoeIR
import XCTest

extension ONNXTests {
  /// `x.view(x.size(0), -1)`, a channel shuffle `view(b, g, c // g, h, w)` with Div and Cast, ConstantOfShape/Range
  /// feeding Concat and Slice, Expand to (N, 3, 4) built from Shape(x)[0], Where/Equal on a shape, If taken on
  /// a shape test, Split by sizes and into equal parts.
  func testShapeArithmeticFoldsWithSymbolicBatch() throws {
    let g = try importAndCompare("""
      C = lambda name, v: helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.array(v, np.int64), name))
      then_g = helper.make_graph([helper.make_node("Relu", ["x"], ["then_y"])], "then", [], [F("then_y", "N", 4, 3, 3)])
      else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["else_y"])], "else", [], [F("else_y", "N", 4, 3, 3)])
      nodes = [
        helper.make_node("Shape", ["x"], ["s"], name="shape"), C("zero", 0), C("one", 1), C("two", 2), C("three", 3),
        C("axes0", [0]), C("minus1", [-1]), C("g", [2]), C("hw_idx", [2, 3]), C("s1", [1]), C("s2", [2]),
        helper.make_node("Gather", ["s", "zero"], ["n"], name="size0"),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"], name="unsq"),
        helper.make_node("Concat", ["n1", "minus1"], ["flat_shape"], name="cat", axis=0),
        helper.make_node("Reshape", ["x", "flat_shape"], ["flat"], name="view"),
        helper.make_node("Gather", ["s", "one"], ["c"], name="size1"),
        helper.make_node("Div", ["c", "two"], ["cg"], name="div"),
        helper.make_node("Cast", ["cg"], ["cg64"], name="cast", to=TensorProto.INT64),
        helper.make_node("Unsqueeze", ["cg64", "axes0"], ["cg1"], name="unsq2"),
        helper.make_node("Gather", ["s", "hw_idx"], ["hw"], name="hw"),
        helper.make_node("Concat", ["n1", "g", "cg1", "hw"], ["shuffle_shape"], name="cat2", axis=0),
        helper.make_node("Reshape", ["x", "shuffle_shape"], ["grouped"], name="view2"),
        helper.make_node("Transpose", ["grouped"], ["swapped"], name="swap", perm=[0, 2, 1, 3, 4]),
        helper.make_node("ConstantOfShape", ["g"], ["ones2"], name="cos", value=numpy_helper.from_array(np.array([1], np.int64))),
        helper.make_node("Mul", ["ones2", "minus1"], ["m2"], name="mul"),
        helper.make_node("Equal", ["m2", "minus1"], ["eq"], name="eq"),
        helper.make_node("Where", ["eq", "hw", "m2"], ["hw2"], name="where"),
        helper.make_node("Concat", ["n1", "minus1", "hw2"], ["back_shape"], name="cat3", axis=0),
        helper.make_node("Reshape", ["swapped", "back_shape"], ["shuffled"], name="view3"),
        helper.make_node("Range", ["zero", "three", "one"], ["rng"], name="range"),
        helper.make_node("Slice", ["rng", "s1", "s2"], ["r1"], name="slice_rng"),
        helper.make_node("Add", ["r1", "two"], ["r3"], name="add"),
        helper.make_node("Unsqueeze", ["c", "axes0"], ["c1"], name="unsq3"),
        helper.make_node("Concat", ["n1", "c1", "r3", "r3"], ["expand_shape"], name="cat4", axis=0),
        helper.make_node("Split", ["x", "c_sizes"], ["p1", "p2"], name="split_c", axis=1),
        helper.make_node("Expand", ["p1", "expand_shape"], ["expanded"], name="expand"),
        helper.make_node("Equal", ["c", "c"], ["rank_ok"], name="test"),
        helper.make_node("If", ["rank_ok"], ["chosen"], name="if", then_branch=then_g, else_branch=else_g),
        helper.make_node("Split", ["x", "h_sizes"], ["q1", "q2"], name="split_h", axis=2),
      ]
      inits = [I("c_sizes", [1, 3]), I("h_sizes", [1, 2])]
      x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 3, 3])
      outs = [F("flat", "N", 36), F("shuffled", "N", 4, 3, 3), F("expanded", "N", 4, 3, 3), F("chosen", "N", 4, 3, 3),
              F("p2", "N", 3, 3, 3), F("q1", "N", 4, 1, 3), F("q2", "N", 4, 2, 3)]
      m = helper.make_model(helper.make_graph(nodes, "folding", [x], outs, inits), opset_imports=[helper.make_opsetid("", 17)])
      """)
    let reshapes = g.nodes.compactMap { n -> [Int]? in if case .reshape(let s) = n.op { return s } else { return nil } }
    XCTAssertEqual(reshapes, [[0, -1], [0, 2, 2, 3, 3], [0, -1, 3, 3]])
    XCTAssertFalse(g.nodes.contains { ["gather", "constant_of_shape", "range"].contains($0.op.name) })
  }

  /// Shape arithmetic that cannot become a static shape: refused with one line naming the node and why.
  func testUnfoldableShapeArithmeticRefused() throws {
    let dir = try TemporaryDirectory()
    let cases: [(String, String, String)] = [
      // N·N is not c·N + d.
      ("square", #"nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Mul", ["s", "s"], ["ss"], name="nn"), helper.make_node("Reshape", ["x", "ss"], ["y"], name="r")]"#, "node 'nn' (Mul)"),
      // Two symbolic elements that are not in place: at most one −1.
      ("two_inferred", #"nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Slice", ["s", "i0", "i1"], ["n"]), helper.make_node("Concat", ["k", "n", "n"], ["t"], axis=0, name="c"), helper.make_node("Reshape", ["x", "t"], ["y"], name="r")]"#, "axis 2"),
      // An If whose condition is a graph input: control flow is not imported.
      ("if_input", #"nodes = [helper.make_node("If", ["cond"], ["y"], name="branch", then_branch=helper.make_graph([helper.make_node("Relu", ["x"], ["a"])], "t", [], [F("a", "N", 4)]), else_branch=helper.make_graph([helper.make_node("Neg", ["x"], ["b"])], "e", [], [F("b", "N", 4)]))]"#, "node 'branch' (If)"),
      // Gather of a tensor along its symbolic batch axis.
      ("gather_batch", #"nodes = [helper.make_node("Gather", ["x", "i1"], ["y"], name="lookup", axis=0)]"#, "node 'lookup' (Gather): gather along the symbolic axis 0"),
    ]
    for (name, body, text) in cases {
      let url = try makeModel("""
        I = lambda n, v: numpy_helper.from_array(np.array(v, np.int64), n)
        \(body)
        cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
        ins = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])] + ([cond] if "If" in str(nodes) else [])
        g = helper.make_graph(nodes, "g", ins, [F("y", None)], [I("i0", [0]), I("i1", [1]), I("k", [1])])
        onnx.save(M(g), sys.argv[1])
        """, name: "\(name).onnx", in: dir)
      assertFormatError({ _ = try ONNXImporter.read(url) }, kind: .kind(.unsupportedONNX), path: url.path, contains: text)
    }
  }
}
