// PassTests: each pass's op list before/after on the zoo, and outputs unchanged against the unoptimized graph.
import MoeIR
import MoeModels
import MoeQuant
@testable import MoePasses
import MoeRuntime
import XCTest

/// Optimized and unoptimized graphs agree to this max-abs (outputs of order 1).
let passTolerance: Float = 1e-4

/// Gives every weight of a zoo graph seeded data: He-scaled weights, non-trivial BN statistics.
func randomized(_ g: Graph, seed: UInt64) -> Graph {
  var g = g
  var rng = SeededGenerator(seed: seed)
  for w in g.weights {
    let shape = w.shape.fixed!
    let n = elementCount(shape)
    var data: [Float]
    switch w.name.split(separator: "/").last! {
    case "gamma", "avg_var": data = (0..<n).map { _ in Float.random(in: 0.5..<1.5, using: &rng) }
    case "beta", "avg_mean", "b": data = (0..<n).map { _ in 0.1 * rng.normal() }
    default:
      let fanIn = shape.count > 1 ? n / shape[0] : 1
      data = (0..<n).map { _ in rng.normal() * (1 / Float(fanIn)).squareRoot() }
    }
    g.initializers[w.name] = Tensor(shape: shape, data: data)
  }
  return g
}

func feeds(_ g: Graph, batch: Int, seed: UInt64) -> [String: Tensor] {
  var rng = SeededGenerator(seed: seed)
  var f: [String: Tensor] = [:]
  for i in g.inputs {
    let shape = i.shape.dims.map { $0.value ?? batch }
    f[i.name] = Tensor(shape: shape, data: (0..<elementCount(shape)).map { _ in rng.normal() })
  }
  return f
}

/// Op names with fused epilogues spelled out, e.g. `conv2d+relu+res:before`.
func opList(_ g: Graph) -> [String] {
  g.nodes.map { n in
    var s = n.op.name
    let e = n.op.epilogue
    if e.activation != .none { s += "+" + e.activation.text }
    if e.residual != .none { s += "+res:" + e.residual.rawValue }
    return s
  }
}

final class PassTests: XCTestCase {
  func assertSameOutputs(_ a: Graph, _ b: Graph, batch: Int = 3, file: StaticString = #filePath, line: UInt = #line) throws {
    let x = feeds(a, batch: batch, seed: 11)
    let ya = try Executor(graph: a).run(x), yb = try Executor(graph: b).run(x)
    XCTAssertEqual(a.outputs.count, b.outputs.count, file: file, line: line)
    for (o, p) in zip(a.outputs, b.outputs) {
      let diffs = zip(ya[o]!.data, yb[p]!.data).map { abs($0 - $1) }
      let d = diffs.contains { $0.isNaN } ? .infinity : diffs.max()!  // Array.max() skips a NaN after the first element
      XCTAssertLessThanOrEqual(d, passTolerance, "output \(o): max-abs \(d)", file: file, line: line)
    }
  }

  /// Runs the default pipeline pass by pass, checking the op list after each and the outputs at the end.
  func check(_ g0: Graph, expected: [String: [String]], file: StaticString = #filePath, line: UInt = #line) throws {
    var g = g0
    for p in Pipeline.preset("default")!.passes {
      _ = try p.run(on: &g)
      try g.verify(requireWeights: true)
      if let want = expected[p.name] { XCTAssertEqual(opList(g), want, "after \(p.name)", file: file, line: line) }
      try assertSameOutputs(g0, g, file: file, line: line)
    }
    XCTAssertFalse(g.nodes.contains { if case .batchNorm = $0.op { return true } else { return false } }, file: file, line: line)
    // The optimized graph survives the text form.
    XCTAssertEqual(IRText.print(try IRText.parse(IRText.print(g))), IRText.print(g), file: file, line: line)
  }

  func testSRResNetGenerator() throws {
    let g = randomized(SRResNetGenerator(channels: 4, blocks: 1, upsamplings: 1, inputLength: 6).graph(), seed: 1)
    let block = ["conv2d", "batch_norm", "relu", "conv2d", "batch_norm", "add"]
    XCTAssertEqual(opList(g), ["linear", "reshape", "batch_norm", "relu"] + block
      + ["conv2d", "batch_norm", "relu", "add", "conv2d", "depth_to_space", "batch_norm", "relu", "conv2d", "tanh"])
    try check(g, expected: [
      "eliminate-identity": opList(g),
      "fold-constants": opList(g),
      "fold-batch-norm": ["linear", "reshape", "relu", "conv2d", "relu", "conv2d", "add", "conv2d", "relu", "add",
                          "conv2d", "depth_to_space", "relu", "conv2d", "tanh"],
      "hoist-activations": ["linear", "relu", "reshape", "conv2d", "relu", "conv2d", "add", "conv2d", "relu", "add",
                            "conv2d", "relu", "depth_to_space", "conv2d", "tanh"],
      "fuse-epilogue": ["linear+relu", "reshape", "conv2d+relu", "conv2d+res:before", "conv2d+relu+res:after",
                        "conv2d+relu", "depth_to_space", "conv2d+tanh"],
      "eliminate-dead-code": ["linear+relu", "reshape", "conv2d+relu", "conv2d+res:before", "conv2d+relu+res:after",
                              "conv2d+relu", "depth_to_space", "conv2d+tanh"],
    ])
  }

  func testACGANDiscriminator() throws {
    let g = randomized(ACGANDiscriminator(widths: [4, 8], size: 16, tags: 3).graph(), seed: 2)
    let stage = ["conv2d", "leaky_relu", "conv2d", "add", "leaky_relu"]
    let down = ["conv2d", "leaky_relu"] + stage + stage
    XCTAssertEqual(opList(g), down + down + ["conv2d", "leaky_relu", "flatten", "linear", "linear"])
    let fusedStage = ["conv2d+leaky_relu:0.2", "conv2d+leaky_relu:0.2+res:before"]
    let fusedDown = ["conv2d+leaky_relu:0.2"] + fusedStage + fusedStage
    try check(g, expected: ["fuse-epilogue": fusedDown + fusedDown + ["conv2d+leaky_relu:0.2", "flatten", "linear", "linear"]])
  }

  func testDCGANGenerator() throws {
    let g = randomized(DCGANGenerator(channels: 16, inputLength: 5).graph(), seed: 3)
    let up = ["conv_transpose2d", "batch_norm", "relu"]
    XCTAssertEqual(opList(g), ["linear", "reshape", "batch_norm", "relu"] + up + up + up + ["conv_transpose2d", "tanh"])
    try check(g, expected: [
      "fold-batch-norm": ["linear", "reshape", "relu", "conv_transpose2d", "relu", "conv_transpose2d", "relu",
                          "conv_transpose2d", "relu", "conv_transpose2d", "tanh"],
      "fuse-epilogue": ["linear+relu", "reshape", "conv_transpose2d+relu", "conv_transpose2d+relu", "conv_transpose2d+relu",
                        "conv_transpose2d+tanh"],
    ])
  }

  func testGroupedDeconvAndCRDFoldAndSharedWeights() throws {
    var g = Graph(name: "t")
    g.inputs = [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(4), .fixed(5), .fixed(5)]))]
    g.weights = [ValueInfo(name: "d/W", shape: [4, 4, 3, 3]), ValueInfo(name: "c/W", shape: [8, 8, 3, 3])]
    for p in ["bn", "bn2"] { for f in ["gamma", "beta", "avg_mean", "avg_var"] { g.weights.append(ValueInfo(name: "\(p)/\(f)", shape: [p == "bn" ? 8 : 2])) } }
    var h = g.add(.convTranspose2d(ConvTransposeAttrs(strides: [2, 2], pads: [1, 1, 1, 1], groups: 2)), ["x", "d/W"], name: "d")
    h = g.add(.batchNorm(eps: 1e-3), [h, "bn/gamma", "bn/beta", "bn/avg_mean", "bn/avg_var"], name: "bn")
    h = g.add(.conv2d(ConvAttrs(pads: [1, 1, 1, 1])), [h, "c/W"], name: "c")
    h = g.add(.depthToSpace(blockSize: 2, mode: .crd), [h], name: "d2s")
    h = g.add(.batchNorm(eps: 1e-3), [h, "bn2/gamma", "bn2/beta", "bn2/avg_mean", "bn2/avg_var"], name: "bn2")
    // A dead branch sharing d/W: the fold must edit a private copy.
    let r = g.add(.relu, [g.add(.identity, ["x"], name: "id")], name: "r")
    g.add(.convTranspose2d(ConvTransposeAttrs(strides: [2, 2], pads: [1, 1, 1, 1], groups: 2)), [r, "d/W"], name: "other")
    g.outputs = [h]
    g = randomized(g, seed: 4)
    g.weights.append(ValueInfo(name: "unused", shape: [2]))
    g.initializers["unused"] = Tensor(shape: [2], data: [1, 2])
    var o = g
    let reports = try Pipeline.preset("default", verifyEach: true)!.run(on: &o)
    XCTAssertEqual(opList(o), ["conv_transpose2d", "conv2d", "depth_to_space"])
    XCTAssertEqual(reports.first { $0.pass == "fold-batch-norm" }?.changes, 2)
    XCTAssertFalse(o.weights.contains { $0.name == "unused" || $0.name.hasPrefix("bn") || $0.name == "d/W" })
    XCTAssertTrue(o.weights.contains { $0.name == "d/W/folded" })
    try assertSameOutputs(g, o)
  }

  /// The staged presets: `training` keeps BN and pre-activation values (the graph stays differentiable and trainable),
  /// `inference` folds and fuses; a graph records its stage, and a stage already applied is not applied again.
  func testTrainingPresetKeepsBatchNormAndActivations() throws {
    var g = Graph(name: "stages")
    g.inputs = [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(2), .fixed(5), .fixed(5)]))]
    for w in ["c/W"] { g.weights.append(ValueInfo(name: w, shape: [3, 2, 3, 3])) }
    for p in ["gamma", "beta", "avg_mean", "avg_var"] { g.weights.append(ValueInfo(name: "bn/\(p)", shape: [3])) }
    var h = g.add(.identity, ["x"], name: "id")
    h = g.add(.conv2d(ConvAttrs(pads: [1, 1, 1, 1])), [h, "c/W"], name: "c")
    h = g.add(.batchNorm(eps: 2e-5), [h, "bn/gamma", "bn/beta", "bn/avg_mean", "bn/avg_var"], name: "bn")
    h = g.add(.relu, [h], name: "r")
    g.outputs = [h]
    g = randomized(g, seed: 9)
    var t = g
    try Pipeline.preset("training", verifyEach: true)!.run(on: &t)
    XCTAssertEqual(opList(t), ["conv2d", "batch_norm", "relu"])
    try assertSameOutputs(g, t)
    var i = t
    try Pipeline.preset("inference", verifyEach: true)!.run(on: &i)
    XCTAssertEqual(opList(i), ["conv2d+relu"])
    try assertSameOutputs(g, i)
    i.metadata["passes"] = "inference"
    XCTAssertTrue(Pipeline.alreadyApplied("inference", to: i))
    XCTAssertTrue(Pipeline.alreadyApplied("default", to: i))
    XCTAssertTrue(Pipeline.alreadyApplied("training", to: i))
    t.metadata["passes"] = "training"
    XCTAssertFalse(Pipeline.alreadyApplied("inference", to: t))
    XCTAssertNil(Pipeline.preset("size"))
  }

  func testFoldConstantsAndIdentity() throws {
    var g = Graph(name: "k")
    g.inputs = [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(3)]))]
    g.addWeight("w", Tensor(shape: [4, 3], data: (0..<12).map { Float($0) / 10 }))
    let wt = g.add(.transpose(perm: [1, 0]), ["w"], name: "t")
    let k = g.add(.constant(Tensor(shape: [4], data: [1, 2, 3, 4])), [], name: "k")
    let k2 = g.add(.mul, [k, k], name: "k2")
    let y = g.add(.add, [g.add(.matmul, [g.add(.identity, ["x"], name: "id")], name: "placeholder"), k2], name: "y")
    g.nodes[g.nodes.count - 2].inputs = ["id", wt]  // matmul(id, wt)
    g.outputs = [y]
    var o = g
    try Pipeline.preset("default", verifyEach: true)!.run(on: &o)
    XCTAssertEqual(opList(o), ["matmul", "add"])
    try assertSameOutputs(g, o)
  }
}
