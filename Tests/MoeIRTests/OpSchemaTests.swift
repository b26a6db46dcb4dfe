// OpSchemaTests: every op of the schema round-trips through Op and the text form; the generated tables are current.
import Foundation
import XCTest

@testable import MoeIR

/// The checked-in files generated from the schema, and the regeneration (`MOE_REGENERATE=1`, see `make generated`).
enum GeneratedTables {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// (path, the file's current text, the text it must have).
  static func files() throws -> [(String, String, String)] {
    func text(_ path: String) throws -> String { try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8) }
    let js = try text("Sources/MoeWeb/moe.js"), md = try text("Formats/ir.md")
    let py = (try? text("Converters/tests/ops_generated.py")) ?? ""
    guard let newJS = replacingBlock(in: js, markers: OpSchema.javaScriptMarkers, with: OpSchema.javaScript()),
          let newMD = replacingBlock(in: md, markers: OpSchema.markdownMarkers, with: OpSchema.markdownTable())
    else { throw OpSchemaError("moe.js or Formats/ir.md lost its generated-block markers") }
    return [("Sources/MoeWeb/moe.js", js, newJS), ("Formats/ir.md", md, newMD), ("Converters/tests/ops_generated.py", py, OpSchema.python())]
  }

  /// `text` with the block between `markers` replaced by `block` (which carries the markers); nil without both markers.
  static func replacingBlock(in text: String, markers: (String, String), with block: String) -> String? {
    guard let start = text.range(of: markers.0), let end = text.range(of: markers.1, range: start.upperBound..<text.endIndex) else {
      return nil
    }
    var after = end.upperBound
    if after < text.endIndex, text[after] == "\n" { after = text.index(after: after) }
    return String(text[..<start.lowerBound]) + block + String(text[after...])
  }
}

final class OpSchemaTests: XCTestCase {
  /// One node of `s` with every attribute at its example value (epilogue ones included when the op takes them).
  static func exampleOp(_ s: OpSchema, epilogue: Bool) throws -> Op {
    var raw: [String: RawAttribute] = [:]
    for a in s.attributes + (epilogue ? OpSchema.epilogueAttributes.filter { _ in s.takesEpilogue } : []) {
      raw[a.name] = try Self.rawValue(a.example)
    }
    return try Op(schemaName: s.name, raw: raw)
  }

  /// The parser's reading of one attribute value in text form.
  static func rawValue(_ text: String) throws -> RawAttribute {
    if text.hasPrefix("[") { return .list(text.dropFirst().dropLast().split(separator: ",").map(String.init)) }
    if text.hasPrefix("f32[") {
      let shape = text.dropFirst(4).prefix { $0 != "]" }.split(separator: ",").compactMap { Int($0) }
      let values = text.drop { $0 != "{" }.dropFirst().dropLast().split(separator: ",").compactMap { Float($0) }
      return .tensor(Tensor(shape: shape, data: values))
    }
    return .scalar(text)
  }

  func testEverySchemaEntryDecodesToAnOpOfThatNameAndRoundTripsThroughText() throws {
    XCTAssertEqual(Set(OpSchema.all.map(\.name)).count, OpSchema.all.count, "op names are unique")
    for s in OpSchema.all {
      for epilogue in s.takesEpilogue ? [false, true] : [false] {
        let op = try Self.exampleOp(s, epilogue: epilogue)
        XCTAssertEqual(op.name, s.name)
        XCTAssertEqual(op.attributeText.map(\.0), (epilogue ? s.allAttributes : s.attributes).map(\.name),
                       "\(s.name): encoded attributes follow the schema's order")
        XCTAssertEqual(op.outputCount, s.outputs)
        let back = try Op(schemaName: s.name, raw: Dictionary(uniqueKeysWithValues: try op.attributeText.map { ($0.0, try Self.rawValue($0.1)) }))
        XCTAssertEqual(back, op, "\(s.name): encode → decode")
      }
    }
  }

  func testEveryFamilyFunctionHasItsOwnSchemaEntry() {
    let names = Set(OpSchema.all.map(\.name))
    for f in UnaryFunction.allCases { XCTAssertTrue(names.contains(Op.unary(f).name), f.rawValue) }
    for f in BinaryFunction.allCases { XCTAssertTrue(names.contains(Op.binary(f).name), f.rawValue) }
    for f in ReduceFunction.allCases { XCTAssertTrue(names.contains(Op.reduce(f, axes: [], keepDims: false).name), f.rawValue) }
    let unaryCodes = OpSchema.all.compactMap { s -> Int32? in if case .unary(let c)? = s.wasm { return c }; return nil }
    XCTAssertEqual(Set(unaryCodes).count, unaryCodes.count, "unary wasm codes are distinct")
    XCTAssertTrue(unaryCodes.allSatisfy { !(14...16).contains($0) }, "codes 14…16 are the casts")
  }

  func testSchemaErrorsNameTheAttribute() throws {
    let conv = OpSchema.named("conv2d")!
    XCTAssertThrowsError(try conv.typedAttributes(["strides": .list(["1", "1"])])) { XCTAssertEqual(($0 as? OpSchemaError)?.message, "missing attribute 'pads'") }
    XCTAssertThrowsError(try OpSchema.named("relu")!.typedAttributes(["act": .scalar("relu")])) {
      XCTAssertEqual(($0 as? OpSchemaError)?.message, "unknown attribute(s) act")
    }
    XCTAssertThrowsError(try OpSchema.named("linear")!.typedAttributes(["residual": .scalar("none")])) {
      XCTAssertEqual(($0 as? OpSchemaError)?.message, "attribute 'residual' must be one of before, after")
    }
    XCTAssertThrowsError(try OpSchema.named("softmax")!.typedAttributes(["axis": .scalar("1.5")])) {
      XCTAssertEqual(($0 as? OpSchemaError)?.message, "attribute 'axis' must be an integer")
    }
  }

  func testGeneratedTablesAreCurrent() throws {
    for (path, current, generated) in try GeneratedTables.files() where current != generated {
      if ProcessInfo.processInfo.environment["MOE_REGENERATE"] == "1" {
        try Data(generated.utf8).write(to: GeneratedTables.root.appendingPathComponent(path), options: .atomic)
      } else {
        XCTFail("\(path) is not what Sources/MoeIR/OpSchema+Table.swift generates; run `\(OpSchema.regenerateCommand)`")
      }
    }
  }
}
