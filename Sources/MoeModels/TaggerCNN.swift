// TaggerCNN: the tagger in Illustration2Vec's role — a small CNN giving one logit per tag for an S×S RGB image.
import MoeIR

/// `tagger-cnn` (input x [N, 3, S, S] in [−1, 1], output `logits` [N, tags]):
/// for k: `convs/k` (3×3, stride 2, pad 1) → LeakyReLU 0.2; then `mix` (3×3, pad 1) → LeakyReLU; global average pool;
/// `fc` (Linear → tags). The pooled features (before `fc`) are the tagger's embedding (`features` output).
public struct TaggerCNN: ZooModel, Hashable, Sendable {
  public var widths: [Int]
  public var size: Int
  public var tags: Int

  public static let architecture = "tagger-cnn"
  public static let signatureKeys = ["convs/0/W", "mix/W", "fc/W"]
  public static let slope: Float = 0.2

  public init(widths: [Int], size: Int, tags: Int) {
    self.widths = widths
    self.size = size
    self.tags = tags
  }

  /// The default tagger for an S×S input: widths 32, 64, 128, 128 (down to S/16).
  public static func standard(size: Int, tags: Int) -> TaggerCNN { TaggerCNN(widths: [32, 64, 128, 128], size: size, tags: tags) }

  public var description: String { "tagger-cnn widths=\(widths.map(String.init).joined(separator: ",")) S=\(size) tags=\(tags)" }

  public var parameters: [(key: String, shape: [Int])] {
    var p = ParameterList()
    var cin = 3
    for (k, w) in widths.enumerated() {
      p.layer("convs/\(k)", [w, cin, 3, 3], bias: w)
      cin = w
    }
    p.layer("mix", [cin, cin, 3, 3], bias: cin)
    p.layer("fc", [tags, cin], bias: tags)
    return p.items
  }

  public static func infer(shapes: [String: [Int]], keys: Set<String>) throws -> TaggerCNN? {
    guard signatureKeys.allSatisfy({ shapes[$0] != nil }) else { return nil }
    let n = try repeatedBlockCount("convs/", in: keys)
    var widths: [Int] = []
    for k in 0..<n {
      guard let w = shapes["convs/\(k)/W"], w.count == 4 else {
        throw ArchitectureError(key: "convs/\(k)/W", "missing or not 4-D; the width of block \(k) of \(n) is read from it")
      }
      widths.append(w[0])
    }
    let fc = shapes["fc/W"]!
    guard fc.count == 2 else { throw ArchitectureError(key: "fc/W", "shape \(fc), expected (tags, features)") }
    // The input side is not in the weights: 64 unless a graph input says otherwise.
    return TaggerCNN(widths: widths, size: 64, tags: fc[0])
  }

  public func graph(bnEps: Float = chainerBatchNormEps) -> Graph {
    var g = Graph(name: Self.architecture)
    g.metadata = ["arch": Self.architecture, "widths": widths.map(String.init).joined(separator: ","), "size": "\(size)", "tags": "\(tags)"]
    g.inputs = [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(3), .fixed(size), .fixed(size)]))]
    g.weights = parameters.map { ValueInfo(name: $0.key, shape: Shape($0.shape)) }
    let lrelu = Op.leakyRelu(alpha: Self.slope)
    var h = "x"
    for k in widths.indices {
      h = g.add(lrelu, [g.chainerLayer(.conv2d(ConvAttrs(strides: [2, 2], pads: [1, 1, 1, 1])), h, "convs/\(k)")], name: "convs/\(k)/lrelu")
    }
    h = g.add(lrelu, [g.chainerLayer(.conv2d(ConvAttrs(pads: [1, 1, 1, 1])), h, "mix")], name: "mix/lrelu")
    h = g.add(.globalAveragePool, [h], name: "pool")
    let features = g.add(.flatten(axis: 1), [h], name: "features")
    g.add(.linear(.plain), [features, "fc/W", "fc/b"], name: "fc", output: "logits")
    g.outputs = ["logits", "features"]
    return g
  }
}
