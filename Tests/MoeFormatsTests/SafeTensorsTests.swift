// SafeTensorsTests: MoeKit's safetensors reader/writer against the `safetensors` package both ways, and broken files.
import Foundation
import MoeFormats
import MoeIR
import MoeTestSupport
import XCTest

final class SafeTensorsTests: XCTestCase {
  var work: URL!

  override func setUpWithError() throws { work = try TestSupport.temporaryDirectory("safetensors") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

  struct Listing: Decodable {
    var tensors: [String: [Either]]
    var metadata: [String: String]
  }

  /// A JSON value that is a string (dtype) or a list of ints (shape).
  enum Either: Decodable {
    case text(String), ints([Int])
    init(from decoder: Decoder) throws {
      let c = try decoder.singleValueContainer()
      if let s = try? c.decode(String.self) { self = .text(s) } else { self = .ints(try c.decode([Int].self)) }
    }
    var ints: [Int]? { if case .ints(let v) = self { return v } else { return nil } }
  }

  func testReadsEveryDtypeThePackageWrites() throws {
    try TestSupport.python(["Converters/torch/safetensors_oracle.py", "write", work.path])
    let file = try SafeTensorsFile(url: work.appendingPathComponent("package.safetensors"))
    let expected = try JSONDecoder().decode(Listing.self, from: Data(contentsOf: work.appendingPathComponent("expected.json")))
    XCTAssertEqual(Set(file.keys), Set(expected.tensors.keys))
    XCTAssertEqual(file.metadata, expected.metadata)
    for key in file.keys {
      let ours = try file.array(key)
      let npy = try Npy.read(work.appendingPathComponent(key + ".npy"))
      XCTAssertEqual(ours.shape, expected.tensors[key]![1].ints, key)
      XCTAssertEqual(ours.shape, npy.shape, key)
      XCTAssertEqual(ours.dtype, npy.dtype, "\(key): BF16 reads as float32, every other dtype as itself")
      XCTAssertEqual(ours.data, npy.data, "\(key): values differ from the package's")
    }
    XCTAssertEqual(file.entry("bf16")?.dtype, "BF16")
  }

  func testThePackageReadsWhatMoeKitWrites() throws {
    var tensors: [(key: String, array: NpyArray)] = [
      ("res.0.c1.weight", NpyArray(floats: (0..<24).map { Float($0) * 0.37 - 3 }, shape: [2, 3, 2, 2])),
      ("bn0.num_batches_tracked", NpyArray(int64s: [42], shape: [])),
      ("wide", NpyArray(int64s: [Int64.min, -1, Int64.max], shape: [3])),
      ("empty", NpyArray(floats: [], shape: [0, 4])),
    ]
    for t in NpyDType.allCases where t != .float32 && t != .int64 {
      // Raw bytes of each dtype (bool as 0/1).
      let n = 6
      let bytes = (0..<(n * t.itemSize)).map { t == .bool ? UInt8($0 % 2) : UInt8(truncatingIfNeeded: $0 * 37 + 11) }
      tensors.append(("t_\(t.rawValue)", try NpyArray(dtype: t, shape: [2, 3], data: t == .bool ? (0..<n).map { UInt8($0 % 2) } : bytes)))
    }
    let url = work.appendingPathComponent("moekit.safetensors")
    try SafeTensorsFile.write(tensors, metadata: ["format": "pt", "source": "test"], to: url)
    let out = work.appendingPathComponent("read")
    try TestSupport.python(["Converters/torch/safetensors_oracle.py", "read", url.path, out.path])
    let listing = try JSONDecoder().decode(Listing.self, from: Data(contentsOf: out.appendingPathComponent("read.json")))
    XCTAssertEqual(listing.metadata, ["format": "pt", "source": "test"])
    XCTAssertEqual(Set(listing.tensors.keys), Set(tensors.map(\.key)))
    for (key, array) in tensors {
      let theirs = try Npy.read(out.appendingPathComponent(key + ".npy"))
      XCTAssertEqual(theirs.dtype, array.dtype, key)
      XCTAssertEqual(theirs.shape, array.shape, key)
      XCTAssertEqual(theirs.data, array.data, key)
    }
    // And MoeKit reads its own file back unchanged.
    let back = try SafeTensorsFile(url: url)
    for (key, array) in tensors { XCTAssertEqual(try back.array(key), array, key) }
  }

  /// A valid two-tensor file: `a` F32 [2] at [0, 8), `b` I8 [3] at [8, 11).
  func file(header: String, data: [UInt8] = Array(repeating: 1, count: 11), length: UInt64? = nil) -> Data {
    var d = Data()
    var n = (length ?? UInt64(header.utf8.count)).littleEndian
    withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
    d.append(contentsOf: Array(header.utf8))
    d.append(contentsOf: data)
    return d
  }

  func assertFails(_ data: Data, _ name: String, kind: MoeFormatError.Kind, key: String?, mentions: String,
                   file: StaticString = #filePath, line: UInt = #line) throws {
    let url = work.appendingPathComponent(name + ".safetensors")
    try data.write(to: url)
    XCTAssertThrowsError(try SafeTensorsFile(url: url), name, file: file, line: line) { error in
      guard let e = error as? MoeFormatError else { return XCTFail("\(name): \(error) is not a MoeFormatError", file: file, line: line) }
      XCTAssertEqual(e.kind, kind, "\(name): \(e)", file: file, line: line)
      XCTAssertEqual(e.file, url.path, file: file, line: line)
      XCTAssertEqual(e.key, key, "\(name): \(e)", file: file, line: line)
      XCTAssertTrue(e.description.contains(mentions), "\(name): '\(e)' should mention '\(mentions)'", file: file, line: line)
      XCTAssertFalse(e.description.contains("\n"), file: file, line: line)
    }
  }

  func testBrokenFilesGetOneClearErrorEach() throws {
    let a = #""a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#
    let b = #""b":{"dtype":"I8","shape":[3],"data_offsets":[8,11]}"#
    let good = "{\(a),\(b)}"
    XCTAssertEqual(try SafeTensorsFile(data: file(header: good), path: "good").keys, ["a", "b"])

    try assertFails(Data([1, 2, 3]), "tiny", kind: .truncated, key: nil, mentions: "8-byte header length")
    try assertFails(file(header: good, length: 1 << 40), "huge-length", kind: .truncated, key: nil, mentions: "header length 1099511627776")
    try assertFails(file(header: good, length: UInt64.max), "max-length", kind: .truncated, key: nil, mentions: "does not fit")
    try assertFails(file(header: "[1,2]", data: []), "not-object", kind: .badHeader, key: nil, mentions: "not a JSON object")
    try assertFails(file(header: "{\"a\":{\"dtype\"", data: []), "cut-json", kind: .badHeader, key: nil, mentions: "not a JSON object")
    try assertFails(file(header: "{\(a.replacingOccurrences(of: "[0,8]", with: "[0,4]")),\(b)}"), "size-lie", kind: .invalidArray, key: "a", mentions: "needs 8")
    try assertFails(file(header: "{\(a),\(b.replacingOccurrences(of: "[8,11]", with: "[5,8]").replacingOccurrences(of: "[3]", with: "[3]"))}", data: Array(repeating: 0, count: 8)),
                    "overlap", kind: .invalidArray, key: "b", mentions: "overlap those of 'a'")
    try assertFails(file(header: "{\(a),\(b.replacingOccurrences(of: "[8,11]", with: "[9,12]"))}", data: Array(repeating: 0, count: 12)),
                    "hole", kind: .invalidArray, key: "b", mentions: "no hole")
    try assertFails(file(header: "{\(a),\(b.replacingOccurrences(of: "[8,11]", with: "[8,1000011]").replacingOccurrences(of: "[3]", with: "[1000003]"))}"),
                    "out-of-range", kind: .truncated, key: "b", mentions: "run past the 11-byte data buffer")
    try assertFails(file(header: "{\(a),\(b.replacingOccurrences(of: "I8", with: "Q7"))}"), "dtype", kind: .unsupportedDType, key: "b", mentions: "unknown dtype 'Q7'")
    try assertFails(file(header: good, data: Array(repeating: 0, count: 10)), "truncated", kind: .truncated, key: "b", mentions: "run past")
    try assertFails(file(header: good, data: Array(repeating: 0, count: 12)), "trailing", kind: .trailingData, key: nil, mentions: "cover 11 bytes of the 12-byte")
    try assertFails(file(header: "{\(a.replacingOccurrences(of: "[2]", with: "[-2]")),\(b)}"), "negative", kind: .badHeader, key: "a", mentions: "non-negative")
    try assertFails(file(header: "{\(a.replacingOccurrences(of: "[0,8]", with: "[8,0]")),\(b)}"), "reversed", kind: .badHeader, key: "a", mentions: "begin ≤ end")
    try assertFails(file(header: "{\(a),\(b),\"__metadata__\":{\"x\":1}}"), "metadata", kind: .badHeader, key: "__metadata__", mentions: "object of strings")
  }
}

/// model.py export refuses what it cannot write, naming the node and the op.
final class PyTorchModuleWriterRefusalTests: XCTestCase {
  func testUnsupportedOpAndUnnamedWeightsAreRefusedByName() throws {
    var g = Graph(name: "pooled")
    g.inputs = [ValueInfo(name: "x", shape: Shape([1, 3, 8, 8]))]
    let p = g.add(.maxPool(PoolAttrs(kernel: [2, 2], strides: [2, 2])), ["x"], name: "pool1")
    g.outputs = [p]
    XCTAssertThrowsError(try PyTorchModuleWriter.source(g, sourceName: "m.moeir", weightsFile: "m.safetensors")) { e in
      XCTAssertTrue("\(e)".contains("pool1") && "\(e)".contains("max_pool"), "\(e)")
    }
    var h = Graph(name: "onnxish")
    h.inputs = [ValueInfo(name: "x", shape: Shape([1, 4]))]
    h.addWeight("W0", Tensor(shape: [2, 4], data: Array(repeating: 0.5, count: 8)))
    h.outputs = [h.add(.linear(.plain), ["x", "W0"], name: "dense")]
    XCTAssertThrowsError(try PyTorchModuleWriter.source(h, sourceName: "m.onnx", weightsFile: "m.safetensors")) { e in
      XCTAssertTrue("\(e)".contains("dense") && "\(e)".contains("'W0'") && "\(e)".contains("layer parameter"), "\(e)")
    }
  }
}
