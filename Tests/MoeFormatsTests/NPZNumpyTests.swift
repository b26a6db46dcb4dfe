// NPZNumpyTests: .npz archives from numpy.savez / savez_compressed read, and ours read by numpy.
import Foundation
import MoeFormats
import XCTest

final class NPZNumpyTests: XCTestCase {
  /// Writes `stored.npz` (savez) and `deflated.npz` (savez_compressed) holding Chainer-style keys,
  /// and each array as `ref/<i>.npy` in little-endian C order; prints the keys in archive order.
  static let archiveScript = """
    out = sys.argv[1]
    rng = np.random.default_rng(11)
    arrays = {
        'res/0/c1/W': rng.standard_normal((4, 3, 3, 3)).astype('<f4'),
        'res/0/c1/b': rng.standard_normal(4).astype('>f4'),
        'updater/model:main/fc/W': np.asfortranarray(rng.standard_normal((5, 7)).astype('<f8')),
        'updater/model:main/fc/b': rng.standard_normal(7).astype('<f2'),
        'bn/N': np.array(12345678901, dtype='<i8'),
        'bn/avg_mean': np.zeros((0, 3), dtype='<f4'),
        'flags': rng.integers(0, 2, (2, 2)).astype(bool),
        'big/W': rng.standard_normal((64, 1000)).astype('>f4'),
        'u8': rng.integers(0, 255, (3, 5), dtype=np.uint8),
    }
    np.savez(os.path.join(out, 'stored.npz'), **arrays)
    np.savez_compressed(os.path.join(out, 'deflated.npz'), **arrays)
    os.mkdir(os.path.join(out, 'ref'))
    keys = [n[:-4] for n in zipfile.ZipFile(os.path.join(out, 'stored.npz')).namelist()]
    for i, k in enumerate(keys):
        a = arrays[k]
        np.save(os.path.join(out, 'ref', f'{i}.npy'), a.astype(a.dtype.newbyteorder('<'), order='C'))
    print(json.dumps(keys))
    """

  /// Makes the archives; returns the keys in archive order and the reference arrays by key.
  static func makeArchives(in dir: TemporaryDirectory) throws -> (keys: [String], arrays: [String: NpyArray]) {
    let output = try NumpyOracle.run(archiveScript, [dir.url.path])
    let keys = try JSONDecoder().decode([String].self, from: Data(output.utf8))
    var arrays: [String: NpyArray] = [:]
    for (index, key) in keys.enumerated() { arrays[key] = try Npy.read(dir.file("ref/\(index).npy")) }
    return (keys, arrays)
  }

  func testReadsSavezAndSavezCompressed() throws {
    let dir = try TemporaryDirectory()
    let (keys, reference) = try Self.makeArchives(in: dir)
    XCTAssertEqual(keys.count, 9)
    for name in ["stored.npz", "deflated.npz"] {
      let npz = try NPZFile(url: dir.file(name))
      XCTAssertEqual(npz.keys, keys, name)
      for key in keys {
        XCTAssertTrue(npz.contains(key))
        assertSameArray(try npz.array(key), reference[key], "\(name): \(key)")
      }
      assertSameArrays(try npz.readAll(), reference, name)
    }
  }

  func testMissingKeyErrorListsTheKeysPresent() throws {
    let dir = try TemporaryDirectory()
    let (keys, _) = try Self.makeArchives(in: dir)
    let url = dir.file("deflated.npz")
    let npz = try NPZFile(url: url)
    XCTAssertFalse(npz.contains("fc/W"))
    assertFormatError(
      { _ = try npz.array("fc/W") }, kind: .kind(.keyNotFound), path: url.path, key: "fc/W",
      contains: "not found (have \(keys.count) keys: '\(keys[0])'")
  }

  func testPickledNoneParameterNamesFileAndKey() throws {
    let dir = try TemporaryDirectory()
    let script = """
      np.savez(os.path.join(sys.argv[1], 'model.npz'), **{'res/3/c1/W': np.array(None, dtype=object),
                                                         'res/3/c1/b': np.zeros(3, '<f4')})
      """
    _ = try NumpyOracle.run(script, [dir.url.path])
    let url = dir.file("model.npz")
    let npz = try NPZFile(url: url)
    XCTAssertEqual(try npz.array("res/3/c1/b"), NpyArray(floats: [0, 0, 0], shape: [3]))
    assertFormatError(
      { _ = try npz.array("res/3/c1/W") }, kind: .kind(.pickledObject), path: url.path, key: "res/3/c1/W",
      contains: "pickled object array")
    assertFormatError({ _ = try npz.readAll() }, kind: .kind(.pickledObject), path: url.path, key: "res/3/c1/W")
  }

  /// Our archives, stored and deflated, load in numpy with the same keys (in order) and arrays.
  func testNumpyReadsWhatWeWrite() throws {
    let dir = try TemporaryDirectory()
    let (keys, reference) = try Self.makeArchives(in: dir)
    let ordered = keys.map { (key: $0, array: reference[$0]!) }
    try NPZFile.write(ordered, to: dir.file("ours-deflated.npz"))
    try NPZFile.write(ordered, to: dir.file("ours-stored.npz"), compression: .stored)
    try NPZFile.write(reference, to: dir.file("ours-sorted.npz"))
    let script = """
      d = sys.argv[1]
      theirs = np.load(os.path.join(d, 'stored.npz'))
      for name, order in [('ours-deflated', theirs.files), ('ours-stored', theirs.files),
                          ('ours-sorted', sorted(theirs.files))]:
          path = os.path.join(d, name + '.npz')
          assert zipfile.ZipFile(path).testzip() is None, name
          ours = np.load(path)
          assert ours.files == order, (name, ours.files, order)
          for k in order:
              a, b = ours[k], theirs[k]
              assert a.dtype == b.dtype.newbyteorder('<') or a.dtype == b.dtype, (name, k, a.dtype, b.dtype)
              assert a.shape == b.shape and np.array_equal(a, b), (name, k)
      print('ok')
      """
    XCTAssertEqual(try NumpyOracle.run(script, [dir.url.path]), "ok\n")
    for name in ["ours-deflated.npz", "ours-stored.npz", "ours-sorted.npz"] {
      assertSameArrays(try NPZFile(url: dir.file(name)).readAll(), reference, name)
    }
  }

  func testWriteRejectsBadInputWithoutTouchingTheTarget() throws {
    let dir = try TemporaryDirectory()
    let url = dir.file("w.npz")
    let good = NpyArray(floats: [1, 2], shape: [2])
    try NPZFile.write([(key: "a", array: good)], to: url)
    var broken = good
    broken.shape = [3]
    assertFormatError(
      { try NPZFile.write([(key: "a", array: good), (key: "b", array: broken)], to: url) },
      kind: .kind(.invalidArray), path: url.path, key: "b")
    assertFormatError(
      { try NPZFile.write([(key: "a", array: good), (key: "a", array: good)], to: url) }, path: url.path, key: "a")
    XCTAssertEqual(try NPZFile(url: url).readAll(), ["a": good])
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.url.path), ["w.npz"])
  }
}
