// HelpListsTests: every command that opens a model names each format it really reads, and --quantize's help and
// errors describe exactly the scheme names the parser accepts (their forms expanded here and checked both ways).
import Foundation
import MoeFormats
import MoeIR
import MoeQuant
import MoeTestSupport
import XCTest

final class HelpListsTests: XCTestCase {
  /// `moe COMMAND --help`, whitespace collapsed (ArgumentParser wraps lines at the terminal width).
  func help(_ command: String) throws -> String {
    let r = try TestSupport.moe([command, "--help"])
    XCTAssertEqual(r.status, 0, r.stderr)
    return r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
  }

  func testCommandsNameEveryFormatTheyRead() throws {
    let work = try TestSupport.temporaryDirectory("help-formats")
    defer { try? FileManager.default.removeItem(at: work) }
    let f = try ChainerFixture.make("srresnet-generator", ["--C", "8", "--B", "1", "--U", "1", "--n", "20", "--batch", "1"], in: work)
    let z = f.url(f.batches[0].inputs[0]).path
    let reference = work.appendingPathComponent("ref.npy")
    XCTAssertEqual(try TestSupport.moe(["run", f.checkpointURL.path, "--input", z, "-o", reference.path]).status, 0)
    let expected = try Npy.read(reference).floats()
    // Every format: written by convert, then read by run (same output) and inspect.
    let formats = Set(["npz", "h5", "hdf5", "safetensors", "onnx", "moeir", "moe"] + ModelFile.readable)
    for ext in formats.sorted() {
      let model = work.appendingPathComponent("model.\(ext)"), out = work.appendingPathComponent("out-\(ext).npy")
      let c = try TestSupport.moe(["convert", f.checkpointURL.path, "-o", model.path])
      XCTAssertEqual(c.status, 0, "convert to .\(ext): \(c.stderr)")
      let r = try TestSupport.moe(["run", model.path, "--input", z, "-o", out.path])
      XCTAssertEqual(r.status, 0, "run .\(ext): \(r.stderr)")
      XCTAssertLessThanOrEqual(TestSupport.maxAbsDiff(try Npy.read(out).floats(), expected), 1e-5, ".\(ext)")
      let i = try TestSupport.moe(["inspect", model.path])
      XCTAssertEqual(i.status, 0, "inspect .\(ext): \(i.stderr)")
    }
    for command in ["run", "report", "convert", "inspect", "verify", "bench", "generate", "export-site", "serve", "evaluate"] {
      let text = try help(command)
      for ext in formats { XCTAssertTrue(text.contains(".\(ext)"), "moe \(command) --help does not name .\(ext):\n\(text)") }
    }
  }

  /// Whether `text` names `name`: as a word, or by a form `PREFIX<X>SUFFIX` whose `(X ≥ m)` or `(X = a, b, …)` admits it.
  func describes(_ text: String, _ name: String) -> Bool {
    let words = text.components(separatedBy: CharacterSet(charactersIn: " ,();:'"))
    if words.contains(name) { return true }
    for form in words where form.contains("<") {
      guard let open = form.firstIndex(of: "<"), let close = form.firstIndex(of: ">"), open < close else { continue }
      let prefix = String(form[..<open]), suffix = String(form[form.index(after: close)...])
      let letter = String(form[form.index(after: open)..<close])
      guard name.count > prefix.count + suffix.count, name.hasPrefix(prefix), name.hasSuffix(suffix) else { continue }
      let middle = String(name.dropFirst(prefix.count).dropLast(suffix.count))
      guard let v = Int(middle), String(v) == middle else { continue }
      if let r = text.range(of: "(\(letter) ≥ "), let m = Int(text[r.upperBound...].prefix { $0.isNumber }), v >= m { return true }
      if let r = text.range(of: "(\(letter) = ") {
        let list = text[r.upperBound...].prefix { $0 != ")" }.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        if list.contains(v) { return true }
      }
    }
    return false
  }

  func testQuantizeHelpAndErrorsListExactlyTheAcceptedSchemes() throws {
    var candidates = ["none", "auto", "f32", "float32", "f16", "float16", "int8", "eightbit", "int4", "int16", "int8-a1", "int4-g32-a1",
                      "palette16-pc-a1", "f8", "EIGHTBIT", "palette", "palette16-", "int4-g", "float64", "bf16", "int4-g+8", "int4-g08",
                      "palette016", "pc", "g32", "a1"]
    candidates += (0...130).map { "int4-g\($0)" }
    for k in 0...520 { candidates += ["palette\(k)", "palette\(k)-pc"] }
    // What the commands accept: the scheme parser's uniform plans, and auto (run by the commands themselves).
    let accepted = Set(candidates.filter { $0 == "auto" || (try? QuantizationPlan.uniform($0, for: Graph(name: ""))) != nil })
    XCTAssertTrue(accepted.isSuperset(of: ["none", "f16", "int8", "int4-g1", "int4-g32", "int4-g130", "palette2", "palette256-pc", "eightbit"]))
    XCTAssertTrue(accepted.isDisjoint(with: ["int4-g0", "palette3", "palette512", "int8-a1", "EIGHTBIT"]))

    func check(_ text: String, _ what: String) {
      for c in candidates {
        XCTAssertEqual(describes(text, c), accepted.contains(c), "\(what) \(accepted.contains(c) ? "omits" : "names") '\(c)':\n\(text)")
      }
    }
    for command in ["convert", "report"] {
      let text = try help(command)
      let start = try XCTUnwrap(text.range(of: "--quantize <quantize> "), "moe \(command) --help has --quantize")
      let paragraph = text[start.upperBound...].components(separatedBy: " --")[0]
      check(paragraph, "moe \(command) --help")
    }
    for command in ["convert", "report"] {
      var args = [command, "nosuch.npz", "--quantize", "palette3"]
      if command == "convert" { args += ["-o", "x.moe"] }
      let r = try TestSupport.moe(args)
      XCTAssertNotEqual(r.status, 0)
      let known = try XCTUnwrap(r.stderr.range(of: "known: "), r.stderr)
      XCTAssertTrue(r.stderr.contains("--quantize palette3"), r.stderr)
      check(String(r.stderr[known.upperBound...].prefix { $0 != "\n" }), "moe \(command)'s error")
    }
  }
}
