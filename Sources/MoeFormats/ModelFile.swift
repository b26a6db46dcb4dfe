// ModelFile: opens any model file MoeKit reads (Chainer NPZ/HDF5, ONNX, IR text, bundles) and writes them, by extension.
import Crypto
import Foundation
import MoeIR
import MoeQuant

/// Reading and writing model files by extension.
public enum ModelFile {
  /// What `load` reads, as (extensions, what they hold) in the order help texts list them.
  public static let inputFormats: [(extensions: [String], holds: String)] = [
    (["npz", "h5", "hdf5"], "Chainer checkpoint"), (["safetensors"], "PyTorch state_dict"), (["onnx"], "ONNX model"),
    (["moeir"], "IR text"), (["moe"], "browser bundle"),
  ]
  /// Extensions `load` understands.
  public static let readable = inputFormats.flatMap(\.extensions)
  /// `inputFormats` for help texts: `.npz/.h5/.hdf5 (Chainer checkpoint), .safetensors (PyTorch state_dict), …`.
  public static let inputFormatsHelp = inputFormats.map { f in
    f.extensions.map { "." + $0 }.joined(separator: "/") + " (\(f.holds))"
  }.joined(separator: ", ")
  /// Extensions `write` understands.
  public static let writable = ["moeir", "npz", "h5", "hdf5", "moe", "onnx", "safetensors", "py"]
  /// The producer string bundles record.
  public static let producer = "moekit 0.1.0"

  /// Loads a model as a graph with its weights. Chainer checkpoints (`.npz`, `.h5`) go through `checkpoints`, the
  /// importer that knows the architectures (`MoeModels` adds `ModelFile.load(_:options:)`, which passes its own);
  /// without one they are refused. The model-knowledge metadata (`ModelPriors`) is checked whatever the format.
  public static func load(_ url: URL, checkpoints: CheckpointImporter?) throws -> ImportedModel {
    let m = try loadUnchecked(url, checkpoints: checkpoints)
    do { _ = try ModelPriors(of: m.graph) } catch let e as MetadataError {
      throw ImportError(file: url.path, key: nil, e.description)
    }
    return m
  }

  private static func loadUnchecked(_ url: URL, checkpoints: CheckpointImporter?) throws -> ImportedModel {
    let path = url.path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
      throw ImportError(file: path, key: nil, "no such file")
    }
    switch url.pathExtension.lowercased() {
    case "npz", "h5", "hdf5":
      guard let checkpoints else {
        throw ImportError(file: path, key: nil, "a Chainer checkpoint needs the model zoo to be read (MoeModels' ModelFile.load(_:options:))")
      }
      let source: ArraySource = url.pathExtension.lowercased() == "npz" ? try NPZFile(url: url) : try HDF5File(url: url)
      return try checkpoints(source)
    case "safetensors":
      guard let checkpoints else {
        throw ImportError(file: path, key: nil, "a safetensors checkpoint needs the model zoo to be read (MoeModels' ModelFile.load(_:options:))")
      }
      return try checkpoints(ChainerKeyedSafeTensors(try SafeTensorsFile(url: url)))
    case "moeir":
      return ImportedModel(graph: try loadIR(url), prefix: "", unusedKeys: [], notes: [])
    case "moe":
      let b = try MoeBundle.read(url)
      var m = ImportedModel(graph: b.graph, prefix: "", unusedKeys: [], notes: [])
      for t in b.manifest.tensors { if let s = QuantScheme(name: t.encoding), s != .float32 { m.encodings[t.name] = s } }
      return m
    case "onnx":
      let (g, encodings) = try ONNXImporter.readWithEncodings(url)
      return ImportedModel(graph: g, prefix: "", unusedKeys: [], notes: [], encodings: encodings.mapValues(\.scheme))
    default:
      throw ImportError(file: path, key: nil, "unknown model format '.\(url.pathExtension)'; expected \(readable.map { "." + $0 }.joined(separator: ", "))")
    }
  }

  /// Writes `model` by the extension of `url`: `.moeir` (IR text + weights beside it), `.npz` or `.h5` (Chainer layout),
  /// `.moe` and `.onnx` with `plan`'s encodings (ONNX: only `int8`, as DequantizeLinear; see `QuantizationPlan.forONNX`).
  public static func write(_ model: ImportedModel, to url: URL, plan: QuantizationPlan = .init(), deflate: Bool = false,
                           sourceURL: URL? = nil, onnxOpset: Int = 17) throws {
    switch url.pathExtension.lowercased() {
    case "moe": try writeBundle(model.graph, to: url, plan: plan, deflate: deflate, sourceURL: sourceURL)
    case "moeir": try writeIR(model.graph, to: url)
    case "onnx": try ONNXExporter.write(model.graph, to: url, opset: onnxOpset, encoding: { plan.schemes[$0] })
    case "npz": try NPZFile.write(try ChainerExporter.arrays(model), to: url)
    case "h5", "hdf5": try HDF5File.write(try ChainerExporter.arrays(model), to: url)
    case "safetensors": try PyTorchModuleWriter.writeStateDict(model, to: url, sourceURL: sourceURL)
    case "py": try PyTorchModuleWriter.write(model, to: url, sourceURL: sourceURL)
    default:
      throw ImportError(file: url.path, key: nil, "unsupported output format '.\(url.pathExtension)'; supported: \(writable.map { "." + $0 }.joined(separator: ", "))")
    }
  }

  /// Writes a `.moe` bundle with `plan`'s encodings; the bundle's `vocabulary` is the graph's `tag_vocabulary`
  /// metadata (recorded by the importer that knows the model), and `source` the name and SHA-256 of `sourceURL`.
  @discardableResult
  public static func writeBundle(_ graph: Graph, to url: URL, plan: QuantizationPlan = .init(), deflate: Bool = false,
                                 sourceURL: URL? = nil) throws -> MoeBundle.WriteSummary {
    var source: MoeBundle.Source? = nil
    if let sourceURL, let data = try? Data(contentsOf: sourceURL) {
      source = MoeBundle.Source(file: sourceURL.lastPathComponent, sha256: sha256Hex(data))
    }
    return try MoeBundle.write(graph, to: url, producer: producer, source: source, encoding: { plan.schemes[$0] }, deflate: deflate)
  }

  /// The SHA-256 of `data` as 64 lowercase hex digits (as `sha256sum` prints it).
  public static func sha256Hex<D: DataProtocol>(_ data: D) -> String {
    SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
  }
}
