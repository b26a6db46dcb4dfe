// ModelFile: opens any model file MoeKit reads (Chainer NPZ/HDF5, IR text + weights) and writes them by extension.
import Foundation
import MoeFormats
import MoeIR
import MoeQuant

/// Reading and writing model files by extension.
public enum ModelFile {
  /// Extensions `load` understands.
  public static let readable = ["npz", "h5", "hdf5", "moeir", "moe", "onnx"]
  /// Extensions `write` understands.
  public static let writable = ["moeir", "npz", "h5", "hdf5", "moe", "onnx"]
  /// The producer string bundles record.
  public static let producer = "moekit 0.1.0"

  /// Loads a model as a graph with its weights.
  public static func load(_ url: URL, options: ChainerImportOptions = .init()) throws -> ImportedModel {
    let path = url.path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
      throw ImportError(file: path, key: nil, "no such file")
    }
    switch url.pathExtension.lowercased() {
    case "npz":
      return try ChainerImporter.importGraph(from: try NPZFile(url: url), options: options)
    case "h5", "hdf5":
      return try ChainerImporter.importGraph(from: try HDF5File(url: url), options: options)
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
    default:
      throw ImportError(file: url.path, key: nil, "unsupported output format '.\(url.pathExtension)'; supported: \(writable.map { "." + $0 }.joined(separator: ", "))")
    }
  }

  /// Writes a `.moe` bundle; generators whose input is noise + the 34 tags carry the tag vocabulary.
  @discardableResult
  public static func writeBundle(_ graph: Graph, to url: URL, plan: QuantizationPlan = .init(), deflate: Bool = false,
                                 sourceURL: URL? = nil) throws -> MoeBundle.WriteSummary {
    var vocabulary: JSONValue? = nil
    let vocab = TagVocabulary.makeGirls
    if graph.inputs.count == 1, graph.inputs[0].shape.rank == 2, graph.inputs[0].shape[1].value == vocab.noiseLength + vocab.tags.count {
      vocabulary = try JSONDecoder().decode(JSONValue.self, from: Data(TagVocabulary.makeGirlsJSON.utf8))
    }
    var source: MoeBundle.Source? = nil
    if let sourceURL, let data = try? Data(contentsOf: sourceURL) {
      source = MoeBundle.Source(file: sourceURL.lastPathComponent, sha256: SHA256.hex(SHA256.hash([UInt8](data))))
    }
    return try MoeBundle.write(graph, to: url, producer: producer, source: source, vocabulary: vocabulary,
                            encoding: { plan.schemes[$0] }, deflate: deflate)
  }

  /// The weight file written beside an IR text file: `M.moeir` → `M.weights.npz`.
  public static func weightsURL(for irURL: URL) -> URL {
    irURL.deletingPathExtension().appendingPathExtension("weights.npz")
  }

  /// Reads IR text and the weights named by its `weights` metadata (default: `weightsURL(for:)`).
  public static func loadIR(_ url: URL) throws -> Graph {
    let text: String
    do { text = try String(contentsOf: url, encoding: .utf8) } catch {
      throw ImportError(file: url.path, key: nil, "cannot read as UTF-8 text (\(error.localizedDescription))")
    }
    var g: Graph
    do { g = try IRText.parse(text, source: url.path) } catch let e as IRError {
      throw ImportError(file: url.path, key: nil, e.description.hasPrefix(url.path) ? String(e.description.dropFirst(url.path.count + 1)) : e.description)
    }
    let weightsFile = g.metadata["weights"].map { url.deletingLastPathComponent().appendingPathComponent($0) } ?? weightsURL(for: url)
    if !g.weights.isEmpty {
      let npz = try NPZFile(url: weightsFile)
      for w in g.weights {
        guard npz.contains(w.name) else {
          throw ImportError(file: weightsFile.path, key: w.name, "missing; \(url.lastPathComponent) declares weight \(w.shape)")
        }
        let a = try npz.array(w.name)
        guard Shape(a.shape) == w.shape else {
          throw ImportError(file: weightsFile.path, key: w.name, "shape \(a.shape), expected \(w.shape) as declared in \(url.lastPathComponent)")
        }
        g.initializers[w.name] = Tensor(shape: a.shape, data: try a.floats())
      }
    }
    do { try g.verify(requireWeights: true) } catch let e as IRError {
      throw ImportError(file: url.path, key: nil, e.description)
    }
    return g
  }

  /// Writes IR text to `url` and the weights beside it (`M.weights.npz`), each atomically.
  public static func writeIR(_ graph: Graph, to url: URL) throws {
    var g = graph
    let weightsFile = weightsURL(for: url)
    g.metadata["weights"] = weightsFile.lastPathComponent
    var arrays: [(key: String, array: NpyArray)] = []
    for w in g.weights {
      guard let t = g.initializers[w.name] else { throw ImportError(file: url.path, key: w.name, "weight has no data") }
      arrays.append((w.name, NpyArray(floats: t.data, shape: t.shape)))
    }
    try NPZFile.write(arrays, to: weightsFile)
    try AtomicFile.write(Data(IRText.print(g).utf8), to: url)
  }
}
