// ONNXTests+Models: small classifier and generator graphs made of the newer ops (as PyTorch exports image models),
// with a symbolic batch, imported and compared with ONNX Runtime.
import MoeFormats
import MoeIR
import XCTest

extension ONNXTests {
  /// A classic CNN: Conv/BN/Relu, MaxPool (ceil), two branches concatenated, LRN, AveragePool, Dropout,
  /// GlobalAveragePool, Flatten, Gemm, Softmax — at an opset before 13 (coerced Softmax) and after.
  func testImportClassifierOfNewerOps() throws {
    for opset in [11, 17] {
      let g = try importAndCompare("""
        nodes = [
          helper.make_node("Conv", ["x", "cw", "cb"], ["c"], name="conv1", pads=[1, 1, 1, 1], strides=[2, 2]),
          helper.make_node("BatchNormalization", ["c", "g", "b", "mu", "var"], ["bn"], name="bn1"),
          helper.make_node("Relu", ["bn"], ["r"], name="relu1"),
          helper.make_node("MaxPool", ["r"], ["p"], name="pool1", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
          helper.make_node("Conv", ["p", "w1"], ["b1"], name="branch1"),
          helper.make_node("AveragePool", ["p"], ["a2"], name="branch2_pool", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
          helper.make_node("Conv", ["a2", "w2"], ["b2"], name="branch2"),
          helper.make_node("Concat", ["b1", "b2"], ["cat"], name="concat", axis=1),
          helper.make_node("LRN", ["cat"], ["l"], name="lrn", size=5, alpha=1e-3, beta=0.75, bias=1.0),
          helper.make_node("Dropout", ["l"], ["d"], name="dropout"),
          helper.make_node("GlobalAveragePool", ["d"], ["gap"], name="gap"),
          helper.make_node("Flatten", ["gap"], ["f"], name="flatten"),
          helper.make_node("Gemm", ["f", "fw", "fb"], ["logits"], name="fc", transB=1),
          helper.make_node("Softmax", ["logits"], ["y"], name="softmax", axis=1),
        ]
        var = np.abs(rng.standard_normal(8)).astype(np.float32) + 0.5
        inits = [W("cw", 8, 3, 3, 3), W("cb", 8), W("g", 8), W("b", 8), W("mu", 8), numpy_helper.from_array(var, "var"),
                 W("w1", 4, 8, 1, 1), W("w2", 6, 8, 1, 1), W("fw", 5, 10), W("fb", 5)]
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 17, 17])
        m = helper.make_model(helper.make_graph(nodes, "classifier", [x], [F("y", "N", 5)], inits),
                              opset_imports=[helper.make_opsetid("", \(opset))])
        """)
      XCTAssertEqual(g.inputs.first?.shape[0], .symbol("N"), "opset \(opset)")
    }
  }

  /// A generator: reflection Pad, Conv, InstanceNorm, PRelu, nearest Resize (scales) or Upsample, Conv, Clip, Tanh.
  func testImportGeneratorOfNewerOps() throws {
    for (opset, upsample) in [(9, #"helper.make_node("Upsample", ["a", "s4"], ["u"], name="up", mode="nearest")"#),
                              (13, #"helper.make_node("Resize", ["a", "", "s4"], ["u"], name="up", mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")"#),
                              (17, #"helper.make_node("Resize", ["a", "", "s4"], ["u"], name="up", mode="linear")"#)] {
      let pad = opset < 11 ? #"helper.make_node("Pad", ["x"], ["px"], name="pad", mode="reflect", pads=[0, 0, 1, 1, 0, 0, 1, 1])"#
        : #"helper.make_node("Pad", ["x", "pads"], ["px"], name="pad", mode="reflect")"#
      let clip = opset < 11 ? #"helper.make_node("Clip", ["c2"], ["cl"], name="clip", min=-1.0, max=1.0)"#
        : #"helper.make_node("Clip", ["c2", "lo", "hi"], ["cl"], name="clip")"#
      try importAndCompare("""
        nodes = [
          \(pad),
          helper.make_node("Conv", ["px", "w1", "b1"], ["c1"], name="conv1"),
          helper.make_node("InstanceNormalization", ["c1", "s", "t"], ["n"], name="inorm"),
          helper.make_node("PRelu", ["n", "slope"], ["a"], name="prelu"),
          \(upsample),
          helper.make_node("Conv", ["u", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
          \(clip),
          helper.make_node("Tanh", ["cl"], ["y"], name="tanh"),
        ]
        inits = [W("w1", 6, 3, 3, 3), W("b1", 6), W("s", 6), W("t", 6), W("slope", 6, 1, 1), W("w2", 3, 6, 3, 3),
                 numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "s4"), I("pads", [0, 0, 1, 1, 0, 0, 1, 1]),
                 numpy_helper.from_array(np.array(-1.0, np.float32), "lo"), numpy_helper.from_array(np.array(1.0, np.float32), "hi")]
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])
        m = helper.make_model(helper.make_graph(nodes, "generator", [x], [F("y", "N", 3, 16, 16)], inits),
                              opset_imports=[helper.make_opsetid("", \(opset))])
        """)
    }
  }

  /// The newer ops exported with a symbolic batch (group_norm's Reshape to Shape(x), broadcast_to's Expand, sum_to's
  /// ReduceSum over the batch), run in ONNX Runtime and imported back, at opsets 17 and 21.
  func testExportNewerOpsWithSymbolicBatch() throws {
    var r = Rand(s: 5)
    var g = Graph(name: "newer", inputs: [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(4), .fixed(6), .fixed(6)]))])
    for (n, s) in [("scale", [4]), ("bias", [4]), ("w", [4, 1, 1])] { g.addWeight(n, r.tensor(s)) }
    let gn = g.add(.groupNorm(groups: 2, eps: 1e-5), ["x", "scale", "bias"], name: "gn")
    let bt = g.add(.broadcastTo, ["w", "x"], name: "expand")
    let st = g.add(.sumTo, ["x", "w"], name: "sum_to")
    let pool = g.add(.maxPool(PoolAttrs(kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceilMode: true)), [gn], name: "pool")
    let up = g.add(.resize(ResizeAttrs(mode: .linear, coordinates: .alignCorners, scales: [1.5, 1.5])), [pool], name: "up")
    let padded = g.add(.pad(PadAttrs(mode: .reflect, pads: [0, 0, 1, 1, 0, 0, 1, 1])), [up], name: "pad")
    let sm = g.add(.logSoftmax(axis: 1), [padded], name: "log_softmax")
    g.outputs = [gn, bt, st, sm]
    try exportAndCompare(g)
    try exportAndCompare(g, opset: 21)
  }
}
