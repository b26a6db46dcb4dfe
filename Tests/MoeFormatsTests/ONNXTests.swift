// ONNXTests: IR → ONNX (checked by onnx.checker full_check, run by onnxruntime) and ONNX → IR (models built
// with onnx.helper), each compared with MoeKit's native Executor; broken files give one clear error.
import Foundation
import MoeFormats
import MoeIR
import MoeRuntime
import MoeTestSupport
import XCTest

/// Runs the repo venv Python (`Converters/py`, onnx + onnxruntime) on scripts written to temp files.
enum ONNXOracle {
  static let root: URL = {
    var u = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { u.deleteLastPathComponent() }
    return u
  }()

  /// Loads `model`, checks it (full_check), makes seeded inputs (symbolic dims → 2), runs onnxruntime and
  /// stores inputs/outputs as raw float32 files plus `meta.json` in `dir`.
  static let runner = """
    import sys, json, numpy as np, onnx, onnxruntime as ort
    path, d = sys.argv[1], sys.argv[2]
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    inits = {i.name for i in m.graph.initializer}
    rng = np.random.default_rng(1234)
    feeds, meta = {}, {"inputs": [], "outputs": []}
    for k, i in enumerate(x for x in m.graph.input if x.name not in inits):
        shape = [dd.dim_value if dd.HasField("dim_value") else 2 for dd in i.type.tensor_type.shape.dim]
        a = rng.standard_normal(shape).astype(np.float32)
        feeds[i.name] = a
        a.tofile(f"{d}/in{k}.bin")
        meta["inputs"].append({"name": i.name, "shape": shape, "file": f"in{k}.bin"})
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    outs = s.run(None, feeds)
    for k, (o, v) in enumerate(zip(s.get_outputs(), outs)):
        np.asarray(v, dtype=np.float32).tofile(f"{d}/out{k}.bin")
        meta["outputs"].append({"name": o.name, "shape": list(v.shape), "file": f"out{k}.bin"})
    json.dump(meta, open(f"{d}/meta.json", "w"))
    """

  @discardableResult
  static func python(_ script: String, _ args: [String], in dir: URL, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let scriptURL = dir.appendingPathComponent("script-\(UUID().uuidString).py")
    try script.write(to: scriptURL, atomically: true, encoding: .utf8)
    let p = Process()
    p.executableURL = root.appendingPathComponent("Converters/py")
    p.arguments = [scriptURL.path] + args
    let out = Pipe(), err = dir.appendingPathComponent("stderr-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    p.standardOutput = out
    p.standardError = try FileHandle(forWritingTo: err)
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
      let e = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
      XCTFail("python failed (\(p.terminationStatus)): \(e)", file: file, line: line)
      throw NumpyOracle.OracleError.failed(e)
    }
    return String(decoding: data, as: UTF8.self)
  }

  static func readFloats(_ url: URL, shape: [Int]) throws -> Tensor {
    let d = try Data(contentsOf: url)
    let data = d.withUnsafeBytes { raw in (0..<(d.count / 4)).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self).littleEndian) } }
    return Tensor(shape: shape, data: data)
  }

  /// Largest |got − expected| over the expected outputs; infinite for a missing output, a shape mismatch or a NaN
  /// anywhere (Swift's `max` would drop it and let a NaN output pass).
  static func worstDifference(_ got: [String: Tensor], _ expected: [String: Tensor]) -> Float {
    var worst: Float = 0
    for (name, want) in expected {
      guard let have = got[name], have.shape == want.shape else { return .infinity }
      worst = max(worst, TestSupport.maxAbsDiff(have.data, want.data))
    }
    return worst
  }

  /// Runs onnxruntime on `model` and the native executor on `graph` with the same inputs; returns max-abs.
  @discardableResult
  static func compare(model: URL, graph: Graph, in dir: URL, file: StaticString = #filePath, line: UInt = #line) throws -> Float {
    try python(runner, [model.path, dir.path], in: dir, file: file, line: line)
    let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("meta.json"))) as! [String: Any]
    func entries(_ k: String) -> [(String, [Int], URL)] {
      (meta[k] as! [[String: Any]]).map { ($0["name"] as! String, $0["shape"] as! [Int], dir.appendingPathComponent($0["file"] as! String)) }
    }
    var inputs: [String: Tensor] = [:]
    for (n, s, u) in entries("inputs") { inputs[n] = try readFloats(u, shape: s) }
    let native = try Executor(graph: graph).run(inputs)
    var expected: [String: Tensor] = [:]
    for (n, s, u) in entries("outputs") { expected[n] = try readFloats(u, shape: s) }
    let worst = worstDifference(native, expected)
    XCTAssertLessThanOrEqual(worst, 1e-4, "max-abs native vs onnxruntime", file: file, line: line)
    print("ONNX \(graph.name): max-abs native vs onnxruntime \(worst)")
    return worst
  }
}

final class ONNXTests: XCTestCase {
  /// Seeded weights in [-0.5, 0.5).
  struct Rand {
    var s: UInt64
    mutating func next() -> Float {
      s = s &* 6364136223846793005 &+ 1442695040888963407
      return Float(s >> 40) / Float(1 << 24) - 0.5
    }
    mutating func tensor(_ shape: [Int]) -> Tensor { Tensor(shape: shape, data: (0..<elementCount(shape)).map { _ in next() }) }
  }

  /// Exports `g`, checks + runs it in onnxruntime, compares with native; re-imports and compares again.
  func exportAndCompare(_ g: Graph, opset: Int = 17, file: StaticString = #filePath, line: UInt = #line) throws {
    XCTAssertNoThrow(try g.verify(requireWeights: true), file: file, line: line)
    let dir = try TemporaryDirectory()
    let model = dir.file("model.onnx")
    try ONNXExporter.write(g, to: model, opset: opset)
    try ONNXOracle.compare(model: model, graph: g, in: dir.url, file: file, line: line)
    let back = try ONNXImporter.read(model)
    XCTAssertEqual(back.inputs, g.inputs, file: file, line: line)
    try ONNXOracle.compare(model: model, graph: back, in: dir.url, file: file, line: line)
  }

  func testExportConvReluResidual() throws {
    var r = Rand(s: 1)
    var g = Graph(name: "res", inputs: [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(4), .fixed(6), .fixed(6)]))])
    for (n, s) in [("c1/W", [4, 4, 3, 3]), ("c1/b", [4]), ("c2/W", [4, 4, 3, 3]), ("c2/b", [4]), ("c3/W", [4, 2, 3, 3])] {
      g.addWeight(n, r.tensor(s))
    }
    let h = g.add(.conv2d(ConvAttrs(pads: [1, 1, 1, 1], epilogue: Epilogue(activation: .relu))), ["x", "c1/W", "c1/b"], name: "c1")
    let h2 = g.add(.conv2d(ConvAttrs(pads: [1, 1, 1, 1], epilogue: Epilogue(activation: .leakyRelu(0.2), residual: .after))),
                   ["h", "c2/W", "c2/b", "x"].map { $0 == "h" ? h : $0 }, name: "c2")
    let h3 = g.add(.conv2d(ConvAttrs(strides: [2, 2], pads: [1, 0, 1, 0], dilations: [1, 1], groups: 2,
                                     epilogue: Epilogue(activation: .none, residual: .none))), [h2, "c3/W"], name: "c3")
    let h4 = g.add(.conv2d(ConvAttrs(pads: [1, 1, 1, 1], epilogue: Epilogue(activation: .tanh, residual: .before))),
                   [h2, "c1/W", "c1/b", h], name: "c4")
    g.outputs = [h3, h4]
    try exportAndCompare(g)
  }

  func testExportDeconv() throws {
    var r = Rand(s: 2)
    var g = Graph(name: "deconv", inputs: [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(4), .fixed(5), .fixed(5)]))])
    g.addWeight("W", r.tensor([4, 3, 4, 4]))
    g.addWeight("b", r.tensor([3]))
    g.addWeight("W2", r.tensor([4, 2, 3, 3]))
    let y = g.add(.convTranspose2d(ConvTransposeAttrs(strides: [2, 2], pads: [1, 1, 1, 1], epilogue: Epilogue(activation: .sigmoid))),
                  ["x", "W", "b"], name: "d1")
    let y2 = g.add(.convTranspose2d(ConvTransposeAttrs(strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 1])), ["x", "W2"], name: "d2")
    g.outputs = [y, y2]
    try exportAndCompare(g)
  }

  func testExportLinearGemmMatmul() throws {
    var r = Rand(s: 3)
    var g = Graph(name: "lin", inputs: [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(3), .fixed(2), .fixed(2)]))])
    g.addWeight("W1", r.tensor([10, 12]))
    g.addWeight("b1", r.tensor([10]))
    g.addWeight("W2", r.tensor([10, 10]))
    g.addWeight("B", r.tensor([10, 5]))
    g.addWeight("C", r.tensor([5]))
    g.addWeight("M", r.tensor([5, 4]))
    let a = g.add(.linear(Epilogue(activation: .relu)), ["x", "W1", "b1"], name: "fc1")
    let b = g.add(.linear(Epilogue(activation: .none, residual: .after)), [a, "W2", a], name: "fc2")
    let c = g.add(.gemm(GemmAttrs(alpha: 0.5, beta: 2, transA: false, transB: false)), [b, "B", "C"], name: "gemm")
    let d = g.add(.matmul, [c, "M"], name: "mm")
    g.outputs = [d]
    try exportAndCompare(g)
  }

  func testExportDepthToSpaceBothModesAndBN() throws {
    var r = Rand(s: 4)
    var g = Graph(name: "d2s", inputs: [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(8), .fixed(3), .fixed(3)]))])
    g.addWeight("gamma", r.tensor([8]))
    g.addWeight("beta", r.tensor([8]))
    g.addWeight("mean", r.tensor([8]))
    var v = r.tensor([8])
    v.data = v.data.map { $0 + 1 }
    g.addWeight("var", v)
    let bn = g.add(.batchNorm(eps: 2e-5), ["x", "gamma", "beta", "mean", "var"], name: "bn")
    let sp = g.add(.softplus, [bn], name: "sp")
    let a = g.add(.depthToSpace(blockSize: 2, mode: .dcr), [sp], name: "dcr")
    let b = g.add(.depthToSpace(blockSize: 2, mode: .crd), [sp], name: "crd")
    g.outputs = [a, b]
    try exportAndCompare(g)
  }

  func testExportLayoutOps() throws {
    var r = Rand(s: 5)
    var g = Graph(name: "layout", inputs: [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(2), .fixed(4), .fixed(4)]))])
    g.addWeight("k", r.tensor([1, 8, 4]))
    let rs = g.add(.reshape(shape: [0, 8, -1]), ["x"], name: "reshape")
    let t = g.add(.transpose(perm: [0, 2, 1]), [rs], name: "transpose")
    let m = g.add(.mul, [rs, "k"], name: "mul")
    let s = g.add(.sub, [m, rs], name: "sub")
    let c = g.add(.concat(axis: 1), [s, rs], name: "concat")
    let sl = g.add(.slice(SliceAttrs(starts: [1, -1], ends: [100, 0], axes: [1, 2], steps: [3, -2])), [c], name: "slice")
    let f = g.add(.flatten(axis: 1), [t], name: "flatten")
    let cst = g.add(.constant(Tensor(shape: [1, 32], data: (0..<32).map { Float($0) / 10 })), [], name: "const")
    let sum = g.add(.add, [f, cst], name: "add")
    let id = g.add(.identity, [sum], name: "id")
    let lr = g.add(.leakyRelu(alpha: 0.1), [sl], name: "lrelu")
    g.outputs = [id, lr]
    try exportAndCompare(g)
    try exportAndCompare(g, opset: 21)
  }

  /// Builds a model in Python (the script must set `m` from `from onnx import helper, TensorProto, numpy_helper`),
  /// imports it, and compares native with onnxruntime.
  @discardableResult
  func importAndCompare(_ body: String, file: StaticString = #filePath, line: UInt = #line) throws -> Graph {
    let dir = try TemporaryDirectory()
    let model = dir.file("model.onnx")
    let script = """
      import sys, numpy as np, onnx
      from onnx import helper, TensorProto, numpy_helper
      rng = np.random.default_rng(7)
      def W(name, *shape, raw=True):
          a = (rng.standard_normal(shape) * 0.5).astype(np.float32)
          if raw:
              return numpy_helper.from_array(a, name)
          return helper.make_tensor(name, TensorProto.FLOAT, list(shape), a.flatten().tolist())
      def I(name, vals):
          return helper.make_tensor(name, TensorProto.INT64, [len(vals)], vals)
      def F(name, *shape):
          return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))
      \(body)
      onnx.checker.check_model(m, full_check=True)
      onnx.save(m, sys.argv[1])
      """
    try ONNXOracle.python(script, [model.path], in: dir.url, file: file, line: line)
    let g = try ONNXImporter.read(model)
    try ONNXOracle.compare(model: model, graph: g, in: dir.url, file: file, line: line)
    return g
  }

  func testImportConvFamily() throws {
    let g = try importAndCompare("""
      nodes = [
        helper.make_node("Conv", ["x", "cw", "cb"], ["c"], name="conv", pads=[1, 1, 1, 1], strides=[1, 1], kernel_shape=[3, 3]),
        helper.make_node("BatchNormalization", ["c", "g", "b", "mu", "var"], ["bn"], name="bn", epsilon=1e-3),
        helper.make_node("LeakyRelu", ["bn"], ["lr"], name="lrelu", alpha=0.2),
        helper.make_node("Add", ["lr", "x"], ["res"], name="res"),
        helper.make_node("Relu", ["res"], ["r"], name="relu"),
        helper.make_node("ConvTranspose", ["r", "dw"], ["d"], name="deconv", strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("DepthToSpace", ["r"], ["ps"], name="pixel_shuffle", blocksize=2, mode="CRD"),
        helper.make_node("DepthToSpace", ["r"], ["d2s"], name="d2s", blocksize=2),
        helper.make_node("Conv", ["x", "gw"], ["gc"], name="grouped", group=2, dilations=[2, 2], pads=[2, 2, 2, 2]),
      ]
      var = np.abs(rng.standard_normal(4)).astype(np.float32) + 0.5
      inits = [W("cw", 4, 4, 3, 3), W("cb", 4, raw=False), W("g", 4), W("b", 4, raw=False), W("mu", 4),
               numpy_helper.from_array(var, "var"), W("dw", 4, 3, 4, 4, raw=False), W("gw", 6, 2, 3, 3)]
      x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4, 5, 5])
      gr = helper.make_graph(nodes, "convs", [x], [F("d", None, 3, 10, 10), F("ps", None, 1, 10, 10), F("d2s", None, 1, 10, 10), F("gc", None, 6, 5, 5)], inits)
      m = helper.make_model(gr, opset_imports=[helper.make_opsetid("", 13)])
      """)
    XCTAssertEqual(g.inputs[0].shape, Shape([.symbol("batch"), .fixed(4), .fixed(5), .fixed(5)]))
    XCTAssertTrue(g.nodes.contains { $0.op == .depthToSpace(blockSize: 2, mode: .crd) })
    XCTAssertTrue(g.nodes.contains { $0.op == .batchNorm(eps: 1e-3) })
  }

  func testImportGemmVariantsAndConstant() throws {
    let g = try importAndCompare("""
      nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h1"], name="linear", transB=1),
        helper.make_node("Gemm", ["h1", "w2", "b2"], ["h2"], name="gemm_ab", alpha=0.5, beta=2.0),
        helper.make_node("Gemm", ["h2", "w3"], ["h3"], name="gemm_ta", transA=1, transB=1),
        helper.make_node("Constant", [], ["k"], name="const", value=numpy_helper.from_array(np.full((1, 1), 0.25, np.float32), "kv")),
        helper.make_node("Mul", ["h3", "k"], ["h4"], name="mul"),
        helper.make_node("MatMul", ["h2", "w4"], ["h5"], name="matmul"),
        helper.make_node("Gemm", ["x", "w1"], ["h6"], name="linear_nobias", transB=1),
        helper.make_node("Sub", ["h6", "h1"], ["h7"], name="sub"),
      ]
      inits = [W("w1", 6, 5), W("b1", 6, raw=False), W("w2", 6, 3), W("b2", 3), W("w3", 7, 4), W("w4", 3, 2, raw=False)]
      x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 5])
      gr = helper.make_graph(nodes, "gemms", [x], [F("h4", 3, 7), F("h5", 4, 2), F("h7", 4, 6)], inits)
      m = helper.make_model(gr, opset_imports=[helper.make_opsetid("", 17)])
      """)
    XCTAssertEqual(g.nodes.first { $0.name == "linear" }?.op, .linear(.plain))
    XCTAssertEqual(g.nodes.first { $0.name == "linear_nobias" }?.op, .linear(.plain))
    XCTAssertEqual(g.nodes.first { $0.name == "gemm_ab" }?.op, .gemm(GemmAttrs(alpha: 0.5, beta: 2, transA: false, transB: false)))
    XCTAssertEqual(g.inputs[0].shape, Shape([4, 5]))
  }

  func testImportLayoutOps() throws {
    try importAndCompare("""
      nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["r"], name="reshape"),
        helper.make_node("Transpose", ["r"], ["t"], name="transpose", perm=[0, 2, 1]),
        helper.make_node("Flatten", ["t"], ["f"], name="flatten"),
        helper.make_node("Tanh", ["f"], ["th"], name="tanh"),
        helper.make_node("Sigmoid", ["th"], ["sg"], name="sigmoid"),
        helper.make_node("Softplus", ["sg"], ["sp"], name="softplus"),
        helper.make_node("Concat", ["r", "r"], ["c"], name="concat", axis=2),
        helper.make_node("Constant", [], ["starts"], name="starts", value=I("sv", [1, 0])),
        helper.make_node("Slice", ["c", "starts", "ends", "axes", "steps"], ["s"], name="slice"),
        helper.make_node("Identity", ["s"], ["i"], name="identity"),
        helper.make_node("Unsqueeze", ["i", "uax"], ["u"], name="unsqueeze"),
        helper.make_node("Squeeze", ["u", "uax"], ["sq"], name="squeeze"),
        helper.make_node("Slice", ["sq", "starts2", "ends2"], ["s2"], name="slice_default"),
      ]
      inits = [I("shape", [0, 4, -1]), I("ends", [100, -1]), I("axes", [1, 2]), I("steps", [2, 3]), I("uax", [3]),
               I("starts2", [0, 0, 1]), I("ends2", [9223372036854775807, 100, 3])]
      x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 4, 4])
      gr = helper.make_graph(nodes, "layout", [x], [F("sp", "N", 32), F("s2", "N", 2, 2)], inits)
      m = helper.make_model(gr, opset_imports=[helper.make_opsetid("", 21)])
      """)
  }

  // MARK: errors

  func makeModel(_ body: String, name: String = "model.onnx", in dir: TemporaryDirectory) throws -> URL {
    let url = dir.file(name)
    let script = """
      import sys, numpy as np, onnx
      from onnx import helper, TensorProto, numpy_helper
      F = lambda n, *s: helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s))
      M = lambda g, v=17: helper.make_model(g, opset_imports=[helper.make_opsetid("", v)])
      \(body)
      """
    try ONNXOracle.python(script, [url.path], in: dir.url)
    return url
  }

  func testBrokenFiles() throws {
    let dir = try TemporaryDirectory()
    // A valid model to truncate.
    var g = Graph(name: "t", inputs: [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(64)]))])
    g.addWeight("W", Tensor(zeros: [64, 64]))
    g.outputs = [g.add(.linear(.plain), ["x", "W"], name: "fc")]
    let good = dir.file("good.onnx")
    try ONNXExporter.write(g, to: good)
    let bytes = try Data(contentsOf: good)
    let truncated = dir.file("truncated.onnx")
    try bytes.prefix(bytes.count / 2).write(to: truncated)
    assertFormatError({ _ = try ONNXImporter.read(truncated) }, kind: .kind(.notONNX), path: truncated.path, contains: "truncated")

    let text = dir.file("text.onnx")
    try Data("this is not a protobuf file\n".utf8).write(to: text)
    do { _ = try ONNXImporter.read(text) } catch { print("ONNX error sample: \(error)") }
    assertFormatError({ _ = try ONNXImporter.read(text) }, kind: .kind(.notONNX), path: text.path)
    let empty = dir.file("empty.onnx")
    try Data().write(to: empty)
    assertFormatError({ _ = try ONNXImporter.read(empty) }, kind: .kind(.notONNX), path: empty.path)
    assertFormatError({ _ = try ONNXImporter.read(dir.file("absent.onnx")) }, kind: .kind(.io), path: dir.file("absent.onnx").path)

    let missing = try makeModel("""
      n = helper.make_node("Add", ["x", "bias"], ["y"], name="add_bias")
      m = M(helper.make_graph([n], "g", [F("x", 2)], [F("y", 2)]))
      onnx.save(m, sys.argv[1])
      """, name: "missing.onnx", in: dir)
    assertFormatError({ _ = try ONNXImporter.read(missing) }, kind: .kind(.invalidONNX), path: missing.path, contains: "'add_bias'")

    let unsupported = try makeModel("""
      nodes = [helper.make_node("Hardmax", ["x"], ["a"], name="sm"), helper.make_node("Relu", ["a"], ["b"], name="ok"),
               helper.make_node("Det", ["b"], ["y"], name="det1")]
      m = M(helper.make_graph(nodes, "g", [F("x", 2)], [F("y", 2)]))
      onnx.save(m, sys.argv[1])
      """, name: "unsupported.onnx", in: dir)
    assertFormatError({ _ = try ONNXImporter.read(unsupported) }, kind: .kind(.unsupportedONNX), path: unsupported.path,
                      contains: "2 unsupported op(s) at opset 17: Det ×1 (first: node 'det1'), Hardmax ×1 (first: node 'sm')")

    // Many nodes of a few unsupported types: one entry per type, never every node name.
    let many = try makeModel("""
      nodes = [helper.make_node("Det", ["x" if i == 0 else "e%d" % (i - 1)], ["e%d" % i], name="features.%d" % i) for i in range(300)]
      nodes += [helper.make_node("Hardmax", ["e299"], ["y"], name="head")]
      onnx.save(M(helper.make_graph(nodes, "g", [F("x", 2)], [F("y", 2)])), sys.argv[1])
      """, name: "many.onnx", in: dir)
    assertFormatError({ _ = try ONNXImporter.read(many) }, kind: .kind(.unsupportedONNX), path: many.path,
                      contains: "301 unsupported op(s) at opset 17: Det ×300 (first: node 'features.0'), Hardmax ×1 (first: node 'head')")
    do { _ = try ONNXImporter.read(many) } catch { XCTAssertLessThan("\(error)".count, 300 + many.path.count, "\(error)") }

    let cycle = try makeModel("""
      nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="first"), helper.make_node("Relu", ["a"], ["b"], name="second")]
      m = M(helper.make_graph(nodes, "g", [F("x", 2)], [F("b", 2)]))
      onnx.save(m, sys.argv[1])
      """, name: "cycle.onnx", in: dir)
    assertFormatError({ _ = try ONNXImporter.read(cycle) }, kind: .kind(.invalidONNX), path: cycle.path, contains: "cycle")

    let external = try makeModel("""
      import os
      w = numpy_helper.from_array(np.ones((64, 64), np.float32), "W")
      n = helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")
      m = M(helper.make_graph([n], "g", [F("x", 1, 64)], [F("y", 1, 64)], [w]))
      onnx.save_model(m, sys.argv[1], save_as_external_data=True, location="weights.bin", size_threshold=0)
      """, name: "external.onnx", in: dir)
    // Read from its folder (ONNXExternalDataTests); from bytes alone there is no folder: refused, naming the tensor.
    XCTAssertEqual(try ONNXImporter.read(external).initializers["W"]?.data, [Float](repeating: 1, count: 64 * 64))
    assertFormatError({ _ = try ONNXImporter.parse([UInt8](Data(contentsOf: external))) }, kind: .kind(.unsupportedONNX),
                      key: "W", contains: "external data")

    let arity = try makeModel("""
      nodes = [helper.make_node("Relu", [], ["y"], name="lonely_relu")]
      m = M(helper.make_graph(nodes, "g", [F("x", 2)], [F("y", 2)]))
      onnx.save(m, sys.argv[1])
      """, name: "arity.onnx", in: dir)
    assertFormatError({ _ = try ONNXImporter.read(arity) }, kind: .kind(.invalidONNX), path: arity.path, contains: "'lonely_relu'")

    let opset = try makeModel("""
      n = helper.make_node("Relu", ["x"], ["y"], name="r")
      m = M(helper.make_graph([n], "g", [F("x", 2)], [F("y", 2)]), 6)
      onnx.save(m, sys.argv[1])
      """, name: "opset6.onnx", in: dir)
    assertFormatError({ _ = try ONNXImporter.read(opset) }, kind: .kind(.unsupportedONNX), path: opset.path, contains: "opset 6")
  }
}
