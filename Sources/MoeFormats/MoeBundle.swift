// MoeBundle: the `.moe` browser bundle (Formats/bundle.md): manifest, header, reading with integrity checks.
import Crypto
import Foundation
import MoeIR
import MoeQuant

/// The `.moe` bundle: one versioned file with metadata, the graph and every weight in its own encoding.
public enum MoeBundle {
  public static let magic: [UInt8] = [0x89, 0x4D, 0x4F, 0x45, 0x0D, 0x0A, 0x1A, 0x0A]
  public static let version: UInt32 = 1
  public static let headerSize = 128
  /// Header bytes that must be zero (Formats/bundle.md §1); a reader refuses a bundle where any is not.
  public static let reservedHeaderBytes = Array(56..<64) + Array(96..<128)
  public static let alignment = 64

  /// One tensor's entry in the manifest.
  public struct TensorEntry: Codable, Equatable, Sendable {
    public var name: String
    public var shape: [Int]
    public var encoding: String
    public var offset: Int
    public var length: Int
    public var deflate: Bool
    public var rawLength: Int
    enum CodingKeys: String, CodingKey { case name, shape, encoding, offset, length, deflate, rawLength = "raw_length" }
  }

  /// A graph input or output as the manifest lists it (-1 for a symbolic dimension).
  public struct ValueEntry: Codable, Equatable, Sendable {
    public var name: String
    public var shape: [Int]
  }

  /// The checkpoint a bundle was made from.
  public struct Source: Codable, Equatable, Sendable {
    public var file: String
    public var sha256: String
    public init(file: String, sha256: String) {
      self.file = file
      self.sha256 = sha256
    }
  }

  /// The manifest (§2 of Formats/bundle.md). `vocabulary` is kept as raw JSON.
  public struct Manifest: Codable, Sendable {
    public var format = "moe-bundle"
    public var version = 1
    public var producer: String
    public var source: Source?
    public var architecture: String
    public var metadata: [String: String]
    public var inputs: [ValueEntry]
    public var outputs: [ValueEntry]
    public var vocabulary: JSONValue?
    public var graph: String
    public var tensors: [TensorEntry]
  }

  /// A bundle read back: the manifest and the graph with every weight decoded to float32.
  public struct Contents {
    public var manifest: Manifest
    public var graph: Graph
  }

  /// The SHA-256 of a bundle's contents (everything after the header), as the header stores it.
  static func contentDigest<D: DataProtocol>(_ bytes: D) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

  /// Reads and checks a bundle: magic, version, sizes, SHA-256, encodings; decodes every tensor.
  public static func read(_ url: URL) throws -> Contents {
    let path = url.path
    func fail(_ kind: MoeFormatError.Kind, key: String? = nil, _ m: String) -> MoeFormatError { MoeFormatError(kind, file: path, key: key, m) }
    let data: [UInt8]
    do { data = [UInt8](try Data(contentsOf: url)) } catch { throw fail(.io, "cannot read (\(error.localizedDescription))") }
    guard data.count >= headerSize else { throw fail(.truncated, "\(data.count) bytes; a bundle header alone is \(headerSize)") }
    guard Array(data[0..<8]) == magic else { throw fail(.badMagic, "bad magic; expected a .moe bundle (\\x89MOE\\r\\n\\x1a\\n)") }
    func u32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(data[o + $1]) << (8 * UInt32($1)) } }
    func u64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(data[o + $1]) << (8 * UInt64($1)) } }
    let v = u32(8)
    guard v == version else { throw fail(.unsupportedVersion, "bundle format version \(v); this reader knows version \(version)") }
    if let o = reservedHeaderBytes.first(where: { data[$0] != 0 }) {
      throw fail(.badHeader, "reserved header byte at offset \(o) is 0x\(String(data[o], radix: 16)); reserved bytes (offsets 56–63, 96–127) must be zero")
    }
    let fileLength = u64(48), jsonOffset = u64(16), jsonLength = u64(24), payloadOffset = u64(32), payloadLength = u64(40)
    guard fileLength == UInt64(data.count) else { throw fail(.truncated, "header says \(fileLength) bytes, file has \(data.count)") }
    // Compared by subtraction: lengths from a damaged header can be near UInt64.max, and a sum would overflow (trap).
    guard u32(12) == UInt32(headerSize), jsonOffset == UInt64(headerSize), jsonLength <= fileLength - jsonOffset,
      payloadOffset >= jsonOffset + jsonLength, payloadOffset <= fileLength, payloadLength <= fileLength - payloadOffset
    else { throw fail(.badHeader, "inconsistent header offsets") }
    let digest = contentDigest(data[headerSize...])
    guard digest == Array(data[64..<96]) else { throw fail(.checksumMismatch, "SHA-256 of the contents does not match the header; the file is corrupt") }
    let manifest: Manifest
    do {
      manifest = try JSONDecoder().decode(Manifest.self, from: Data(data[Int(jsonOffset)..<Int(jsonOffset + jsonLength)]))
    } catch { throw fail(.badHeader, "manifest is not valid JSON (\(error))") }
    var graph: Graph
    do { graph = try IRText.parse(manifest.graph, source: path + ": graph") } catch { throw fail(.badHeader, "\(error)") }
    for t in manifest.tensors {
      guard let scheme = QuantScheme(name: t.encoding) else {
        throw fail(.unsupportedDType, key: t.name, "unknown encoding '\(t.encoding)'")
      }
      guard t.offset >= Int(payloadOffset), t.length >= 0, t.offset <= Int(payloadOffset + payloadLength),
        t.length <= Int(payloadOffset + payloadLength) - t.offset else {
        throw fail(.truncated, key: t.name, "payload [\(t.offset), +\(t.length)) lies outside the payload section")
      }
      let e = EncodedTensor(scheme: scheme, shape: t.shape, payload: Array(data[t.offset..<(t.offset + t.length)]), deflated: t.deflate)
      do { graph.initializers[t.name] = try Quantizer.decode(e) } catch {
        throw fail(.invalidArray, key: t.name, "cannot decode \(t.encoding): \(error)")
      }
    }
    for w in graph.weights where graph.initializers[w.name] == nil {
      throw fail(.keyNotFound, key: w.name, "the graph declares this weight but the bundle has no tensor for it")
    }
    try restoreVocabulary(manifest, into: &graph, fail: { fail(.badHeader, key: "vocabulary", $0) })
    return Contents(manifest: manifest, graph: graph)
  }
}

extension MoeBundle {
  /// Bundles written before the vocabulary travelled as graph metadata carry it only in the manifest's `vocabulary`
  /// (always for a one-input generator): give such a graph its `tag_vocabulary`, with that input as `noise+tags`.
  static func restoreVocabulary(_ manifest: Manifest, into graph: inout Graph, fail: (String) -> Error) throws {
    guard let vocabulary = manifest.vocabulary, graph.metadata[ModelPriors.vocabularyKey] == nil else { return }
    let vocab: TagVocabulary
    do { vocab = try JSONDecoder().decode(TagVocabulary.self, from: JSONEncoder().encode(vocabulary)) } catch {
      throw fail("not a tag vocabulary: \(error)")
    }
    var priors = ModelPriors(vocabulary: vocab)
    if graph.inputs.count == 1 { priors.inputs[graph.inputs[0].name] = .noiseAndTags }
    let recordedPrior = graph.metadata[ModelPriors.inputPriorKey]
    priors.record(in: &graph.metadata)
    if let recordedPrior { graph.metadata[ModelPriors.inputPriorKey] = recordedPrior }  // what the graph says wins
  }
}

/// Any JSON value (for the vocabulary, carried through unchanged).
public indirect enum JSONValue: Codable, Equatable, Sendable {
  case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

  public init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    if c.decodeNil() { self = .null } else if let b = try? c.decode(Bool.self) { self = .bool(b) } else if let n = try? c.decode(Double.self) {
      self = .number(n)
    } else if let s = try? c.decode(String.self) { self = .string(s) } else if let a = try? c.decode([JSONValue].self) {
      self = .array(a)
    } else { self = .object(try c.decode([String: JSONValue].self)) }
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .null: try c.encodeNil()
    case .bool(let b): try c.encode(b)
    case .number(let n): try c.encode(n)
    case .string(let s): try c.encode(s)
    case .array(let a): try c.encode(a)
    case .object(let o): try c.encode(o)
    }
  }
}
