// InstallLayout: where `moe` finds its run-time files — PREFIX/share/moekit beside an installed binary, or the checkout of a development build.
import Foundation

/// The folders the running `moe` reads at run time, found from its own executable path (never from source paths):
///
/// - installed (`make install PREFIX=P`): the executable is `P/bin/moe` and its files are in `P/share/moekit`
///   (`web/`, `Converters/`, `venv/`);
/// - a development build: the executable (or the test runner) lies inside a `.build*` folder of a checkout, whose
///   `Sources/MoeWeb`, `Converters` and `.venv` are used.
///
/// Environment variables (`MOE_WEB_DIR`, `MOE_CONVERTERS_ROOT`, `MOE_PYTHON`) override both.
public enum InstallLayout {
  /// The running executable with symlinks resolved: `/proc/self/exe`, else `argv[0]` (looked up on PATH).
  public static let executable: URL = {
    if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
      return URL(fileURLWithPath: target)
    }
    let arg0 = CommandLine.arguments.first ?? "moe"
    if arg0.contains("/") { return URL(fileURLWithPath: arg0).standardizedFileURL.resolvingSymlinksInPath() }
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
      let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent(arg0)
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.resolvingSymlinksInPath() }
    }
    return URL(fileURLWithPath: arg0)
  }()

  /// `PREFIX/share/moekit` when the executable is `PREFIX/bin/…` and that folder exists.
  public static let shareDirectory: URL? = {
    let share = executable.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("share/moekit")
    var isDir: ObjCBool = false
    return FileManager.default.fileExists(atPath: share.path, isDirectory: &isDir) && isDir.boolValue ? share : nil
  }()

  /// The checkout whose `.build*` folder holds the executable (a `swift build` product or test runner), else nil.
  public static let checkout: URL? = {
    var dir = executable.deletingLastPathComponent()
    while dir.path != "/" && !dir.path.isEmpty {
      if dir.lastPathComponent.hasPrefix(".build") {
        let root = dir.deletingLastPathComponent()
        return FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) ? root : nil
      }
      dir = dir.deletingLastPathComponent()
    }
    return nil
  }()

  /// The first of: the folder named by environment variable `env`, `share/moekit/installed`, `checkout/inCheckout`
  /// that holds `marker`; nil (with the folders looked at) when none does.
  public static func locate(env: String, installed: String, inCheckout: String, marker: String) -> (found: URL?, searched: [URL]) {
    var candidates: [URL] = []
    if let value = ProcessInfo.processInfo.environment[env], !value.isEmpty {
      candidates.append(URL(fileURLWithPath: value))
    }
    if let share = shareDirectory { candidates.append(installed.isEmpty ? share : share.appendingPathComponent(installed)) }
    if let root = checkout { candidates.append(inCheckout.isEmpty ? root : root.appendingPathComponent(inCheckout)) }
    let found = candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent(marker).path) }
    return (found, candidates)
  }
}
