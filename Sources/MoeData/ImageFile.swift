// ImageFile: reading PNG/JPEG files and writing PNG files through libpng and libjpeg (MoeImageShim).
import Foundation
import MoeFormats
import MoeImageShim

/// Image files: PNG and JPEG in, PNG out.
public enum ImageFile {
  /// The formats `read` recognises by their leading bytes.
  public enum Format: String, Sendable { case png = "PNG", jpeg = "JPEG" }

  /// File name extensions of images a folder scan picks up (lower case).
  public static let extensions: Set<String> = ["png", "jpg", "jpeg"]

  /// The format of `bytes` from its signature, or nil.
  public static func format(of bytes: [UInt8]) -> Format? {
    if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
    if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
    return nil
  }

  /// Reads a PNG or JPEG file.
  ///
  /// - Throws: `MoeDataError` naming `path` for a missing or empty file, a file that is neither PNG nor
  ///   JPEG, a truncated or damaged stream, or a zero-sized image.
  public static func read(_ path: String) throws -> RGBImage {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw MoeDataError(file: path, "cannot read the file (missing or unreadable)")
    }
    return try decode([UInt8](data), file: path)
  }

  /// Decodes PNG or JPEG bytes; `file` names the source in errors.
  public static func decode(_ bytes: [UInt8], file: String) throws -> RGBImage {
    guard !bytes.isEmpty else { throw MoeDataError(file: file, "empty file (0 bytes); expected a PNG or JPEG image") }
    guard let format = format(of: bytes) else {
      let head = bytes.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
      throw MoeDataError(file: file, "not a PNG or JPEG image (starts with \(head))")
    }
    // libpng only says "Invalid IHDR data" for a zero width or height; read the IHDR size to say what is wrong.
    if format == .png, bytes.count >= 24, bytes[12..<16].elementsEqual("IHDR".utf8) {
      let size = [16, 20].map { o in bytes[o..<(o + 4)].reduce(0) { $0 << 8 | Int($1) } }
      if size.contains(0) {
        throw MoeDataError(file: file, "zero-sized PNG image (\(size[0])×\(size[1]) in IHDR); expected at least 1×1 pixels")
      }
    }
    var rgb: UnsafeMutablePointer<UInt8>?
    var width: Int32 = 0, height: Int32 = 0
    var message = [CChar](repeating: 0, count: 256)
    let status = bytes.withUnsafeBufferPointer { buffer in
      format == .png
        ? moe_png_decode(buffer.baseAddress, buffer.count, &rgb, &width, &height, &message, message.count)
        : moe_jpeg_decode(buffer.baseAddress, buffer.count, &rgb, &width, &height, &message, message.count)
    }
    guard status == 0, let rgb else {
      let reason = String(cString: message), name = format.rawValue
      if reason.localizedCaseInsensitiveContains("zero") || reason.contains("Empty") {
        throw MoeDataError(file: file, "zero-sized \(name) image (\(reason)); expected at least 1×1 pixels")
      }
      let truncated = ["Premature end", "beyond end", "Not enough", "unexpected end", "too short"].contains { reason.localizedCaseInsensitiveContains($0) }
      throw MoeDataError(file: file, truncated ? "truncated \(name) image (\(reason)); the file ends before its image data does"
                                               : "damaged or unsupported \(name) image (\(reason))")
    }
    defer { moe_image_free(rgb) }
    let count = Int(width) * Int(height) * 3
    return RGBImage(width: Int(width), height: Int(height), pixels: Array(UnsafeBufferPointer(start: rgb, count: count)))
  }

  /// PNG bytes of `image` (libpng, deflate-compressed).
  public static func encodePNG(_ image: RGBImage) throws -> Data {
    var png: UnsafeMutablePointer<UInt8>?
    var size = 0
    var message = [CChar](repeating: 0, count: 256)
    let status = image.pixels.withUnsafeBufferPointer {
      moe_png_encode($0.baseAddress, Int32(image.width), Int32(image.height), &png, &size, &message, message.count)
    }
    guard status == 0, let png else { throw MoeDataError("cannot encode PNG (\(String(cString: message)))") }
    defer { moe_image_free(png) }
    return Data(bytes: png, count: size)
  }

  /// Writes `image` as a PNG file atomically.
  public static func writePNG(_ image: RGBImage, to path: String) throws {
    let data: Data
    do { data = try encodePNG(image) } catch let error as MoeDataError { throw MoeDataError(file: path, error.message) }
    try AtomicFile.write(data, to: URL(fileURLWithPath: path))
  }
}
