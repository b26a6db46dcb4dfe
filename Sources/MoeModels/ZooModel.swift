// ZooModel: what every zoo architecture provides (key layout, graph builder, inference from shapes).
import MoeIR

/// A zoo architecture with concrete hyper-parameters.
public protocol ZooModel: CustomStringConvertible {
  /// The architecture's name (`srresnet-generator`, …).
  static var architecture: String { get }
  /// Keys whose presence identifies the architecture (relative to the model root); the first anchors prefix detection.
  static var signatureKeys: [String] { get }
  /// Hyper-parameters read off a checkpoint's shapes; nil when the keys do not fit; throws on contradictions.
  /// `keys` is every key of the model's subtree, readable or not (a pickled `None` has no shape): repeated blocks are
  /// counted from it, so a block whose weight is missing or unreadable is reported, never silently dropped.
  static func infer(shapes: [String: [Int]], keys: Set<String>) throws -> Self?
  /// Every parameter key (relative to the model root) and its shape, in Chainer's layout.
  var parameters: [(key: String, shape: [Int])] { get }
  /// The inference graph, weights declared under their Chainer keys.
  func graph(bnEps: Float) -> Graph
}

extension ZooModel {
  /// Inference when every key is readable (tests, converted models).
  public static func infer(shapes: [String: [Int]]) throws -> Self? {
    try infer(shapes: shapes, keys: Set(shapes.keys))
  }
}

/// A zoo generator: maps `z` [N, inputLength] (noise then tags) to square images [N, 3, outputSide, outputSide].
public protocol ZooGenerator: ZooModel {
  /// Input length: noise + tags.
  var inputLength: Int { get }
  /// Side of the square output image.
  var outputSide: Int { get }
}

/// The zoo, by name.
public enum Zoo {
  public static let models: [any ZooModel.Type] = [SRResNetGenerator.self, ACGANDiscriminator.self, DCGANGenerator.self, TaggerCNN.self]

  public static var names: [String] { models.map { $0.architecture } }

  public static func model(named name: String) -> (any ZooModel.Type)? {
    models.first { $0.architecture == name }
  }

  /// Architectures whose signature keys are all present.
  public static func candidates(keys: Set<String>) -> [any ZooModel.Type] {
    models.filter { m in m.signatureKeys.allSatisfy { keys.contains($0) } }
  }
}

/// A checkpoint contradicts the architecture at `key`.
public struct ArchitectureError: Error, CustomStringConvertible {
  public var key: String
  public var message: String
  public init(key: String, _ message: String) {
    self.key = key
    self.message = message
  }
  public var description: String { "key '\(key)': \(message)" }
}

/// The number of repeated blocks `PREFIX0/…`, `PREFIX1/…` among `keys` (e.g. prefix `res/`): one more than the
/// largest index. Throws when an index below it has no key at all (blocks must be numbered 0…N−1 without gaps).
func repeatedBlockCount(_ prefix: String, in keys: Set<String>) throws -> Int {
  var indices = Set<Int>()
  for key in keys where key.hasPrefix(prefix) {
    let rest = key.dropFirst(prefix.count)
    guard let slash = rest.firstIndex(of: "/"), let i = Int(rest[..<slash]), i >= 0,
          String(i) == rest[..<slash] else { continue }
    indices.insert(i)
  }
  guard let last = indices.max() else { return 0 }
  if let gap = (0...last).first(where: { !indices.contains($0) }) {
    throw ArchitectureError(key: "\(prefix)\(gap)", "block missing: the checkpoint has blocks \(prefix){\(indices.sorted().map(String.init).joined(separator: ","))}, which must be numbered 0…\(last) without gaps")
  }
  return last + 1
}

/// Chainer's BatchNormalization default eps (not stored in checkpoints).
public let chainerBatchNormEps: Float = 2e-5

/// Shared pieces of the zoo builders.
extension Graph {
  /// Appends Chainer-style BN (keys NAME/gamma, beta, avg_mean, avg_var) on `x`.
  mutating func chainerBatchNorm(_ x: String, _ name: String, eps: Float) -> String {
    add(.batchNorm(eps: eps), [x] + ["gamma", "beta", "avg_mean", "avg_var"].map { "\(name)/\($0)" }, name: name)
  }

  /// Appends a layer NAME with weights NAME/W and NAME/b.
  mutating func chainerLayer(_ op: Op, _ x: String, _ name: String) -> String {
    add(op, [x, "\(name)/W", "\(name)/b"], name: name)
  }
}

/// Parameter-list builders shared by the zoo.
struct ParameterList {
  var items: [(key: String, shape: [Int])] = []
  mutating func batchNorm(_ name: String, _ n: Int) {
    for f in ["gamma", "beta", "avg_mean", "avg_var"] { items.append(("\(name)/\(f)", [n])) }
  }
  mutating func layer(_ name: String, _ w: [Int], bias: Int) {
    items.append(("\(name)/W", w))
    items.append(("\(name)/b", [bias]))
  }
}
