// HDF5File+Write: writing HDF5 checkpoints in Chainer's save_hdf5 layout, atomically.
import Foundation
import MoeHDF5Shim

/// How `HDF5File.write` stores datasets.
public enum HDF5Compression: Sendable, Equatable {
  /// Contiguous, uncompressed datasets.
  case none
  /// Chunked, gzip-compressed datasets of more than one element (level 0...9), like Chainer's
  /// `save_hdf5` (level 4, its default); scalars and single elements stay uncompressed.
  case gzip(level: Int)
}

extension HDF5File {
  /// Writes `arrays` as an HDF5 file, atomically: `url` is replaced only once the whole file is
  /// written and closed. A key `a/b/W` becomes the dataset `/a/b/W` inside groups `a` and `a/b`,
  /// as Chainer's `save_hdf5` lays out a model; each key in `emptyKeys` becomes an empty float32
  /// dataset (null dataspace), which is how Chainer saves a lazily-initialised `None` parameter.
  /// Shape `[]` is a scalar dataset. The file uses libhdf5's default (oldest compatible) format,
  /// which h5py and `chainer.serializers.load_hdf5` read.
  ///
  /// - Throws: `.invalidArray` for a bad key (empty, duplicate, empty or `.`/`..` component, or
  ///   both a dataset and a group), a bad gzip level, or an array whose data does not fit its
  ///   shape; `.io` when libhdf5 cannot write; all naming `url` and the key.
  public static func write(
    _ arrays: [(key: String, array: NpyArray)], emptyKeys: [String] = [], to url: URL,
    compression: HDF5Compression = .gzip(level: 4)
  ) throws {
    let gzipLevel: Int32
    switch compression {
    case .none: gzipLevel = -1
    case .gzip(let level):
      guard (0...9).contains(level) else {
        throw MoeFormatError(.invalidArray, file: url.path, "gzip level \(level); expected 0...9")
      }
      gzipLevel = Int32(level)
    }
    let entries =
      arrays.map { (key: normalized($0.key), array: Optional($0.array)) }
      + emptyKeys.map { (key: normalized($0), array: NpyArray?.none) }
    try validate(entries.map(\.key), url: url)
    for case let (key, array?) in entries {
      do {
        _ = try NpyArray(dtype: array.dtype, shape: array.shape, data: array.data)
      } catch let error as MoeFormatError {
        throw error.located(file: url.path, key: key)
      }
    }
    try AtomicFile.replace(url) { temporary in
      try HDF5Library.locked {
        let file = moe_h5_create(temporary.path)
        guard file >= 0 else { throw MoeFormatError(.io, "\(HDF5Library.lastError)") }
        var closed = false
        defer { if !closed { moe_h5_close(file) } }
        for (key, array) in entries {
          guard try writeDataset(file, key, array, gzipLevel) == 0 else {
            throw MoeFormatError(.io, key: key, "\(HDF5Library.lastError)")
          }
        }
        closed = true
        guard moe_h5_close(file) == 0 else { throw MoeFormatError(.io, "\(HDF5Library.lastError)") }
      }
    }
  }

  /// Writes `arrays` with keys in sorted order; see `write(_:emptyKeys:to:compression:)`.
  public static func write(
    _ arrays: [String: NpyArray], emptyKeys: [String] = [], to url: URL, compression: HDF5Compression = .gzip(level: 4)
  ) throws {
    try write(
      arrays.sorted { $0.key < $1.key }.map { (key: $0.key, array: $0.value) }, emptyKeys: emptyKeys, to: url,
      compression: compression)
  }

  /// Writes one dataset (`nil`: an empty one) through the shim; returns its status.
  private static func writeDataset(_ file: Int64, _ key: String, _ array: NpyArray?, _ gzipLevel: Int32) throws -> Int32 {
    guard let array else {
      return moe_h5_write(file, key, HDF5Library.code(for: .float32), -1, nil, nil, -1)
    }
    // h5py's bool enum only names 0 and 1.
    let data = array.dtype == .bool ? array.data.map { $0 == 0 ? 0 : 1 } : array.data
    let dims = array.shape.map { UInt64($0) }
    return dims.withUnsafeBufferPointer { dims in
      data.withUnsafeBytes { bytes in
        moe_h5_write(
          file, key, HDF5Library.code(for: array.dtype), Int32(array.shape.count), dims.baseAddress, bytes.baseAddress,
          gzipLevel)
      }
    }
  }

  /// Checks that `keys` name distinct datasets none of which is a group of another.
  private static func validate(_ keys: [String], url: URL) throws {
    var seen = Set<String>()
    for key in keys {
      let parts = key.split(separator: "/", omittingEmptySubsequences: false)
      guard !key.isEmpty, !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
        throw MoeFormatError(
          .invalidArray, file: url.path, key: key, "bad dataset path; expected non-empty components other than . and ..")
      }
      guard seen.insert(key).inserted else {
        throw MoeFormatError(.invalidArray, file: url.path, key: key, "duplicate key; expected unique keys")
      }
    }
    for key in keys {
      let parts = key.split(separator: "/")
      for end in parts.indices.dropLast() where seen.contains(parts[...end].joined(separator: "/")) {
        throw MoeFormatError(
          .invalidArray, file: url.path, key: key,
          "'\(parts[...end].joined(separator: "/"))' is both a dataset and a group; expected distinct paths")
      }
    }
  }
}
