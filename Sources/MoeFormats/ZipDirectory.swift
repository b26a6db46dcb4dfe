// ZipDirectory: a bounds-checked reader of a ZIP archive's central directory and local headers.
import Foundation

/// One file entry of a ZIP archive, with every offset checked against the file size.
struct ZipEntry: Equatable, Sendable {
  var name: String
  var method: UInt16
  var crc32: UInt32
  var compressedSize: Int
  var uncompressedSize: Int
  /// Where the entry's (compressed) bytes start, past its local header.
  var dataOffset: Int
}

/// The entries of a ZIP archive in central-directory order.
///
/// Every structure is parsed by hand with its offsets and lengths checked before use, so a
/// truncated or corrupt archive yields a `MoeFormatError` instead of a trap or an endless loop.
struct ZipDirectory {
  var entries: [ZipEntry]

  static let localHeaderSignature: UInt32 = 0x0403_4B50
  static let centralHeaderSignature: UInt32 = 0x0201_4B50
  static let endSignature: UInt32 = 0x0605_4B50
  static let zip64EndSignature: UInt32 = 0x0606_4B50
  static let zip64LocatorSignature: UInt32 = 0x0706_4B50
  static let endRecordSize = 22
  static let maxCommentLength = 0xFFFF

  /// Reads and validates the central directory and every local header of `file`.
  init(reading file: RandomAccessFile) throws {
    let size = file.size
    guard size > 0 else { throw MoeFormatError(.notZip, "empty file (0 bytes); expected a ZIP archive (NPZ)") }
    let head = try file.read(at: 0, count: min(4, size))
    let startsLikeZip =
      head == Array([0x50, 0x4B, 0x03, 0x04].prefix(head.count))
      || head == [0x50, 0x4B, 0x05, 0x06]
    guard let endOffset = try ZipDirectory.findEndRecord(in: file) else {
      throw startsLikeZip
        ? MoeFormatError(
          .truncated,
          "truncated or corrupt zip archive: no end-of-central-directory record in the "
            + "last \(min(size, ZipDirectory.endRecordSize + ZipDirectory.maxCommentLength)) bytes of \(size)")
        : MoeFormatError(.notZip, "not a zip archive (starts with \(Npy.hex(head))); expected an NPZ (ZIP) archive")
    }
    let end = ByteReader(try file.read(at: endOffset, count: ZipDirectory.endRecordSize))
    guard end.u16(4) == 0, end.u16(6) == 0, end.u16(8) == end.u16(10) else {
      throw MoeFormatError(.unsupportedZipFeature, "multi-disk zip archive; expected a single-file archive")
    }
    var entryCount = Int(end.u16(10))
    var directorySize = Int(end.u32(12))
    var directoryOffset = Int(end.u32(16))
    var directoryLimit = endOffset
    if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
      (entryCount, directorySize, directoryOffset, directoryLimit) = try ZipDirectory.readZip64End(
        file, endOffset: endOffset)
    }
    guard directoryOffset <= directoryLimit, directorySize <= directoryLimit - directoryOffset else {
      throw MoeFormatError(
        .truncated,
        "truncated or corrupt zip archive: central directory at \(directoryOffset) (+\(directorySize) "
          + "bytes) does not end before \(directoryLimit); expected it within the \(size)-byte file")
    }
    let directory = ByteReader(try file.read(at: directoryOffset, count: directorySize))
    var position = 0
    entries = []
    for index in 0..<entryCount {
      let (entry, localOffset, next) = try ZipDirectory.parseCentralHeader(directory, at: position, index: index)
      let dataOffset = try ZipDirectory.checkLocalHeader(file, entry: entry, at: localOffset, limit: directoryOffset)
      entries.append(
        ZipEntry(
          name: entry.name, method: entry.method, crc32: entry.crc32, compressedSize: entry.compressedSize,
          uncompressedSize: entry.uncompressedSize, dataOffset: dataOffset))
      position = next
    }
    guard position == directorySize else {
      throw MoeFormatError(
        .corruptZip,
        "corrupt zip archive: \(directorySize - position) unexplained bytes after "
          + "\(entryCount) central directory records; expected exactly \(directorySize) bytes of records")
    }
  }

  /// The offset of the end-of-central-directory record: the last signature within the
  /// final 64 KiB + 22 bytes whose comment fits in the file.
  private static func findEndRecord(in file: RandomAccessFile) throws -> Int? {
    let windowSize = min(file.size, endRecordSize + maxCommentLength)
    guard windowSize >= endRecordSize else { return nil }
    let windowStart = file.size - windowSize
    let window = ByteReader(try file.read(at: windowStart, count: windowSize))
    var candidate = windowSize - endRecordSize
    while candidate >= 0 {
      if window.u32(candidate) == endSignature,
        candidate + endRecordSize + Int(window.u16(candidate + 20)) <= windowSize
      {
        return windowStart + candidate
      }
      candidate -= 1
    }
    return nil
  }

  /// Reads the ZIP64 end record; returns entry count, directory size, offset, and where it must end.
  private static func readZip64End(_ file: RandomAccessFile, endOffset: Int) throws -> (Int, Int, Int, Int) {
    let locatorSize = 20
    let recordSize = 56
    guard endOffset >= locatorSize else {
      throw MoeFormatError(.truncated, "truncated or corrupt zip archive: ZIP64 locator missing before offset \(endOffset)")
    }
    let locator = ByteReader(try file.read(at: endOffset - locatorSize, count: locatorSize))
    let recordOffset = locator.u64(8)
    guard locator.u32(0) == zip64LocatorSignature, recordOffset <= UInt64(endOffset - locatorSize - recordSize) else {
      throw MoeFormatError(.corruptZip, "corrupt zip archive: bad ZIP64 end-of-central-directory locator")
    }
    let record = ByteReader(try file.read(at: Int(recordOffset), count: recordSize))
    let count = record.u64(32)
    let size = record.u64(40)
    let offset = record.u64(48)
    guard record.u32(0) == zip64EndSignature, count <= UInt64(Int.max), size <= UInt64(Int.max),
      offset <= UInt64(Int.max)
    else {
      throw MoeFormatError(.corruptZip, "corrupt zip archive: bad ZIP64 end-of-central-directory record")
    }
    return (Int(count), Int(size), Int(offset), Int(recordOffset))
  }

  /// Parses the central header at `position`; returns the entry (data offset still unknown),
  /// its local header offset and the position of the next record.
  private static func parseCentralHeader(_ directory: ByteReader, at position: Int, index: Int) throws
    -> (ZipEntry, Int, Int)
  {
    let fixedSize = 46
    func corrupt(_ what: String) -> MoeFormatError {
      MoeFormatError(.corruptZip, "corrupt zip archive: central directory record \(index) at +\(position): \(what)")
    }
    guard directory.count - position >= fixedSize, directory.u32(position) == centralHeaderSignature else {
      throw corrupt("missing or cut short; expected signature PK\\x01\\x02 and \(fixedSize) bytes")
    }
    let flags = directory.u16(position + 8)
    let method = directory.u16(position + 10)
    let nameLength = Int(directory.u16(position + 28))
    let extraLength = Int(directory.u16(position + 30))
    let commentLength = Int(directory.u16(position + 32))
    let next = position + fixedSize + nameLength + extraLength + commentLength
    guard next <= directory.count else { throw corrupt("name/extra/comment run past the central directory") }
    let nameBytes = directory.slice(position + fixedSize, nameLength)
    let name = String(bytes: nameBytes, encoding: .utf8) ?? String(bytes: nameBytes, encoding: .isoLatin1) ?? ""
    guard flags & 0x1 == 0 else {
      throw MoeFormatError(.unsupportedZipFeature, "entry '\(name)' is encrypted; expected an unencrypted archive")
    }
    guard method == 0 || method == 8 else {
      throw MoeFormatError(
        .unsupportedZipFeature, "entry '\(name)' uses compression method \(method); expected stored (0) or deflate (8)")
    }
    var uncompressed = UInt64(directory.u32(position + 24))
    var compressed = UInt64(directory.u32(position + 20))
    var localOffset = UInt64(directory.u32(position + 42))
    // ZIP64 extended information (id 1) holds, in order, each field whose 32-bit value is all ones.
    var extra = position + fixedSize + nameLength
    let extraEnd = extra + extraLength
    while extraEnd - extra >= 4 {
      let id = directory.u16(extra)
      let length = Int(directory.u16(extra + 2))
      guard extraEnd - extra - 4 >= length else { throw corrupt("extra field runs past its record") }
      if id == 1 {
        var field = extra + 4
        let fieldEnd = field + length
        func nextField() throws -> UInt64 {
          guard fieldEnd - field >= 8 else { throw corrupt("ZIP64 extra field too short") }
          field += 8
          return directory.u64(field - 8)
        }
        if uncompressed == 0xFFFF_FFFF { uncompressed = try nextField() }
        if compressed == 0xFFFF_FFFF { compressed = try nextField() }
        if localOffset == 0xFFFF_FFFF { localOffset = try nextField() }
      }
      extra += 4 + length
    }
    guard uncompressed <= UInt64(Int.max), compressed <= UInt64(Int.max), localOffset <= UInt64(Int.max) else {
      throw corrupt("size or offset beyond 2^63")
    }
    let entry = ZipEntry(
      name: name, method: method, crc32: directory.u32(position + 16), compressedSize: Int(compressed),
      uncompressedSize: Int(uncompressed), dataOffset: 0)
    return (entry, Int(localOffset), next)
  }

  /// Checks the local header at `offset` against the central record; returns the data offset.
  private static func checkLocalHeader(_ file: RandomAccessFile, entry: ZipEntry, at offset: Int, limit: Int) throws
    -> Int
  {
    let fixedSize = 30
    func corrupt(_ what: String) -> MoeFormatError {
      MoeFormatError(.corruptZip, "truncated or corrupt zip archive: entry '\(entry.name)' at offset \(offset): \(what)")
    }
    guard offset <= limit, limit - offset >= fixedSize else {
      throw corrupt("local header lies outside the \(limit) bytes before the central directory")
    }
    let header = ByteReader(try file.read(at: offset, count: fixedSize))
    guard header.u32(0) == localHeaderSignature else { throw corrupt("bad local header signature; expected PK\\x03\\x04") }
    guard header.u16(8) == entry.method else {
      throw corrupt("local header says method \(header.u16(8)), central directory says \(entry.method)")
    }
    let nameLength = Int(header.u16(26))
    let dataOffset = offset + fixedSize + nameLength + Int(header.u16(28))
    guard dataOffset <= limit, entry.compressedSize <= limit - dataOffset else {
      throw corrupt("\(entry.compressedSize) data bytes at \(dataOffset) run past the central directory at \(limit)")
    }
    let localName = try file.read(at: offset + fixedSize, count: nameLength)
    guard localName == Array(entry.name.utf8) || String(bytes: localName, encoding: .isoLatin1) == entry.name else {
      throw corrupt("local header names '\(String(decoding: localName, as: UTF8.self))'")
    }
    return dataOffset
  }
}

/// Little-endian field access into a byte array; callers check bounds first.
struct ByteReader {
  let bytes: [UInt8]
  init(_ bytes: [UInt8]) { self.bytes = bytes }
  var count: Int { bytes.count }
  func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
  func u32(_ at: Int) -> UInt32 { UInt32(u16(at)) | UInt32(u16(at + 2)) << 16 }
  func u64(_ at: Int) -> UInt64 { UInt64(u32(at)) | UInt64(u32(at + 4)) << 32 }
  func slice(_ at: Int, _ length: Int) -> [UInt8] { Array(bytes[at..<at + length]) }
}
