// ModelFile+IR: IR text files (`.moeir`) with their weights in an NPZ beside them.
import Foundation
import MoeIR

extension ModelFile {
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
