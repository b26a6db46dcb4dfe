// HDF5Library: serialised, guarded access to libhdf5 through MoeHDF5Shim, with one-line errors.
import Foundation
import MoeHDF5Shim

/// The one gate to libhdf5: a process-wide lock (Debian's serial libhdf5 is not thread-safe),
/// a signature check before libhdf5 sees a file, and the mapping between HDF5 and numpy types.
enum HDF5Library {
  private static let lock = NSLock()
  private static let initialized: Void = moe_h5_init()

  /// The 8-byte HDF5 format signature, found at offset 0, 512, 1024, 2048, ...
  static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]

  /// Runs `body` holding the library lock, HDF5's error printing silenced.
  static func locked<T>(_ body: () throws -> T) rethrows -> T {
    lock.lock()
    defer { lock.unlock() }
    _ = initialized
    return try body()
  }

  /// The shim's one-line description of its last failure.
  static var lastError: String { String(cString: moe_h5_last_error()) }

  /// Opens `url` read-only and runs `body` with the file id; the file is closed afterwards.
  ///
  /// - Throws: `.io` (missing, unreadable), `.notHDF5` (empty, no signature), `.truncated`
  ///   (shorter than its superblock says) or `.corruptHDF5`, all naming the file.
  static func withFile<T>(_ url: URL, _ body: (Int64) throws -> T) throws -> T {
    try checkSignature(url)
    try HDF5Isolation.check(url)
    return try locked {
      let file = moe_h5_open(url.path)
      guard file >= 0 else {
        let reason = lastError
        let kind: MoeFormatError.Kind = reason.contains("truncated file") ? .truncated : .corruptHDF5
        throw MoeFormatError(kind, file: url.path, "\(reason); expected a readable HDF5 file")
      }
      defer { moe_h5_close(file) }
      do {
        return try body(file)
      } catch let error as MoeFormatError {
        throw error.located(file: url.path)
      }
    }
  }

  /// Checks that `url` is a non-empty file with an HDF5 signature where the format allows one.
  static func checkSignature(_ url: URL) throws {
    let file = try RandomAccessFile(url)
    guard file.size > 0 else {
      throw MoeFormatError(.notHDF5, file: url.path, "empty file (0 bytes); expected an HDF5 file")
    }
    var offset = 0
    while offset + signature.count <= file.size {
      if try file.read(at: offset, count: signature.count) == signature { return }
      offset = offset == 0 ? 512 : offset * 2
    }
    throw MoeFormatError(
      .notHDF5, file: url.path, "no HDF5 signature in \(file.size) bytes; expected an HDF5 file (.h5)")
  }

  /// Paths of all datasets in `file`, relative to the root group, sorted.
  static func datasetPaths(_ file: Int64) throws -> [String] {
    var buffer: UnsafeMutablePointer<CChar>?
    var length = 0
    guard moe_h5_list_datasets(file, &buffer, &length) == 0 else {
      throw MoeFormatError(.corruptHDF5, "\(lastError); expected a readable group hierarchy")
    }
    defer { moe_h5_free(buffer) }
    guard let buffer, length > 0 else { return [] }
    let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self), count: length)
    return bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.sorted()
  }

  /// What the dataset at `key` holds.
  static func info(_ file: Int64, _ key: String) throws -> moe_h5_info {
    var info = moe_h5_info()
    guard moe_h5_dataset_info(file, key, &info) == 0 else {
      throw MoeFormatError(.corruptHDF5, key: key, "\(lastError); expected a readable dataset")
    }
    return info
  }

  /// Whether the dataset at `key` has a null dataspace (no data, no shape); false if unreadable.
  static func isNullDataspace(_ file: Int64, _ key: String) -> Bool {
    (try? info(file, key)).map { Int($0.space) == MOE_H5_SPACE_NULL } ?? false
  }

  /// Reads the dataset at `key` as an `NpyArray` (little-endian, C order).
  ///
  /// - Throws: `.emptyDataset` for a null dataspace, `.unsupportedDType` for strings, compounds
  ///   and other non-numeric types, `.corruptHDF5` when libhdf5 cannot read the data.
  static func readArray(_ file: Int64, _ key: String) throws -> NpyArray {
    let info = try info(file, key)
    switch Int(info.space) {
    case MOE_H5_SPACE_NULL:
      throw MoeFormatError(
        .emptyDataset, key: key, "empty dataset (lazily-initialised parameter saved as None?); expected a numeric array")
    case MOE_H5_SPACE_SCALAR, MOE_H5_SPACE_SIMPLE: break
    default: throw MoeFormatError(.unsupportedDType, key: key, "unknown dataspace kind; expected a scalar or an array")
    }
    let (dtype, code) = try elementType(info, key)
    let shape = try dimensions(info, key)
    let byteCount = try NpyArray.byteCount(dtype: dtype, shape: shape)
    guard UInt64(byteCount) <= ProcessInfo.processInfo.physicalMemory else {
      throw MoeFormatError(
        .corruptHDF5, key: key,
        "dataset of shape \(NpyArray.format(shape)) needs \(byteCount) bytes, more than this machine's memory")
    }
    var data = [UInt8](repeating: 0, count: byteCount)
    let status = data.withUnsafeMutableBytes { moe_h5_read(file, key, code, $0.baseAddress, byteCount) }
    guard status == 0 else {
      throw MoeFormatError(.corruptHDF5, key: key, "\(lastError); expected readable \(dtype.descr) data")
    }
    return try NpyArray(dtype: dtype, shape: shape, data: data)
  }

  /// The numpy type of a dataset's elements and the shim's code for reading them.
  static func elementType(_ info: moe_h5_info, _ key: String) throws -> (NpyDType, Int32) {
    let size = info.size
    let found: (NpyDType, Int)?
    switch Int(info.type_class) {
    case MOE_H5_CLASS_INTEGER where info.is_signed != 0:
      found = [1: (.int8, MOE_H5_I1), 2: (.int16, MOE_H5_I2), 4: (.int32, MOE_H5_I4), 8: (.int64, MOE_H5_I8)][size]
    case MOE_H5_CLASS_INTEGER:
      found = [1: (.uint8, MOE_H5_U1), 2: (.uint16, MOE_H5_U2), 4: (.uint32, MOE_H5_U4), 8: (.uint64, MOE_H5_U8)][size]
    case MOE_H5_CLASS_FLOAT:
      found = [2: (.float16, MOE_H5_F2), 4: (.float32, MOE_H5_F4), 8: (.float64, MOE_H5_F8)][size]
    case MOE_H5_CLASS_ENUM where info.is_bool != 0:
      found = (.bool, MOE_H5_BOOL)
    default:
      found = nil
    }
    guard let (dtype, code) = found else {
      throw MoeFormatError(
        .unsupportedDType, key: key,
        "unsupported HDF5 datatype (\(typeName(info))); expected float16/32/64, (u)int8...64 or bool numbers")
    }
    return (dtype, Int32(code))
  }

  /// The dataset's shape as Swift integers.
  static func dimensions(_ info: moe_h5_info, _ key: String) throws -> [Int] {
    let rank = Int(info.rank)
    return try withUnsafeBytes(of: info.dims) { raw in
      try raw.bindMemory(to: UInt64.self).prefix(rank).map { dim in
        guard let value = Int(exactly: dim) else {
          throw MoeFormatError(.corruptHDF5, key: key, "dimension \(dim) is too large; expected at most \(Int.max)")
        }
        return value
      }
    }
  }

  /// The shim's code for writing `dtype`.
  static func code(for dtype: NpyDType) -> Int32 {
    let code: Int
    switch dtype {
    case .float16: code = MOE_H5_F2
    case .float32: code = MOE_H5_F4
    case .float64: code = MOE_H5_F8
    case .int8: code = MOE_H5_I1
    case .int16: code = MOE_H5_I2
    case .int32: code = MOE_H5_I4
    case .int64: code = MOE_H5_I8
    case .uint8: code = MOE_H5_U1
    case .uint16: code = MOE_H5_U2
    case .uint32: code = MOE_H5_U4
    case .uint64: code = MOE_H5_U8
    case .bool: code = MOE_H5_BOOL
    }
    return Int32(code)
  }

  /// A short name for a dataset's datatype, for error messages.
  static func typeName(_ info: moe_h5_info) -> String {
    let names = [
      MOE_H5_CLASS_INTEGER: "integer", MOE_H5_CLASS_FLOAT: "float", MOE_H5_CLASS_TIME: "time",
      MOE_H5_CLASS_STRING: "string", MOE_H5_CLASS_BITFIELD: "bitfield", MOE_H5_CLASS_OPAQUE: "opaque",
      MOE_H5_CLASS_COMPOUND: "compound", MOE_H5_CLASS_REFERENCE: "reference", MOE_H5_CLASS_ENUM: "enum",
      MOE_H5_CLASS_VLEN: "variable-length", MOE_H5_CLASS_ARRAY: "array",
    ]
    let name = names[Int(info.type_class)] ?? "class \(info.type_class)"
    let fixedSize = [MOE_H5_CLASS_INTEGER, MOE_H5_CLASS_FLOAT, MOE_H5_CLASS_ENUM, MOE_H5_CLASS_COMPOUND]
    return fixedSize.contains(Int(info.type_class)) ? "\(name) of \(info.size) bytes" : name
  }
}
