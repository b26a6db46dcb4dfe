// ChainerImport: a Chainer checkpoint → a zoo (or traced) graph with weights: prefix, arch, shape and dtype checks.
import Foundation
import MoeFormats
import MoeIR
import MoeQuant

extension ModelFile {
  /// Loads any model file; Chainer checkpoints are read with the zoo (or a traced architecture) under `options`.
  public static func load(_ url: URL, options: ChainerImportOptions = .init()) throws -> ImportedModel {
    try load(url, checkpoints: { try ChainerImporter.importGraph(from: $0, options: options) })
  }
}

/// Options of a Chainer import.
public struct ChainerImportOptions {
  /// A zoo name, or the path of an IR text file from the Chainer tracer (`traced.moeir`); nil: inferred from the keys.
  public var arch: String?
  public var prefix: String?
  public var bnEps: Float
  /// Unused keys are an error instead of a note.
  public var strict: Bool
  /// Unused keys that look like parameters of the architecture (`res/5/b1/gamma` beside five blocks) are a note
  /// instead of an error.
  public var allowUnused: Bool
  public init(arch: String? = nil, prefix: String? = nil, bnEps: Float = chainerBatchNormEps, strict: Bool = false,
              allowUnused: Bool = false) {
    self.arch = arch
    self.prefix = prefix
    self.bnEps = bnEps
    self.strict = strict
    self.allowUnused = allowUnused
  }
}

/// Reads Chainer checkpoints (keys as `chainer.serializers.save_npz`/`save_hdf5` write them) into graphs.
public enum ChainerImporter {
  /// Imports from a keyed array source (NPZ, HDF5, memory).
  public static func importGraph(from source: ArraySource, options: ChainerImportOptions = .init()) throws -> ImportedModel {
    let file = source.path
    let traced = try options.arch.flatMap { $0.hasSuffix(".moeir") ? try tracedGraph($0) : nil }
    if let a = options.arch, traced == nil, Zoo.model(named: a) == nil {
      throw ImportError(file: file, key: nil, "unknown architecture '\(a)'; known: \(Zoo.names.joined(separator: ", ")), or a traced .moeir file")
    }
    let pre = try choosePrefix(keys: source.keys, file: file, given: options.prefix, traced: traced)
    let relative = source.keys.filter { $0.hasPrefix(pre) }.map { String($0.dropFirst(pre.count)) }
    var reader = LazyArrays(source: source, prefix: pre)

    var graph: Graph
    var expected: [(key: String, shape: [Int])]
    if let traced {
      graph = traced
      expected = traced.weights.map { ($0.name, $0.shape.fixed ?? []) }
    } else {
      let type: any ZooModel.Type
      if let a = options.arch {
        type = Zoo.model(named: a)!
      } else {
        let found = Zoo.candidates(keys: Set(relative))
        guard found.count == 1 else {
          let under = pre.isEmpty ? "" : " under '\(pre)'"
          if found.isEmpty {
            throw ImportError(file: file, key: nil, "cannot infer the architecture from the keys\(under) (no zoo model's signature keys all present: \(Zoo.models.map { "\($0.architecture): \($0.signatureKeys.joined(separator: ", "))" }.joined(separator: "; "))); pass --arch")
          }
          throw ImportError(file: file, key: nil, "keys\(under) fit several architectures (\(found.map { $0.architecture }.joined(separator: ", "))); pass --arch")
        }
        type = found[0]
      }
      let shapes = try reader.shapes(of: relative)
      let model: (any ZooModel)?
      do { model = try type.infer(shapes: shapes, keys: Set(relative)) } catch let e as ArchitectureError {
        if shapes[e.key] == nil && relative.contains(e.key) { _ = try reader.array(e.key) }  // unreadable: its own error
        throw ImportError(file: file, key: pre + e.key, e.message)
      }
      guard let model else {
        let missing = type.signatureKeys.first { shapes[$0] == nil } ?? type.signatureKeys[0]
        if relative.contains(missing) { _ = try reader.array(missing) }  // present but unreadable: its own error
        throw ImportError(file: file, key: pre + missing, "missing; \(type.architecture) needs it")
      }
      graph = model.graph(bnEps: options.bnEps)
      graph.metadata["model"] = model.description
      expected = model.parameters
    }
    graph.metadata["bn_eps"] = "\(options.bnEps)"
    graph.metadata["source"] = URL(fileURLWithPath: file).lastPathComponent
    if !pre.isEmpty { graph.metadata["prefix"] = pre }
    let what = graph.metadata["model"] ?? graph.metadata["arch"] ?? graph.name

    var notes: [String] = []
    let present = Set(source.keys)
    let missing = expected.filter { !present.contains(pre + $0.key) && reader.cache[$0.key] == nil }
    if let first = missing.first {
      let more = missing.count == 1 ? "" : " (and \(missing.count - 1) more: \(missing.dropFirst().prefix(4).map { pre + $0.key }.joined(separator: ", "))\(missing.count > 5 ? ", …" : ""))"
      var block = ""
      if let b = repeatedBlock(of: first.key) {
        let held = relative.filter { $0.hasPrefix(b) }
        if !held.isEmpty {
          let lacking = missing.filter { $0.key.hasPrefix(b) }.count
          block = "; block \(pre + b) is incomplete: it has \(held.count) key(s) (\(held.prefix(3).map { pre + $0 }.joined(separator: ", "))\(held.count > 3 ? ", …" : "")) and lacks \(lacking)"
        }
      }
      throw ImportError(file: file, key: pre + first.key, "missing\(more); \(what) expects shape \(first.shape)\(block)")
    }
    for (key, shape) in expected {
      let full = pre + key
      let a = try reader.array(key)
      guard a.shape == shape else {
        throw ImportError(file: file, key: full, "shape \(a.shape), expected \(shape) for \(what)")
      }
      guard a.dtype.isFloatingPoint else {
        throw ImportError(file: file, key: full, "dtype \(a.dtype.descr), expected a float array (float32)")
      }
      if a.dtype != .float32 { notes.append("\(full): converted \(a.dtype.descr) to float32") }
      let values: [Float]
      do { values = try a.floats() } catch { throw ImportError(file: file, key: full, "\(error)") }
      graph.initializers[key] = Tensor(shape: shape, data: values)
    }

    // BN counters ("…/N") of the layers we read are kept for export; everything else is unused.
    let used = Set(expected.map { pre + $0.key })
    var counters: [String: NpyArray] = [:]
    var unused: [String] = []
    for k in source.keys where !used.contains(k) {
      if k.hasPrefix(pre), k.hasSuffix("/N"), used.contains(String(k.dropLast(2)) + "/avg_mean") {
        let rel = String(k.dropFirst(pre.count))
        counters[rel] = try? reader.array(rel)
      } else {
        unused.append(k)
      }
    }
    if options.strict && !unused.isEmpty {
      throw ImportError(file: file, key: unused[0], "not used by \(what) (--strict; \(unused.count) unused key(s))")
    }
    let strays = parameterLookalikes(unused, prefix: pre, expected: expected.map(\.key))
    if !strays.isEmpty && !options.allowUnused {
      let listed = strays.prefix(6).joined(separator: ", ") + (strays.count > 6 ? ", …" : "")
      throw ImportError(file: file, key: strays[0], "looks like a parameter of \(what) but the inferred architecture does not use it (\(strays.count) such key(s): \(listed)); the checkpoint and the architecture disagree; pass --allow-unused to ignore them")
    }
    if !strays.isEmpty { notes.append("--allow-unused: ignoring \(strays.count) key(s) shaped like parameters of \(what)") }
    return ImportedModel(graph: graph, prefix: pre, unusedKeys: unused, notes: notes, counters: counters)
  }

  /// Imports from arrays in memory (tests).
  public static func importGraph(arrays: [String: NpyArray], file: String, arch: String? = nil, prefix: String? = nil,
                                 bnEps: Float = chainerBatchNormEps) throws -> ImportedModel {
    try importGraph(from: InMemoryArrays(path: file, arrays: arrays), options: .init(arch: arch, prefix: prefix, bnEps: bnEps))
  }

  /// The repeated block a key belongs to: its path up to the last numeric component (`res/3/` for `res/3/c1/W`).
  static func repeatedBlock(of key: String) -> String? {
    let parts = key.split(separator: "/", omittingEmptySubsequences: false)
    guard let last = parts.lastIndex(where: { !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return nil }
    return parts[...last].joined(separator: "/") + "/"
  }

  /// The unused keys under `prefix` whose path, numbers aside, is that of a parameter (or BN counter) in `expected`:
  /// `res/5/b1/gamma` next to `res/0/b1/gamma`. Such keys are the remains of blocks the architecture does not have.
  static func parameterLookalikes(_ unused: [String], prefix: String, expected: [String]) -> [String] {
    func pattern(_ key: Substring) -> String {
      key.split(separator: "/", omittingEmptySubsequences: false).map { $0.allSatisfy(\.isNumber) && !$0.isEmpty ? "#" : String($0) }
        .joined(separator: "/")
    }
    var patterns = Set(expected.map { pattern(Substring($0)) })
    for key in expected where key.hasSuffix("/avg_mean") { patterns.insert(pattern(key.dropLast("avg_mean".count)) + "N") }
    return unused.filter { $0.hasPrefix(prefix) && patterns.contains(pattern($0.dropFirst(prefix.count))) }
  }

  /// The graph of a traced model (IR text from `Converters/chainer/trace.py`), without weights.
  static func tracedGraph(_ path: String) throws -> Graph {
    let url = URL(fileURLWithPath: path)
    guard let text = try? String(contentsOf: url, encoding: .utf8) else {
      throw ImportError(file: path, key: nil, "cannot read the traced architecture (IR text expected)")
    }
    do {
      var g = try IRText.parse(text, source: path)
      g.metadata["arch"] = g.metadata["arch"] ?? "traced"
      g.metadata["model"] = "traced \(url.lastPathComponent)"
      try g.verify()
      return g
    } catch let e as IRError {
      throw ImportError(file: path, key: nil, e.description)
    }
  }

  /// The given prefix (normalised to end in "/"), or the one subtree that holds a whole model.
  static func choosePrefix(keys: [String], file: String, given: String?, traced: Graph?) throws -> String {
    if var p = given {
      if !p.isEmpty && !p.hasSuffix("/") { p += "/" }
      guard p.isEmpty || keys.contains(where: { $0.hasPrefix(p) }) else {
        let roots = Set(keys.compactMap { $0.split(separator: "/").first.map(String.init) }).sorted().prefix(8)
        throw ImportError(file: file, key: nil, "no key starts with prefix '\(p)' (top-level names: \(roots.joined(separator: ", ")))")
      }
      return p
    }
    let keySet = Set(keys)
    let signatures: [[String]] = traced.map { [$0.weights.map(\.name)] } ?? Zoo.models.map { $0.signatureKeys }
    var candidates = Set<String>()
    for sig in signatures {
      guard let anchor = sig.first else { continue }
      for k in keys where k.hasSuffix(anchor) {
        let p = String(k.dropLast(anchor.count))
        if (p.isEmpty || p.hasSuffix("/")) && sig.allSatisfy({ keySet.contains(p + $0) }) { candidates.insert(p) }
      }
    }
    if candidates.count == 1 { return candidates.first! }
    if candidates.count > 1 {
      throw ImportError(file: file, key: nil, "several models in one file (prefixes \(candidates.sorted().map { "'\($0)'" }.joined(separator: ", "))); choose one with --prefix")
    }
    return ""
  }
}

/// Reads arrays under a prefix once, remembering what it read.
struct LazyArrays {
  let source: ArraySource
  let prefix: String
  var cache: [String: NpyArray] = [:]

  mutating func array(_ relative: String) throws -> NpyArray {
    if let a = cache[relative] { return a }
    let a = try source.array(prefix + relative)
    cache[relative] = a
    return a
  }

  /// Shapes of the given keys; unreadable arrays (e.g. a pickled None) are left out and reported only if needed.
  mutating func shapes(of keys: [String]) throws -> [String: [Int]] {
    var out: [String: [Int]] = [:]
    for k in keys { if let a = try? array(k) { out[k] = a.shape } }
    return out
  }
}
