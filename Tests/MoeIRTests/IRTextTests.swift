// IRTextTests: the text form round-trips byte for byte and reports parse errors by line.
import XCTest
@testable import MoeIR

/// A graph that uses every op at least once, with awkward names and float attributes.
func everyOpGraph() -> Graph {
  var g = Graph(name: "every \"op\"", metadata: ["arch": "test", "note": "tab\there"])
  g.inputs = [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(4), .fixed(8), .fixed(8)])),
              ValueInfo(name: "v", shape: Shape([.symbol("N"), .fixed(6)]))]
  g.weights = [ValueInfo(name: "c/W", shape: [8, 2, 3, 3]), ValueInfo(name: "c/b", shape: [8]),
               ValueInfo(name: "d/W", shape: [8, 16, 4, 4]), ValueInfo(name: "bn/gamma", shape: [4]),
               ValueInfo(name: "bn/beta", shape: [4]), ValueInfo(name: "bn/mean", shape: [4]), ValueInfo(name: "bn/var", shape: [4]),
               ValueInfo(name: "fc W", shape: [5, 6]), ValueInfo(name: "m", shape: [5, 3])]
  var h = g.add(.conv2d(ConvAttrs(strides: [2, 1], pads: [1, 0, 2, 1], dilations: [1, 2], groups: 2)), ["x", "c/W", "c/b"], name: "c")
  h = g.add(.convTranspose2d(ConvTransposeAttrs(strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 0])), [h, "d/W"], name: "d")
  h = g.add(.depthToSpace(blockSize: 2, mode: .crd), [h], name: "d2s")
  h = g.add(.depthToSpace(blockSize: 1, mode: .dcr), [h], name: "d2s/dcr")
  h = g.add(.batchNorm(eps: 2e-5), [h, "bn/gamma", "bn/beta", "bn/mean", "bn/var"], name: "bn")
  h = g.add(.leakyRelu(alpha: 0.2), [h], name: "lrelu")
  h = g.add(.relu, [h], name: "relu")
  h = g.add(.sigmoid, [h], name: "sig")
  h = g.add(.softplus, [h], name: "sp")
  h = g.add(.tanh, [h], name: "tanh")
  let s = g.add(.slice(SliceAttrs(starts: [0, -1], ends: [2, -100], axes: [1, 3], steps: [1, -2])), [h], name: "slice")
  let t = g.add(.transpose(perm: [0, 1, 3, 2]), [s], name: "tr")
  let cc = g.add(.concat(axis: 1), [t, t], name: "cat")
  let f = g.add(.flatten(axis: 1), [cc], name: "flat")
  let r = g.add(.reshape(shape: [0, -1]), [f], name: "rs")
  let lin = g.add(.linear(.plain), ["v", "fc W"], name: "fc")
  let gm = g.add(.gemm(GemmAttrs(alpha: 0.5, beta: 1e-3, transA: false, transB: false)), [lin, "m"], name: "gemm")
  let k = g.add(.constant(Tensor(shape: [1, 3], data: [0.1, -0, 1e-45])), [], name: "k")
  let a = g.add(.add, [gm, k], name: "add")
  let m = g.add(.mul, [a, a], name: "mul")
  let sb = g.add(.sub, [m, k], name: "sub")
  let mm = g.add(.matmul, [sb, g.add(.constant(Tensor(shape: [3, 2], data: [1, 2, 3, 4, 5, .infinity])), [], name: "k2")], name: "mm")
  g.add(.identity, [mm], name: "id", output: "out \"1\"")
  g.outputs = ["out \"1\"", r]
  return g
}

final class IRTextTests: XCTestCase {
  func testEveryOpGraphVerifies() throws {
    let types = try everyOpGraph().verify()
    XCTAssertEqual(types["out \"1\""]?.shape, Shape([.symbol("N"), .fixed(2)]))
    XCTAssertEqual(types["rs"]?.shape, Shape([.symbol("N"), .fixed(4 * 10 * 22)]))
  }

  func testRoundTripIsByteForByte() throws {
    let g = everyOpGraph()
    let text = IRText.print(g)
    let parsed = try IRText.parse(text)
    XCTAssertEqual(IRText.print(parsed), text)
    XCTAssertEqual(parsed.nodes, g.nodes)
    XCTAssertEqual(parsed.inputs, g.inputs)
    XCTAssertEqual(parsed.weights, g.weights)
    XCTAssertEqual(parsed.outputs, g.outputs)
    XCTAssertEqual(parsed.metadata, g.metadata)
    XCTAssertEqual(parsed.name, g.name)
  }

  func testRoundTripOfRandomFloatAttributes() throws {
    var rng = SystemRandomNumberGenerator()
    for _ in 0..<200 {
      let bits = UInt32.random(in: 0...UInt32.max, using: &rng)
      let v = Float(bitPattern: bits)
      if v.isNaN { continue }
      var g = Graph(name: "f")
      g.inputs = [ValueInfo(name: "x", shape: [1])]
      g.add(.leakyRelu(alpha: v), ["x"], name: "y")
      g.outputs = ["y"]
      let text = IRText.print(g)
      let back = try IRText.parse(text)
      XCTAssertEqual(IRText.print(back), text)
      XCTAssertEqual(back.nodes[0].op, .leakyRelu(alpha: v), "bits \(bits)")
    }
  }

  func testParseErrorsNameTheLine() {
    let cases: [(String, String)] = [
      ("nonsense 1\n", "<text>:1"),
      ("moeir 99\n", "version 99"),
      ("moeir 1\ngraph \"g\"\nnode \"n\" %y = frobnicate(%x)\n", "unknown op 'frobnicate'"),
      ("moeir 1\ngraph \"g\"\nnode \"n\" %y = conv2d(%x, %w) {strides=[1,1]}\n", "missing attribute 'pads'"),
      ("moeir 1\ngraph \"g\"\nnode \"n\" %y = relu(%x) {alpha=1}\n", "unknown attribute(s) alpha"),
      ("moeir 1\ngraph \"g\"\ninput %x : q7[1]\n", "unknown dtype 'q7'"),
      ("moeir 1\ngraph \"g\n", "unterminated string"),
      ("moeir 1\nnode \"c\" %k = constant() {value=f32[2]{1}}\n", "needs 2 values"),
    ]
    for (text, expected) in cases {
      XCTAssertThrowsError(try IRText.parse(text)) { e in
        XCTAssertTrue("\(e)".contains(expected), "'\(e)' should mention \(expected)")
        XCTAssertFalse("\(e)".contains("\n"), "one line")
      }
    }
  }
}
