// ACGANDiscriminator: the DRAGAN/ACGAN discriminator (no BN, LeakyReLU 0.2, adversarial + tag heads).
import MoeIR

/// Hyper-parameters of the ACGAN discriminator (CONTRACTS.md §3).
public struct ACGANDiscriminator: ZooModel, Hashable, Sendable {
  /// Channels after each stride-2 `downs/k` convolution.
  public var widths: [Int]
  /// Input side (3 × S × S).
  public var size: Int
  /// Number of tag logits of the `cls` head.
  public var tags: Int

  public static let architecture = "acgan-discriminator"
  public static let signatureKeys = ["downs/0/W", "last/W", "adv/W", "cls/W"]
  public static let slope: Float = 0.2
  /// Paper-like: widths 32 … 512 at S = 128, 34 tags.
  public static let paper = ACGANDiscriminator(widths: [32, 64, 128, 256, 512], size: 128, tags: 34)

  public init(widths: [Int], size: Int, tags: Int) {
    self.widths = widths
    self.size = size
    self.tags = tags
  }

  public var description: String { "acgan-discriminator widths=\(widths.map(String.init).joined(separator: ",")) S=\(size) tags=\(tags)" }

  /// Side of the feature map after the downs and `last`.
  var finalSide: Int {
    var s = size
    for _ in widths { s = (s + 2 - 4) / 2 + 1 }
    return (s + 2 - 3) / 2 + 1
  }

  var features: Int { 2 * widths.last! * finalSide * finalSide }

  public var parameters: [(key: String, shape: [Int])] {
    var p = ParameterList()
    var cin = 3
    for (k, w) in widths.enumerated() {
      p.layer("downs/\(k)", [w, cin, 4, 4], bias: w)
      for r in 0..<2 {
        p.layer("stages/\(k)/\(r)/c1", [w, w, 3, 3], bias: w)
        p.layer("stages/\(k)/\(r)/c2", [w, w, 3, 3], bias: w)
      }
      cin = w
    }
    p.layer("last", [2 * cin, cin, 3, 3], bias: 2 * cin)
    p.layer("adv", [1, features], bias: 1)
    p.layer("cls", [tags, features], bias: tags)
    return p.items
  }

  /// Widths come from every `downs/k/W` (k counted over all `downs/k/…` keys: a missing or unreadable one is an
  /// error, not a shallower network); the `stages/k/…` blocks must number the same.
  public static func infer(shapes: [String: [Int]], keys: Set<String>) throws -> ACGANDiscriminator? {
    guard signatureKeys.allSatisfy({ shapes[$0] != nil }) else { return nil }
    let downs = try repeatedBlockCount("downs/", in: keys)
    let stages = try repeatedBlockCount("stages/", in: keys)
    guard stages <= downs else {
      throw ArchitectureError(key: "downs/\(downs)/W", "missing: the checkpoint has \(stages) stages/k blocks but only \(downs) downs/k convolutions")
    }
    var widths: [Int] = []
    for k in 0..<downs {
      guard let w = shapes["downs/\(k)/W"] else {
        throw ArchitectureError(key: "downs/\(k)/W", "missing; the width of block \(k) of \(downs) is read from it")
      }
      guard w.count == 4, w[0] > 0 else { throw ArchitectureError(key: "downs/\(k)/W", "shape \(w), expected (out, in, 4, 4)") }
      widths.append(w[0])
    }
    let adv = shapes["adv/W"]!, cls = shapes["cls/W"]!
    guard adv.count == 2, adv[0] == 1 else { throw ArchitectureError(key: "adv/W", "shape \(adv), expected (1, features)") }
    guard cls.count == 2 else { throw ArchitectureError(key: "cls/W", "shape \(cls), expected (tags, features)") }
    let perChannel = adv[1] / (2 * widths.last!)
    let side = Int(Double(perChannel).squareRoot().rounded())
    guard side * side * 2 * widths.last! == adv[1], side > 0 else {
      throw ArchitectureError(key: "adv/W", "\(adv[1]) features is not 2·\(widths.last!)·side² for a square input")
    }
    return ACGANDiscriminator(widths: widths, size: side << (widths.count + 1), tags: cls[0])
  }

  /// Input `x` [N, 3, S, S]; outputs `adv` [N, 1] (logit) and `cls` [N, tags] (logits).
  public func graph(bnEps: Float = chainerBatchNormEps) -> Graph {
    var g = Graph(name: Self.architecture)
    g.metadata = ["arch": Self.architecture, "widths": widths.map(String.init).joined(separator: ","),
                  "size": "\(size)", "tags": "\(tags)"]
    g.inputs = [ValueInfo(name: "x", shape: Shape([.symbol("N"), .fixed(3), .fixed(size), .fixed(size)]))]
    g.weights = parameters.map { ValueInfo(name: $0.key, shape: Shape($0.shape)) }
    let lrelu = Op.leakyRelu(alpha: Self.slope)
    let conv3 = Op.conv2d(ConvAttrs(pads: [1, 1, 1, 1]))
    var h = "x"
    for k in widths.indices {
      h = g.add(lrelu, [g.chainerLayer(.conv2d(ConvAttrs(strides: [2, 2], pads: [1, 1, 1, 1])), h, "downs/\(k)")], name: "downs/\(k)/lrelu")
      for r in 0..<2 {
        let p = "stages/\(k)/\(r)"
        var t = g.add(lrelu, [g.chainerLayer(conv3, h, "\(p)/c1")], name: "\(p)/c1/lrelu")
        t = g.chainerLayer(conv3, t, "\(p)/c2")
        h = g.add(lrelu, [g.add(.add, [t, h], name: "\(p)/add")], name: "\(p)/lrelu")
      }
    }
    h = g.add(lrelu, [g.chainerLayer(.conv2d(ConvAttrs(strides: [2, 2], pads: [1, 1, 1, 1])), h, "last")], name: "last/lrelu")
    h = g.add(.flatten(axis: 1), [h], name: "flatten")
    g.add(.linear(.plain), [h, "adv/W", "adv/b"], name: "adv")
    g.add(.linear(.plain), [h, "cls/W", "cls/b"], name: "cls")
    g.outputs = ["adv", "cls"]
    return g
  }
}
