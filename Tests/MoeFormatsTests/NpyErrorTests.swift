// NpyErrorTests: damaged, unsupported and hand-made .npy files, and atomic writing.
import Foundation
import MoeFormats
import XCTest

final class NpyErrorTests: XCTestCase {
  /// numpy writes `a.npy` (float32, 2×3) and `v2.npy` (format 2.0) and prints their data sizes.
  private func makeReference(_ dir: TemporaryDirectory) throws -> (v1: Data, v2: Data, dataBytes: Int) {
    let script = """
      a = np.arange(6, dtype='<f4').reshape(2, 3)
      np.save(os.path.join(sys.argv[1], 'a.npy'), a)
      with open(os.path.join(sys.argv[1], 'v2.npy'), 'wb') as f:
          np.lib.format.write_array(f, a, version=(2, 0))
      print(a.nbytes)
      """
    let output = try NumpyOracle.run(script, [dir.url.path])
    let dataBytes = try XCTUnwrap(Int(output.trimmingCharacters(in: .whitespacesAndNewlines)))
    return (try Data(contentsOf: dir.file("a.npy")), try Data(contentsOf: dir.file("v2.npy")), dataBytes)
  }

  func testEveryTruncationThrowsAndNamesTheMissingBytes() throws {
    let dir = try TemporaryDirectory()
    let reference = try makeReference(dir)
    for (label, full) in [("v1", reference.v1), ("v2", reference.v2)] {
      let headerEnd = full.count - reference.dataBytes
      for cut in 0..<full.count {
        let url = dir.file("\(label)-cut\(cut).npy")
        try full.prefix(cut).write(to: url)
        let detail =
          cut >= headerEnd
          ? "data truncated: expected \(reference.dataBytes) bytes, found \(cut - headerEnd)" : nil
        assertFormatError({ _ = try Npy.read(url) }, kind: .kind(.truncated), path: url.path, contains: detail)
      }
    }
  }

  func testDamagedPreambleAndTrailingBytes() throws {
    let dir = try TemporaryDirectory()
    let reference = try makeReference(dir)
    func variant(_ name: String, _ edit: (inout [UInt8]) -> Void) throws -> URL {
      var bytes = [UInt8](reference.v1)
      edit(&bytes)
      let url = dir.file(name)
      try Data(bytes).write(to: url)
      return url
    }
    let badMagic = try variant("magic.npy") { $0[1] = UInt8(ascii: "X") }
    assertFormatError(
      { _ = try Npy.read(badMagic) }, kind: .kind(.badMagic), path: badMagic.path,
      contains: "expected \\x93NUMPY")
    let text = try variant("text.npy") { $0 = Array("hello, world\n".utf8) }
    assertFormatError({ _ = try Npy.read(text) }, kind: .kind(.badMagic), path: text.path)
    let version = try variant("version.npy") { $0[6] = 4 }
    assertFormatError(
      { _ = try Npy.read(version) }, kind: .kind(.unsupportedVersion), path: version.path,
      contains: "expected 1.0, 2.0 or 3.0")
    let trailing = try variant("trailing.npy") { $0.append(0) }
    assertFormatError({ _ = try Npy.read(trailing) }, kind: .kind(.trailingData), path: trailing.path)
    let missing = dir.file("missing.npy")
    assertFormatError({ _ = try Npy.read(missing) }, kind: .kind(.io), path: missing.path)
  }

  /// Every single-byte change in the header either parses or throws a `MoeFormatError`.
  func testHeaderByteFlipsNeverCrash() throws {
    let dir = try TemporaryDirectory()
    let reference = try makeReference(dir)
    let headerEnd = reference.v1.count - reference.dataBytes
    for position in 6..<headerEnd {
      for replacement: UInt8 in [0x00, 0x27, 0x28, 0x29, 0x2C, 0x7B, 0x7D, 0xFF] {
        var bytes = [UInt8](reference.v1)
        bytes[position] = replacement
        do {
          _ = try Npy.decode(bytes, file: "flip.npy")
        } catch let error as MoeFormatError {
          XCTAssertTrue(error.description.hasPrefix("flip.npy: "), error.description)
        }
      }
    }
  }

  func testUnsupportedDtypesAreNamed() throws {
    let dir = try TemporaryDirectory()
    let script = """
      for name, a in [('c8', np.zeros(3, np.complex64)), ('U3', np.array(['abc'])),
                      ('rec', np.zeros(2, dtype=[('x', '<f4'), ('y', '<i4')]))]:
          np.save(os.path.join(sys.argv[1], name + '.npy'), a)
      """
    _ = try NumpyOracle.run(script, [dir.url.path])
    for name in ["c8", "U3", "rec"] {
      let url = dir.file(name + ".npy")
      assertFormatError(
        { _ = try Npy.read(url) }, kind: .kind(.unsupportedDType), path: url.path,
        contains: "unsupported")
    }
  }

  /// Python 2's `(2L, 3L)`, other key orders and double quotes: read as numpy reads them.
  func testHandWrittenHeadersReadLikeNumpy() throws {
    let dir = try TemporaryDirectory()
    let headers = [
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }",
      "{\"shape\": (2, 3), \"descr\": \"<f4\", \"fortran_order\": True}",
      "{'fortran_order': False,'shape':(6,),'descr':'>f4'}",
    ]
    let payload = (0..<6).flatMap { value -> [UInt8] in
      withUnsafeBytes(of: Float(value).bitPattern.littleEndian, Array.init)
    }
    for (index, header) in headers.enumerated() {
      var bytes = Array("\u{93}NUMPY".unicodeScalars.map { UInt8($0.value) }) + [1, 0]
      let text = Array((header + "\n").utf8)
      bytes += [UInt8(text.count & 0xFF), UInt8(text.count >> 8)] + text + payload
      try Data(bytes).write(to: dir.file("h\(index).npy"))
    }
    let script = """
      for i in range(int(sys.argv[2])):
          a = np.load(os.path.join(sys.argv[1], f'h{i}.npy'))
          np.save(os.path.join(sys.argv[1], f'h{i}.ref.npy'), a.astype(a.dtype.newbyteorder('<'), order='C'))
      """
    _ = try NumpyOracle.run(script, [dir.url.path, String(headers.count)])
    for index in headers.indices {
      XCTAssertEqual(
        try Npy.read(dir.file("h\(index).npy")), try Npy.read(dir.file("h\(index).ref.npy")), headers[index])
    }
  }

  func testWriteIsAtomic() throws {
    let dir = try TemporaryDirectory()
    let target = dir.file("w.npy")
    let first = NpyArray(floats: [1, 2, 3], shape: [3])
    try Npy.write(first, to: target)
    let second = NpyArray(floats: [Float](repeating: 7, count: 1000), shape: [10, 100])
    try Npy.write(second, to: target)
    XCTAssertEqual(try Npy.read(target), second)
    // A failed write leaves the old file and no temporary files behind.
    var broken = second
    broken.data.removeLast()
    assertFormatError({ try Npy.write(broken, to: target) }, kind: .kind(.invalidArray), path: target.path)
    XCTAssertEqual(try Npy.read(target), second)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.url.path), ["w.npy"])
    let nowhere = dir.file("no/such/dir/x.npy")
    assertFormatError({ try Npy.write(first, to: nowhere) }, kind: .kind(.io), path: nowhere.path)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.url.path), ["w.npy"])
  }
}
