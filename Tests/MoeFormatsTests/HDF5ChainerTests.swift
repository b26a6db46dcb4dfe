// HDF5ChainerTests: Chainer's save_hdf5 / load_hdf5 against HDF5File, using the real SRResNetGenerator.
import Foundation
import MoeFormats
import XCTest

final class ChainerHDF5Tests: XCTestCase {
  /// `model(seed)`: Chainer's reference SRResNetGenerator (C=8, B=1, U=1, n=10) with seeded random
  /// parameters and BatchNorm state; `state(m)` its key -> array dict; `differing(a, b)` the keys
  /// whose dtype or values differ.
  static let makeModel = """
    import chainer
    import chainer.links as L
    import moe_zoo
    def model(seed):
        np.random.seed(seed)
        m = moe_zoo.SRResNetGenerator(C=8, B=1, U=1, n=10)
        rng = np.random.RandomState(seed)
        for _, p in sorted(m.namedparams()):
            p.array[...] = rng.standard_normal(p.shape)
        for _, link in sorted(m.namedlinks()):
            if isinstance(link, L.BatchNormalization):
                link.avg_mean[...] = rng.standard_normal(link.avg_mean.shape)
                link.avg_var[...] = rng.uniform(0.5, 1.5, link.avg_var.shape)
                link.N = int(rng.randint(100, 10000))
        return m
    def state(m):
        s = chainer.serializers.DictionarySerializer()
        s.save(m)
        return s.target
    def differing(a, b):
        assert sorted(a) == sorted(b), (sorted(a), sorted(b))
        return [k for k in a if np.asarray(a[k]).dtype != np.asarray(b[k]).dtype or not np.array_equal(a[k], b[k])]

    """

  func testSaveHDF5ReadsExactlyLikeSaveNPZ() throws {
    let dir = try TemporaryDirectory()
    try HDF5Oracle.run(
      Self.makeModel + """
        m = model(0)
        chainer.serializers.save_npz(os.path.join(sys.argv[1], 'model.npz'), m)
        chainer.serializers.save_hdf5(os.path.join(sys.argv[1], 'model.h5'), m)
        with h5py.File(os.path.join(sys.argv[1], 'prefixed.h5'), 'w') as f:
            chainer.serializers.HDF5Serializer(f.require_group('updater/model:main')).save(m)
        """, [dir.url.path])
    let npz = try NPZFile(url: dir.file("model.npz"))
    let h5 = try HDF5File(url: dir.file("model.h5"))
    XCTAssertEqual(h5.keys, npz.keys.sorted())
    XCTAssertTrue(h5.keys.contains("res/0/c1/W") && h5.keys.contains("up/0/b/N"), "\(h5.keys)")
    let expected = try npz.readAll()
    assertSameArrays(try h5.readAll(), expected, "save_hdf5 vs save_npz")
    XCTAssertEqual(try h5.array("bn0/N").shape, [], "BN counters are scalar datasets")

    let prefixed = try HDF5File(url: dir.file("prefixed.h5"))
    XCTAssertEqual(prefixed.keys, npz.keys.map { "updater/model:main/" + $0 }.sorted())
    for key in npz.keys {
      assertSameArray(try prefixed.array("updater/model:main/" + key), expected[key], "prefixed \(key)")
    }
  }

  func testMoeKitFileLoadsIntoAFreshChainerModel() throws {
    let dir = try TemporaryDirectory()
    try HDF5Oracle.run(
      Self.makeModel + "chainer.serializers.save_npz(os.path.join(sys.argv[1], 'model.npz'), model(0))\n",
      [dir.url.path])
    let arrays = try NPZFile(url: dir.file("model.npz")).readAll()
    try HDF5File.write(arrays, to: dir.file("gzip.h5"))
    try HDF5File.write(arrays, to: dir.file("plain.h5"), compression: .none)
    let output = try HDF5Oracle.run(
      Self.makeModel + """
        reference = model(0)
        result = {}
        for name in ['gzip.h5', 'plain.h5']:
            fresh = model(1)
            before = len(differing(state(reference), state(fresh)))
            chainer.serializers.load_hdf5(os.path.join(sys.argv[1], name), fresh)
            result[name] = [before, differing(state(reference), state(fresh)), len(state(fresh))]
        print(json.dumps(result))
        """, [dir.url.path])
    let result = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: [Any]]
    for name in ["gzip.h5", "plain.h5"] {
      let entry = try XCTUnwrap(result?[name], output)
      XCTAssertGreaterThan(entry[0] as? Int ?? 0, 10, "\(name): the fresh model starts different")
      XCTAssertEqual((entry[1] as? [String])?.count, 0, "\(name): params differing after load_hdf5: \(entry[1])")
      XCTAssertEqual(entry[2] as? Int, arrays.count, name)
    }
  }

  func testLazilyInitialisedParameterIsAnEmptyDatasetBothWays() throws {
    let dir = try TemporaryDirectory()
    let lazyModel = """
      import chainer, chainer.links as L
      class Lazy(chainer.Chain):
          def __init__(self):
              super().__init__()
              with self.init_scope():
                  self.l = L.Linear(None, 4)
                  self.bn = L.BatchNormalization(4)

      """
    let chainerFile = dir.file("chainer.h5")
    try HDF5Oracle.run(lazyModel + "chainer.serializers.save_hdf5(sys.argv[1], Lazy())\n", [chainerFile.path])
    let file = try HDF5File(url: chainerFile)
    XCTAssertEqual(file.keys, ["bn/N", "bn/avg_mean", "bn/avg_var", "bn/beta", "bn/gamma", "l/W", "l/b"])
    XCTAssertTrue(file.isEmpty("l/W"))
    XCTAssertFalse(file.isEmpty("l/b"))
    assertFormatError(
      { _ = try file.array("l/W") }, kind: .kind(.emptyDataset), path: chainerFile.path, key: "l/W",
      contains: "empty dataset (lazily-initialised parameter saved as None?); expected a numeric array")
    assertFormatError({ _ = try file.readAll() }, kind: .kind(.emptyDataset), path: chainerFile.path, key: "l/W")
    var arrays: [String: NpyArray] = [:]
    for key in file.keys where !file.isEmpty(key) { arrays[key] = try file.array(key) }
    XCTAssertEqual(arrays["bn/N"]?.shape, [])

    // Written back by MoeKit with the empty key, Chainer loads it and leaves W uninitialised.
    let ours = dir.file("ours.h5")
    try HDF5File.write(arrays, emptyKeys: ["l/W"], to: ours)
    let output = try HDF5Oracle.run(
      lazyModel + """
        m = Lazy()
        m.l.b.array[...] = 7
        chainer.serializers.load_hdf5(sys.argv[1], m)
        with h5py.File(sys.argv[1], 'r') as f:
            shape, dtype = f['l/W'].shape, f['l/W'].dtype.str
        print(json.dumps([m.l.W.array is None, m.l.b.array.tolist(), shape, dtype]))
        """, [ours.path])
    let result = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [Any]
    XCTAssertEqual(result?[0] as? Bool, true, output)
    XCTAssertEqual(result?[1] as? [Double], [0, 0, 0, 0], output)
    XCTAssertTrue(result?[2] is NSNull, "h5py sees an Empty dataset: \(output)")
    XCTAssertEqual(result?[3] as? String, "<f4", output)
  }
}
