// ArraySource: any keyed store of arrays a checkpoint comes from (NPZ, HDF5, memory), read lazily.
import Foundation

/// A checkpoint's arrays by key path (e.g. `res/0/c1/W`), read on demand.
public protocol ArraySource {
  /// The file the arrays come from, for messages.
  var path: String { get }
  /// Every key, in file order.
  var keys: [String] { get }
  /// Reads one array; errors name the file and the key.
  func array(_ key: String) throws -> NpyArray
}

extension NPZFile: ArraySource {
  public var path: String { url.path }
}

/// Arrays held in memory (tests, converted models).
public struct InMemoryArrays: ArraySource {
  public var path: String
  public var keys: [String]
  public var arrays: [String: NpyArray]

  public init(path: String, arrays: [String: NpyArray]) {
    self.path = path
    self.keys = arrays.keys.sorted()
    self.arrays = arrays
  }

  public func array(_ key: String) throws -> NpyArray {
    guard let a = arrays[key] else { throw MoeFormatError(.keyNotFound, file: path, key: key, "not found") }
    return a
  }
}
