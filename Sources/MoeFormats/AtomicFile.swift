// AtomicFile: write to a temporary file in the destination's directory, then rename over it.
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Atomic file replacement: readers see the old file or the complete new one, never a partial one.
public enum AtomicFile {
  /// Writes `data` to `url` atomically.
  public static func write(_ data: Data, to url: URL) throws {
    try replace(url) { temporary in
      guard FileManager.default.createFile(atPath: temporary.path, contents: nil),
        let handle = FileHandle(forWritingAtPath: temporary.path)
      else {
        throw MoeFormatError(.io, file: url.path, "cannot create a temporary file in \(temporary.deletingLastPathComponent().path)")
      }
      defer { try? handle.close() }
      try handle.write(contentsOf: data)
      try handle.synchronize()
    }
  }

  /// Calls `produce` with a fresh temporary path beside `url`, then renames it to `url`.
  /// On any error the temporary file is removed and `url` is left untouched.
  public static func replace(_ url: URL, produce: (URL) throws -> Void) throws {
    let directory = url.deletingLastPathComponent()
    let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(UUID().uuidString)")
    do {
      try produce(temporary)
      guard rename(temporary.path, url.path) == 0 else {
        let reason = String(cString: strerror(errno))
        throw MoeFormatError(.io, file: url.path, "cannot rename the temporary file into place (\(reason))")
      }
    } catch {
      try? FileManager.default.removeItem(at: temporary)
      if let formatError = error as? MoeFormatError { throw formatError.located(file: url.path) }
      throw MoeFormatError(.io, file: url.path, "cannot write file (\(error.localizedDescription))")
    }
  }
}
