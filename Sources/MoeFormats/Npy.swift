// Npy: reading (versions 1.0/2.0/3.0, any byte order, C or Fortran order) and writing .npy files.
import Foundation

/// The numpy `.npy` format: `\x93NUMPY`, version, header length, a Python-literal header dict
/// padded to 64 bytes, then the raw data.
public enum Npy {
  /// The 6-byte magic string every `.npy` file starts with.
  public static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
  /// numpy aligns the start of the data to this many bytes.
  static let arrayAlign = 64

  /// Reads an `.npy` file.
  ///
  /// - Throws: `MoeFormatError` naming `url.path` (unreadable file, bad magic, bad header,
  ///   unsupported or pickled dtype, truncated or overlong data).
  public static func read(_ url: URL) throws -> NpyArray {
    let bytes: [UInt8]
    do {
      bytes = [UInt8](try Data(contentsOf: url))
    } catch {
      throw MoeFormatError(.io, file: url.path, "cannot read file (\(error.localizedDescription)); expected a .npy file")
    }
    return try decode(bytes, file: url.path)
  }

  /// Writes `array` as an `.npy` file (format 1.0, exactly as numpy would), atomically:
  /// the file appears complete or not at all.
  ///
  /// - Throws: `.invalidArray` when `array.data` does not fit its shape; `.io` on write failure.
  public static func write(_ array: NpyArray, to url: URL) throws {
    do {
      _ = try NpyArray(dtype: array.dtype, shape: array.shape, data: array.data)
    } catch let error as MoeFormatError {
      throw error.located(file: url.path)
    }
    try AtomicFile.write(array.npyData(), to: url)
  }

  /// Parses the bytes of an `.npy` file into a little-endian, C-order array.
  ///
  /// - Parameters:
  ///   - file: path for error messages.
  ///   - key: NPZ key for error messages.
  public static func decode(_ bytes: [UInt8], file: String? = nil, key: String? = nil) throws -> NpyArray {
    do {
      return try decodeUnlocated(bytes)
    } catch let error as MoeFormatError {
      throw error.located(file: file, key: key)
    }
  }

  private static func decodeUnlocated(_ bytes: [UInt8]) throws -> NpyArray {
    let magicFound = Array(bytes.prefix(magic.count))
    guard magicFound == Array(magic.prefix(magicFound.count)) else {
      throw MoeFormatError(.badMagic, "bad magic \(hex(magicFound)); expected \\x93NUMPY")
    }
    guard bytes.count >= 10 else {
      throw MoeFormatError(.truncated, "file truncated: \(bytes.count) bytes; expected at least a 10-byte preamble")
    }
    let (major, minor) = (bytes[6], bytes[7])
    let headerStart: Int
    let headerLength: Int
    switch (major, minor) {
    case (1, 0):
      headerStart = 10
      headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
    case (2, 0), (3, 0):
      headerStart = 12
      guard bytes.count >= headerStart else {
        throw MoeFormatError(.truncated, "file truncated: \(bytes.count) bytes; expected at least a 12-byte preamble")
      }
      headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
    default:
      throw MoeFormatError(.unsupportedVersion, "format version \(major).\(minor); expected 1.0, 2.0 or 3.0")
    }
    let dataStart = headerStart + headerLength
    guard bytes.count >= dataStart else {
      throw MoeFormatError(
        .truncated,
        "header truncated: expected \(headerLength) header bytes, found \(bytes.count - headerStart)")
    }
    let headerBytes = bytes[headerStart..<dataStart]
    guard
      let text = major == 3
        ? String(bytes: headerBytes, encoding: .utf8) : String(bytes: headerBytes, encoding: .isoLatin1)
    else {
      throw MoeFormatError(.badHeader, "header is not valid \(major == 3 ? "UTF-8" : "Latin-1") text")
    }
    let header = try NpyHeader.parse(text)
    let expected = try NpyArray.byteCount(dtype: header.dtype, shape: header.shape)
    let found = bytes.count - dataStart
    guard found >= expected else {
      throw MoeFormatError(.truncated, "data truncated: expected \(expected) bytes, found \(found)")
    }
    guard found == expected else {
      throw MoeFormatError(
        .trailingData,
        "\(found - expected) bytes after the data; expected exactly \(expected) data bytes "
          + "for dtype \(header.dtype.descr) shape \(NpyArray.format(header.shape))")
    }
    var data = Array(bytes[dataStart...])
    if header.bigEndian { swapBytes(&data, itemSize: header.dtype.itemSize) }
    if header.fortranOrder { data = fortranToC(data, shape: header.shape, itemSize: header.dtype.itemSize) }
    return try NpyArray(dtype: header.dtype, shape: header.shape, data: data)
  }

  /// The header numpy writes: magic, version, length, dict, spaces to a multiple of 64, `\n`.
  /// Version 1.0 unless the header does not fit its 16-bit length (then 2.0, as numpy does).
  static func headerBytes(dtype: NpyDType, shape: [Int]) -> [UInt8] {
    let dict = Array(NpyHeader.text(dtype: dtype, shape: shape).utf8)
    let textLength = dict.count + 1  // the final "\n"
    for (version, lengthBytes) in [(UInt8(1), 2), (UInt8(2), 4)] {
      let padding = arrayAlign - (magic.count + 2 + lengthBytes + textLength) % arrayAlign
      let total = textLength + padding
      guard lengthBytes == 4 || total <= Int(UInt16.max) else { continue }
      let length = (0..<lengthBytes).map { UInt8(truncatingIfNeeded: total >> (8 * $0)) }
      return magic + [version, 0] + length + dict + [UInt8](repeating: 0x20, count: padding) + [0x0A]
    }
    preconditionFailure("unreachable: version 2.0 always fits")
  }

  /// Reverses the bytes of each `itemSize`-byte element in place.
  static func swapBytes(_ data: inout [UInt8], itemSize: Int) {
    guard itemSize > 1 else { return }
    for start in stride(from: 0, to: data.count - itemSize + 1, by: itemSize) {
      data[start..<start + itemSize].reverse()
    }
  }

  /// Reorders Fortran-order (first axis fastest) elements into C order (last axis fastest).
  static func fortranToC(_ data: [UInt8], shape: [Int], itemSize: Int) -> [UInt8] {
    let count = shape.reduce(1, *)
    guard shape.count > 1, count > 1 else { return data }
    var fortranStrides = [Int](repeating: itemSize, count: shape.count)
    for axis in 1..<shape.count { fortranStrides[axis] = fortranStrides[axis - 1] * shape[axis - 1] }
    var result = [UInt8](repeating: 0, count: data.count)
    var index = [Int](repeating: 0, count: shape.count)
    var source = 0
    for element in 0..<count {
      let target = element * itemSize
      for byte in 0..<itemSize { result[target + byte] = data[source + byte] }
      // Advance the C-order multi-index (last axis fastest), tracking the Fortran offset.
      var axis = shape.count - 1
      while axis >= 0 {
        index[axis] += 1
        source += fortranStrides[axis]
        if index[axis] < shape[axis] { break }
        source -= fortranStrides[axis] * shape[axis]
        index[axis] = 0
        axis -= 1
      }
    }
    return result
  }

  static func hex(_ bytes: [UInt8]) -> String {
    "'"
      + bytes.map { $0 >= 0x20 && $0 < 0x7F ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0) }
      .joined() + "'"
  }
}

extension NpyArray {
  /// The complete `.npy` file for this array (format 1.0, header byte-identical to numpy's).
  ///
  /// Writes `data` as is; use `Npy.write` to check that it fits the shape first.
  public func npyData() -> Data {
    var bytes = Npy.headerBytes(dtype: dtype, shape: shape)
    bytes.append(contentsOf: data)
    return Data(bytes)
  }
}
