// BundleTests: .moe bundles round-trip every encoding; broken bundles give one clear error each.
import Foundation
import MoeIR
import MoeQuant
@testable import MoeFormats
import XCTest

final class BundleTests: XCTestCase {
  func graph() -> Graph {
    var g = Graph(name: "b", metadata: ["arch": "test"])
    g.inputs = [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(3), .fixed(6), .fixed(6)]))]
    var rng = SplitMixForBundle(state: 3)
    g.addWeight("c/W", Tensor(shape: [5, 3, 3, 3], data: (0..<135).map { _ in rng.unit() }))
    g.addWeight("c/b", Tensor(shape: [5], data: (0..<5).map { _ in rng.unit() }))
    g.addWeight("d/W", Tensor(shape: [5, 2, 2, 2], data: (0..<40).map { _ in rng.unit() }))
    let c = g.add(.conv2d(ConvAttrs(pads: [1, 1, 1, 1], epilogue: Epilogue(activation: .relu))), ["x", "c/W", "c/b"], name: "c")
    g.add(.convTranspose2d(ConvTransposeAttrs(strides: [2, 2])), [c, "d/W"], name: "d", output: "y")
    g.outputs = ["y"]
    return g
  }

  func testRoundTripEveryEncoding() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bundle-\(UUID().uuidString.prefix(6))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let g = graph()
    for scheme in ["f32", "f16", "int8", "int4-g4", "palette4-pc", "palette16", "eightbit"] {
      for deflate in [false, true] {
        let url = dir.appendingPathComponent("\(scheme)-\(deflate).moe")
        let s = QuantScheme(name: scheme)!
        let summary = try MoeBundle.write(g, to: url, producer: "test", source: nil,
                                          encoding: { $0 == "d/W" && s != .float32 && s != .float16 && s != .eightbit ? QuantScheme(name: scheme + "-a1") ?? s : s },
                                          deflate: deflate)
        XCTAssertEqual(summary.fileBytes, try Data(contentsOf: url).count)
        XCTAssertEqual(summary.tensors.map(\.name), ["c/W", "c/b", "d/W"], "execution order")
        XCTAssertTrue(summary.tensors.allSatisfy { $0.offset % 64 == 0 })
        let back = try MoeBundle.read(url)
        XCTAssertEqual(IRText.print(back.graph).split(separator: "\n").filter { !$0.hasPrefix("meta") },
                       IRText.print(g).split(separator: "\n").filter { !$0.hasPrefix("meta") })
        for w in g.weights {
          let original = g.initializers[w.name]!
          let expected = try Quantizer.decode(try Quantizer.encode(original, as: QuantScheme(name: summary.tensors.first { $0.name == w.name }!.encoding)!))
          XCTAssertEqual(back.graph.initializers[w.name], expected, "\(scheme) \(w.name)")
        }
      }
    }
  }

  func testBrokenBundles() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bundle-\(UUID().uuidString.prefix(6))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("ok.moe")
    try MoeBundle.write(graph(), to: url, producer: "test", source: nil, encoding: { _ in .int8(axis: 0) })
    let good = [UInt8](try Data(contentsOf: url))
    func check(_ bytes: [UInt8], _ mention: String, file: StaticString = #filePath, line: UInt = #line) throws {
      let bad = dir.appendingPathComponent("bad.moe")
      try Data(bytes).write(to: bad)
      XCTAssertThrowsError(try MoeBundle.read(bad), file: file, line: line) { e in
        XCTAssertTrue("\(e)".contains(mention) && "\(e)".contains(bad.path), "'\(e)' should mention \(mention)", file: file, line: line)
        XCTAssertFalse("\(e)".contains("\n"), file: file, line: line)
      }
    }
    var magic = good
    magic[1] = 0
    try check(magic, "bad magic")
    var version = good
    version[8] = 7
    try check(version, "version 7")
    var flipped = good
    flipped[good.count - 10] ^= 0xFF
    try check(flipped, "SHA-256")
    try check(Array(good.prefix(good.count - 100)), "bytes")
    try check(Array(good.prefix(50)), "header")
    try check([], "header")
    // An unknown encoding (with a correct checksum): rewrite the manifest and re-hash.
    let text = String(decoding: good[128..<(128 + Int(good[24]) + Int(good[25]) << 8)], as: UTF8.self)
    let renamed = text.replacingOccurrences(of: "\"int8\"", with: "\"int9\"")
    var unknown = good
    unknown.replaceSubrange(128..<(128 + renamed.utf8.count), with: Array(renamed.utf8))
    unknown.replaceSubrange(64..<96, with: MoeBundle.contentDigest(unknown[128...]))
    try check(unknown, "unknown encoding 'int9'")
  }

  /// Every bit of every reserved header byte (56–63, 96–127, outside the SHA-256's range) is checked: one flipped
  /// bit is refused with the file and the offset named; the unflipped bundle reads.
  /// Offsets and lengths near UInt64.max in a damaged header are refused, never a trap (found by the bundle fuzzer).
  func testHugeHeaderLengthsAreRefused() throws {
    let dir = try TemporaryDirectory()
    let url = dir.file("ok.moe")
    try MoeBundle.write(graph(), to: url, producer: "test", source: nil, encoding: { _ in .float32 })
    let good = [UInt8](try Data(contentsOf: url))
    for offset in [24, 40] {
      var bytes = good
      for i in 0..<8 { bytes[offset + i] = 0xFF }
      let bad = dir.file("huge-\(offset).moe")
      try Data(bytes).write(to: bad)
      XCTAssertThrowsError(try MoeBundle.read(bad)) { XCTAssertTrue("\($0)".contains("inconsistent header offsets"), "\($0)") }
    }
  }

  func testFlippedReservedHeaderBitsAreRefused() throws {
    let dir = try TemporaryDirectory()
    let url = dir.file("ok.moe")
    try MoeBundle.write(graph(), to: url, producer: "test", source: nil, encoding: { _ in .float32 })
    let good = [UInt8](try Data(contentsOf: url))
    XCTAssertNoThrow(try MoeBundle.read(url))
    XCTAssertEqual(MoeBundle.reservedHeaderBytes.count, 40)
    for offset in MoeBundle.reservedHeaderBytes {
      XCTAssertEqual(good[offset], 0, "writer leaves reserved byte \(offset) zero")
      for bit in 0..<8 {
        var bytes = good
        bytes[offset] ^= UInt8(1 << bit)
        let bad = dir.file("flip-\(offset)-\(bit).moe")
        try Data(bytes).write(to: bad)
        XCTAssertThrowsError(try MoeBundle.read(bad)) { e in
          let text = "\(e)"
          XCTAssertTrue(text.hasPrefix(bad.path + ": ") && text.contains("reserved header byte at offset \(offset)"), text)
          XCTAssertFalse(text.contains("\n"), text)
        }
      }
    }
  }

  func testLegacyVocabularyFieldBecomesMetadata() throws {
    // A bundle from before the vocabulary travelled as metadata: only the manifest's `vocabulary` names it.
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bundle-\(UUID().uuidString.prefix(6))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    var g = Graph(name: "tiny")
    g.inputs = [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(4)]))]
    g.addWeight("w", Tensor(shape: [3, 4], data: (0..<12).map(Float.init)))
    g.add(.linear(.plain), ["x", "w"], name: "y")
    g.outputs = ["y"]
    let url = dir.appendingPathComponent("old.moe")
    try MoeBundle.write(g, to: url, producer: "test", source: nil)
    var contents = try MoeBundle.read(url)
    XCTAssertNil(contents.manifest.vocabulary)
    XCTAssertEqual(try ModelPriors(of: contents.graph), ModelPriors())
    let vocab = TagVocabulary(noiseLength: 2, groups: [.init(name: "hair", oneOf: true, tags: ["a", "b"], prior: [1, 3])])
    contents.manifest.vocabulary = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(vocab))
    try MoeBundle.restoreVocabulary(contents.manifest, into: &contents.graph, fail: { MoeFormatError(.badHeader, file: "old.moe", key: nil, $0) })
    XCTAssertEqual(try ModelPriors(of: contents.graph), ModelPriors(vocabulary: vocab, inputs: ["x": .noiseAndTags]))
    // Written again, the vocabulary is metadata and the manifest field is derived from it.
    let again = dir.appendingPathComponent("new.moe")
    try MoeBundle.write(contents.graph, to: again, producer: "test", source: nil)
    let back = try MoeBundle.read(again)
    XCTAssertEqual(back.manifest.vocabulary, contents.manifest.vocabulary)
    XCTAssertEqual(back.manifest.metadata["input_prior"], #"{"x":"noise+tags"}"#)
    XCTAssertNil(back.manifest.metadata["tag_vocabulary"], "the manifest holds the vocabulary once, as `vocabulary`")
  }

  func testSHA256MatchesSha256sum() {
    // FIPS 180-4 examples and seeded random bytes around the 64-byte block boundaries; `sha256sum` is the reference.
    var rng = SplitMixForBundle(state: 11)
    let random = (0..<3).map { k in String(decoding: (0..<(55 + 9 * k + 4096 * k)).map { _ in UInt8(32 + Int((rng.unit() + 1) * 40)) }, as: UTF8.self) }
    for text in ["", "abc", String(repeating: "a", count: 1000)] + random {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
      let pipe = Pipe(), input = Pipe()
      p.standardOutput = pipe
      p.standardInput = input
      try! p.run()
      input.fileHandleForWriting.write(Data(text.utf8))
      try! input.fileHandleForWriting.close()
      p.waitUntilExit()
      let expected = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(64)
      XCTAssertEqual(ModelFile.sha256Hex(Array(text.utf8)), String(expected))
    }
  }
}

struct SplitMixForBundle {
  var state: UInt64
  mutating func unit() -> Float {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return Float((z ^ (z >> 31)) >> 40) / Float(1 << 24) * 2 - 1
  }
}
