// moe dataset: synthetic anime-face datasets, importing a folder of images, and contact sheets.
import ArgumentParser
import Foundation
import MoeData

struct DatasetCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dataset", abstract: "Make, import and look at tagged image datasets (NPZ: images uint8 N×3×S×S, tags float32 N×34).",
    subcommands: [Synth.self, Import.self, Sheet.self])

  struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Render procedural anime faces with tags drawn from the priors.")
    @Option(help: "Number of images.") var count: Int = 1000
    @Option(help: "Image side in pixels (16…512).") var size: Int = 64
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Rendering threads (0: all cores); the output does not depend on it.") var threads: Int = 0
    @Option(name: .shortAndLong, help: "Output dataset NPZ.") var output: String

    func validate() throws {
      guard count >= 1 else { throw ValidationError("--count must be at least 1") }
      guard (16...512).contains(size) else { throw ValidationError("--size must be 16…512") }
      guard threads >= 0 else { throw ValidationError("--threads must be 0 or more") }
      let gigabytes = Double(count) * Double(3 * size * size) / 1e9
      guard gigabytes <= 16 else {
        throw ValidationError(String(format: "--count %d at --size %d needs %.0f GB of images in memory; at most 16 GB", count, size, gigabytes))
      }
    }

    func run() throws {
      let meter = ProgressLine(total: count, noun: "images")
      let dataset = SyntheticFaces.generate(count: count, size: size, seed: seed, threads: threads) { meter.update($0) }
      meter.finish()
      try dataset.writeNPZ(to: output)
      print(String(format: "%@: %d images %dx%d, seed %llu, in %.1f s", output, count, size, size, seed, meter.elapsed))
    }
  }

  struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Import a folder of PNG/JPEG images (centre-crop, resize) with tags from a CSV.")
    @Argument(help: "Folder of images.") var directory: String
    @Option(help: "Image side in pixels.") var size: Int = 64
    @Option(help: "tags.csv (file name, then one column per tag); default: DIR/tags.csv if present.") var tags: String?
    @Option(help: "Drop images whose shorter side is under this many pixels.") var minSize: Int = 80
    @Option(name: .shortAndLong, help: "Output dataset NPZ.") var output: String

    func validate() throws {
      guard (16...512).contains(size) else { throw ValidationError("--size must be 16…512") }
      guard minSize >= 1 else { throw ValidationError("--min-size must be at least 1") }
    }

    func run() throws {
      let defaultCSV = (directory as NSString).appendingPathComponent("tags.csv")
      guard let csv = tags ?? (FileManager.default.fileExists(atPath: defaultCSV) ? defaultCSV : nil) else {
        throw MoeDataError(file: directory, "no tags.csv in the folder and no --tags CSV; tagging images without a CSV "
                           + "needs the tagger model, which MoeKit does not have yet (moe tag comes later)")
      }
      let table = try TagsCSV.read(csv)
      let meter = ProgressLine(total: 0, noun: "images")
      let summary = try FolderImport.run(directory: directory, size: size, minSize: minSize, tags: table) { done, total in
        meter.total = total
        meter.update(done)
      }
      meter.finish()
      if !summary.tooSmall.isEmpty {
        print("dropped \(summary.tooSmall.count) image(s) smaller than \(minSize) px: \(summary.tooSmall.prefix(5).joined(separator: ", "))"
              + (summary.tooSmall.count > 5 ? ", …" : ""))
      }
      if !summary.untagged.isEmpty {
        print("dropped \(summary.untagged.count) image(s) with no row in \(csv): \(summary.untagged.prefix(5).joined(separator: ", "))"
              + (summary.untagged.count > 5 ? ", …" : ""))
      }
      guard summary.dataset.count > 0 else { throw MoeDataError(file: directory, "no images left to import") }
      try summary.dataset.writeNPZ(to: output)
      print("\(output): \(summary.dataset.count) images \(size)x\(size)")
    }
  }

  struct Sheet: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A contact sheet PNG of the first images of a dataset NPZ.")
    @Argument(help: "Dataset NPZ.") var dataset: String
    @Option(help: "Number of images.") var count: Int = 64
    @Option(name: .shortAndLong, help: "Output PNG.") var output: String

    func validate() throws { guard count >= 1 else { throw ValidationError("--count must be at least 1") } }

    func run() throws {
      let data = try ImageDataset.readNPZ(dataset)
      let sheet = SyntheticFaces.contactSheet(data, count: count)
      try ImageFile.writePNG(sheet, to: output)
      print("\(output): \(min(count, data.count)) images, \(sheet.width)x\(sheet.height)")
    }
  }
}

/// A progress line on stderr: rewritten in place on a terminal, plain lines every few seconds otherwise.
final class ProgressLine {
  var total: Int
  let noun: String
  private let start = DispatchTime.now().uptimeNanoseconds
  private var lastPrint: Double = 0
  private let terminal = isatty(2) != 0
  private var printed = false

  init(total: Int, noun: String) { self.total = total; self.noun = noun }

  var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

  func update(_ done: Int) {
    let now = elapsed
    guard now - lastPrint >= (terminal ? 0.2 : 5) || (done == total && printed) else { return }
    lastPrint = now
    printed = true
    let rate = Double(done) / max(now, 1e-9)
    let eta = rate > 0 ? Double(total - done) / rate : 0
    let line = String(format: "%d/%d %@, %.0f/s, ETA %.0f s", done, total, noun, rate, eta)
    FileHandle.standardError.write(Data((terminal ? "\r\(line)\u{1B}[K" : "\(line)\n").utf8))
  }

  func finish() { if terminal && printed { FileHandle.standardError.write(Data("\n".utf8)) } }
}
