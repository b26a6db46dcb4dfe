// HDF5Isolation: let a child process parse an HDF5 file first, so a crash inside libhdf5 becomes an error, not a crash.
import Foundation

/// How `HDF5File` meets a file it has not read before.
///
/// libhdf5 1.10 (Debian 12's) can crash on a malformed file: fuzzing found a local heap whose size makes an allocation
/// fail, after which the library copies into a null pointer. No check on MoeKit's side can foresee every such path, so
/// a command-line tool reads each file once in a child process first (the same reads: list, then every dataset); when
/// the child dies, the file is reported as corrupt, naming it. The parse is deterministic, so a file the child read
/// completely is read the same way in process. Library users and tests keep `.inProcess` (the default).
public enum HDF5Isolation: Sendable {
  /// Parse in this process only.
  case inProcess
  /// Parse in a child first: `executable` must call `HDF5Isolation.runProbeIfRequested()` before anything else.
  case childProcess(executable: String)

  /// The process-wide choice (set once at start-up by the `moe` tool and the HDF5 fuzz target).
  nonisolated(unsafe) public static var current: HDF5Isolation = .inProcess

  /// The environment variable that turns a process into a probe of the named file.
  static let probeVariable = "MOE_HDF5_PROBE"
  /// The child's exit status for a clean `MoeFormatError` (its message is on stderr).
  static let formatErrorStatus: Int32 = 3

  private static let lock = NSLock()
  nonisolated(unsafe) private static var probed: Set<String> = []

  /// In a probe child (the environment names a file): reads it as `HDF5File` would, then exits — 0 when it read
  /// completely, `formatErrorStatus` with the error on stderr when libhdf5 refused it. Elsewhere, returns at once.
  public static func runProbeIfRequested() {
    guard let path = ProcessInfo.processInfo.environment[probeVariable] else { return }
    current = .inProcess
    do {
      _ = try HDF5File(url: URL(fileURLWithPath: path)).readAll()
      exit(0)
    } catch {
      FileHandle.standardError.write(Data("\(error)\n".utf8))
      exit(formatErrorStatus)
    }
  }

  /// Under `.childProcess`, has a child read `url` (once per file version and process); throws `.corruptHDF5` naming the
  /// file when the child crashed, and the child's own error when libhdf5 refused the file cleanly.
  static func check(_ url: URL) throws {
    guard case .childProcess(let executable) = current else { return }
    let path = url.standardizedFileURL.path
    // The same path rewritten is a new file: the cache key includes its size and modification time.
    let attributes = try? FileManager.default.attributesOfItem(atPath: path)
    let key = "\(path)|\((attributes?[.size] as? NSNumber)?.int64Value ?? -1)|\((attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
    if lock.withLock({ probed.contains(key) }) { return }
    let child = Process()
    child.executableURL = URL(fileURLWithPath: executable)
    child.arguments = []
    var environment = ProcessInfo.processInfo.environment
    environment[probeVariable] = path
    child.environment = environment
    // The child's stderr goes to a scratch file, not a pipe: reading a pipe can be interrupted by the caller's signals
    // (libFuzzer's timers), and a pipe closed early kills the child with SIGPIPE.
    let report = FileManager.default.temporaryDirectory.appendingPathComponent("moe-hdf5-probe-\(getpid())-\(UUID().uuidString.prefix(8)).txt")
    guard FileManager.default.createFile(atPath: report.path, contents: nil), let reportHandle = FileHandle(forWritingAtPath: report.path) else {
      throw MoeFormatError(.io, file: url.path, "cannot create the HDF5 probe's report file in \(report.deletingLastPathComponent().path)")
    }
    defer { try? FileManager.default.removeItem(at: report) }
    child.standardError = reportHandle
    child.standardOutput = FileHandle.nullDevice
    child.standardInput = FileHandle.nullDevice
    do { try child.run() } catch {
      try? reportHandle.close()
      throw MoeFormatError(.io, file: url.path, "cannot start the HDF5 probe (\(executable)): \(error)")
    }
    child.waitUntilExit()
    try? reportHandle.close()
    let message = (try? String(contentsOf: report, encoding: .utf8)) ?? ""
    switch (child.terminationReason, child.terminationStatus) {
    case (.exit, 0):
      lock.withLock { _ = probed.insert(key) }
    case (.exit, formatErrorStatus):
      let line = message.split(separator: "\n").first.map(String.init) ?? "libhdf5 refused the file"
      let prefix = "\(url.path): "
      throw MoeFormatError(.corruptHDF5, file: url.path, line.hasPrefix(prefix) ? String(line.dropFirst(prefix.count)) : line)
    case (let reason, let status):
      let how = reason == .uncaughtSignal ? "signal \(status)" : "exit status \(status)"
      let inside = crashedInsideLibHDF5(message) ? ", inside libhdf5" : ""
      throw MoeFormatError(.corruptHDF5, file: url.path,
                           "reading it crashed a probe process (\(how)\(inside)); expected a well-formed HDF5 file")
    }
  }

  /// Whether a crash report (AddressSanitizer's or Swift's backtrace) has libhdf5 among its first four frames.
  static func crashedInsideLibHDF5(_ report: String) -> Bool {
    let frames = report.split(separator: "\n").filter { line in
      let t = line.drop { $0 == " " }
      return t.hasPrefix("#") || (t.first?.isNumber == true && t.contains(" in "))
    }
    return frames.prefix(4).contains { $0.contains("libhdf5") }
  }
}
