// SyntheticFaces: a tagged dataset of rendered faces, deterministic in the seed whatever the thread count.
import Foundation
import MoeModels
import MoeQuant

/// Generates datasets of procedural anime faces with tags drawn from the vocabulary's priors.
public enum SyntheticFaces {
  /// The seed of image `index` of a dataset seeded `seed` (SplitMix64 finalizer of both).
  public static func imageSeed(_ seed: UInt64, _ index: Int) -> UInt64 {
    var z = seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(index + 1)
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// The tag vector and the variation of image `index`, from two independent streams of its seed.
  public static func sample(seed: UInt64, index: Int, vocabulary: TagVocabulary = .makeGirls) -> (tags: [Float], variation: FaceVariation) {
    let s = imageSeed(seed, index)
    var tagStream = SeededGenerator(seed: s)
    var variationStream = SeededGenerator(seed: s ^ 0x5DEE_CE66_D1CE_4E5B)
    return (vocabulary.sampleTags(using: &tagStream), FaceVariation(using: &variationStream))
  }

  /// `count` faces of `size`² pixels. Images are split into fixed chunks rendered on `threads` threads
  /// (0: all cores); every image depends only on (seed, index), so the bytes do not depend on `threads`.
  /// `progress` is called on the calling thread with the number of images done so far.
  public static func generate(count: Int, size: Int, seed: UInt64, threads: Int = 0,
                              progress: ((Int) -> Void)? = nil) -> ImageDataset {
    let vocabulary = TagVocabulary.makeGirls
    let tagCount = vocabulary.tags.count, plane = 3 * size * size
    var dataset = ImageDataset(size: size, tagCount: tagCount)
    dataset.images = [UInt8](repeating: 0, count: count * plane)
    dataset.tags = [Float](repeating: 0, count: count * tagCount)
    let workers = threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount
    let renderer = FaceRenderer(size: size)
    let batch = max(workers * 16, 64)
    var done = 0
    dataset.images.withUnsafeMutableBufferPointer { images in
      dataset.tags.withUnsafeMutableBufferPointer { tags in
        let imageBase = images.baseAddress!, tagBase = tags.baseAddress!
        while done < count {
          let end = min(count, done + batch), start = done
          let perWorker = (end - start + workers - 1) / workers
          DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let lo = start + worker * perWorker, hi = min(end, lo + perWorker)
            guard lo < hi else { return }
            for index in lo..<hi {
              let (vector, variation) = sample(seed: seed, index: index, vocabulary: vocabulary)
              let canvas = renderer.render(tags: vector, variation: variation)
              canvas.writePlanes(into: UnsafeMutableBufferPointer(start: imageBase + index * plane, count: plane))
              (tagBase + index * tagCount).update(from: vector, count: tagCount)
            }
          }
          done = end
          progress?(done)
        }
      }
    }
    return dataset
  }

  /// A contact sheet: the first `count` images of `dataset` in a square-ish grid with `gap` pixels between.
  public static func contactSheet(_ dataset: ImageDataset, count: Int, gap: Int = 2) -> RGBImage {
    let n = min(count, dataset.count), side = dataset.size
    let columns = max(1, Int(Double(n).squareRoot().rounded(.up))), rows = max(1, (n + columns - 1) / columns)
    let width = columns * side + (columns + 1) * gap, height = rows * side + (rows + 1) * gap
    var sheet = RGBImage(width: width, height: height, fill: (255, 255, 255))
    for i in 0..<n {
      let image = dataset.image(i)
      let x0 = gap + (i % columns) * (side + gap), y0 = gap + (i / columns) * (side + gap)
      for y in 0..<side {
        let dst = ((y0 + y) * width + x0) * 3
        sheet.pixels.replaceSubrange(dst..<(dst + side * 3), with: image.pixels[(y * side * 3)..<((y + 1) * side * 3)])
      }
    }
    return sheet
  }
}
