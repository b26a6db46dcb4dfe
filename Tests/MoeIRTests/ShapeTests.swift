// ShapeTests: shape functions on fixed and symbolic shapes.
import XCTest
@testable import MoeIR

final class ShapeTests: XCTestCase {
  let n = Dim.symbol("N")

  func testReshapeWithSymbolicBatch() throws {
    XCTAssertEqual(try reshapeShape(Shape([n, .fixed(16384)]), [-1, 64, 16, 16]), Shape([n, .fixed(64), .fixed(16), .fixed(16)]))
    XCTAssertEqual(try reshapeShape(Shape([n, .fixed(6), .fixed(4)]), [0, -1]), Shape([n, .fixed(24)]))
    XCTAssertEqual(try reshapeShape([2, 3, 4], [4, -1]), Shape([4, 6]))
    XCTAssertThrowsError(try reshapeShape([2, 3], [4, -1]))
    XCTAssertThrowsError(try reshapeShape([2, 3], [-1, -1]))
    XCTAssertThrowsError(try reshapeShape(Shape([n, .fixed(6)]), [-1, 4]))
  }

  func testConvAndTransposedConvExtents() throws {
    let x = Shape([n, .fixed(3), .fixed(11), .fixed(7)])
    let y = try Op.conv2d(ConvAttrs(strides: [2, 3], pads: [1, 2, 0, 1], dilations: [2, 1])).inferShapes([x, [5, 3, 3, 2]])
    // H: (11 + 1 + 0 - (2*2+1)) / 2 + 1 = 4 ; W: (7 + 2 + 1 - 2) / 3 + 1 = 3
    XCTAssertEqual(y, [Shape([n, .fixed(5), .fixed(4), .fixed(3)])])
    let t = try Op.convTranspose2d(ConvTransposeAttrs(strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 0], groups: 2))
      .inferShapes([Shape([n, .fixed(4), .fixed(5), .fixed(5)]), [4, 3, 4, 4]])
    // (5-1)*2 - 2 + 3 + 1 + op = 10 (+1)
    XCTAssertEqual(t, [Shape([n, .fixed(6), .fixed(11), .fixed(10)])])
  }

  func testBroadcasting() throws {
    XCTAssertEqual(try broadcastShapes(Shape([n, .fixed(3), .fixed(4), .fixed(4)]), [3, 1, 1]), Shape([n, .fixed(3), .fixed(4), .fixed(4)]))
    XCTAssertEqual(try broadcastShapes([1], [2, 3]), Shape([2, 3]))
    XCTAssertThrowsError(try broadcastShapes([2, 3], [3, 2]))
  }

  func testSliceExtents() {
    XCTAssertEqual(Array(sliceRange(n: 10, start: -3, end: 100, step: 1)), [7, 8, 9])
    XCTAssertEqual(Array(sliceRange(n: 5, start: -1, end: -100, step: -2)), [4, 2, 0])
    XCTAssertEqual(Array(sliceRange(n: 5, start: 3, end: 1, step: 1)), [])
  }

  func testFlattenAndDepthToSpace() throws {
    XCTAssertEqual(try Op.flatten(axis: 1).inferShapes([Shape([n, .fixed(3), .fixed(2)])]), [Shape([n, .fixed(6)])])
    XCTAssertEqual(try Op.depthToSpace(blockSize: 2, mode: .dcr).inferShapes([Shape([n, .fixed(8), .fixed(3), .fixed(5)])]),
                   [Shape([n, .fixed(2), .fixed(6), .fixed(10)])])
    XCTAssertThrowsError(try Op.depthToSpace(blockSize: 2, mode: .dcr).inferShapes([[1, 6, 3, 3]]))
  }
}

final class ShapeOverflowTests: XCTestCase {
  /// Extents from a malformed file that multiply past Int.max are errors, never a trap (found by the ONNX fuzzer).
  func testHugeExtentsAreErrorsNotTraps() {
    XCTAssertThrowsError(try Op.reshape(shape: [Int.max / 2, 4, -1]).inferShapes([Shape([2, 3])]))
    XCTAssertEqual(Shape([Int.max / 2, 4]).product.constant, Int.max)
    var g = Graph(name: "huge")
    g.inputs = [ValueInfo(name: "x", shape: Shape([1 << 21, 1 << 21]))]
    g.add(.relu, ["x"], name: "r")
    g.outputs = ["r"]
    XCTAssertThrowsError(try g.verify()) { XCTAssertTrue("\($0)".contains("more than"), "\($0)") }
  }
}
