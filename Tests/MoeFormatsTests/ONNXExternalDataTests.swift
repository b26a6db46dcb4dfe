// ONNXExternalDataTests: initializers in files beside the model (onnx.save_as_external_data) read in place and
// checked against ONNX Runtime; locations escaping the folder and offsets past the end refused with one line.
import Foundation
import MoeFormats
import MoeIR
import XCTest

final class ONNXExternalDataTests: XCTestCase {
  /// good/model.onnx: Conv weight in model.onnx.data, bias in weights/bias.bin (a subfolder); secret.bin beside
  /// good/ holds a weight-sized float array that a model in good/ must never read.
  static let maker = """
    import os, sys, numpy as np, onnx
    from onnx import helper, TensorProto, numpy_helper
    root = sys.argv[1]
    rng = np.random.default_rng(3)
    w = numpy_helper.from_array((rng.standard_normal((4, 3, 3, 3)) * 0.5).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "b")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 6, 6])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, 6, 6])
    g = helper.make_graph([helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
                           helper.make_node("Relu", ["c"], ["y"], name="relu")], "ext", [x], [y], [w, b])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    good = os.path.join(root, "good")
    os.makedirs(os.path.join(good, "weights"))
    onnx.external_data_helper.convert_model_to_external_data(m, all_tensors_to_one_file=True, location="model.onnx.data", size_threshold=0)
    onnx.save(m, os.path.join(good, "model.onnx"))
    # Move the bias into its own file in a subfolder.
    data = open(os.path.join(good, "model.onnx.data"), "rb").read()
    m = onnx.load(os.path.join(good, "model.onnx"), load_external_data=False)
    t = {i.name: i for i in m.graph.initializer}["b"]
    e = {k.key: k for k in t.external_data}
    off, n = int(e["offset"].value), int(e["length"].value)
    open(os.path.join(good, "weights", "bias.bin"), "wb").write(data[off:off + n])
    e["location"].value, e["offset"].value = "weights/bias.bin", "0"
    open(os.path.join(good, "model.onnx"), "wb").write(m.SerializeToString())
    open(os.path.join(root, "secret.bin"), "wb").write(np.ones(108, np.float32).tobytes())
    # Bad variants of the weight's entry, each a model file in good/ (the data files stay as they are).
    size = os.path.getsize(os.path.join(good, "model.onnx.data"))
    os.symlink(os.path.join(root, "secret.bin"), os.path.join(good, "link.bin"))
    cases = {"dotdot": {"location": "../secret.bin", "offset": "0"}, "passwd": {"location": "../../etc/passwd"},
             "absolute": {"location": os.path.join(root, "secret.bin"), "offset": "0"},
             "symlink": {"location": "link.bin", "offset": "0"}, "missing": {"location": "nothere.bin"},
             "offset": {"offset": str(size + 16)}, "length": {"offset": "64", "length": str(size)},
             "negative": {"offset": "-4"}, "short": {"length": "100"}}
    for name, change in cases.items():
        m = onnx.load(os.path.join(good, "model.onnx"), load_external_data=False)
        t = {i.name: i for i in m.graph.initializer}["w"]
        e = {k.key: k for k in t.external_data}
        for k, v in change.items():
            if k not in e:
                e[k] = t.external_data.add()
                e[k].key = k
            e[k].value = v
        open(os.path.join(good, f"bad_{name}.onnx"), "wb").write(m.SerializeToString())
    """

  func testExternalDataReadInPlaceAndEscapesRefused() throws {
    let dir = try TemporaryDirectory()
    try ONNXOracle.python(Self.maker, [dir.url.path], in: dir.url)
    let good = dir.url.appendingPathComponent("good")
    let model = good.appendingPathComponent("model.onnx")
    let g = try ONNXImporter.read(model)
    XCTAssertEqual(Set(g.weights.map(\.name)), ["w", "b"])
    let d = try ONNXOracle.compare(model: model, graph: g, in: dir.url)
    XCTAssertLessThanOrEqual(d, 1e-5)
    // From bytes there is no folder: refused, naming the tensor.
    assertFormatError({ _ = try ONNXImporter.parse([UInt8](Data(contentsOf: model))) }, kind: .kind(.unsupportedONNX), key: "w")

    for (name, kind, text) in [("dotdot", MoeFormatError.Kind.invalidONNX, "inside the model's folder"),
                               ("passwd", .invalidONNX, "inside the model's folder"),
                               ("absolute", .invalidONNX, "inside the model's folder"),
                               ("symlink", .invalidONNX, "outside the model's folder"),
                               ("missing", .io, "cannot be opened"),
                               ("offset", .invalidONNX, "past the end"), ("length", .invalidONNX, "past the end"),
                               ("negative", .invalidONNX, "not a byte count"), ("short", .invalidONNX, "raw_data has 100 bytes")] {
      let bad = good.appendingPathComponent("bad_\(name).onnx")
      assertFormatError({ _ = try ONNXImporter.read(bad) }, kind: .kind(kind), path: bad.path, key: "w", contains: text)
    }
  }
}
