// RandomAccessFile: exact, bounds-checked reads at offsets of a file opened read-only.
import Foundation

/// A read-only file whose reads either return exactly the bytes asked for or throw.
final class RandomAccessFile {
  let path: String
  /// The file size when it was opened.
  let size: Int
  private let handle: FileHandle

  /// Opens `url` for reading.
  ///
  /// - Throws: `.io` when the file is missing, a directory, or unreadable.
  init(_ url: URL) throws {
    path = url.path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw MoeFormatError(.io, file: path, "no such file")
    }
    guard !isDirectory.boolValue, let handle = FileHandle(forReadingAtPath: path) else {
      throw MoeFormatError(.io, file: path, isDirectory.boolValue ? "is a directory; expected a file" : "cannot open file")
    }
    do {
      size = Int(try handle.seekToEnd())
    } catch {
      try? handle.close()
      throw MoeFormatError(.io, file: path, "cannot determine the file size (\(error.localizedDescription))")
    }
    self.handle = handle
  }

  deinit { try? handle.close() }

  /// Exactly `count` bytes starting at `offset`.
  ///
  /// - Throws: `.truncated` when the file ends first (it may have shrunk since it was opened),
  ///   `.io` when reading fails.
  func read(at offset: Int, count: Int) throws -> [UInt8] {
    guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
      throw MoeFormatError(
        .truncated, "truncated file: wanted \(count) bytes at offset \(offset), the file has \(size)")
    }
    guard count > 0 else { return [] }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count)
    do {
      try handle.seek(toOffset: UInt64(offset))
      while bytes.count < count {
        guard let chunk = try handle.read(upToCount: count - bytes.count), !chunk.isEmpty else { break }
        bytes.append(contentsOf: chunk)
      }
    } catch {
      throw MoeFormatError(.io, "cannot read \(count) bytes at offset \(offset) (\(error.localizedDescription))")
    }
    guard bytes.count == count else {
      throw MoeFormatError(
        .truncated, "truncated file: wanted \(count) bytes at offset \(offset), found \(bytes.count)")
    }
    return bytes
  }
}
