// Subprocess: runs a program to completion with no stdin, draining stdout and stderr concurrently.
import Foundation

/// Child processes of the runtimes (node, the Python drivers).
public enum Subprocess {
  /// What a finished process left.
  public struct Result: Sendable {
    public var status: Int32
    /// True when the process ended by a signal (a Swift trap, a crash).
    public var crashed: Bool
    public var stdout: Data
    public var stderr: Data

    /// stderr as text, trimmed.
    public var errorText: String { String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
  }

  /// Runs `executable ARGS` (in `cwd` when given, with `environment` set on top of this process's) with stdin
  /// closed. Both pipes are read while the child runs, so a chatty child cannot block on a full pipe.
  public static func run(_ executable: URL, _ arguments: [String], cwd: URL? = nil, environment: [String: String] = [:]) throws -> Result {
    let p = Process()
    p.executableURL = executable
    p.arguments = arguments
    if let cwd { p.currentDirectoryURL = cwd }
    if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let drained = Drained()
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) { drained.set(stdout: out.fileHandleForReading.readDataToEndOfFile()) }
    DispatchQueue.global().async(group: group) { drained.set(stderr: err.fileHandleForReading.readDataToEndOfFile()) }
    p.waitUntilExit()
    group.wait()
    return Result(status: p.terminationStatus, crashed: p.terminationReason == .uncaughtSignal, stdout: drained.stdout, stderr: drained.stderr)
  }

  /// `/usr/bin/env NAME ARGS`: a program found on PATH.
  public static func run(program: String, _ arguments: [String], cwd: URL? = nil) throws -> Result {
    try run(URL(fileURLWithPath: "/usr/bin/env"), [program] + arguments, cwd: cwd)
  }

  /// A program's stdout (found on PATH), trimmed, or nil when it cannot run or fails.
  public static func output(of program: String, _ arguments: [String]) -> String? {
    guard let r = try? run(program: program, arguments), r.status == 0 else { return nil }
    return String(decoding: r.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// The two pipes' contents, written from two reader threads.
  private final class Drained: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var stdout = Data()
    private(set) var stderr = Data()
    func set(stdout d: Data) { lock.lock(); stdout = d; lock.unlock() }
    func set(stderr d: Data) { lock.lock(); stderr = d; lock.unlock() }
  }
}
