// MoeFormatError: the one error type of MoeFormats, printed as a single line naming file and key.
import Foundation

/// An error reading or writing a file format (`.npy`, `.npz`, ...).
///
/// Its `description` is one line: `<file>: key '<key>': <message>`, the file and key parts
/// present where they are known, the message saying what was found and what was expected.
public struct MoeFormatError: Error, CustomStringConvertible, Equatable, Sendable {
  /// What went wrong, for callers and tests that branch on it.
  public enum Kind: String, Sendable {
    /// The file could not be opened, read or written.
    case io
    /// The `.npy` magic string is missing.
    case badMagic
    /// The `.npy` format version is not 1.0, 2.0 or 3.0.
    case unsupportedVersion
    /// The `.npy` header dictionary could not be parsed or lacks a field.
    case badHeader
    /// The dtype is valid numpy but not one MoeFormats handles (structured, complex, strings...).
    case unsupportedDType
    /// The array holds pickled Python objects (dtype `|O`).
    case pickledObject
    /// The file or entry ends before the data it announces.
    case truncated
    /// The data is longer than the header announces.
    case trailingData
    /// The file is not a ZIP archive at all.
    case notZip
    /// The ZIP archive structure is inconsistent (offsets, sizes, signatures, deflate stream).
    case corruptZip
    /// An entry's CRC-32 does not match its contents.
    case checksumMismatch
    /// A ZIP feature this reader does not support (encryption, compression method, multi-disk).
    case unsupportedZipFeature
    /// The requested key is not in the archive.
    case keyNotFound
    /// An array's data does not fit its dtype and shape, or a conversion was not possible.
    case invalidArray
    /// The file is not an HDF5 file at all (no HDF5 signature).
    case notHDF5
    /// libhdf5 rejected the file's structure or data (damaged objects, missing filter, ...).
    case corruptHDF5
    /// An HDF5 dataset with no data (null dataspace): Chainer's lazily-initialised `None` parameter.
    case emptyDataset
    /// The file does not parse as an ONNX ModelProto (truncated, or not protobuf at all).
    case notONNX
    /// The ONNX model is structurally invalid (missing initializer, cycle, bad attribute, unsupported opset).
    case invalidONNX
    /// The ONNX model uses ops or features MoeKit does not import (all unsupported ops are listed).
    case unsupportedONNX
  }

  /// What went wrong.
  public var kind: Kind
  /// The file path involved, if any.
  public var file: String?
  /// The archive key (NPZ entry name without `.npy`) involved, if any.
  public var key: String?
  /// What was found and what was expected.
  public var message: String

  /// Creates an error; `message` should say what was found and what was expected.
  public init(_ kind: Kind, file: String? = nil, key: String? = nil, _ message: String) {
    self.kind = kind
    self.file = file
    self.key = key
    self.message = message
  }

  /// `<file>: key '<key>': <message>` on one line (newlines in parts are escaped).
  public var description: String {
    var parts: [String] = []
    if let file { parts.append(file) }
    if let key { parts.append("key '\(key)'") }
    parts.append(message)
    return parts.joined(separator: ": ")
      .replacingOccurrences(of: "\r", with: "\\r")
      .replacingOccurrences(of: "\n", with: "\\n")
  }

  /// The same error with the file (and key, if given) filled in where still unknown.
  func located(file: String?, key: String? = nil) -> MoeFormatError {
    var copy = self
    if copy.file == nil { copy.file = file }
    if copy.key == nil { copy.key = key }
    return copy
  }
}

extension MoeFormatError: LocalizedError {
  /// Same as `description`, so `localizedDescription` prints the one-line form too.
  public var errorDescription: String? { description }
}
