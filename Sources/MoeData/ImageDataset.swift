// ImageDataset: square RGB images with ±1 tag vectors, and its NPZ form (images uint8 N×3×S×S, tags float32 N×34).
import Foundation
import MoeFormats
import MoeModels
import MoeQuant

/// A dataset of `count` square `size`×`size` RGB images, each with a ±1 tag vector in vocabulary order.
public struct ImageDataset: Sendable {
  /// Image side in pixels.
  public var size: Int
  /// Tags per image (the vocabulary's tag count).
  public var tagCount: Int
  /// `count * 3 * size * size` bytes, each image as R, G, B planes (N×3×S×S).
  public var images: [UInt8]
  /// `count * tagCount` values, +1 on / −1 off.
  public var tags: [Float]

  /// The number of images.
  public var count: Int { tags.count / max(tagCount, 1) }

  /// An empty dataset of `size`² images with `tagCount` tags each.
  public init(size: Int, tagCount: Int = TagVocabulary.makeGirls.tags.count) {
    self.size = size
    self.tagCount = tagCount
    images = []
    tags = []
  }

  /// Appends an image (resized to `size`² if needed after a centre crop) with its tag vector.
  public mutating func append(_ image: RGBImage, tags vector: [Float]) {
    precondition(vector.count == tagCount, "ImageDataset.append: \(vector.count) tags; expected \(tagCount)")
    var square = image.centreCropped()
    if square.width != size { square = square.resized(width: size, height: size) }
    images += square.planes
    tags += vector
  }

  /// Image `index` as an `RGBImage`.
  public func image(_ index: Int) -> RGBImage {
    let plane = 3 * size * size
    return RGBImage(planes: images[(index * plane)..<((index + 1) * plane)], width: size, height: size)
  }

  /// The ±1 tag vector of image `index`.
  public func tagVector(_ index: Int) -> [Float] { Array(tags[(index * tagCount)..<((index + 1) * tagCount)]) }

  /// Writes the dataset NPZ (`images`, `tags`) atomically.
  public func writeNPZ(to path: String) throws {
    let imageArray = try NpyArray(dtype: .uint8, shape: [count, 3, size, size], data: images)
    let tagArray = NpyArray(floats: tags, shape: [count, tagCount])
    try NPZFile.write([(key: "images", array: imageArray), (key: "tags", array: tagArray)],
                      to: URL(fileURLWithPath: path))
  }

  /// Reads a dataset NPZ, checking keys, dtypes, shapes and that every tag is ±1.
  ///
  /// - Throws: `MoeFormatError` for an unreadable archive; `MoeDataError` naming the file and key otherwise.
  public static func readNPZ(_ path: String, tagCount: Int = TagVocabulary.makeGirls.tags.count) throws -> ImageDataset {
    let npz = try NPZFile(url: URL(fileURLWithPath: path))
    for key in ["images", "tags"] where !npz.contains(key) {
      throw MoeDataError(file: path, "no '\(key)' array; a dataset NPZ holds 'images' (uint8 N×3×S×S) and 'tags' (float32 N×\(tagCount))")
    }
    let images = try npz.array("images"), tags = try npz.array("tags")
    guard images.dtype == .uint8, images.shape.count == 4, images.shape[1] == 3, images.shape[2] == images.shape[3],
          images.shape[2] > 0
    else {
      throw MoeDataError(file: path, "key 'images': \(images.dtype.descr) \(images.shape); expected uint8 N×3×S×S")
    }
    guard tags.dtype == .float32, tags.shape == [images.shape[0], tagCount] else {
      throw MoeDataError(file: path, "key 'tags': \(tags.dtype.descr) \(tags.shape); expected float32 [\(images.shape[0]), \(tagCount)]")
    }
    let values = try tags.floats()
    if let bad = values.firstIndex(where: { $0 != 1 && $0 != -1 }) {
      throw MoeDataError(file: path, "key 'tags': value \(values[bad]) at image \(bad / tagCount), tag \(bad % tagCount); expected +1 or -1")
    }
    var dataset = ImageDataset(size: images.shape[2], tagCount: tagCount)
    dataset.images = images.data
    dataset.tags = values
    return dataset
  }
}
