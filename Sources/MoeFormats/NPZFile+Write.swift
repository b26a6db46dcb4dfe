// NPZFile+Write: writing .npz archives (like numpy.savez / savez_compressed) atomically.
import Foundation
import ZIPFoundation

/// How `NPZFile.write` stores entries.
public enum NPZCompression: Sendable {
  /// Uncompressed entries, like `numpy.savez`.
  case stored
  /// Deflated entries, like `numpy.savez_compressed` and Chainer's `save_npz` (the default).
  case deflate
}

extension NPZFile {
  /// Writes `arrays` as an `.npz` archive in the given order, each under `<key>.npy`, atomically:
  /// `url` is replaced only once the whole archive is written. numpy and Chainer read the result.
  ///
  /// - Throws: `.invalidArray` for an empty or duplicate key or an array whose data does not fit
  ///   its shape, `.io` when writing fails; all naming `url` and the key.
  public static func write(
    _ arrays: [(key: String, array: NpyArray)], to url: URL, compression: NPZCompression = .deflate
  ) throws {
    var seen = Set<String>()
    for (key, array) in arrays {
      guard !key.isEmpty, seen.insert(key).inserted else {
        throw MoeFormatError(.invalidArray, file: url.path, key: key, "empty or duplicate key; expected unique keys")
      }
      do {
        _ = try NpyArray(dtype: array.dtype, shape: array.shape, data: array.data)
      } catch let error as MoeFormatError {
        throw error.located(file: url.path, key: key)
      }
    }
    try AtomicFile.replace(url) { temporary in
      let archive = try Archive(url: temporary, accessMode: .create)
      for (key, array) in arrays {
        let bytes = array.npyData()
        do {
          try archive.addEntry(
            with: key + ".npy", type: .file, uncompressedSize: Int64(bytes.count),
            compressionMethod: compression == .deflate ? .deflate : .none,
            provider: { position, size in bytes.subdata(in: Int(position)..<Int(position) + size) })
        } catch {
          throw MoeFormatError(.io, key: key, "cannot add the entry (\(error))")
        }
      }
    }
  }

  /// Writes `arrays` as an `.npz` archive with keys in sorted order; see `write(_:to:compression:)`.
  public static func write(_ arrays: [String: NpyArray], to url: URL, compression: NPZCompression = .deflate) throws {
    try write(arrays.sorted { $0.key < $1.key }.map { (key: $0.key, array: $0.value) }, to: url, compression: compression)
  }
}
