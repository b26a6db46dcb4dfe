// NpyNumpyTests: .npy reading and writing checked byte for byte against files numpy writes.
import Foundation
import MoeFormats
import XCTest

final class NpyNumpyTests: XCTestCase {
  /// Writes, for every dtype and shape, `<dtype>_<shape>.npy` plus its float32 (`.f32`) and,
  /// where every value fits, int64 (`.i64`) conversions as raw little-endian bytes.
  static let dtypeShapeScript = """
    out = sys.argv[1]
    shapes = {'scalar': (), 'empty': (0,), 'vec': (5,), 'mat': (2, 3), 'zero3': (2, 0, 3), 'cube': (3, 1, 4),
              'widezero': (0, 10**15), 'longfirst': (10**15, 0)}
    rng = np.random.default_rng(7)
    names = []
    for dt in sys.argv[2].split(','):
        for sn, sh in shapes.items():
            if dt == 'bool':
                a = rng.integers(0, 2, size=sh).astype(bool)
            elif dt.startswith('float'):
                a = np.asarray(rng.standard_normal(size=sh) * 100).astype(dt)
            else:
                info = np.iinfo(dt)
                a = np.asarray(rng.integers(info.min, info.max, size=sh, dtype=dt, endpoint=True))
            name = f'{dt}_{sn}'
            np.save(os.path.join(out, name + '.npy'), a)
            np.ascontiguousarray(a).astype('<f4').tofile(os.path.join(out, name + '.f32'))
            if not dt.startswith('float') and (a.size == 0 or a.max() <= np.iinfo('int64').max):
                np.ascontiguousarray(a).astype('<i8').tofile(os.path.join(out, name + '.i64'))
            names.append(name)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 6e-8, 65504.0, 1e-40, 3.0e38, -1.5])
    with np.errstate(over='ignore'):
        for dt in ['float16', 'float32', 'float64']:
            a = special.astype(dt)
            name = f'{dt}_special'
            np.save(os.path.join(out, name + '.npy'), a)
            a.astype('<f4').tofile(os.path.join(out, name + '.f32'))
            names.append(name)
    print(json.dumps(names))
    """

  /// numpy's spelling of every dtype MoeFormats supports.
  static let numpyNames = NpyDType.allCases.map(\.rawValue)

  func testEveryDtypeAndShapeMatchesNumpyByteForByte() throws {
    let dir = try TemporaryDirectory()
    let output = try NumpyOracle.run(Self.dtypeShapeScript, [dir.url.path, Self.numpyNames.joined(separator: ",")])
    let names = try JSONDecoder().decode([String].self, from: Data(output.utf8))
    XCTAssertEqual(names.count, NpyDType.allCases.count * 8 + 3)
    for name in names {
      let url = dir.file(name + ".npy")
      let numpyBytes = try Data(contentsOf: url)
      let array = try Npy.read(url)
      XCTAssertEqual(array.dtype.rawValue, String(name.split(separator: "_")[0]), name)
      XCTAssertEqual(array.npyData(), numpyBytes, "\(name): our file differs from numpy's")
      // Our writer, then our reader, returns the same array.
      let copy = dir.file(name + ".copy.npy")
      try Npy.write(array, to: copy)
      XCTAssertEqual(try Npy.read(copy), array, name)
      XCTAssertEqual(try Data(contentsOf: copy), numpyBytes, name)
      try assertFloatsMatch(array, reference: dir.file(name + ".f32"), name: name)
      let int64URL = dir.file(name + ".i64")
      if FileManager.default.fileExists(atPath: int64URL.path) {
        let expected = try Data(contentsOf: int64URL).withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
        XCTAssertEqual(try array.int64s(), expected.map { Int64(littleEndian: $0) }, name)
      } else if array.dtype.isFloatingPoint {
        XCTAssertThrowsError(try array.int64s(), name)
      } else if array.dtype == .uint64 {
        XCTAssertThrowsError(try array.int64s(), "\(name): values above Int64.max must not convert")
      }
    }
  }

  /// Header lengths around every 64-byte boundary: many dimensions and first axes of every width.
  func testHeaderPaddingMatchesNumpyAcrossLengths() throws {
    let dir = try TemporaryDirectory()
    let script = """
      shapes = [(1,) * k for k in range(1, 33)] + [(10**j, 0) for j in range(19)] + [(0,) * k for k in range(1, 40)]
      for i, s in enumerate(shapes):
          np.save(os.path.join(sys.argv[1], f'{i}.npy'), np.zeros(s, dtype='<f4'))
      print(json.dumps([list(s) for s in shapes]))
      """
    let output = try NumpyOracle.run(script, [dir.url.path])
    let shapes = try JSONDecoder().decode([[Int]].self, from: Data(output.utf8))
    XCTAssertEqual(shapes.count, 32 + 19 + 39)
    for (index, shape) in shapes.enumerated() {
      let numpyBytes = try Data(contentsOf: dir.file("\(index).npy"))
      let ours = NpyArray(floats: [Float](repeating: 0, count: shape.reduce(1, *)), shape: shape).npyData()
      XCTAssertEqual(ours, numpyBytes, "shape \(shape)")
      XCTAssertEqual(try Npy.read(dir.file("\(index).npy")).shape, shape)
    }
  }

  /// `floats()` equals numpy's `astype('<f4')` bit for bit (any NaN equals any NaN).
  private func assertFloatsMatch(_ array: NpyArray, reference: URL, name: String) throws {
    let expected = try Data(contentsOf: reference).withUnsafeBytes { Array($0.bindMemory(to: UInt32.self)) }
      .map { Float(bitPattern: UInt32(littleEndian: $0)) }
    let actual = try array.floats()
    XCTAssertEqual(actual.count, expected.count, name)
    for (index, (a, e)) in zip(actual, expected).enumerated() where !(a.isNaN && e.isNaN) {
      XCTAssertEqual(a.bitPattern, e.bitPattern, "\(name)[\(index)]: \(a) vs numpy \(e)")
    }
  }

  func testBigEndianFortranAndVersionsReadAsLittleEndianCOrder() throws {
    let dir = try TemporaryDirectory()
    let script = """
      out = sys.argv[1]
      rng = np.random.default_rng(3)
      names = []
      for dt in sys.argv[2].split(','):
          a = (rng.standard_normal((3, 4, 5)) * 50).astype(dt)
          ref = a.astype(a.dtype.newbyteorder('<'), order='C')
          variants = {'be': a.astype(a.dtype.newbyteorder('>')), 'f': np.asfortranarray(a),
                      'bef': np.asfortranarray(a.astype(a.dtype.newbyteorder('>'))), 'f2d': np.asfortranarray(a[0])}
          for v, arr in variants.items():
              np.save(os.path.join(out, f'{dt}_{v}.npy'), arr)
              r = ref[0] if v == 'f2d' else ref
              np.save(os.path.join(out, f'{dt}_{v}.ref.npy'), r)
              names.append(f'{dt}_{v}')
          for version in [(2, 0), (3, 0)]:
              name = f'{dt}_v{version[0]}'
              with open(os.path.join(out, name + '.npy'), 'wb') as f:
                  np.lib.format.write_array(f, np.asfortranarray(a), version=version)
              np.save(os.path.join(out, name + '.ref.npy'), ref)
              names.append(name)
      print(json.dumps(names))
      """
    let output = try NumpyOracle.run(script, [dir.url.path, Self.numpyNames.joined(separator: ",")])
    let names = try JSONDecoder().decode([String].self, from: Data(output.utf8))
    XCTAssertEqual(names.count, NpyDType.allCases.count * 6)
    for name in names {
      let array = try Npy.read(dir.file(name + ".npy"))
      let reference = try Npy.read(dir.file(name + ".ref.npy"))
      XCTAssertEqual(array, reference, name)
      XCTAssertEqual(array.npyData(), try Data(contentsOf: dir.file(name + ".ref.npy")), name)
    }
  }

  func testFloatInitializerWritesWhatNumpyReads() throws {
    let dir = try TemporaryDirectory()
    let values: [Float] = [1.5, -2.25, .pi, 0, -0.0, .infinity, Float(bitPattern: 0x3E8), 3.4e38]
    let cases: [(String, [Int], [Float])] = [
      ("scalar", [], [42.5]), ("vec", [8], values), ("mat", [2, 4], values), ("empty", [0, 3], []),
    ]
    for (name, shape, floats) in cases {
      try Npy.write(NpyArray(floats: floats, shape: shape), to: dir.file(name + ".npy"))
    }
    try Npy.write(NpyArray(int64s: [Int64.min, -1, 0, Int64.max], shape: [2, 2]), to: dir.file("ints.npy"))
    // numpy loads each file and prints dtype, shape and values; we compare with what we wrote.
    let script = """
      out = {}
      for name in sys.argv[2:]:
          a = np.load(os.path.join(sys.argv[1], name + '.npy'))
          out[name] = [str(a.dtype), list(a.shape), [repr(v) for v in a.ravel().tolist()]]
      print(json.dumps(out))
      """
    let output = try NumpyOracle.run(script, [dir.url.path] + cases.map(\.0) + ["ints"])
    let loaded = try JSONDecoder().decode([String: [AnyDecodable]].self, from: Data(output.utf8))
    for (name, shape, floats) in cases {
      XCTAssertEqual(loaded[name]?[0].string, "float32", name)
      XCTAssertEqual(loaded[name]?[1].ints, shape, name)
      let numpyValues = loaded[name]?[2].strings?.map { Float($0) } ?? []
      XCTAssertEqual(numpyValues.map { $0?.bitPattern }, floats.map { $0.bitPattern }, name)
    }
    XCTAssertEqual(loaded["ints"]?[0].string, "int64")
    XCTAssertEqual(loaded["ints"]?[2].strings, [Int64.min, -1, 0, Int64.max].map { String($0) })
  }

  func testPickledObjectArrayIsADedicatedError() throws {
    let dir = try TemporaryDirectory()
    _ = try NumpyOracle.run(
      "np.save(sys.argv[1], np.array(None, dtype=object), allow_pickle=True)", [dir.file("none.npy").path])
    let path = dir.file("none.npy").path
    assertFormatError(
      { _ = try Npy.read(dir.file("none.npy")) }, kind: .kind(.pickledObject), path: path,
      contains: "pickled object array")
  }
}

/// Decodes the loosely typed JSON the oracle prints.
struct AnyDecodable: Decodable {
  var string: String?
  var ints: [Int]?
  var strings: [String]?
  init(from decoder: Decoder) throws {
    let container = try decoder.singleValueContainer()
    string = try? container.decode(String.self)
    ints = try? container.decode([Int].self)
    strings = try? container.decode([String].self)
  }
}
