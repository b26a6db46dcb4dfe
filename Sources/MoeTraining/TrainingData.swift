// TrainingData: the images and tags a GAN trains on (dataset NPZ or a folder of PNGs + tags.csv), as float batches.
import Foundation
import MoeData
import MoeIR

/// Square RGB images (uint8, N×3×S×S) with ±1 tag vectors.
public struct TrainingData: Sendable {
  public var dataset: ImageDataset
  /// Where it came from, for messages.
  public var source: String

  public var count: Int { dataset.count }
  public var size: Int { dataset.size }
  public var tagCount: Int { dataset.tagCount }

  /// Reads a dataset NPZ or a folder (every PNG listed in `tags.csv`, each exactly `size`² pixels).
  /// - Throws: `TrainingError` naming the file (missing, unreadable, wrongly sized image, a tag row missing).
  public static func load(_ path: String, size: Int) throws -> TrainingData {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw TrainingError("\(path): no such dataset (expected a dataset .npz or a folder of PNG images with tags.csv)")
    }
    var dataset: ImageDataset
    do {
      if isDirectory.boolValue {
        dataset = try folder(path, size: size)
      } else {
        dataset = try ImageDataset.readNPZ(path)
      }
    } catch let e as TrainingError {
      throw e
    } catch {
      throw TrainingError("\(error)")
    }
    guard dataset.count > 0 else { throw TrainingError("\(path): the dataset holds no images") }
    guard dataset.size == size else {
      throw TrainingError("\(path): images are \(dataset.size)×\(dataset.size), but --size is \(size)")
    }
    return TrainingData(dataset: dataset, source: path)
  }

  private static func folder(_ path: String, size: Int) throws -> ImageDataset {
    let csv = (path as NSString).appendingPathComponent("tags.csv")
    guard FileManager.default.fileExists(atPath: csv) else { throw TrainingError("\(csv): missing; a folder dataset needs tags.csv") }
    let tags = try TagsCSV.read(csv)
    let files = try FolderImport.imageFiles(in: path)
    guard !files.isEmpty else { throw TrainingError("\(path): no PNG or JPEG images in the folder") }
    var dataset = ImageDataset(size: size)
    for name in files {
      let file = (path as NSString).appendingPathComponent(name)
      guard let vector = tags[name] else { throw TrainingError("\(csv): no tag row for image '\(name)'") }
      let image = try ImageFile.read(file)
      guard image.width == size, image.height == size else {
        throw TrainingError("\(file): image is \(image.width)×\(image.height), expected \(size)×\(size) (import it with moe dataset import --size \(size))")
      }
      dataset.append(image, tags: vector)
    }
    return dataset
  }

  /// Images `indices` as floats in [−1, 1] (x / 127.5 − 1) and their tags in {0, 1}.
  public func batch(_ indices: [Int]) -> (images: Tensor, tags: Tensor) {
    let plane = 3 * size * size, t = tagCount
    var x = [Float](repeating: 0, count: indices.count * plane), y = [Float](repeating: 0, count: indices.count * t)
    for (r, i) in indices.enumerated() {
      for k in 0..<plane { x[r * plane + k] = Float(dataset.images[i * plane + k]) / 127.5 - 1 }
      for k in 0..<t { y[r * t + k] = dataset.tags[i * t + k] > 0 ? 1 : 0 }
    }
    return (Tensor(shape: [indices.count, 3, size, size], data: x), Tensor(shape: [indices.count, t], data: y))
  }

  /// Fraction of images with each tag on (the tag priors the generator's inputs are sampled from).
  public var tagFrequencies: [Double] {
    (0..<tagCount).map { k in Double((0..<count).filter { dataset.tags[$0 * tagCount + k] > 0 }.count) / Double(count) }
  }
}
