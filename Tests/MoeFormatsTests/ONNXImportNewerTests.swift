// ONNXImportNewerTests: onnx.helper models of each newer op and attribute/opset form (Converters/onnx/import_cases.py)
// imported and run natively against ONNX Runtime; the documented refusals refused with one line naming file and node.
import Foundation
import MoeFormats
import MoeIR
import XCTest

final class ONNXImportNewerTests: XCTestCase {
  func testEveryFormImportsAndMatchesONNXRuntime() throws {
    let folder = try ONNXCaseFolder(script: "Converters/onnx/import_cases.py")
    XCTAssertGreaterThan(folder.cases.count, 120, "the import cases lost cases")
    var failures: [String] = []
    var refused = 0
    for c in folder.cases {
      let model = folder.dir.appendingPathComponent(c.model ?? c.name + ".onnx")
      if let phrase = c.refuse {
        refused += 1
        do {
          _ = try ONNXImporter.read(model)
          failures.append("\(c.name): imported, but MoeKit documents a refusal (\(phrase))")
        } catch let e as MoeFormatError {
          if e.kind != .unsupportedONNX || e.file != model.path || !e.message.contains(phrase)
            || !e.message.contains("_node'") || e.description.contains("\n") {
            failures.append("\(c.name): expected one unsupportedONNX line naming the file, the node and '\(phrase)', got \(e)")
          }
        }
        continue
      }
      failures += folder.runNatively(c, model: model)
    }
    print("ONNX import of the newer ops: \(folder.cases.count) models, \(refused) refused as documented, \(failures.count) failures")
    XCTAssertTrue(failures.isEmpty, "\(failures.count) failures:\n" + failures.prefix(60).joined(separator: "\n"))
  }
}
