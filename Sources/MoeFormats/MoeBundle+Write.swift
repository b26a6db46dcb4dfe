// MoeBundle+Write: writes a graph and its weights, each in its chosen encoding, as a `.moe` bundle (atomically).
import Foundation
import MoeIR
import MoeQuant

extension MoeBundle {
  /// What a written bundle holds, per tensor and in total.
  public struct WriteSummary {
    public var tensors: [TensorEntry]
    public var fileBytes: Int
  }

  /// Writes `graph` (with its weights) to `url`. `encoding(name)` gives each weight's scheme (float32 when nil);
  /// `deflate` compresses each payload with zlib when that makes it smaller. The manifest's `vocabulary` is the
  /// graph's `tag_vocabulary` metadata (checked, with `input_prior`, by `ModelPriors`), absent when it has none.
  @discardableResult
  public static func write(_ graph: Graph, to url: URL, producer: String, source: Source?,
                           encoding: (String) -> QuantScheme? = { _ in nil }, deflate: Bool = false) throws -> WriteSummary {
    try graph.verify(requireWeights: true)
    let priors: ModelPriors
    do { priors = try ModelPriors(of: graph) } catch let e as MetadataError {
      throw MoeFormatError(.badHeader, file: url.path, key: e.key, e.message)
    }
    let vocabulary = try priors.vocabulary.map { try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode($0)) }
    var metadata = graph.metadata
    metadata[ModelPriors.vocabularyKey] = nil  // the manifest's `vocabulary` holds it (and the graph text)
    // Execution order: the order in which nodes first read each weight.
    var order: [String] = []
    var seen = Set<String>()
    let weightNames = Set(graph.weights.map(\.name))
    for n in graph.nodes { for i in n.inputs where weightNames.contains(i) && seen.insert(i).inserted { order.append(i) } }
    for w in graph.weights where seen.insert(w.name).inserted { order.append(w.name) }

    var entries: [TensorEntry] = []
    var payloads: [[UInt8]] = []
    for name in order {
      let t = graph.initializers[name]!
      let scheme = encoding(name) ?? .float32
      let e: EncodedTensor
      do { e = try Quantizer.encode(t, as: scheme) } catch {
        throw MoeFormatError(.invalidArray, file: url.path, key: name, "cannot encode as \(scheme): \(error)")
      }
      var bytes = e.payload
      var deflated = false
      if deflate, let packed = try? deflateBytes(bytes), packed.count < bytes.count {
        bytes = packed
        deflated = true
      }
      entries.append(TensorEntry(name: name, shape: t.shape, encoding: scheme.description, offset: 0, length: bytes.count,
                                 deflate: deflated, rawLength: e.payload.count))
      payloads.append(bytes)
    }
    func entriesShape(_ v: ValueInfo) -> [Int] { v.shape.dims.map { $0.value ?? -1 } }
    let types = try graph.verify()
    var manifest = Manifest(
      producer: producer, source: source, architecture: graph.metadata["arch"] ?? graph.name, metadata: metadata,
      inputs: graph.inputs.map { ValueEntry(name: $0.name, shape: entriesShape($0)) },
      outputs: graph.outputs.map { ValueEntry(name: $0, shape: entriesShape(types[$0]!)) },
      vocabulary: vocabulary, graph: IRText.print(graph), tensors: entries)

    // The manifest holds the offsets, which depend on its own length: iterate until stable.
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    var json = try encoder.encode(manifest)
    var payloadOffset = 0
    for _ in 0..<8 {
      payloadOffset = align(headerSize + json.count)
      var offset = payloadOffset
      for i in manifest.tensors.indices {
        manifest.tensors[i].offset = offset
        offset = align(offset + manifest.tensors[i].length)
      }
      let next = try encoder.encode(manifest)
      if next.count == json.count && next == json { break }
      json = next
    }
    var body = [UInt8](json)
    body += [UInt8](repeating: 0, count: payloadOffset - headerSize - body.count)
    for (i, p) in payloads.enumerated() {
      precondition(headerSize + body.count == manifest.tensors[i].offset, "bundle layout")
      body += p
      body += [UInt8](repeating: 0, count: align(headerSize + body.count) - headerSize - body.count)
    }
    let fileLength = headerSize + body.count
    var header = magic
    func put32(_ v: UInt32) { for i in 0..<4 { header.append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) } }
    func put64(_ v: Int) { for i in 0..<8 { header.append(UInt8((UInt64(v) >> (8 * UInt64(i))) & 0xFF)) } }
    put32(version)
    put32(UInt32(headerSize))
    put64(headerSize)
    put64(json.count)
    put64(payloadOffset)
    put64(fileLength - payloadOffset)
    put64(fileLength)
    put64(0)
    header += contentDigest(body)
    header += [UInt8](repeating: 0, count: 32)
    try AtomicFile.write(Data(header + body), to: url)
    return WriteSummary(tensors: manifest.tensors, fileBytes: fileLength)
  }

  static func align(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }
}
