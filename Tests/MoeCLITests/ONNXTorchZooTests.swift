// ONNXTorchZooTests: the committed PyTorch exports (Converters/torch/fixtures) through `moe run` natively and, after
// `moe convert`, in the web runtime, against ONNX Runtime on the same files at batch 1 and 4.
import Foundation
import MoeFormats
import MoeTestSupport
import XCTest

final class ONNXTorchZooTests: XCTestCase {
  static let fixtures = TestSupport.root.appendingPathComponent("Converters/torch/fixtures")
  static let families = ["resnet18", "vgg", "squeezenet", "inception", "densenet", "shufflenet", "dcgan", "srgan",
                         "esrgan", "unet", "pix2pix", "cyclegan"]
  static let batches = [1, 4]

  /// The fixture files present for a suffix ("" TorchScript exporter, ".dynamo", ".external", ".dynamo.external").
  func models(_ suffix: String) -> [String] {
    Self.families.map { "\($0)\(suffix)" }.filter {
      FileManager.default.fileExists(atPath: Self.fixtures.appendingPathComponent("\($0).onnx").path)
    }
  }

  /// Writes seeded inputs and ONNX Runtime's outputs for `names` into a new folder.
  func reference(_ names: [String]) throws -> URL {
    let dir = try TestSupport.temporaryDirectory("torch-zoo")
    var args = ["Converters/onnx/ort_reference.py", "--out", dir.path]
    for b in Self.batches { args += ["--batch", "\(b)"] }
    try TestSupport.python(args + names.map { Self.fixtures.appendingPathComponent("\($0).onnx").path })
    return dir
  }

  /// |moe − ORT| ≤ 1e-4 · max(1, |ORT|) element by element; returns the largest such ratio.
  func assertMatches(_ model: URL, _ name: String, batch: Int, in dir: URL, runtime: String = "native",
                     file: StaticString = #filePath, line: UInt = #line) throws {
    let out = dir.appendingPathComponent("\(model.lastPathComponent)-\(runtime)-b\(batch).npy")
    let r = try TestSupport.moe(["run", model.path, "--input", dir.appendingPathComponent("\(name)_b\(batch)_in.npy").path,
                                 "-o", out.path, "--runtime", runtime])
    guard r.status == 0 else {
      XCTFail("\(model.lastPathComponent) \(runtime) batch \(batch): \(r.stderr)", file: file, line: line)
      return
    }
    let got = try Npy.read(out).floats(), want = try Npy.read(dir.appendingPathComponent("\(name)_b\(batch)_out.npy")).floats()
    XCTAssertEqual(got.count, want.count, "\(model.lastPathComponent) \(runtime) batch \(batch): element count", file: file, line: line)
    var worst: Float = 0, maxAbs: Float = 0
    for (a, b) in zip(got, want) {
      worst = max(worst, abs(a - b) / max(1, abs(b)))
      maxAbs = max(maxAbs, abs(a - b))
    }
    print("torch-zoo \(model.lastPathComponent) \(runtime) batch \(batch): max |moe − ORT| \(maxAbs), relative \(worst)")
    XCTAssertLessThanOrEqual(worst, 1e-4, "\(model.lastPathComponent) \(runtime) batch \(batch): relative error \(worst)",
                             file: file, line: line)
  }

  /// Every family's TorchScript export (dynamic batch): `moe run X.onnx` natively; `moe convert X.onnx -o X.moe`
  /// then `moe run X.moe --runtime wasm` (and native), at batch 1 and 4.
  func testTorchScriptExportsMatchONNXRuntime() throws {
    let names = models("")
    XCTAssertEqual(names.count, Self.families.count, "a fixture for every family")
    let dir = try reference(names)
    defer { try? FileManager.default.removeItem(at: dir) }
    for name in names {
      let onnx = Self.fixtures.appendingPathComponent("\(name).onnx")
      let bundle = dir.appendingPathComponent("\(name).moe")
      let c = try TestSupport.moe(["convert", onnx.path, "-o", bundle.path])
      XCTAssertEqual(c.status, 0, "convert \(name): \(c.stderr)")
      for b in Self.batches {
        try assertMatches(onnx, name, batch: b, in: dir)
        try assertMatches(bundle, name, batch: b, in: dir, runtime: "wasm")
      }
    }
  }

  /// The dynamo (torch.export) exports and the external-data exports (initializers in NAME.onnx.data beside the
  /// file, read in place) through `moe run`, natively, at batch 1 and 4. Every family's default-exporter export
  /// (`dynamo=True, external_data=True`, as written: no re-saving) also runs in the web runtime from its .onnx path.
  func testDynamoAndExternalDataExportsMatchONNXRuntime() throws {
    let defaultExporter = models(".dynamo.external")
    XCTAssertEqual(defaultExporter.count, Self.families.count, "a default-exporter external-data fixture for every family")
    for name in defaultExporter {
      let data = Self.fixtures.appendingPathComponent("\(name).onnx.data")
      XCTAssertTrue(FileManager.default.fileExists(atPath: data.path), "\(name).onnx.data beside \(name).onnx")
    }
    let names = models(".dynamo") + models(".external") + defaultExporter
    XCTAssertFalse(models(".external").isEmpty, "external-data fixtures present")
    let dir = try reference(names)
    defer { try? FileManager.default.removeItem(at: dir) }
    for name in names {
      let onnx = Self.fixtures.appendingPathComponent("\(name).onnx")
      for b in Self.batches {
        try assertMatches(onnx, name, batch: b, in: dir)
        if defaultExporter.contains(name) { try assertMatches(onnx, name, batch: b, in: dir, runtime: "wasm") }
      }
    }
  }
}
