// PillowReference: the system Python's Pillow (Debian python3-pil) as an independent image encoder/decoder.
import Foundation
import MoeTestSupport
import XCTest

/// Runs small Pillow scripts with /usr/bin/python3 (Pillow comes from the Makefile's python3-pil).
enum PillowReference {
  static let python = URL(fileURLWithPath: "/usr/bin/python3")

  /// Runs `script` with `arguments` (sys.argv[1:]); fails the test when it exits non-zero.
  @discardableResult
  static func run(_ script: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let r = try TestSupport.run(python, ["-c", script] + arguments)
    if r.status != 0 {
      XCTFail("Pillow script failed (\(r.status)); is python3-pil installed (make install)? \(r.stderr.suffix(1500))", file: file, line: line)
      throw NSError(domain: "PillowReference", code: Int(r.status))
    }
    return r.stdout
  }

  /// Decodes any image file to RGB with Pillow (alpha composited over white), as (width, height, bytes).
  static func decodeRGB(_ path: String) throws -> (Int, Int, [UInt8]) {
    let raw = path + ".pil.rgb"
    let size = try run("""
      import sys
      from PIL import Image
      im = Image.open(sys.argv[1]); im.load()
      if im.mode in ('RGBA', 'LA', 'PA') or (im.mode == 'P' and 'transparency' in im.info):
          im = im.convert('RGBA'); bg = Image.new('RGBA', im.size, (255, 255, 255, 255))
          im = Image.alpha_composite(bg, im)
      im = im.convert('RGB')
      open(sys.argv[2], 'wb').write(im.tobytes())
      print(im.size[0], im.size[1])
      """, [path, raw]).split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: raw)))
    return (size[0], size[1], bytes)
  }

  /// Writes `bytes` (RGB rows) with Pillow as `path`, converted to `mode` ('RGB', 'L', 'P', 'RGBA', 'I;16'),
  /// in the format the extension names; `quality` for JPEG.
  static func write(_ bytes: [UInt8], width: Int, height: Int, mode: String = "RGB", to path: String, quality: Int = 92) throws {
    let raw = path + ".in.rgb"
    try Data(bytes).write(to: URL(fileURLWithPath: raw))
    try run("""
      import sys
      from PIL import Image
      w, h, mode, q = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[6])
      im = Image.frombytes('RGB', (w, h), open(sys.argv[1], 'rb').read())
      if mode == 'RGBA':
          im = im.convert('RGBA'); a = Image.linear_gradient('L').resize((w, h)); im.putalpha(a)
      elif mode == 'P':
          im = im.convert('P', palette=Image.ADAPTIVE, colors=64)
      elif mode == 'I;16':  # 16-bit grey: each 8-bit grey level v stored as v * 257
          im = im.convert('L').convert('I').point(lambda v: v * 257)
      elif mode != 'RGB':
          im = im.convert(mode)
      if sys.argv[5].lower().endswith(('.jpg', '.jpeg')):
          im.save(sys.argv[5], quality=q)
      else:
          im.save(sys.argv[5])
      """, [raw, "\(width)", "\(height)", mode, path, "\(quality)"])
  }
}
