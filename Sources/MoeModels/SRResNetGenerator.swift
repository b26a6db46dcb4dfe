// SRResNetGenerator: the MakeGirls.moe generator as an IR builder, with hyper-parameters from shapes.
import MoeIR
import MoeQuant

/// Hyper-parameters of the SRResNet-like generator (CONTRACTS.md §3).
public struct SRResNetGenerator: ZooGenerator, Hashable, Sendable {
  /// Channels.
  public var channels: Int
  /// Residual blocks.
  public var blocks: Int
  /// ×2 upsamplings (output side 16·2^U).
  public var upsamplings: Int
  /// Input length: noise + tags.
  public var inputLength: Int

  public static let architecture = "srresnet-generator"
  public static let signatureKeys = ["fc/W", "bn0/gamma", "cm/W", "out/W"]
  /// The paper's generator: C = 64, B = 16, U = 3, n = 162.
  public static let paper = SRResNetGenerator(channels: 64, blocks: 16, upsamplings: 3, inputLength: 162)

  public init(channels: Int, blocks: Int, upsamplings: Int, inputLength: Int) {
    self.channels = channels
    self.blocks = blocks
    self.upsamplings = upsamplings
    self.inputLength = inputLength
  }

  public var outputSide: Int { 16 << upsamplings }
  public var description: String { "srresnet-generator C=\(channels) B=\(blocks) U=\(upsamplings) n=\(inputLength)" }

  /// Every parameter key (relative to the model root) and its shape, in Chainer's layout.
  public var parameters: [(key: String, shape: [Int])] {
    let c = channels
    var p = ParameterList()
    p.layer("fc", [c * 256, inputLength], bias: c * 256)
    p.batchNorm("bn0", c)
    for i in 0..<blocks {
      p.layer("res/\(i)/c1", [c, c, 3, 3], bias: c)
      p.batchNorm("res/\(i)/b1", c)
      p.layer("res/\(i)/c2", [c, c, 3, 3], bias: c)
      p.batchNorm("res/\(i)/b2", c)
    }
    p.layer("cm", [c, c, 3, 3], bias: c)
    p.batchNorm("bnm", c)
    for j in 0..<upsamplings {
      p.layer("up/\(j)/c", [4 * c, c, 3, 3], bias: 4 * c)
      p.batchNorm("up/\(j)/b", c)
    }
    p.layer("out", [3, c, 9, 9], bias: 3)
    return p.items
  }

  /// Hyper-parameters read off a checkpoint's shapes (keys relative to the model root).
  /// Returns nil when the key set does not look like this architecture; throws on contradictions.
  /// B and U count every `res/i/…` and `up/j/…` block of `keys` (a block missing its `c1/W` is then reported as such).
  public static func infer(shapes: [String: [Int]], keys: Set<String>) throws -> SRResNetGenerator? {
    guard let fc = shapes["fc/W"], shapes["cm/W"] != nil else { return nil }
    guard fc.count == 2, fc[0] % 256 == 0, fc[0] > 0 else {
      throw ArchitectureError(key: "fc/W", "shape \(fc), expected (C·256, n)")
    }
    let b = try repeatedBlockCount("res/", in: keys)
    let u = try repeatedBlockCount("up/", in: keys)
    return SRResNetGenerator(channels: fc[0] / 256, blocks: b, upsamplings: u, inputLength: fc[1])
  }

  /// Whether this is a MakeGirls.moe generator: its input is 128 noise values + the 34 tags of `TagVocabulary.makeGirls`.
  public var isMakeGirls: Bool { inputLength == TagVocabulary.makeGirls.inputWidth }

  /// What the input `z` is drawn from: for a MakeGirls generator, noise + tags with the MakeGirls vocabulary;
  /// otherwise nothing is known (generic code then uses N(0, 1)).
  public var priors: ModelPriors {
    isMakeGirls ? ModelPriors(vocabulary: .makeGirls, inputs: ["z": .noiseAndTags]) : ModelPriors()
  }

  /// The inference graph with weights declared (names = Chainer keys); input `z` [N, n], output `img` [N, 3, S, S].
  /// Its metadata records the hyper-parameters and, for a MakeGirls generator, the tag vocabulary and input prior.
  public func graph(bnEps: Float = chainerBatchNormEps) -> Graph {
    var g = Graph(name: Self.architecture)
    g.metadata = ["arch": Self.architecture, "channels": "\(channels)", "blocks": "\(blocks)",
                  "upsamplings": "\(upsamplings)", "input_length": "\(inputLength)"]
    priors.record(in: &g.metadata)
    g.inputs = [ValueInfo(name: "z", shape: Shape([.symbol("N"), .fixed(inputLength)]))]
    g.weights = parameters.map { ValueInfo(name: $0.key, shape: Shape($0.shape)) }
    let c = channels
    let conv3 = Op.conv2d(ConvAttrs(pads: [1, 1, 1, 1]))
    func bn(_ x: String, _ name: String) -> String { g.chainerBatchNorm(x, name, eps: bnEps) }
    func conv(_ x: String, _ name: String, _ op: Op = conv3) -> String { g.chainerLayer(op, x, name) }

    var h = g.add(.linear(.plain), ["z", "fc/W", "fc/b"], name: "fc")
    h = g.add(.reshape(shape: [-1, c, 16, 16]), [h], name: "fc/reshape")
    h = g.add(.relu, [bn(h, "bn0")], name: "bn0/relu")
    let skip = h
    for i in 0..<blocks {
      let p = "res/\(i)"
      var r = g.add(.relu, [bn(conv(h, "\(p)/c1"), "\(p)/b1")], name: "\(p)/relu")
      r = bn(conv(r, "\(p)/c2"), "\(p)/b2")
      h = g.add(.add, [r, h], name: "\(p)/add")
    }
    h = g.add(.relu, [bn(conv(h, "cm"), "bnm")], name: "bnm/relu")
    h = g.add(.add, [h, skip], name: "skip/add")
    for j in 0..<upsamplings {
      let p = "up/\(j)"
      h = g.add(.depthToSpace(blockSize: 2, mode: .dcr), [conv(h, "\(p)/c")], name: "\(p)/depth2space")
      h = g.add(.relu, [bn(h, "\(p)/b")], name: "\(p)/relu")
    }
    h = conv(h, "out", .conv2d(ConvAttrs(pads: [4, 4, 4, 4])))
    g.add(.tanh, [h], name: "out/tanh", output: "img")
    g.outputs = ["img"]
    return g
  }
}

