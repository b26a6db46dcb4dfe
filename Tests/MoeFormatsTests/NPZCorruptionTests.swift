// NPZCorruptionTests: truncated, garbled, empty and random archives throw; nothing traps or hangs.
import Foundation
import MoeFormats
import MoeTestSupport
import XCTest

final class NPZCorruptionTests: XCTestCase {
  /// Truncation points per archive: every 1/37 of its length.
  static let truncationSteps = 37

  /// Opens `url` and reads every array; returns the arrays or the `MoeFormatError`.
  /// Any other error type fails the test.
  private func readEverything(_ url: URL, file: StaticString = #filePath, line: UInt = #line)
    -> Result<[NpyArray], MoeFormatError>?
  {
    do {
      let npz = try NPZFile(url: url)
      return .success(try npz.keys.map { try npz.array($0) })
    } catch let error as MoeFormatError {
      let text = error.description
      XCTAssertFalse(text.contains("\n"), text, file: file, line: line)
      XCTAssertTrue(text.hasPrefix(url.path + ": "), "error does not name the file: \(text)", file: file, line: line)
      return .failure(error)
    } catch {
      XCTFail("\(url.lastPathComponent): not a MoeFormatError: \(type(of: error)) \(error)", file: file, line: line)
      return nil
    }
  }

  private func write(_ bytes: [UInt8], _ url: URL) throws -> URL {
    try Data(bytes).write(to: url)
    return url
  }

  /// Cut lengths: the first 10 bytes, 50%, 90%, 99%, one short, and every 1/37.
  private func cuts(of count: Int) -> [Int] {
    var result = [0, 10, count / 2, count * 9 / 10, count * 99 / 100, count - 1]
    result += (0..<Self.truncationSteps).map { count * $0 / Self.truncationSteps }
    return Array(Set(result)).sorted()
  }

  func testTruncatedArchivesThrow() throws {
    let dir = try TemporaryDirectory()
    _ = try NPZNumpyTests.makeArchives(in: dir)
    for name in ["stored", "deflated"] {
      let full = [UInt8](try Data(contentsOf: dir.file(name + ".npz")))
      for cut in cuts(of: full.count) {
        let url = try write(Array(full.prefix(cut)), dir.file("\(name)-\(cut).npz"))
        guard case .failure(let error)? = readEverything(url) else {
          XCTFail("\(name) cut at \(cut) of \(full.count) did not throw")
          continue
        }
        if cut > 0 {
          XCTAssertTrue([.truncated, .corruptZip].contains(error.kind), error.description)
        }
      }
    }
  }

  /// Bytes removed from the middle keep the end record but break every offset after the cut.
  func testArchivesWithMiddleBytesRemovedThrow() throws {
    let dir = try TemporaryDirectory()
    _ = try NPZNumpyTests.makeArchives(in: dir)
    for name in ["stored", "deflated"] {
      let full = [UInt8](try Data(contentsOf: dir.file(name + ".npz")))
      for cut in cuts(of: full.count) where cut > 0 && cut < full.count - 200 {
        let shortened = Array(full[..<cut]) + Array(full[(cut + 100)...])
        let url = try write(shortened, dir.file("\(name)-gap\(cut).npz"))
        guard case .failure? = readEverything(url) else {
          XCTFail("\(name) with 100 bytes removed at \(cut) did not throw")
          continue
        }
      }
    }
  }

  /// numpy writes a small archive; every byte of it is flipped in turn. Each result either
  /// throws or, when the byte was unused (timestamps, attributes), reads the original arrays.
  func testEveryByteFlipIsDetectedOrHarmless() throws {
    let dir = try TemporaryDirectory()
    let script = """
      arrays = {'a/W': np.arange(6, dtype='<f4').reshape(2, 3), 'b': np.array(3, '<i8')}
      np.savez(os.path.join(sys.argv[1], 'stored.npz'), **arrays)
      np.savez_compressed(os.path.join(sys.argv[1], 'deflated.npz'), **arrays)
      """
    _ = try NumpyOracle.run(script, [dir.url.path])
    for name in ["stored", "deflated"] {
      let url = dir.file(name + ".npz")
      guard case .success(let original)? = readEverything(url) else { return XCTFail("cannot read \(name)") }
      let full = [UInt8](try Data(contentsOf: url))
      var detected = 0
      for position in full.indices {
        var bytes = full
        bytes[position] ^= 0xFF
        let flipped = try write(bytes, dir.file("\(name)-flip.npz"))
        switch readEverything(flipped) {
        case .success(let arrays)?:
          XCTAssertEqual(arrays.count, original.count, "\(name): flip at \(position)")
          for (got, want) in zip(arrays, original) { assertSameArray(got, want, "\(name): flip at \(position)") }
        case .failure?: detected += 1
        case nil: break
        }
      }
      XCTAssertGreaterThan(detected, full.count / 2, "\(name): most flips must be detected")
    }
  }

  /// A central directory claiming half the deflated size: the inflater runs out of input.
  func testDeflateStreamShorterThanRecordedThrows() throws {
    let dir = try TemporaryDirectory()
    let script = """
      np.savez_compressed(os.path.join(sys.argv[1], 'd.npz'), w=np.random.default_rng(1).standard_normal(5000))
      z = zipfile.ZipFile(os.path.join(sys.argv[1], 'd.npz'))
      info = z.infolist()[0]
      print(info.compress_size, info.file_size)
      """
    let sizes = try NumpyOracle.run(script, [dir.url.path]).split(separator: " ").compactMap {
      UInt32($0.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    XCTAssertEqual(sizes.count, 2)
    let full = [UInt8](try Data(contentsOf: dir.file("d.npz")))
    // The central record's compressed-size field (offset 20) holds the size numpy printed.
    let central = try XCTUnwrap(
      (0..<full.count - 4).last { full[$0..<$0 + 4].elementsEqual([0x50, 0x4B, 0x01, 0x02]) })
    let field = central + 20
    XCTAssertEqual(full[field..<field + 4].enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * $1.offset) }, sizes[0])
    var bytes = full
    for (index, byte) in withUnsafeBytes(of: (sizes[0] / 2).littleEndian, Array.init).enumerated() {
      bytes[field + index] = byte
    }
    let url = try write(bytes, dir.file("short.npz"))
    guard case .failure(let error)? = readEverything(url) else { return XCTFail("short deflate stream accepted") }
    XCTAssertEqual(error.kind, .truncated, error.description)
    XCTAssertEqual(error.key, "w")
  }

  /// An intact directory around a deflate stream cut in half (stored deflate blocks, as zlib
  /// makes for random bytes): ZIPFoundation 0.9.20's own `extract` spins forever on this one.
  func testTruncatedDeflateStreamInsideIntactArchiveThrows() throws {
    let dir = try TemporaryDirectory()
    let script = """
      import zlib, struct
      raw = np.random.default_rng(0).integers(0, 256, 200000, dtype=np.uint8)
      buf = __import__('io').BytesIO(); np.save(buf, raw); raw = buf.getvalue()
      co = zlib.compressobj(6, zlib.DEFLATED, -15)
      comp = co.compress(raw) + co.flush()
      for label, data in [('half', comp[:len(comp) // 2]), ('whole-but-one', comp[:-1])]:
          name, crc = b'w.npy', zlib.crc32(raw)
          local = struct.pack('<IHHHHHIIIHH', 0x04034b50, 20, 0, 8, 0, 0, crc, len(data), len(raw), len(name), 0)
          central = struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 20, 20, 0, 8, 0, 0, crc, len(data), len(raw),
                                len(name), 0, 0, 0, 0, 0, 0)
          body = local + name + data
          end = struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, 1, 1, len(central) + len(name), len(body), 0)
          open(os.path.join(sys.argv[1], label + '.npz'), 'wb').write(body + central + name + end)
          assert zipfile.ZipFile(os.path.join(sys.argv[1], label + '.npz')).namelist() == ['w.npy']
      """
    _ = try NumpyOracle.run(script, [dir.url.path])
    for label in ["half", "whole-but-one"] {
      let url = dir.file(label + ".npz")
      let npz = try NPZFile(url: url)
      XCTAssertEqual(npz.keys, ["w"])
      assertFormatError(
        { _ = try npz.array("w") }, kind: .kind(.truncated), path: url.path, key: "w",
        contains: "deflate stream ends")
    }
  }

  func testEmptyRandomAndNonZipFilesThrow() throws {
    let dir = try TemporaryDirectory()
    var generator = SplitMix64(seed: 2024)
    let empty = try write([], dir.file("empty.npz"))
    assertFormatError({ _ = try NPZFile(url: empty) }, kind: .kind(.notZip), path: empty.path)
    for length in [1, 3, 21, 22, 100, 4096, 70_000] {
      let random = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
      for (label, bytes) in [("random", random), ("pk", [0x50, 0x4B, 0x03, 0x04] + random)] {
        let url = try write(bytes, dir.file("\(label)-\(length).npz"))
        guard case .failure? = readEverything(url) else { return XCTFail("\(label) \(length) bytes accepted") }
      }
    }
    let npy = dir.file("x.npz")
    _ = try NumpyOracle.run("np.save(sys.argv[1], np.zeros(3))", [dir.file("x.npy").path])
    try FileManager.default.moveItem(at: dir.file("x.npy"), to: npy)
    assertFormatError({ _ = try NPZFile(url: npy) }, kind: .kind(.notZip), path: npy.path, contains: "not a zip archive")
    let missing = dir.file("missing.npz")
    assertFormatError({ _ = try NPZFile(url: missing) }, kind: .kind(.io), path: missing.path)
    assertFormatError({ _ = try NPZFile(url: dir.url) }, kind: .kind(.io), path: dir.url.path)
  }
}
