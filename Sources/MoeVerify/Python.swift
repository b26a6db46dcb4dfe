// Python: runs the framework-side drivers of Converters/ in the project's venv (Converters/py), and small subprocesses.
import Foundation

/// The project's Python drivers (Chainer, ONNX Runtime).
public enum Python {
  /// The checkout holding `Converters/`: `$MOE_CONVERTERS_ROOT`, else the checkout this source file is in.
  public static func root() throws -> URL {
    var candidates: [URL] = []
    if let env = ProcessInfo.processInfo.environment["MOE_CONVERTERS_ROOT"] { candidates.append(URL(fileURLWithPath: env)) }
    candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent())
    for c in candidates where FileManager.default.isExecutableFile(atPath: c.appendingPathComponent("Converters/py").path) {
      if FileManager.default.isExecutableFile(atPath: c.appendingPathComponent(".venv/bin/python").path) { return c }
      throw VerifyError("\(c.path)/.venv: the Python venv is missing; run `make venv` (Chainer and ONNX Runtime runtimes need it)")
    }
    throw VerifyError("Converters/py not found (looked in \(candidates.map(\.path).joined(separator: ", "))); set MOE_CONVERTERS_ROOT to the MoeKit checkout")
  }

  /// Runs `Converters/py ARGS` in the checkout; throws the driver's last stderr line on failure.
  public static func run(_ arguments: [String]) throws {
    let root = try root()
    let (status, _, err) = try execute(root.appendingPathComponent("Converters/py"), arguments, cwd: root)
    guard status == 0 else {
      let last = err.split(separator: "\n").last.map(String.init) ?? "exit \(status)"
      throw VerifyError(last)
    }
  }

  /// Runs a program and returns its stdout (throws on a non-zero exit).
  static func capture(_ executable: String, _ arguments: [String]) throws -> String {
    let (status, out, err) = try execute(URL(fileURLWithPath: executable), arguments, cwd: nil)
    guard status == 0 else { throw VerifyError(err) }
    return out
  }

  static func execute(_ executable: URL, _ arguments: [String], cwd: URL?) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = executable
    p.arguments = arguments
    if let cwd { p.currentDirectoryURL = cwd }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    var outData = Data(), errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    group.enter()
    DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    p.waitUntilExit()
    group.wait()
    return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
  }
}
