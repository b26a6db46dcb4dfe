// SitePublisher: `export-site`'s output folder — refuses folders it did not write, and replaces a site atomically.
import Foundation
#if canImport(Glibc)
  import Glibc
#endif

/// Publishing a static site into a folder in one step: the site is written into a temporary folder beside the
/// destination and renamed onto it, so the folder holds the old site or the complete new one. A hidden marker file
/// (`.moe-site`, never served) lists what export-site wrote, so its own earlier output can be replaced while a
/// folder holding anything else is refused unless forced.
public enum SitePublisher {
  /// The marker file's name inside a published site.
  public static let marker = ".moe-site"

  /// Checks that `dir` may receive a site: it does not exist, is an empty folder, or holds exactly a site export-site
  /// wrote (its marker lists every entry); with `force` any folder may be replaced. Throws one line otherwise.
  public static func checkDestination(_ dir: URL, force: Bool) throws {
    let fm = FileManager.default
    var isDir: ObjCBool = false
    guard fm.fileExists(atPath: dir.path, isDirectory: &isDir) else {
      let parent = dir.deletingLastPathComponent()
      var parentIsDir: ObjCBool = false
      if fm.fileExists(atPath: parent.path, isDirectory: &parentIsDir), !parentIsDir.boolValue {
        throw SiteError("-o \(dir.path): \(parent.path) is a file, not a folder")
      }
      return
    }
    guard isDir.boolValue else {
      throw SiteError("-o \(dir.path): is an existing file; export-site writes a folder (index.html, moe.js, kernels.wasm, model.moe, …): give a folder path")
    }
    if force { return }
    let entries: [String]
    do { entries = try fm.contentsOfDirectory(atPath: dir.path) } catch {
      throw SiteError("-o \(dir.path): cannot list the folder (\((error as NSError).localizedFailureReason ?? "permission denied"))")
    }
    if entries.isEmpty { return }
    let listed = Set(writtenFiles(in: dir) ?? [])
    let foreign = entries.filter { $0 != marker && !listed.contains($0) }.sorted()
    guard listed.isEmpty || !foreign.isEmpty else { return }
    let shown = (foreign.isEmpty ? entries.sorted() : foreign).prefix(5).joined(separator: ", ")
    throw SiteError("-o \(dir.path): the folder is not empty and holds files export-site did not write (\(shown)\(foreign.count > 5 ? ", …" : "")); choose an empty or new folder, or give --force to replace the folder")
  }

  /// The files a site folder's marker lists, or nil when it has no readable marker.
  static func writtenFiles(in dir: URL) -> [String]? {
    guard let data = FileManager.default.contents(atPath: dir.appendingPathComponent(marker).path),
      let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let files = obj["files"] as? [String]
    else { return nil }
    return files
  }

  /// Writes the site for `bundle` into `dir` atomically (after `checkDestination`); returns (file, bytes) in order.
  @discardableResult
  public static func publish(bundle: URL, to dir: URL, force: Bool) throws -> [(String, Int)] {
    try checkDestination(dir, force: force)
    let fm = FileManager.default
    let parent = dir.deletingLastPathComponent()
    do { try fm.createDirectory(at: parent, withIntermediateDirectories: true) } catch {
      throw SiteError("-o \(dir.path): cannot create the folder \(parent.path)")
    }
    let tag = UUID().uuidString.prefix(8)
    let staging = parent.appendingPathComponent(".\(dir.lastPathComponent).moe-export-\(tag)")
    defer { try? fm.removeItem(at: staging) }
    let written = try WebAssets.exportSite(bundle: bundle, to: staging)
    let manifest: [String: Any] = ["producer": "moe export-site", "files": written.map(\.0)]
    try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]).write(to: staging.appendingPathComponent(marker))
    if fm.fileExists(atPath: dir.path) {
      // Two renames: the old folder aside, the new one in; the old one is removed only once the new one is in place.
      let old = parent.appendingPathComponent(".\(dir.lastPathComponent).moe-old-\(tag)")
      try rename(dir, to: old)
      do { try rename(staging, to: dir) } catch {
        try? rename(old, to: dir)
        throw error
      }
      try? fm.removeItem(at: old)
    } else {
      try rename(staging, to: dir)
    }
    return written
  }

  static func rename(_ from: URL, to: URL) throws {
    guard Glibc.rename(from.path, to.path) == 0 else {
      throw SiteError("-o \(to.path): cannot move the site into place (\(String(cString: strerror(errno))))")
    }
  }
}
