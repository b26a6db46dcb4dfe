// HDF5Tests: HDF5File round trips against h5py for every dtype, and clean errors on broken files.
import Foundation
import MoeFormats
import MoeTestSupport
import XCTest

final class HDF5Tests: XCTestCase {
  /// Every dtype in several shapes (array, scalar, 0-size, single element), seeded values.
  static func sampleArrays(seed: UInt64) -> [(key: String, array: NpyArray)] {
    var generator = SplitMix64(seed: seed)
    var result: [(key: String, array: NpyArray)] = []
    for dtype in NpyDType.allCases {
      for (name, shape) in [("array", [3, 4, 5]), ("scalar", []), ("zero", [0, 3]), ("one", [1]), ("vector", [7])] {
        let count = shape.reduce(1, *)
        var data: [UInt8] = []
        for _ in 0..<count {
          let value = Double(Int64(bitPattern: generator.next()) >> 11) / Double(1 << 50)  // about ±4
          switch dtype {
          case .float16: data += littleEndian(Float16(value).bitPattern)
          case .float32: data += littleEndian(Float(value).bitPattern)
          case .float64: data += littleEndian(value.bitPattern)
          case .bool: data.append(UInt8(generator.next() & 1))
          default: data += littleEndian(generator.next()).prefix(dtype.itemSize)
          }
        }
        result.append((key: "\(dtype.rawValue)/\(name)", array: try! NpyArray(dtype: dtype, shape: shape, data: data)))
      }
    }
    return result
  }

  func testEveryDTypeWrittenByMoeKitReadsInH5py() throws {
    let dir = try TemporaryDirectory()
    let arrays = Self.sampleArrays(seed: 1)
    for compression in [HDF5Compression.none, .gzip(level: 4)] {
      let url = dir.file("moekit-\(compression).h5")
      try HDF5File.write(arrays, emptyKeys: ["lazy/W"], to: url, compression: compression)
      let dumped = try HDF5Oracle.parseDump(HDF5Oracle.run("print(json.dumps(dump(sys.argv[1])))", [url.path]))
      XCTAssertEqual(dumped.keys.sorted(), (arrays.map(\.key) + ["lazy/W"]).sorted())
      for (key, array) in arrays {
        guard let entry = dumped[key], let entry else { XCTFail("\(key) missing or empty in h5py"); continue }
        HDF5Oracle.assertSame(array, entry, "h5py reading \(key) (\(compression))")
      }
      XCTAssertEqual(dumped["lazy/W"], .some(nil), "an empty key is an empty dataset")
      // And MoeKit reads its own file back.
      let file = try HDF5File(url: url)
      XCTAssertEqual(file.keys, (arrays.map(\.key) + ["lazy/W"]).sorted())
      XCTAssertTrue(file.isEmpty("lazy/W"))
      for (key, array) in arrays { assertSameArray(try file.array(key), array, "MoeKit reading \(key)") }
    }
  }

  func testEveryDTypeWrittenByH5pyReadsInMoeKit() throws {
    let script = """
      rng = np.random.RandomState(0)
      out = {}
      with h5py.File(sys.argv[1], 'w', libver=sys.argv[2]) as f:
          def put(name, a, **kw):
              f.create_dataset(name, data=a, **kw)
              out[name] = entry(a)
          for code in ['f2', 'f4', 'f8', 'i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8', 'b1']:
              for order in '<>':
                  dt = np.dtype(order + code)
                  if code[0] == 'f':
                      a = (rng.standard_normal((3, 4, 5)) * 50).astype(dt)
                  elif code == 'b1':
                      a = rng.randint(0, 2, (3, 4, 5)).astype(bool)
                  else:
                      a = np.frombuffer(rng.bytes(60 * dt.itemsize), dtype=dt).reshape(3, 4, 5)
                  base = '%s/%s/' % (code, 'big' if order == '>' else 'little')
                  put(base + 'array', a)
                  put(base + 'gzip', a, compression='gzip', compression_opts=4)
                  put(base + 'chunked', a, chunks=(1, 2, 5), compression='gzip', shuffle=True)
                  put(base + 'scalar', a.reshape(-1)[0].copy().reshape(()))
                  put(base + 'zero', np.zeros((0, 3), dtype=dt))
          f.create_dataset('nested/deeper/empty', data=h5py.Empty('f'))
          out['nested/deeper/empty'] = None
      print(json.dumps(out))
      """
    let dir = try TemporaryDirectory()
    // h5py's HDF5 (2.x) writes the format of HDF5 1.8 and 1.10 when asked, which libhdf5 1.10
    // reads; with libver 'latest' some datasets use newer messages: those must fail cleanly.
    for libver in ["earliest", "v108", "v110", "latest"] {
      let url = dir.file("h5py-\(libver).h5")
      let expected = try HDF5Oracle.parseDump(HDF5Oracle.run(script, [url.path, libver]))
      let file = try HDF5File(url: url)
      XCTAssertEqual(file.keys, expected.keys.sorted(), libver)
      var unreadable: [String] = []
      for (key, entry) in expected {
        if let entry {
          do {
            HDF5Oracle.assertSame(try file.array(key), entry, "\(key) (libver \(libver))")
          } catch let error as MoeFormatError where libver == "latest" {
            XCTAssertTrue(error.description.hasPrefix("\(url.path): key '\(key)': "), error.description)
            XCTAssertFalse(error.description.contains("\n"))
            unreadable.append(key)
          }
          XCTAssertFalse(file.isEmpty(key))
        } else {
          XCTAssertTrue(file.isEmpty(key), key)
          assertFormatError(
            { _ = try file.array(key) }, kind: .kind(.emptyDataset), path: url.path, key: key,
            contains: "empty dataset (lazily-initialised parameter saved as None?); expected a numeric array")
        }
      }
      if !unreadable.isEmpty { print("libver \(libver): \(unreadable.count) of \(expected.count) datasets unreadable by libhdf5 1.10") }
      XCTAssertTrue(file.contains("/f4/big/array"), "a leading slash is ignored")
    }
  }

  func testWriteRejectsBadKeysAndKeepsTheOldFile() throws {
    let dir = try TemporaryDirectory()
    let url = dir.file("keep.h5")
    let array = NpyArray(floats: [1, 2], shape: [2])
    try HDF5File.write([(key: "a/W", array: array)], to: url)
    let before = try Data(contentsOf: url)
    for (keys, fragment) in [
      (["a", "a"], "duplicate"), (["a", "a/b"], "both a dataset and a group"),
      (["a//b"], "bad dataset path"), (["a/./b"], "bad dataset path"), ([""], "bad dataset path"),
    ] {
      assertFormatError(
        { try HDF5File.write(keys.map { (key: $0, array: array) }, to: url) },
        kind: .kind(.invalidArray), path: url.path, contains: fragment)
    }
    assertFormatError(
      { try HDF5File.write([(key: "x", array: array)], to: url, compression: .gzip(level: 10)) },
      kind: .kind(.invalidArray), path: url.path, contains: "gzip level")
    XCTAssertEqual(try Data(contentsOf: url), before, "a failed write leaves the old file")
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.url.path), ["keep.h5"], "no temporary left")
  }

  func testTruncatedRandomAndEmptyFilesFailCleanly() throws {
    let dir = try TemporaryDirectory()
    let source = dir.file("whole.h5")
    try HDF5File.write(Self.sampleArrays(seed: 2), to: source, compression: .gzip(level: 1))
    let bytes = try Data(contentsOf: source)
    for cut in [8, 40, 96, 511, 2048, bytes.count / 3, bytes.count / 2, bytes.count - 100, bytes.count - 1] {
      let url = dir.file("cut-\(cut).h5")
      try bytes.prefix(cut).write(to: url)
      assertFormatError({ _ = try HDF5File(url: url).readAll() }, path: url.path)
    }
    let empty = dir.file("empty.h5")
    try Data().write(to: empty)
    assertFormatError({ _ = try HDF5File(url: empty) }, kind: .kind(.notHDF5), path: empty.path, contains: "empty file")
    var generator = SplitMix64(seed: 3)
    let random = dir.file("random.h5")
    try Data((0..<5000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }).write(to: random)
    assertFormatError({ _ = try HDF5File(url: random) }, kind: .kind(.notHDF5), path: random.path, contains: "no HDF5 signature")
    // Garbage behind a valid signature reaches libhdf5, which must fail cleanly too.
    let garbage = dir.file("garbage.h5")
    try Data([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a] + (0..<5000).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
      .write(to: garbage)
    assertFormatError({ _ = try HDF5File(url: garbage).readAll() }, path: garbage.path)
    let missing = dir.file("missing.h5")
    assertFormatError({ _ = try HDF5File(url: missing) }, kind: .kind(.io), path: missing.path)
  }

  func testOverwrittenBytesNeverCrash() throws {
    let dir = try TemporaryDirectory()
    let source = dir.file("whole.h5")
    try HDF5File.write(Self.sampleArrays(seed: 4), to: source, compression: .gzip(level: 1))
    let bytes = [UInt8](try Data(contentsOf: source))
    var generator = SplitMix64(seed: 5)
    for trial in 0..<60 {
      var damaged = bytes
      let offset = Int(generator.next() % UInt64(bytes.count - 16))
      for index in offset..<offset + 16 { damaged[index] = UInt8(truncatingIfNeeded: generator.next()) }
      let url = dir.file("damaged-\(trial).h5")
      try Data(damaged).write(to: url)
      do {
        _ = try HDF5File(url: url).readAll()
      } catch let error as MoeFormatError {
        XCTAssertFalse(error.description.contains("\n"), error.description)
        XCTAssertTrue(error.description.hasPrefix(url.path + ": "), error.description)
      }
    }
  }

  func testUnsupportedTypesMissingFiltersAndKeysAreReportedByName() throws {
    let dir = try TemporaryDirectory()
    let url = dir.file("odd.h5")
    try HDF5Oracle.run(
      """
      with h5py.File(sys.argv[1], 'w') as f:
          f['text'] = 'hello'
          f['texts'] = np.array([b'a', b'bc'])
          f['pairs'] = np.zeros(3, dtype=[('a', '<f4'), ('b', '<i2')])
          f['complex'] = np.ones(2, dtype='<c8')
          f.create_dataset('lzf', data=np.zeros(10000, dtype='<f4'), compression='lzf')  # h5py's lzf is optional: it must shrink the data
          f['good/W'] = np.arange(6, dtype='<f4').reshape(2, 3)
      """, [url.path])
    let file = try HDF5File(url: url)
    XCTAssertEqual(file.keys, ["complex", "good/W", "lzf", "pairs", "text", "texts"])
    for key in ["text", "texts", "pairs", "complex"] {
      assertFormatError(
        { _ = try file.array(key) }, kind: .kind(.unsupportedDType), path: url.path, key: key,
        contains: "unsupported HDF5 datatype")
    }
    assertFormatError({ _ = try file.array("lzf") }, kind: .kind(.corruptHDF5), path: url.path, key: "lzf", contains: "filter")
    assertFormatError({ _ = try file.array("nope") }, kind: .kind(.keyNotFound), path: url.path, key: "nope")
    assertFormatError({ _ = try file.readAll() }, path: url.path)
    XCTAssertEqual(try file.array("good/W").floats(), [0, 1, 2, 3, 4, 5])
  }
}

/// The little-endian bytes of an integer.
func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
  withUnsafeBytes(of: value.littleEndian) { Array($0) }
}
