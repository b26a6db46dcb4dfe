// ONNXImporter+ExternalData: initializer bytes kept in a file beside the model (`location`, `offset`, `length`),
// read only from inside the model's folder, with the offset and length checked against the file.
import CONNX
import Foundation

extension ONNXImporter {
  /// The bytes of an external-data tensor: `location` relative to `base` (no absolute path, no `..`, no symlink
  /// out of the folder), `offset` (0) and `length` (to the end) inside the file.
  static func externalBytes(_ t: Onnx__TensorProto, what: String, base: URL?) throws -> [UInt8] {
    let name = ONNXC.string(t.name)
    func fail(_ kind: MoeFormatError.Kind, _ message: String) -> MoeFormatError {
      MoeFormatError(kind, key: name, "\(what): external data \(message)")
    }
    guard let base else {
      throw fail(.unsupportedONNX, "cannot be read from in-memory bytes (read the .onnx file from its folder)")
    }
    var entries: [String: String] = [:]
    for e in ONNXC.list(t.external_data, t.n_external_data) {
      entries[ONNXC.string(e.pointee.key)] = ONNXC.string(e.pointee.value)
    }
    guard let location = entries["location"], !location.isEmpty else { throw fail(.invalidONNX, "without a location") }
    func number(_ key: String) throws -> Int? {
      guard let s = entries[key] else { return nil }
      guard let v = Int(s), v >= 0 else { throw fail(.invalidONNX, "'\(location)': \(key) '\(s)' is not a byte count ≥ 0") }
      return v
    }
    let offset = try number("offset") ?? 0, length = try number("length")
    let parts = location.split(separator: "/", omittingEmptySubsequences: false)
    guard !location.hasPrefix("/"), !location.contains("\\"), !location.contains("\0"),
      !parts.contains(where: { $0 == ".." || $0.isEmpty })
    else {
      throw fail(.invalidONNX, "location '\(location)' must be a relative path inside the model's folder (no absolute path, no '..')")
    }
    let folder = base.standardizedFileURL.resolvingSymlinksInPath()
    let file = folder.appendingPathComponent(location).resolvingSymlinksInPath()
    guard file.path.hasPrefix(folder.path.hasSuffix("/") ? folder.path : folder.path + "/") else {
      throw fail(.invalidONNX, "location '\(location)' resolves outside the model's folder (symbolic link)")
    }
    guard let handle = FileHandle(forReadingAtPath: file.path) else {
      throw fail(.io, "file '\(location)' cannot be opened in \(folder.path)")
    }
    defer { try? handle.close() }
    let size: Int
    do { size = Int(try handle.seekToEnd()) } catch { throw fail(.io, "file '\(location)' cannot be read (\(error.localizedDescription))") }
    let count = length ?? (size - offset)
    guard offset <= size, count >= 0, offset + count <= size else {
      throw fail(.invalidONNX, "'\(location)': offset \(offset) + length \(length.map(String.init) ?? "?") is past the end of the file (\(size) bytes)")
    }
    do {
      try handle.seek(toOffset: UInt64(offset))
      let data = try handle.read(upToCount: count) ?? Data()
      guard data.count == count else { throw fail(.io, "'\(location)': read \(data.count) of \(count) bytes") }
      return [UInt8](data)
    } catch let e as MoeFormatError { throw e } catch {
      throw fail(.io, "file '\(location)' cannot be read (\(error.localizedDescription))")
    }
  }
}
