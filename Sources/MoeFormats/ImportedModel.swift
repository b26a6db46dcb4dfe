// ImportedModel: a model read from any file (graph, prefix, notes, BN counters, encodings) and the one-line load error.
import MoeIR
import MoeQuant

/// A checkpoint that does not fit the architecture; one line naming the file and key.
public struct ImportError: Error, CustomStringConvertible {
  public var file: String
  public var key: String?
  public var message: String
  public init(file: String, key: String?, _ message: String) {
    self.file = file
    self.key = key
    self.message = message
  }
  public var description: String {
    if let key { return "\(file): key '\(key)': \(message)" }
    return "\(file): \(message)"
  }
}

/// The result of importing a checkpoint.
public struct ImportedModel {
  public var graph: Graph
  /// The subtree the model was read from ("" for the root).
  public var prefix: String
  /// Keys of the file the architecture does not use (under the prefix or elsewhere).
  public var unusedKeys: [String]
  /// Conversions worth telling the user about (e.g. float64 → float32).
  public var notes: [String]
  /// BatchNormalization counters (`…/N`, relative to the prefix), kept for export back to Chainer.
  public var counters: [String: NpyArray] = [:]
  /// How the source stored each weight when it says (a `.moe` bundle's encodings, an ONNX DequantizeLinear int8
  /// weight); the graph holds the decoded values. `moe convert` keeps these unless `--quantize` is given.
  public var encodings: [String: QuantScheme] = [:]

  public init(graph: Graph, prefix: String = "", unusedKeys: [String] = [], notes: [String] = [],
              counters: [String: NpyArray] = [:], encodings: [String: QuantScheme] = [:]) {
    self.graph = graph
    self.prefix = prefix
    self.unusedKeys = unusedKeys
    self.notes = notes
    self.counters = counters
    self.encodings = encodings
  }
}

/// Reads a keyed checkpoint (Chainer NPZ or HDF5) into a model. The formats layer reads the arrays; knowing which
/// architecture they belong to is the model zoo's job (`MoeModels.ChainerImporter`), which passes itself in here.
public typealias CheckpointImporter = (ArraySource) throws -> ImportedModel
