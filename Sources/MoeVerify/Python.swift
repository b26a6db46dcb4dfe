// Python: runs the framework-side drivers of Converters/ in the project's venv (Converters/py).
import Foundation
import MoeSite

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
    let r = try Subprocess.run(root.appendingPathComponent("Converters/py"), arguments, cwd: root)
    guard r.status == 0 else { throw VerifyError(r.errorText.split(separator: "\n").last.map(String.init) ?? "exit \(r.status)") }
  }

}
