// VerifyTests: Graph.verify rejects malformed graphs with a message naming the node.
import XCTest
@testable import MoeIR

final class VerifyTests: XCTestCase {
  func base() -> Graph {
    var g = Graph(name: "g")
    g.inputs = [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(3), .fixed(8), .fixed(8)]))]
    g.weights = [ValueInfo(name: "w", shape: [4, 3, 3, 3])]
    let c = g.add(.conv2d(ConvAttrs(pads: [1, 1, 1, 1])), ["x", "w"], name: "conv")
    g.add(.relu, [c], name: "act")
    g.outputs = ["act"]
    return g
  }

  func assertRejects(_ g: Graph, _ kind: IRError.Kind, mentioning: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try g.verify(), file: file, line: line) { e in
      guard let e = e as? IRError else { return XCTFail("not an IRError: \(e)", file: file, line: line) }
      XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
      XCTAssertTrue(e.description.contains(mentioning), "'\(e)' should mention \(mentioning)", file: file, line: line)
    }
  }

  func testBaseVerifies() throws {
    XCTAssertEqual(try base().verify()["act"]?.shape, Shape([.symbol("N"), .fixed(4), .fixed(8), .fixed(8)]))
  }

  func testUndefinedValue() {
    var g = base()
    g.nodes[1].inputs = ["nowhere"]
    assertRejects(g, .undefinedValue, mentioning: "node 'act'")
  }

  func testValueDefinedTwice() {
    var g = base()
    g.nodes[1].outputs = ["conv"]
    assertRejects(g, .duplicateDefinition, mentioning: "node 'act'")
    var h = base()
    h.weights.append(ValueInfo(name: "x", shape: [1]))
    assertRejects(h, .duplicateDefinition, mentioning: "weight 'x'")
  }

  func testNonTopologicalOrder() {
    var g = base()
    g.nodes.swapAt(0, 1)
    assertRejects(g, .notTopological, mentioning: "node 'act'")
  }

  func testShapeMismatch() {
    var g = base()
    g.weights[0] = ValueInfo(name: "w", shape: [4, 5, 3, 3])
    assertRejects(g, .shapeMismatch, mentioning: "node 'conv'")
    var h = base()
    h.add(.add, ["act", "x"], name: "bad add")
    h.outputs = ["bad add"]
    assertRejects(h, .shapeMismatch, mentioning: "node 'bad add'")
  }

  func testOutputNamesNothing() {
    var g = base()
    g.outputs = ["ghost"]
    assertRejects(g, .badOutput, mentioning: "output 'ghost'")
    var h = base()
    h.outputs = []
    assertRejects(h, .badOutput, mentioning: "graph 'g'")
  }

  func testArityAndAttributes() {
    var g = base()
    g.nodes[1].inputs = ["conv", "conv"]
    assertRejects(g, .badArity, mentioning: "node 'act'")
    var h = base()
    h.nodes[0].op = .conv2d(ConvAttrs(strides: [0, 1]))
    assertRejects(h, .badAttribute, mentioning: "node 'conv'")
  }

  func testWeightsRequired() {
    let g = base()
    XCTAssertThrowsError(try g.verify(requireWeights: true)) { XCTAssertTrue("\($0)".contains("weight 'w'")) }
  }
}
