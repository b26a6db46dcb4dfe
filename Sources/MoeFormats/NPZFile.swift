// NPZFile: reading numpy .npz archives (numpy.savez / savez_compressed, Chainer's save_npz).
import Foundation
import ZIPFoundation

/// A numpy `.npz` archive opened for reading: a ZIP of `.npy` files, stored or deflated.
///
/// Opening validates the archive's whole directory structure; `array(_:)` then inflates one
/// entry, checks its size and CRC-32, and parses it. Chainer's `save_npz` writes keys such as
/// `res/0/c1/W`, or `updater/model:main/fc/W` in a trainer snapshot.
public struct NPZFile: Sendable {
  /// The archive's location.
  public let url: URL
  /// Entry names without the `.npy` suffix, in archive order.
  public let keys: [String]
  private let entries: [String: ZipEntry]

  /// Deflate cannot expand data more than about 1032:1; a bigger claim is corruption.
  static let maxDeflateRatio = 1032

  /// Opens `url` and reads its directory.
  ///
  /// - Throws: `MoeFormatError` naming the file: `.io` (missing/unreadable), `.notZip`,
  ///   `.truncated` or `.corruptZip` (damaged structure), `.unsupportedZipFeature`.
  public init(url: URL) throws {
    self.url = url
    let directory: ZipDirectory
    do {
      directory = try ZipDirectory(reading: RandomAccessFile(url))
    } catch let error as MoeFormatError {
      throw error.located(file: url.path)
    }
    var keys: [String] = []
    var entries: [String: ZipEntry] = [:]
    for entry in directory.entries where !entry.name.hasSuffix("/") {
      let key = NPZFile.key(forEntryName: entry.name)
      guard entries[key] == nil else {
        throw MoeFormatError(.corruptZip, file: url.path, key: key, "appears twice; expected unique keys")
      }
      keys.append(key)
      entries[key] = entry
    }
    self.keys = keys
    self.entries = entries
  }

  /// Reads the array stored under `key`.
  ///
  /// - Throws: `.keyNotFound` (listing the first keys present), zip errors (`.truncated`,
  ///   `.corruptZip`, `.checksumMismatch`) and `.npy` errors (e.g. `.pickledObject`), all naming
  ///   the file and the key.
  public func array(_ key: String) throws -> NpyArray {
    guard let entry = entries[key] else {
      let shown = keys.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
      let more = keys.count > 5 ? ", ..." : ""
      throw MoeFormatError(
        .keyNotFound, file: url.path, key: key, "not found (have \(keys.count) keys: \(shown)\(more))")
    }
    do {
      let bytes = try NPZFile.extract(entry, from: RandomAccessFile(url))
      return try Npy.decode(bytes)
    } catch let error as MoeFormatError {
      throw error.located(file: url.path, key: key)
    }
  }

  /// Reads every array, keyed by name.
  public func readAll() throws -> [String: NpyArray] {
    var arrays: [String: NpyArray] = [:]
    for key in keys { arrays[key] = try array(key) }
    return arrays
  }

  /// Whether the archive has an array under `key`.
  public func contains(_ key: String) -> Bool { entries[key] != nil }

  /// The key numpy gives an entry: its name without the `.npy` suffix.
  static func key(forEntryName name: String) -> String {
    name.hasSuffix(".npy") ? String(name.dropLast(4)) : name
  }

  /// The uncompressed bytes of `entry`, checked against its recorded size and CRC-32.
  static func extract(_ entry: ZipEntry, from file: RandomAccessFile) throws -> [UInt8] {
    let stored = try file.read(at: entry.dataOffset, count: entry.compressedSize)
    let bytes: [UInt8]
    switch entry.method {
    case 0:
      guard entry.compressedSize == entry.uncompressedSize else {
        throw MoeFormatError(
          .corruptZip,
          "corrupt zip archive: stored entry has \(entry.compressedSize) bytes but claims "
            + "\(entry.uncompressedSize) uncompressed; expected equal sizes")
      }
      bytes = stored
    case 8:
      bytes = try inflate(stored, expectedSize: entry.uncompressedSize)
    default:
      throw MoeFormatError(.unsupportedZipFeature, "compression method \(entry.method); expected stored or deflate")
    }
    let checksum = Data(bytes).crc32(checksum: 0)
    guard checksum == entry.crc32 else {
      throw MoeFormatError(
        .checksumMismatch,
        "CRC-32 mismatch: computed \(hex32(checksum)), archive says \(hex32(entry.crc32)); "
          + "the archive is corrupt")
    }
    return bytes
  }

  /// Inflates raw deflate data with ZIPFoundation, never reading past `compressed` and never
  /// producing more than `expectedSize` bytes.
  ///
  /// ZIPFoundation's Linux inflate loop asks for input until the stream ends (an empty read
  /// spins forever) and tells zlib every chunk is `bufferSize` long (a short chunk is over-read).
  /// So the whole stream goes in as one chunk of exactly `bufferSize` bytes, and asking for more
  /// throws: a truncated stream ends in an error instead of a hang.
  static func inflate(_ compressed: [UInt8], expectedSize: Int) throws -> [UInt8] {
    guard !compressed.isEmpty else {
      throw MoeFormatError(.truncated, "truncated or corrupt zip archive: empty deflate stream")
    }
    guard compressed.count <= Int(Int32.max) else {
      throw MoeFormatError(
        .unsupportedZipFeature, "deflated entry of \(compressed.count) bytes; expected at most 2 GiB compressed")
    }
    let (maxOutput, overflow) = compressed.count.multipliedReportingOverflow(by: maxDeflateRatio)
    guard overflow || expectedSize <= maxOutput + 64 else {
      throw MoeFormatError(
        .corruptZip, "corrupt zip archive: \(compressed.count) deflated bytes cannot hold \(expectedSize) bytes")
    }
    let input = Data(compressed)
    var output: [UInt8] = []
    output.reserveCapacity(expectedSize)
    var exhausted = false
    do {
      _ = try Data.decompress(
        size: Int64(input.count), bufferSize: input.count, skipCRC32: true,
        provider: { position, chunkSize in
          if position == 0 && chunkSize == input.count { return input }
          // Apple's Compression path asks for the empty remainder once before finishing.
          if position == Int64(input.count) && chunkSize == 0 { return Data() }
          exhausted = true
          throw MoeFormatError(.truncated, "deflate stream ends early")
        },
        consumer: { data in
          guard data.count <= expectedSize - output.count else {
            throw MoeFormatError(
              .corruptZip, "corrupt zip archive: deflate stream inflates past the recorded \(expectedSize) bytes")
          }
          output.append(contentsOf: data)
        })
    } catch let error as MoeFormatError {
      guard exhausted else { throw error }
      throw MoeFormatError(
        .truncated,
        "truncated or corrupt zip archive: deflate stream ends after \(compressed.count) bytes "
          + "having produced \(output.count) of \(expectedSize)")
    } catch {
      throw MoeFormatError(.corruptZip, "corrupt zip archive: bad deflate stream (\(error))")
    }
    guard output.count == expectedSize else {
      throw MoeFormatError(
        .corruptZip, "corrupt zip archive: inflated \(output.count) bytes; expected \(expectedSize)")
    }
    return output
  }

  private static func hex32(_ value: UInt32) -> String { String(format: "0x%08x", value) }
}
