// DatasetTests: dataset NPZ read by NumPy, moe dataset synth/import/sheet end to end, tags.csv errors.
import Foundation
import MoeData
import MoeFormats
import MoeModels
import MoeQuant
import MoeTestSupport
import XCTest

final class DatasetTests: XCTestCase {
  func testSynthNPZIsWhatNumPyExpects() throws {
    let dir = try TestSupport.temporaryDirectory("moedata-synth")
    let npz = dir.appendingPathComponent("d.npz").path
    let r = try TestSupport.moe(["dataset", "synth", "--count", "30", "--size", "32", "--seed", "5", "-o", npz])
    XCTAssertEqual(r.status, 0, r.stderr)
    let ours = SyntheticFaces.generate(count: 30, size: 32, seed: 5)
    let report = try TestSupport.python(["-c", """
      import sys, json, numpy as np
      d = np.load(sys.argv[1])
      im, t = d['images'], d['tags']
      print(json.dumps({'keys': sorted(d.files), 'images': [str(im.dtype), list(im.shape)], 'tags': [str(t.dtype), list(t.shape)],
                        'pm1': bool(np.isin(t, [-1.0, 1.0]).all()), 'image_sum': int(im.astype(np.int64).sum()),
                        'pixel': [int(v) for v in im[7, :, 10, 20]], 'tag_rows': t[[0, 29]].tolist()}))
      """, npz])
    let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
    XCTAssertEqual(json["keys"] as? [String], ["images", "tags"])
    let imageInfo = json["images"] as? [Any] ?? [], tagInfo = json["tags"] as? [Any] ?? []
    XCTAssertEqual(imageInfo.first as? String, "uint8")
    XCTAssertEqual(imageInfo.last as? [Int], [30, 3, 32, 32])
    XCTAssertEqual(tagInfo.first as? String, "float32")
    XCTAssertEqual(tagInfo.last as? [Int], [30, 34])
    XCTAssertEqual(json["pm1"] as? Bool, true)
    XCTAssertEqual(json["image_sum"] as? Int, ours.images.reduce(0) { $0 + Int($1) })
    let image7 = ours.image(7)
    XCTAssertEqual(json["pixel"] as? [Int], (0..<3).map { Int(image7.pixels[(10 * 32 + 20) * 3 + $0]) }, "N×3×S×S order, RGB")
    let rows: [[Double]] = json["tag_rows"] as? [[Double]] ?? []
    let expectedRows: [[Double]] = [ours.tagVector(0).map(Double.init), ours.tagVector(29).map(Double.init)]
    XCTAssertEqual(rows, expectedRows)
    // Our reader agrees, and the contact sheet is a PNG of the right size.
    let read = try ImageDataset.readNPZ(npz)
    XCTAssertEqual(read.images, ours.images)
    XCTAssertEqual(read.tags, ours.tags)
    let sheet = dir.appendingPathComponent("sheet.png").path
    XCTAssertEqual(try TestSupport.moe(["dataset", "sheet", npz, "--count", "16", "-o", sheet]).status, 0)
    let decoded = try ImageFile.read(sheet)
    XCTAssertEqual([decoded.width, decoded.height], [4 * 32 + 5 * 2, 4 * 32 + 5 * 2])
  }

  /// Writes a solid-colour image of the given size with Pillow.
  func solid(_ colour: (UInt8, UInt8, UInt8), _ width: Int, _ height: Int, _ path: URL) throws {
    try PillowReference.write(RGBImage(width: width, height: height, fill: colour).pixels, width: width, height: height, to: path.path)
  }

  func testImportFolderWithPNGJPEGTooSmallAndCSV() throws {
    let dir = try TestSupport.temporaryDirectory("moedata-import")
    let images = dir.appendingPathComponent("faces")
    try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
    try solid((200, 30, 40), 120, 100, images.appendingPathComponent("a.png"))
    try solid((30, 60, 200), 90, 130, images.appendingPathComponent("b.jpg"))
    try solid((10, 200, 10), 40, 40, images.appendingPathComponent("tiny.png"))
    try Data("notes".utf8).write(to: images.appendingPathComponent("readme.txt"))
    try """
      file,red_hair,blue_eyes,smile,blonde_hair
      a.png,1,1,-1,-1
      b.jpg,-1,0,1,1
      tiny.png,1,1,1,-1
      """.write(to: images.appendingPathComponent("tags.csv"), atomically: true, encoding: .utf8)
    let npz = dir.appendingPathComponent("imported.npz").path
    let r = try TestSupport.moe(["dataset", "import", images.path, "--size", "48", "-o", npz])
    XCTAssertEqual(r.status, 0, r.stderr)
    XCTAssertTrue(r.stdout.contains("dropped 1 image(s) smaller than 80 px: tiny.png"), r.stdout)
    let data = try ImageDataset.readNPZ(npz)
    XCTAssertEqual([data.count, data.size], [2, 48])
    let names = TagVocabulary.makeGirls.tags
    func on(_ i: Int) -> Set<String> { Set(names.indices.filter { data.tagVector(i)[$0] > 0 }.map { names[$0] }) }
    XCTAssertEqual(on(0), ["red_hair", "blue_eyes"])
    XCTAssertEqual(on(1), ["smile", "blonde_hair"])
    // The pixels are the files' colours (JPEG within its rounding).
    for (i, colour) in [(0, [200, 30, 40]), (1, [30, 60, 200])] {
      let image = data.image(i)
      for c in 0..<3 { XCTAssertEqual(Double(image.pixels[(24 * 48 + 24) * 3 + c]), Double(colour[c]), accuracy: 4) }
    }
    // With --min-size 30 the small image stays.
    let all = dir.appendingPathComponent("all.npz").path
    XCTAssertEqual(try TestSupport.moe(["dataset", "import", images.path, "--size", "32", "--min-size", "30", "-o", all]).status, 0)
    XCTAssertEqual(try ImageDataset.readNPZ(all).count, 3)
  }

  /// Runs `moe ARGS`, expecting a clean failure whose error line contains every string of `expected`.
  func assertFails(_ arguments: [String], _ expected: [String], file: StaticString = #filePath, line: UInt = #line) throws {
    let r = try TestSupport.moe(arguments)
    XCTAssertFalse(r.crashed, "no crash", file: file, line: line)
    XCTAssertNotEqual(r.status, 0, file: file, line: line)
    let errorLines = r.stderr.split(separator: "\n").filter { $0.contains("Error") }
    XCTAssertEqual(errorLines.count, 1, r.stderr, file: file, line: line)
    for text in expected { XCTAssertTrue(r.stderr.contains(text), "'\(text)' in: \(r.stderr)", file: file, line: line) }
  }

  func testImportErrorsNameTheFileOrTag() throws {
    let dir = try TestSupport.temporaryDirectory("moedata-import-bad")
    let out = dir.appendingPathComponent("out.npz").path
    let folder = dir.appendingPathComponent("f")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try solid((1, 2, 3), 100, 100, folder.appendingPathComponent("ok.png"))
    // No CSV and no tagger yet.
    try assertFails(["dataset", "import", folder.path, "-o", out], ["tags.csv", "tagger"])
    // Unknown tag name; two hair colours at once.
    let csv = dir.appendingPathComponent("t.csv")
    try "file,blonde_hair,cat_ears\nok.png,1,1\n".write(to: csv, atomically: true, encoding: .utf8)
    try assertFails(["dataset", "import", folder.path, "--tags", csv.path, "-o", out], [csv.path, "unknown tag 'cat_ears'"])
    try "file,blonde_hair,red_hair\nok.png,1,1\n".write(to: csv, atomically: true, encoding: .utf8)
    try assertFails(["dataset", "import", folder.path, "--tags", csv.path, "-o", out], [csv.path, "blonde_hair and red_hair"])
    // A truncated image in the folder is named.
    try "file,blonde_hair\nok.png,1\nbroken.png,1\n".write(to: csv, atomically: true, encoding: .utf8)
    let png = try Data(contentsOf: folder.appendingPathComponent("ok.png"))
    try png.prefix(png.count / 2).write(to: folder.appendingPathComponent("broken.png"))
    try assertFails(["dataset", "import", folder.path, "--tags", csv.path, "-o", out], ["broken.png", "truncated PNG"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no partial output")
  }
}
