// ModuleBoundaryTests: the target graph of Package.swift (as SwiftPM reads it) keeps the layers apart.
import Foundation
import MoeTestSupport
import XCTest

final class ModuleBoundaryTests: XCTestCase {
  /// Every target and external product each target of the package reaches, directly or transitively.
  func closures() throws -> [String: Set<String>] {
    let scratch = try TestSupport.temporaryDirectory("dump-package")
    defer { try? FileManager.default.removeItem(at: scratch) }
    // A scratch path of its own: `swift test` may hold the lock of the package's build folder.
    let r = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/env"),
                                ["swift", "package", "--package-path", TestSupport.root.path, "--scratch-path", scratch.path, "dump-package"])
    XCTAssertEqual(r.status, 0, r.stderr)
    let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
    var direct: [String: [String]] = [:]
    for t in json["targets"] as! [[String: Any]] {
      let deps = (t["dependencies"] as? [[String: Any]] ?? []).compactMap { d -> String? in
        for kind in ["byName", "target", "product"] { if let v = d[kind] as? [Any], let name = v.first as? String { return name } }
        return nil
      }
      direct[t["name"] as! String] = deps
    }
    var out: [String: Set<String>] = [:]
    func reach(_ name: String) -> Set<String> {
      if let done = out[name] { return done }
      var seen = Set<String>()
      for d in direct[name] ?? [] { seen.insert(d); seen.formUnion(reach(d)) }
      out[name] = seen
      return seen
    }
    for name in direct.keys { _ = reach(name) }
    return out
  }

  func testLayersDoNotReachUpward() throws {
    let c = try closures()
    XCTAssertEqual(c["MoeIR"], [], "MoeIR depends on nothing")
    // `moe convert --quantize auto` (MoeQuant: calibration, auto quantizer, report) links no web stack.
    let quant = try XCTUnwrap(c["MoeQuant"])
    XCTAssertTrue(quant.contains("MoeRuntime"))
    XCTAssertTrue(quant.isDisjoint(with: ["MoeSite", "FlyingFox", "MoeVerify", "MoeModels", "MoeFormats"]), "MoeQuant reaches \(quant.sorted())")
    let passes = try XCTUnwrap(c["MoePasses"])
    XCTAssertFalse(passes.contains("MoeRuntime"), "constant folding needs no runtime: MoePasses reaches \(passes.sorted())")
    let formats = try XCTUnwrap(c["MoeFormats"])
    XCTAssertTrue(formats.isDisjoint(with: ["MoeModels", "MoeSite", "FlyingFox", "MoeVerify"]), "MoeFormats reaches \(formats.sorted())")
    XCTAssertTrue(formats.contains("Crypto"), "SHA-256 comes from swift-crypto")
    XCTAssertEqual(c["MoeKernels"], [], "the wasm kernels import nothing")
  }
}
