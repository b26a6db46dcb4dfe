// SafeTensors+Keys: PyTorch state_dict names ↔ Chainer key paths (`res.0.c1.weight` ↔ `res/0/c1/W`).

/// The name mapping between a PyTorch `state_dict` and a Chainer checkpoint.
///
/// Module paths swap `.` and `/`; a layer's `weight`/`bias` are Chainer's `W`/`b`, except in a BatchNorm module (one with
/// `running_mean`), where `weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked` are `gamma`, `beta`,
/// `avg_mean`, `avg_var`, `N`. Weight layouts agree (Linear (out, in), Conv (out, in, kh, kw), Deconv (in, out, kh, kw)).
public enum PyTorchKeys {
  static let batchNormToChainer = ["weight": "gamma", "bias": "beta", "running_mean": "avg_mean", "running_var": "avg_var",
                                   "num_batches_tracked": "N"]
  static let layerToChainer = ["weight": "W", "bias": "b"]
  static let chainerToTorch = ["W": "weight", "b": "bias", "gamma": "weight", "beta": "bias", "avg_mean": "running_mean",
                               "avg_var": "running_var", "N": "num_batches_tracked"]

  /// The PyTorch name of a Chainer key.
  public static func torchName(_ chainerKey: String) -> String {
    var parts = chainerKey.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    if let last = parts.last, let torch = chainerToTorch[last] { parts[parts.count - 1] = torch }
    return parts.joined(separator: ".")
  }

  /// Chainer keys for a set of PyTorch names (names that already contain `/` are kept as they are).
  public static func chainerNames(_ torchNames: [String]) -> [String: String] {
    let names = Set(torchNames)
    var out: [String: String] = [:]
    for name in torchNames {
      if name.contains("/") { out[name] = name; continue }
      var parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
      let module = parts.dropLast().joined(separator: ".")
      let isBatchNorm = names.contains(module.isEmpty ? "running_mean" : module + ".running_mean")
      if let last = parts.last, let chainer = (isBatchNorm ? batchNormToChainer : layerToChainer)[last] {
        parts[parts.count - 1] = chainer
      }
      out[name] = parts.joined(separator: "/")
    }
    return out
  }

  /// A checkpoint's arrays (Chainer keys, as `ChainerExporter.arrays` gives them) under PyTorch names, BN counters as
  /// int64 scalars (`num_batches_tracked`), ready for `load_state_dict(strict=True)` of the generated module.
  public static func stateDict(_ chainerArrays: [(key: String, array: NpyArray)]) throws -> [(key: String, array: NpyArray)] {
    var out: [(key: String, array: NpyArray)] = []
    for (key, array) in chainerArrays {
      if key.hasSuffix("/N") {
        out.append((torchName(key), NpyArray(int64s: [try array.int64s().first ?? 0], shape: [])))
      } else {
        out.append((torchName(key), array))
      }
    }
    return out
  }
}

/// A safetensors file seen with Chainer keys, so the Chainer importer reads it like an NPZ.
public struct ChainerKeyedSafeTensors: ArraySource {
  public let file: SafeTensorsFile
  public let keys: [String]
  private let torchName: [String: String]
  public var path: String { file.path }

  public init(_ file: SafeTensorsFile) {
    self.file = file
    let map = PyTorchKeys.chainerNames(file.keys)
    self.keys = file.keys.map { map[$0]! }
    self.torchName = Dictionary(map.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
  }

  /// Reads the tensor behind a Chainer key; errors name the file and the tensor's name in the file.
  public func array(_ key: String) throws -> NpyArray {
    guard let name = torchName[key] else { throw MoeFormatError(.keyNotFound, file: path, key: key, "not in the file") }
    return try file.array(name)
  }
}
