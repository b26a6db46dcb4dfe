// HDF5Oracle: runs h5py / Chainer in the repo's venv at test time and compares HDF5 dumps with NpyArrays.
import Foundation
import MoeFormats
import XCTest

/// Runs Python scripts in the Chainer venv (`Converters/py`: numpy, h5py, chainer).
enum HDF5Oracle {
  /// The repository root (this file is Tests/MoeFormatsTests/HDF5Oracle.swift).
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  /// Imported by every script; `dump(path)` prints every dataset of an HDF5 file as JSON:
  /// key -> [little-endian dtype str, shape, hex bytes], or null for an empty dataset.
  static let prelude = """
    import sys, os, json
    import numpy as np
    import h5py
    sys.path.insert(0, os.path.join(\(pythonString(root.path)), 'Converters', 'chainer'))
    def entry(a):
        a = np.array(a, order='C')  # ascontiguousarray would make a scalar 1-d
        le = a.astype(a.dtype.newbyteorder('<')) if a.dtype.byteorder == '>' else a
        return [le.dtype.str, list(a.shape), le.tobytes().hex()]
    def dump(path):
        out = {}
        with h5py.File(path, 'r') as f:
            def visit(name, obj):
                if isinstance(obj, h5py.Dataset):
                    out[name] = None if obj.shape is None else entry(np.asarray(obj[()]))
            f.visititems(visit)
        return out

    """

  /// Runs `script` with the venv's Python, passing `arguments` as `sys.argv[1...]`; returns stdout.
  /// Fails the calling test when Python or the script fails.
  @discardableResult
  static func run(_ script: String, _ arguments: [String] = [], file: StaticString = #filePath, line: UInt = #line)
    throws -> String
  {
    let process = Process()
    process.executableURL = root.appendingPathComponent("Converters/py")
    process.arguments = ["-c", prelude + script] + arguments
    process.currentDirectoryURL = root
    let stderrURL = FileManager.default.temporaryDirectory.appendingPathComponent("h5oracle-\(UUID().uuidString).err")
    let stdoutURL = FileManager.default.temporaryDirectory.appendingPathComponent("h5oracle-\(UUID().uuidString).out")
    _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
    defer {
      try? FileManager.default.removeItem(at: stderrURL)
      try? FileManager.default.removeItem(at: stdoutURL)
    }
    process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
    process.standardError = try FileHandle(forWritingTo: stderrURL)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    let output = (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? ""
    guard process.terminationStatus == 0 else {
      let errors = (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
      XCTFail("venv python failed (status \(process.terminationStatus)): \(errors.suffix(3000))", file: file, line: line)
      throw NumpyOracle.OracleError.failed(errors)
    }
    return output
  }

  /// A dump printed by a script as JSON (see `prelude`): key -> (dtype descr, shape, bytes), nil if empty.
  static func parseDump(_ json: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Dumped?] {
    let lastLine = json.split(separator: "\n").last.map(String.init) ?? ""
    guard let object = try JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any] else {
      XCTFail("not a JSON object: \(json.prefix(200))", file: file, line: line)
      return [:]
    }
    var result: [String: Dumped?] = [:]
    for (key, value) in object {
      guard let parts = value as? [Any], parts.count == 3, let descr = parts[0] as? String,
        let shape = parts[1] as? [Int], let hex = parts[2] as? String
      else {
        result[key] = .some(nil)
        continue
      }
      result[key] = Dumped(descr: descr, shape: shape, data: bytes(hex: hex))
    }
    return result
  }

  /// One dumped dataset.
  struct Dumped: Equatable {
    var descr: String
    var shape: [Int]
    var data: [UInt8]
  }

  /// Compares an array with a dumped dataset byte for byte.
  static func assertSame(_ array: NpyArray, _ dumped: Dumped, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(array.dtype.descr, dumped.descr, "\(label): dtype", file: file, line: line)
    XCTAssertEqual(array.shape, dumped.shape, "\(label): shape", file: file, line: line)
    XCTAssertTrue(array.data == dumped.data, "\(label): data differs", file: file, line: line)
  }

  static func bytes(hex: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
      let next = hex.index(index, offsetBy: 2)
      bytes.append(UInt8(hex[index..<next], radix: 16)!)
      index = next
    }
    return bytes
  }

  /// A Python string literal for `text`.
  static func pythonString(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
  }
}
