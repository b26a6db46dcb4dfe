// ChainerImport: a Chainer checkpoint's arrays → a zoo graph with weights (prefix, arch, shape and dtype checks).
import MoeFormats
import MoeIR

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
  /// Keys of the file that the architecture does not use (under the prefix or elsewhere).
  public var unusedKeys: [String]
  /// Conversions worth telling the user about (e.g. float64 → float32).
  public var notes: [String]
}

/// Zoo architectures known to the importer.
public enum ZooArchitecture: String, CaseIterable {
  case srresnetGenerator = "srresnet-generator"
}

/// Reads Chainer checkpoints (keys as `chainer.serializers.save_npz` writes them) into zoo graphs.
public enum ChainerImporter {
  /// Prefixes tried, in order, when none is given.
  public static let knownPrefixes = ["", "predictor/", "updater/model:main/", "gen/", "dis/",
                                      "updater/model:gen/", "updater/model:main/predictor/"]

  /// Builds the graph for `arch` (inferred from the key set when nil) from `arrays` (key → array).
  public static func importGraph(arrays: [String: NpyArray], file: String, arch: String? = nil, prefix: String? = nil,
                                 bnEps: Float = chainerBatchNormEps) throws -> ImportedModel {
    let pre = try choosePrefix(keys: Array(arrays.keys), file: file, given: prefix)
    var shapes: [String: [Int]] = [:]
    for (k, a) in arrays where k.hasPrefix(pre) { shapes[String(k.dropFirst(pre.count))] = a.shape }

    let architecture: ZooArchitecture
    if let arch {
      guard let a = ZooArchitecture(rawValue: arch) else {
        throw ImportError(file: file, key: nil, "unknown architecture '\(arch)'; known: \(ZooArchitecture.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      architecture = a
    } else {
      guard shapes["fc/W"] != nil, shapes["res/0/c1/W"] != nil || shapes["cm/W"] != nil else {
        throw ImportError(file: file, key: nil, "cannot infer the architecture from the keys\(pre.isEmpty ? "" : " under '\(pre)'") (expected e.g. 'fc/W' and 'res/0/c1/W' of srresnet-generator); pass --arch")
      }
      architecture = .srresnetGenerator
    }

    var graph: Graph
    var expected: [(key: String, shape: [Int])]
    switch architecture {
    case .srresnetGenerator:
      let hp: SRResNetGenerator?
      do { hp = try SRResNetGenerator.infer(shapes: shapes) } catch let e as ArchitectureError {
        throw ImportError(file: file, key: pre + e.key, e.message)
      }
      guard let hp else {
        let missing = shapes["fc/W"] == nil ? "fc/W" : "res/0/c1/W"
        throw ImportError(file: file, key: pre + missing, "missing; srresnet-generator needs it")
      }
      graph = hp.graph(bnEps: bnEps)
      expected = hp.parameters
    }
    graph.metadata["bn_eps"] = "\(bnEps)"

    var notes: [String] = []
    for (key, shape) in expected {
      let full = pre + key
      guard let a = arrays[full] else {
        throw ImportError(file: file, key: full, "missing; \(describe(graph)) expects shape \(shape)")
      }
      guard a.shape == shape else {
        throw ImportError(file: file, key: full, "shape \(a.shape), expected \(shape) for \(describe(graph))")
      }
      guard a.dtype.isFloatingPoint else {
        throw ImportError(file: file, key: full, "dtype \(a.dtype.descr), expected a float array (float32)")
      }
      if a.dtype != .float32 { notes.append("\(full): converted \(a.dtype.descr) to float32") }
      let values: [Float]
      do { values = try a.floats() } catch {
        throw ImportError(file: file, key: full, "\(error)")
      }
      graph.initializers[key] = Tensor(shape: shape, data: values)
    }
    let used = Set(expected.map { pre + $0.key })
    // BN counters ("…/N") belong to the layers we read; everything else is unused.
    let unused = arrays.keys.filter { k in
      !used.contains(k) && !(k.hasSuffix("/N") && used.contains(String(k.dropLast(2)) + "/gamma"))
    }.sorted()
    return ImportedModel(graph: graph, prefix: pre, unusedKeys: unused, notes: notes)
  }

  static func describe(_ g: Graph) -> String {
    let m = g.metadata
    return "\(m["arch"] ?? g.name) C=\(m["channels"] ?? "?") B=\(m["blocks"] ?? "?") U=\(m["upsamplings"] ?? "?") n=\(m["input_length"] ?? "?")"
  }

  /// The given prefix (normalised to end in "/"), or the one known prefix under which a model root sits.
  static func choosePrefix(keys: [String], file: String, given: String?) throws -> String {
    if var p = given {
      if !p.isEmpty && !p.hasSuffix("/") { p += "/" }
      guard keys.contains(where: { $0.hasPrefix(p) }) else {
        throw ImportError(file: file, key: nil, "no key starts with prefix '\(p)'")
      }
      return p
    }
    let roots = ["fc/W", "res/0/c1/W"]
    let candidates = Set(keys.compactMap { k -> String? in
      for r in roots where k.hasSuffix(r) { return String(k.dropLast(r.count)) }
      return nil
    }).filter { $0.isEmpty || $0.hasSuffix("/") }
    if candidates.count == 1 { return candidates.first! }
    if candidates.count > 1 {
      throw ImportError(file: file, key: nil, "several models in one file (prefixes \(candidates.sorted().map { "'\($0)'" }.joined(separator: ", "))); choose one with --prefix")
    }
    return ""
  }
}
