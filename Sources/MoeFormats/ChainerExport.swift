// ChainerExport: a graph's weights back into Chainer's key layout (plus BN counters) for save_npz/save_hdf5 readers.
import MoeIR

/// Writes graphs whose weights carry Chainer key names back as Chainer checkpoints.
public enum ChainerExporter {
  /// The arrays of a Chainer checkpoint of `model`: every weight under its key, and an int64 `N` counter beside
  /// each BatchNormalization (the imported value when known, else 0), as `chainer.serializers.load_npz` expects.
  public static func arrays(_ model: ImportedModel) throws -> [(key: String, array: NpyArray)] {
    let g = model.graph
    if let passes = g.metadata["passes"], passes != "none" {
      throw ImportError(file: g.metadata["source"] ?? g.name, key: nil,
                        "the graph was optimized (passes: \(passes)); Chainer's layout needs the graph as imported: convert from the checkpoint, or from IR written with --no-optimize")
    }
    var out: [(key: String, array: NpyArray)] = []
    for w in g.weights {
      guard let t = g.initializers[w.name] else {
        throw ImportError(file: g.name, key: w.name, "weight has no data")
      }
      out.append((w.name, NpyArray(floats: t.data, shape: t.shape)))
    }
    for n in g.nodes {
      guard case .batchNorm = n.op, n.inputs.count == 5, n.inputs[1].hasSuffix("/gamma") else { continue }
      let key = String(n.inputs[1].dropLast("/gamma".count)) + "/N"
      out.append((key, model.counters[key] ?? NpyArray(int64s: [0], shape: [])))
    }
    return out
  }
}
