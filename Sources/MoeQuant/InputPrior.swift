// InputPrior: what a model's inputs are drawn from, read from graph metadata (`input_prior`, `tag_vocabulary`).
import Foundation
import MoeIR

/// The distribution one graph input is sampled from (Formats/ir.md §4, metadata key `input_prior`).
public enum InputPrior: String, Codable, Equatable, Sendable {
  /// Every element N(0, 1): the prior of any input the metadata does not name.
  case normal
  /// Per row (the last axis): `noise_length` values N(0, 1), then a ±1 tag vector sampled from `tag_vocabulary`.
  case noiseAndTags = "noise+tags"
}

/// Model knowledge that importers record in `Graph.metadata` and generic code reads (never guessed from shapes).
public struct ModelPriors: Equatable, Sendable {
  /// Metadata key of the tag vocabulary (JSON, `TagVocabulary`).
  public static let vocabularyKey = "tag_vocabulary"
  /// Metadata key of the input priors (JSON object: input name → `InputPrior` raw value).
  public static let inputPriorKey = "input_prior"

  /// The vocabulary, when the model has one.
  public var vocabulary: TagVocabulary?
  /// Priors of the inputs the metadata names; the others are `.normal`.
  public var inputs: [String: InputPrior]

  public init(vocabulary: TagVocabulary? = nil, inputs: [String: InputPrior] = [:]) {
    self.vocabulary = vocabulary
    self.inputs = inputs
  }

  /// The input that takes noise + tags, if any.
  public var taggedInput: String? { inputs.filter { $0.value == .noiseAndTags }.keys.sorted().first }

  /// Reads and checks the metadata of `graph`: well-formed JSON, every named input exists, and a `noise+tags` input
  /// has a vocabulary whose width (noise + tags) is the input's last dimension.
  public init(of graph: Graph) throws {
    func fail(_ key: String, _ message: String) -> MetadataError { MetadataError(key: key, message: message) }
    vocabulary = nil
    inputs = [:]
    if let text = graph.metadata[Self.vocabularyKey] {
      do { vocabulary = try JSONDecoder().decode(TagVocabulary.self, from: Data(text.utf8)) } catch {
        throw fail(Self.vocabularyKey, "not a tag vocabulary ({\"noise_length\": N, \"groups\": [{name, one_of, tags, prior}]}): \(Self.reason(error))")
      }
      if let p = vocabulary!.problems() { throw fail(Self.vocabularyKey, p) }
    }
    if let text = graph.metadata[Self.inputPriorKey] {
      do { inputs = try JSONDecoder().decode([String: InputPrior].self, from: Data(text.utf8)) } catch {
        throw fail(Self.inputPriorKey, "expected a JSON object of input name → \"normal\" or \"noise+tags\": \(Self.reason(error))")
      }
      for (name, prior) in inputs.sorted(by: { $0.key < $1.key }) {
        guard let v = graph.inputs.first(where: { $0.name == name }) else {
          throw fail(Self.inputPriorKey, "names input '\(name)', which the graph does not have (inputs: \(graph.inputs.map(\.name).joined(separator: ", ")))")
        }
        guard prior == .noiseAndTags else { continue }
        guard let vocab = vocabulary else {
          throw fail(Self.inputPriorKey, "input '\(name)' is noise+tags but the graph has no \(Self.vocabularyKey)")
        }
        guard v.shape.rank >= 1, let width = v.shape.dims.last?.value, width == vocab.inputWidth else {
          throw fail(Self.inputPriorKey, "input '\(name)' has shape \(v.shape) but its vocabulary describes rows of \(vocab.noiseLength) noise + \(vocab.tags.count) tags = \(vocab.inputWidth)")
        }
      }
    }
  }

  /// Writes these priors into `metadata` (removing the keys when there is nothing to say).
  public func record(in metadata: inout [String: String]) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    metadata[Self.vocabularyKey] = vocabulary.flatMap { try? encoder.encode($0) }.map { String(decoding: $0, as: UTF8.self) }
    metadata[Self.inputPriorKey] = inputs.isEmpty ? nil : (try? encoder.encode(inputs)).map { String(decoding: $0, as: UTF8.self) }
  }

  private static func reason(_ error: Error) -> String {
    if case DecodingError.dataCorrupted(let c) = error { return c.debugDescription }
    if case DecodingError.keyNotFound(let k, _) = error { return "missing \"\(k.stringValue)\"" }
    if case DecodingError.typeMismatch(_, let c) = error {
      return "wrong type at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
    }
    if case DecodingError.valueNotFound(_, let c) = error { return "null at \(c.codingPath.map(\.stringValue).joined(separator: "."))" }
    return "\(error)"
  }
}

/// Model metadata that does not parse or does not fit the graph; `key` is the metadata key.
public struct MetadataError: Error, CustomStringConvertible {
  public var key: String
  public var message: String
  public var description: String { "metadata '\(key)': \(message)" }
}

/// Inputs for every graph input at `batch`, drawn from the priors its metadata records: a `noise+tags` input gets
/// N(0,1) noise and tags sampled from the vocabulary's priors (`tags` pinned on, `fixedNoise`: one noise for every
/// row); every other input gets standard normal values. Deterministic in `seed`. A graph whose metadata does not
/// parse gets standard normal inputs everywhere (loaders report such metadata; see `ModelPriors.init(of:)`).
public func priorInputs(for g: Graph, batch: Int, seed: UInt64, tags: Set<String> = [], fixedNoise: Bool = false) -> [String: Tensor] {
  let priors = (try? ModelPriors(of: g)) ?? ModelPriors()
  var feeds: [String: Tensor] = [:]
  for (i, v) in g.inputs.enumerated() {
    let shape = v.shape.dims.map { $0.value ?? batch }
    let s = seed &+ UInt64(i)
    if priors.inputs[v.name] == .noiseAndTags, let vocab = priors.vocabulary {
      let rows = elementCount(shape) / max(1, vocab.inputWidth)
      feeds[v.name] = Tensor(shape: shape, data: vocab.sampleInputs(count: rows, seed: s, fixed: tags, fixedNoise: fixedNoise))
    } else {
      var rng = SeededGenerator(seed: s)
      feeds[v.name] = Tensor(shape: shape, data: (0..<elementCount(shape)).map { _ in rng.normal() })
    }
  }
  return feeds
}
