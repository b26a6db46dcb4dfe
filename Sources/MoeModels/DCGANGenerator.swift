// DCGANGenerator: the DCGAN baseline generator (Linear → 4×4, four stride-2 deconvolutions → 64×64).
import MoeIR

/// Hyper-parameters of the DCGAN generator (CONTRACTS.md §3).
public struct DCGANGenerator: ZooGenerator, Hashable, Sendable {
  /// Channels of the 4×4 map after `fc` (halved by each of d1…d3).
  public var channels: Int
  /// Input length.
  public var inputLength: Int

  public static let architecture = "dcgan-generator"
  public static let signatureKeys = ["fc/W", "bn0/gamma", "d1/W", "d4/W"]

  public init(channels: Int, inputLength: Int) {
    self.channels = channels
    self.inputLength = inputLength
  }

  /// Side of the output image: 4·2⁴ = 64 for every C.
  public var outputSide: Int { 64 }
  public var description: String { "dcgan-generator C=\(channels) n=\(inputLength)" }

  public var parameters: [(key: String, shape: [Int])] {
    let c = channels
    var p = ParameterList()
    p.layer("fc", [c * 16, inputLength], bias: c * 16)
    p.batchNorm("bn0", c)
    var cin = c
    for i in 1...3 {
      p.layer("d\(i)", [cin, cin / 2, 4, 4], bias: cin / 2)
      p.batchNorm("b\(i)", cin / 2)
      cin /= 2
    }
    p.layer("d4", [cin, 3, 4, 4], bias: 3)
    return p.items
  }

  public static func infer(shapes: [String: [Int]], keys: Set<String>) throws -> DCGANGenerator? {
    guard signatureKeys.allSatisfy({ shapes[$0] != nil }) else { return nil }
    let fc = shapes["fc/W"]!
    guard fc.count == 2, fc[0] % 16 == 0, fc[0] > 0 else {
      throw ArchitectureError(key: "fc/W", "shape \(fc), expected (C·16, n)")
    }
    let c = fc[0] / 16
    guard c % 8 == 0 else { throw ArchitectureError(key: "fc/W", "C = \(c) (rows / 16) must be divisible by 8 for three halvings") }
    return DCGANGenerator(channels: c, inputLength: fc[1])
  }

  /// Input `z` [N, n]; output `img` [N, 3, 64, 64] in [-1, 1].
  public func graph(bnEps: Float = chainerBatchNormEps) -> Graph {
    var g = Graph(name: Self.architecture)
    g.metadata = ["arch": Self.architecture, "channels": "\(channels)", "input_length": "\(inputLength)"]
    g.inputs = [ValueInfo(name: "z", shape: Shape([.symbol("N"), .fixed(inputLength)]))]
    g.weights = parameters.map { ValueInfo(name: $0.key, shape: Shape($0.shape)) }
    let up = Op.convTranspose2d(ConvTransposeAttrs(strides: [2, 2], pads: [1, 1, 1, 1]))
    var h = g.chainerLayer(.linear(.plain), "z", "fc")
    h = g.add(.reshape(shape: [-1, channels, 4, 4]), [h], name: "fc/reshape")
    h = g.add(.relu, [g.chainerBatchNorm(h, "bn0", eps: bnEps)], name: "bn0/relu")
    for i in 1...3 {
      h = g.add(.relu, [g.chainerBatchNorm(g.chainerLayer(up, h, "d\(i)"), "b\(i)", eps: bnEps)], name: "b\(i)/relu")
    }
    g.add(.tanh, [g.chainerLayer(up, h, "d4")], name: "d4/tanh", output: "img")
    g.outputs = ["img"]
    return g
  }
}
