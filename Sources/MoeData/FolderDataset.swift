// FolderDataset: a folder of images plus tags.csv (file name, then one column per tag), and its import.
import Foundation
import MoeModels
import MoeQuant

/// Reading `tags.csv`: a header `file,<tag>,<tag>…` (any subset of the vocabulary, any order), then one
/// row per image with 1/+1/true for on and -1/0/false/empty for off. Tags without a column are off.
public enum TagsCSV {
  /// The ±1 tag vector of each file name.
  ///
  /// - Throws: `MoeDataError` naming the CSV and the line for an unknown tag name, a bad value, a row
  ///   of the wrong length, a duplicate file, or two tags on in a one-of group (two hair colours).
  public static func read(_ path: String, vocabulary: TagVocabulary = .makeGirls) throws -> [String: [Float]] {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw MoeDataError(file: path, "cannot read the tags CSV (missing or unreadable)")
    }
    let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
      .map { $0.trimmingCharacters(in: .whitespaces) }
    guard let header = lines.first.map(fields), header.count >= 2 else {
      throw MoeDataError(file: path, "no header; expected `file,<tag>,…` with tags from tags.json")
    }
    let names = vocabulary.tags
    var columns: [Int] = []
    for name in header.dropFirst() {
      guard let index = names.firstIndex(of: name) else {
        throw MoeDataError(file: path, "unknown tag '\(name)' in the header; known: \(names.joined(separator: ", "))")
      }
      columns.append(index)
    }
    var result: [String: [Float]] = [:]
    for (number, line) in lines.enumerated().dropFirst() where !line.isEmpty {
      let row = fields(line)
      guard row.count == header.count else {
        throw MoeDataError(file: path, "line \(number + 1): \(row.count) fields; expected \(header.count) like the header")
      }
      var vector = [Float](repeating: -1, count: names.count)
      for (value, index) in zip(row.dropFirst(), columns) {
        switch value.lowercased() {
        case "1", "+1", "1.0", "true", "yes": vector[index] = 1
        case "-1", "0", "-1.0", "0.0", "false", "no", "": vector[index] = -1
        default:
          throw MoeDataError(file: path, "line \(number + 1): '\(value)' for tag '\(names[index])'; expected 1 or -1 (or 0)")
        }
      }
      var offset = 0
      for group in vocabulary.groups {
        let on = group.tags.indices.filter { vector[offset + $0] > 0 }.map { group.tags[$0] }
        if group.oneOf && on.count > 1 {
          throw MoeDataError(file: path, "line \(number + 1) (\(row[0])): \(on.joined(separator: " and ")) are both on; "
                             + "\(group.name) takes at most one")
        }
        offset += group.tags.count
      }
      guard result.updateValue(vector, forKey: row[0]) == nil else {
        throw MoeDataError(file: path, "line \(number + 1): '\(row[0])' appears twice")
      }
    }
    return result
  }

  static func fields(_ line: String) -> [String] {
    line.split(separator: ",", omittingEmptySubsequences: false).map {
      $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }
  }
}

/// Importing a person's folder of images into a dataset.
public enum FolderImport {
  /// What an import did.
  public struct Summary: Sendable {
    public var dataset: ImageDataset
    /// Images dropped for a shorter side under the threshold.
    public var tooSmall: [String]
    /// Images without a row in the tags CSV (dropped).
    public var untagged: [String]
  }

  /// The image files of `directory` (by extension, sorted by name).
  public static func imageFiles(in directory: String) throws -> [String] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw MoeDataError(file: directory, "not a folder")
    }
    let names = try FileManager.default.contentsOfDirectory(atPath: directory)
    return names.filter { ImageFile.extensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
  }

  /// Reads every image of `directory`, drops those whose shorter side is under `minSize`, centre-crops and
  /// resizes the rest to `size`², and tags them from `tags` (file name → ±1 vector).
  ///
  /// - Throws: `MoeDataError` naming the file for an unreadable, truncated or zero-sized image.
  public static func run(directory: String, size: Int, minSize: Int, tags: [String: [Float]],
                         progress: ((Int, Int) -> Void)? = nil) throws -> Summary {
    let files = try imageFiles(in: directory)
    guard !files.isEmpty else { throw MoeDataError(file: directory, "no PNG or JPEG images in the folder") }
    var summary = Summary(dataset: ImageDataset(size: size), tooSmall: [], untagged: [])
    for (index, name) in files.enumerated() {
      defer { progress?(index + 1, files.count) }
      guard let vector = tags[name] else { summary.untagged.append(name); continue }
      let image = try ImageFile.read((directory as NSString).appendingPathComponent(name))
      guard min(image.width, image.height) >= minSize else { summary.tooSmall.append(name); continue }
      summary.dataset.append(image, tags: vector)
    }
    return summary
  }
}
