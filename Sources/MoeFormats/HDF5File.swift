// HDF5File: reading HDF5 checkpoints (Chainer's save_hdf5, h5py) as numpy arrays, through libhdf5.
import Foundation

/// An HDF5 file opened for reading: every dataset, keyed by its path without the leading `/`.
///
/// Chainer's `save_hdf5` maps a model's link hierarchy onto groups, so its parameter
/// `res/0/c1/W` is the dataset `/res/0/c1/W` — the same key `save_npz` uses. A BatchNorm counter
/// `N` is a scalar dataset (shape `[]`), and a lazily-initialised parameter still `None` is an
/// empty dataset (null dataspace, `h5py.Empty('f')`), reported by `isEmpty(_:)` and by the
/// `.emptyDataset` error of `array(_:)`. Data comes back little-endian whatever the file holds.
public struct HDF5File: Sendable {
  /// The file's location.
  public let url: URL
  /// Dataset paths without the leading `/` (`res/0/c1/W`), sorted.
  public let keys: [String]
  private let emptyKeys: Set<String>

  /// Opens `url` and lists its datasets.
  ///
  /// - Throws: `MoeFormatError` naming the file: `.io` (missing, unreadable), `.notHDF5` (empty
  ///   file, no HDF5 signature), `.truncated`, or `.corruptHDF5` (libhdf5 rejects the structure).
  public init(url: URL) throws {
    self.url = url
    (keys, emptyKeys) = try HDF5Library.withFile(url) { file in
      let keys = try HDF5Library.datasetPaths(file)
      return (keys, Set(keys.filter { HDF5Library.isNullDataspace(file, $0) }))
    }
  }

  /// Whether the file has a dataset at `key` (a leading `/` is ignored).
  public func contains(_ key: String) -> Bool { keys.contains(HDF5File.normalized(key)) }

  /// Whether the dataset at `key` is empty (no data, not even a shape): a lazily-initialised
  /// parameter Chainer saved as `None`. False for missing keys and for 0-element arrays.
  public func isEmpty(_ key: String) -> Bool { emptyKeys.contains(HDF5File.normalized(key)) }

  /// Reads the dataset at `key` (a leading `/` is ignored).
  ///
  /// - Throws: `MoeFormatError` naming the file and key: `.keyNotFound` (listing the first keys
  ///   present), `.emptyDataset`, `.unsupportedDType` (strings, compounds, ...), `.corruptHDF5`.
  public func array(_ key: String) throws -> NpyArray {
    let key = HDF5File.normalized(key)
    guard keys.contains(key) else {
      let shown = keys.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
      let more = keys.count > 5 ? ", ..." : ""
      throw MoeFormatError(
        .keyNotFound, file: url.path, key: key, "not found (have \(keys.count) datasets: \(shown)\(more))")
    }
    return try HDF5Library.withFile(url) { file in try HDF5Library.readArray(file, key) }
  }

  /// Reads every dataset, keyed by path; throws on the first one that cannot be read (an empty
  /// dataset included — check `isEmpty(_:)` first to skip those).
  public func readAll() throws -> [String: NpyArray] {
    try HDF5Library.withFile(url) { file in
      var arrays: [String: NpyArray] = [:]
      for key in keys { arrays[key] = try HDF5Library.readArray(file, key) }
      return arrays
    }
  }

  /// `key` without leading slashes.
  static func normalized(_ key: String) -> String {
    String(key.drop(while: { $0 == "/" }))
  }
}

extension HDF5File: ArraySource {
  /// The file's path, for messages.
  public var path: String { url.path }
}
