// QuantizationPlan: which encoding each weight of a graph gets (uniform choice, axes from the consuming op).
import MoeIR

/// Per-weight encodings for a bundle.
public struct QuantizationPlan: Sendable {
  public var schemes: [String: QuantScheme]

  public init(schemes: [String: QuantScheme] = [:]) { self.schemes = schemes }

  /// The output-channel axis of each weight: 1 for a conv_transpose2d kernel, else 0.
  public static func channelAxes(_ g: Graph) -> [String: Int] {
    var axes: [String: Int] = [:]
    for n in g.nodes where n.inputs.count > 1 {
      if case .convTranspose2d = n.op { axes[n.inputs[1]] = 1 } else if axes[n.inputs[1]] == nil { axes[n.inputs[1]] = 0 }
    }
    return axes
  }

  /// The same scheme for every weight matrix/kernel (rank ≥ 2), with per-channel axes set from the consuming op;
  /// vectors (biases) stay float32 unless the scheme is `f16` or `eightbit` (WebDNN encodes every constant). `name` is a scheme name (`int8`, `int4-g32`,
  /// `palette16-pc`, `f16`, `eightbit`: any of `QuantScheme.nameForms`) or `none`; a channel-axis suffix (`-a1`) is
  /// refused, the axes being the consuming ops'.
  public static func uniform(_ name: String, for g: Graph) throws -> QuantizationPlan {
    if name == "none" { return QuantizationPlan() }
    guard let base = QuantScheme(name: name) else { throw QuantError.unknownScheme(name: name, known: uniformNameList) }
    guard base.withAxis(0) == base else {
      throw QuantError.invalidScheme(base, reason: "a uniform encoding takes no channel-axis suffix: each weight's axis is set by "
        + "the op that reads it; give \(base.withAxis(0)) (known: \(uniformNameList))")
    }
    if base == .float32 { return QuantizationPlan() }
    let axes = channelAxes(g)
    var plan = QuantizationPlan()
    for w in g.weights {
      let rank = w.shape.rank
      if rank < 2 {
        if base == .float16 || base == .eightbit { plan.schemes[w.name] = base }
        continue
      }
      let axis = axes[w.name] ?? 0
      switch base {
      case .int8: plan.schemes[w.name] = .int8(axis: axis)
      case .int4(_, let g): plan.schemes[w.name] = .int4(axis: axis, groupSize: g)
      case .palette(let k, let pc, _): plan.schemes[w.name] = .palette(k: k, perChannel: pc, axis: axis)
      default: plan.schemes[w.name] = base
      }
    }
    return plan
  }

  /// What `--quantize` takes: `none`, every form of `QuantScheme.nameForms` and `auto` (the auto quantizer, which the
  /// commands run themselves), as a list for help texts and errors.
  public static let uniformNameList = "none, \(QuantScheme.nameList) or auto"

  /// A source's encodings (`ImportedModel.encodings`) for the weights `g` still declares with the same rank, so a
  /// quantized `.moe` or int8 ONNX model converts to a model of the same encodings (re-encoded from the graph's values).
  public static func keeping(_ encodings: [String: QuantScheme], for g: Graph) -> QuantizationPlan {
    var plan = QuantizationPlan()
    for w in g.weights {
      guard let s = encodings[w.name], let t = g.initializers[w.name] else { continue }
      if (try? Quantizer.payloadSize(s, shape: t.shape)) != nil { plan.schemes[w.name] = s }
    }
    return plan
  }

  /// The part of the plan ONNX can express (`int8` → DequantizeLinear) and the other encodings by weight
  /// (written to ONNX as their float32 values).
  public func forONNX() -> (onnx: QuantizationPlan, decoded: [String: QuantScheme]) {
    var onnx = QuantizationPlan(), decoded: [String: QuantScheme] = [:]
    for (name, s) in schemes {
      switch s {
      case .int8: onnx.schemes[name] = s
      case .float32: break
      default: decoded[name] = s
      }
    }
    return (onnx, decoded)
  }
}

extension QuantizationPlan {
  /// Bytes a bundle stores for `e`: its payload, or the zlib stream of it when `deflate` and that is smaller
  /// (as `MoeBundle.write(deflate:)` does).
  public static func storedBytes(_ e: EncodedTensor, deflate: Bool) -> Int {
    guard deflate, let d = try? deflateBytes(e.payload), d.count < e.payload.count else { return e.payload.count }
    return d.count
  }

  /// Stored bytes of every weight of `g` under this plan (float32 where the plan names none): the sum of the bundle's
  /// tensor payload lengths. `convert` and `report` both print this number.
  public func storedBytes(_ g: Graph, deflate: Bool) throws -> Int {
    try g.weights.reduce(0) { total, w in
      total + Self.storedBytes(try Quantizer.encode(g.initializers[w.name]!, as: schemes[w.name] ?? .float32), deflate: deflate)
    }
  }
}
