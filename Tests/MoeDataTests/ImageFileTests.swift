// ImageFileTests: PNG/JPEG reading and PNG writing against Pillow, and one-line errors for bad files.
import Foundation
import MoeData
import MoeTestSupport
import XCTest

final class ImageFileTests: XCTestCase {
  /// A smooth image with noise: realistic for JPEG, exact for PNG.
  func testImage(width: Int, height: Int, seed: UInt64) -> [UInt8] {
    var rng = SplitMix64(seed: seed)
    var out = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
      for x in 0..<width {
        let base = [x * 255 / max(width - 1, 1), y * 255 / max(height - 1, 1), (x + y) * 127 / max(width + height - 2, 1)]
        for c in 0..<3 { out[(y * width + x) * 3 + c] = UInt8(clamping: base[c] + rng.int(-12...12)) }
      }
    }
    return out
  }

  func testPNGRoundTripDecodedByPillow() throws {
    let dir = try TestSupport.temporaryDirectory("moedata-png")
    let image = RGBImage(width: 37, height: 23, pixels: testImage(width: 37, height: 23, seed: 1))
    let path = dir.appendingPathComponent("out.png").path
    try ImageFile.writePNG(image, to: path)
    let (w, h, reference) = try PillowReference.decodeRGB(path)
    XCTAssertEqual([w, h], [37, 23])
    XCTAssertEqual(reference, image.pixels, "Pillow decodes our PNG to the pixels we wrote")
    XCTAssertEqual(try ImageFile.read(path), image, "our reader returns the pixels we wrote")
  }

  func testPNGModesWrittenByPillowReadLikePillow() throws {
    let dir = try TestSupport.temporaryDirectory("moedata-png-modes")
    let pixels = testImage(width: 30, height: 20, seed: 2)
    // Grey, palette and 16-bit grey expand exactly; alpha is composited over white (rounding may differ by 1–2).
    for (mode, tolerance) in [("RGB", 0), ("L", 0), ("P", 0), ("I;16", 0), ("RGBA", 2)] {
      let path = dir.appendingPathComponent("in-\(mode.replacingOccurrences(of: ";", with: "")).png").path
      try PillowReference.write(pixels, width: 30, height: 20, mode: mode, to: path)
      let ours = try ImageFile.read(path)
      var (w, h, reference) = try PillowReference.decodeRGB(path)
      if mode == "I;16" {  // Pillow clips 16-bit grey to 8 bits on conversion; compare with the 8-bit grey it came from
        let grey = dir.appendingPathComponent("in-L-reference.png").path
        try PillowReference.write(pixels, width: 30, height: 20, mode: "L", to: grey)
        (w, h, reference) = try PillowReference.decodeRGB(grey)
      }
      XCTAssertEqual([ours.width, ours.height], [w, h], mode)
      let worst = zip(ours.pixels, reference).map { abs(Int($0) - Int($1)) }.max() ?? 0
      XCTAssertLessThanOrEqual(worst, tolerance, "PNG mode \(mode): largest difference from Pillow")
    }
  }

  func testJPEGReadMatchesPillow() throws {
    let dir = try TestSupport.temporaryDirectory("moedata-jpeg")
    let pixels = testImage(width: 48, height: 40, seed: 3)
    for (name, mode) in [("colour.jpg", "RGB"), ("grey.jpeg", "L")] {
      let path = dir.appendingPathComponent(name).path
      try PillowReference.write(pixels, width: 48, height: 40, mode: mode, to: path)
      let ours = try ImageFile.read(path)
      let (w, h, reference) = try PillowReference.decodeRGB(path)
      XCTAssertEqual([ours.width, ours.height], [w, h])
      // Both decoders are IDCT implementations of the same stream; allow small rounding/upsampling differences.
      let diffs = zip(ours.pixels, reference).map { abs(Int($0) - Int($1)) }
      XCTAssertLessThanOrEqual(diffs.max() ?? 0, 6, "\(name): largest difference from Pillow")
      XCTAssertLessThanOrEqual(Double(diffs.reduce(0, +)) / Double(diffs.count), 0.5, "\(name): mean difference from Pillow")
    }
  }

  /// Asserts that reading `path` throws one line naming the file and containing `expected`.
  func assertReadError(_ path: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try ImageFile.read(path), file: file, line: line) { error in
      let text = "\(error)"
      XCTAssertTrue(error is MoeDataError, "error type \(type(of: error))", file: file, line: line)
      XCTAssertTrue(text.hasPrefix(path + ": "), "names the file: \(text)", file: file, line: line)
      XCTAssertFalse(text.contains("\n"), "one line: \(text)", file: file, line: line)
      XCTAssertTrue(text.localizedCaseInsensitiveContains(expected), "says '\(expected)': \(text)", file: file, line: line)
    }
  }

  func testBadFilesGiveOneLineNamingTheFile() throws {
    let dir = try TestSupport.temporaryDirectory("moedata-bad")
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    try Data("hello, not an image\n".utf8).write(to: URL(fileURLWithPath: path("notes.png")))
    assertReadError(path("notes.png"), "not a PNG or JPEG")
    try Data().write(to: URL(fileURLWithPath: path("empty.jpg")))
    assertReadError(path("empty.jpg"), "empty file")
    assertReadError(path("missing.png"), "cannot read")

    let pixels = testImage(width: 40, height: 40, seed: 4)
    try ImageFile.writePNG(RGBImage(width: 40, height: 40, pixels: pixels), to: path("whole.png"))
    let png = try Data(contentsOf: URL(fileURLWithPath: path("whole.png")))
    try png.prefix(png.count / 2).write(to: URL(fileURLWithPath: path("truncated.png")))
    assertReadError(path("truncated.png"), "truncated PNG")
    try png.prefix(40).write(to: URL(fileURLWithPath: path("header-only.png")))
    assertReadError(path("header-only.png"), "PNG")

    try PillowReference.write(pixels, width: 40, height: 40, to: path("whole.jpg"))
    let jpeg = try Data(contentsOf: URL(fileURLWithPath: path("whole.jpg")))
    try jpeg.prefix(jpeg.count / 2).write(to: URL(fileURLWithPath: path("truncated.jpg")))
    assertReadError(path("truncated.jpg"), "truncated JPEG")

    // Zero-sized: a PNG whose IHDR says width 0 (CRC fixed up so only the size is wrong), and a JPEG whose
    // SOF0 says height 0.
    var zeroPNG = [UInt8](png)
    zeroPNG.replaceSubrange(16..<20, with: [0, 0, 0, 0])
    let crc = crc32(Array(zeroPNG[12..<29]))
    zeroPNG.replaceSubrange(29..<33, with: [UInt8(crc >> 24), UInt8((crc >> 16) & 255), UInt8((crc >> 8) & 255), UInt8(crc & 255)])
    try Data(zeroPNG).write(to: URL(fileURLWithPath: path("zero.png")))
    assertReadError(path("zero.png"), "zero-sized PNG")
    var zeroJPEG = [UInt8](jpeg)
    let sof = try XCTUnwrap((0..<(zeroJPEG.count - 1)).first { zeroJPEG[$0] == 0xFF && zeroJPEG[$0 + 1] == 0xC0 })
    zeroJPEG.replaceSubrange((sof + 5)..<(sof + 7), with: [0, 0])
    try Data(zeroJPEG).write(to: URL(fileURLWithPath: path("zero.jpg")))
    assertReadError(path("zero.jpg"), "zero-sized JPEG")
  }

  /// CRC-32 (PNG chunk checksum), bit by bit.
  func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
  }

  func testResizeAgainstNaiveLoops() {
    let pixels = testImage(width: 16, height: 12, seed: 5)
    let image = RGBImage(width: 16, height: 12, pixels: pixels)
    // Halving is a 2×2 box average.
    let half = image.resized(width: 8, height: 6)
    for y in 0..<6 {
      for x in 0..<8 {
        for c in 0..<3 {
          let sum = [(0, 0), (1, 0), (0, 1), (1, 1)].reduce(0) { $0 + Int(pixels[((2 * y + $1.1) * 16 + 2 * x + $1.0) * 3 + c]) }
          XCTAssertEqual(Double(half.pixels[(y * 8 + x) * 3 + c]), Double(sum) / 4, accuracy: 0.51)
        }
      }
    }
    // A constant image stays constant under any area or bilinear resize.
    let flat = RGBImage(width: 13, height: 9, fill: (200, 100, 50))
    for (w, h) in [(5, 3), (7, 7), (26, 18), (31, 4)] {
      XCTAssertEqual(flat.resized(width: w, height: h), RGBImage(width: w, height: h, fill: (200, 100, 50)))
    }
    // Centre crop keeps the middle square.
    let crop = image.centreCropped()
    XCTAssertEqual([crop.width, crop.height], [12, 12])
    XCTAssertEqual(Array(crop.pixels[0..<3]), Array(pixels[(2 * 3)..<(2 * 3 + 3)]))
  }
}
