// Python: finds the framework-side drivers (Converters/) and a Python that has their packages, and runs them.
import Foundation
import MoeSite

/// The project's Python drivers (Chainer, ONNX Runtime).
public enum Python {
  /// What one driver imports: the module names and the requirement each stands for (as in Converters/requirements.txt).
  public struct Needs: Sendable {
    /// The runtime the driver serves, for messages (`chainer`, `onnxruntime`).
    public var runtime: String
    /// (module, requirement, highest allowed major version or nil).
    public var modules: [(module: String, requirement: String, belowMajor: Int?)]

    /// `run_chainer.py`: Chainer 7.8.1 needs NumPy 1.x; HDF5 checkpoints need h5py.
    public static let chainer = Needs(runtime: "chainer", modules: [("chainer", "chainer==7.8.1", nil), ("numpy", "numpy<2", 2), ("h5py", "h5py", nil)])
    /// `run_onnxruntime.py`.
    public static let onnxruntime = Needs(runtime: "onnxruntime", modules: [("numpy", "numpy", nil), ("onnx", "onnx", nil), ("onnxruntime", "onnxruntime", nil)])
    /// `Converters/torch/run_torch.py` (PyTorch: a CPU wheel, see Converters/setup_venv.sh).
    public static let torch = Needs(runtime: "torch", modules: [("torch", "torch", nil), ("safetensors", "safetensors", nil), ("numpy", "numpy", nil)])

    /// "chainer==7.8.1, numpy<2, h5py".
    public var requirementList: String { modules.map(\.requirement).joined(separator: ", ") }
  }

  /// The interpreter given by `moe verify --python`; set once by the command before any driver runs.
  nonisolated(unsafe) public static var interpreterOverride: String?

  /// The folder holding `Converters/`: `$MOE_CONVERTERS_ROOT`, else `share/moekit` of an installed `moe`, else the
  /// checkout of a binary built in it (see `InstallLayout`).
  public static func root() throws -> URL {
    let (found, searched) = InstallLayout.locate(env: "MOE_CONVERTERS_ROOT", installed: "", inCheckout: "", marker: "Converters/chainer/run_chainer.py")
    if let found { return found }
    let looked = searched.isEmpty ? "no share/moekit beside \(InstallLayout.executable.path)" : "looked in \(searched.map(\.path).joined(separator: ", "))"
    throw VerifyError("the Python drivers (Converters/) were not found (\(looked)); run `make install`, or set MOE_CONVERTERS_ROOT to the folder holding Converters/")
  }

  /// The environment Chainer needs (as `Converters/py` sets it).
  static let driverEnvironment = [
    "SETUPTOOLS_USE_DISTUTILS": "stdlib",
    "PYTHONWARNINGS": "ignore:pkg_resources is deprecated:UserWarning",
  ]

  /// A Python for `needs`: `--python`, else `$MOE_PYTHON`, else the installed venv (`share/moekit/venv`), else the
  /// checkout's `.venv`; the one chosen must import every module of `needs`, or the error names the packages.
  public static func interpreter(for needs: Needs) throws -> URL {
    let lock = probeLock
    lock.lock()
    defer { lock.unlock() }
    if let cached = probed[needs.runtime] { return cached }
    let need = "the \(needs.runtime) runtime needs a Python with \(needs.requirementList)"
    var chosen: (url: URL, from: String)?
    if let p = interpreterOverride, !p.isEmpty {
      chosen = (URL(fileURLWithPath: p), "--python")
    } else if let p = ProcessInfo.processInfo.environment["MOE_PYTHON"], !p.isEmpty {
      chosen = (URL(fileURLWithPath: p), "MOE_PYTHON")
    } else {
      let venvs = [InstallLayout.shareDirectory?.appendingPathComponent("venv"), InstallLayout.checkout?.appendingPathComponent(".venv")]
      for case let venv? in venvs where FileManager.default.isExecutableFile(atPath: venv.appendingPathComponent("bin/python").path) {
        chosen = (venv.appendingPathComponent("bin/python"), venv.path)
        break
      }
    }
    guard let (url, from) = chosen else {
      throw VerifyError("\(need) (none found: set --python or MOE_PYTHON, or run make install)")
    }
    guard FileManager.default.isExecutableFile(atPath: url.path) else {
      throw VerifyError("\(need); \(url.path) (from \(from)) is not an executable file")
    }
    let missing = try missingRequirements(of: url, needs)
    guard missing.isEmpty else {
      throw VerifyError("\(need); \(url.path) (from \(from)) lacks \(missing.joined(separator: ", ")) (install them, or set --python or MOE_PYTHON)")
    }
    probed[needs.runtime] = url
    return url
  }

  /// The requirements of `needs` that `python` cannot import (or whose major version is too high), probed in one run.
  static func missingRequirements(of python: URL, _ needs: Needs) throws -> [String] {
    let checks = needs.modules.map { m in
      "check(\(quoted(m.module)), \(quoted(m.requirement)), \(m.belowMajor.map(String.init) ?? "None"))"
    }
    let script = """
      import importlib
      def check(module, requirement, below_major):
          try:
              m = importlib.import_module(module)
          except Exception:
              print(requirement); return
          if below_major is not None and int(str(getattr(m, '__version__', '0')).split('.')[0]) >= below_major:
              print(requirement)
      \(checks.joined(separator: "\n"))
      """
    let r = try Subprocess.run(python, ["-c", script], environment: driverEnvironment)
    guard r.status == 0 else {
      throw VerifyError("the \(needs.runtime) runtime: \(python.path) failed to start: \(r.errorText.split(separator: "\n").last.map(String.init) ?? "exit \(r.status)")")
    }
    return String(decoding: r.stdout, as: UTF8.self).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
  }

  static func quoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'" }

  private static let probeLock = NSLock()
  nonisolated(unsafe) private static var probed: [String: URL] = [:]

  /// Runs a driver, `Converters/…/SCRIPT ARGS` (a path relative to `root()`), with a Python that has `needs`;
  /// throws the driver's last stderr line on failure.
  public static func run(_ arguments: [String], needs: Needs) throws {
    let root = try root()
    let python = try interpreter(for: needs)
    let r = try Subprocess.run(python, arguments, cwd: root, environment: driverEnvironment)
    guard r.status == 0 else { throw VerifyError(r.errorText.split(separator: "\n").last.map(String.init) ?? "exit \(r.status)") }
  }
}
