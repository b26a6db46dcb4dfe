// ScratchFile: the per-process file a path-based reader's fuzz input is written to before each run.
import Foundation

/// A file in the temp folder, unique to this process, rewritten with each fuzz input.
public struct ScratchFile {
  /// The file's URL; its extension is the one the reader expects.
  public let url: URL

  /// A scratch file named `moe-fuzz-PID.EXT` in the temp folder.
  public init(ext: String) {
    url = FileManager.default.temporaryDirectory.appendingPathComponent("moe-fuzz-\(getpid()).\(ext)")
  }

  /// Replaces the file's contents with `bytes`.
  public func write(_ bytes: [UInt8]) {
    let ok = FileManager.default.createFile(atPath: url.path, contents: Data(bytes))
    precondition(ok, "cannot write the scratch file \(url.path)")
  }

  /// Replaces the file's contents with `size` bytes at `data`.
  public func write(_ data: UnsafePointer<UInt8>, _ size: Int) { write(Array(UnsafeBufferPointer(start: data, count: size))) }
}
