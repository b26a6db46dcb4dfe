// ONNXImporter+Composite: ONNX ops with no IR op of their own, written as several IR ops (HardSigmoid, HardSwish,
// Elu, Selu, LayerNormalization) or mapped with a change of form (GroupNormalization's opset-18 per-group affine).
import CONNX
import MoeIR

extension ONNXImporter {
  /// Op types mapped by `ONNXImporter+Composite.swift`.
  static let compositeOps: Set<String> = ["HardSigmoid", "HardSwish", "Elu", "Selu", "GroupNormalization", "LayerNormalization"]
}

extension ONNXImporter.Reader {
  /// Converts a composite op; false when `n.opType` is not one of them.
  mutating func convertComposite(_ n: ONNXImporter.ONode) throws -> Bool {
    let x = n.inputs[0], o = n.outputs[0]
    switch n.opType {
    case "HardSigmoid", "HardSwish":
      // max(0, min(1, alpha·x + beta)); HardSwish multiplies x by it with alpha 1/6, beta 1/2.
      let swish = n.opType == "HardSwish"
      let alpha = swish ? Float(1) / 6 : float(n, "alpha", 0.2), beta = swish ? 0.5 : float(n, "beta", 0.5)
      let scaled = try emit(n, .mul, [x, scalarWeight(n, "alpha", alpha)], output: o + "/scaled")
      let shifted = try emit(n, .add, [scaled, scalarWeight(n, "beta", beta)], output: o + "/shifted")
      if !swish { try emit(n, .clip(min: 0, max: 1), [shifted]); return true }
      let gate = try emit(n, .clip(min: 0, max: 1), [shifted], output: o + "/gate")
      try emit(n, .mul, [x, gate])
    case "Elu", "Selu":
      // x > 0 ? x : alpha·(exp(x) − 1), times gamma for Selu.
      let selu = n.opType == "Selu"
      let alpha = float(n, "alpha", selu ? 1.67326319217681884765625 : 1)
      let e = try emit(n, .unary(.exp), [x], output: o + "/exp")
      let em1 = try emit(n, .sub, [e, scalarWeight(n, "one", 1)], output: o + "/expm1")
      let negative = try emit(n, .mul, [em1, scalarWeight(n, "alpha", alpha)], output: o + "/negative")
      let positive = try emit(n, .binary(.greater), [x, scalarWeight(n, "zero", 0)], output: o + "/positive")
      if !selu { try emit(n, .select, [positive, x, negative]); return true }
      let y = try emit(n, .select, [positive, x, negative], output: o + "/elu")
      try emit(n, .mul, [y, scalarWeight(n, "gamma", float(n, "gamma", 1.05070102214813232421875))])
    case "GroupNormalization": try groupNormalization(n)
    case "LayerNormalization": try layerNormalization(n)
    default: return false
    }
    return true
  }

  /// GroupNormalization (opset 21: scale and bias per channel, the IR's `group_norm`). Opset 18's per-group scale
  /// and bias (deprecated by onnx, whose checker rejects it) is refused.
  mutating func groupNormalization(_ n: ONNXImporter.ONode) throws {
    guard opset >= 21 else {
      throw refuse(n, "GroupNormalization before opset 21 (per-group scale and bias, deprecated) is not supported")
    }
    guard n.inputs.count == 3, n.inputs.allSatisfy({ !$0.isEmpty }) else { throw err(n, "expects 3 inputs (X, scale, bias)") }
    try emit(n, .groupNorm(groups: int(n, "num_groups", 0), eps: float(n, "epsilon", 1e-5)), floatInputs(n))
  }

  /// LayerNormalization (opset 17): normalized over the axes from `axis` (default −1) to the end, then scale and
  /// optional bias; the optional Mean and InvStdDev outputs (reduced axes kept with extent 1) are the same values.
  mutating func layerNormalization(_ n: ONNXImporter.ONode) throws {
    guard n.inputs.count >= 2 else { throw err(n, "expects inputs X, Scale and optional B") }
    let x = n.inputs[0], o = n.outputs[0]
    guard let s = shapes[x] else { throw err(n, "input has no known shape") }
    var axis = int(n, "axis", -1)
    if axis < 0 { axis += s.rank }
    guard axis >= 0 && axis < s.rank else { throw err(n, "axis \(int(n, "axis", -1)) out of range for rank \(s.rank)") }
    let axes = Array(axis..<s.rank)
    let ins = floatInputs(n)
    let mean = try emit(n, .reduce(.mean, axes: axes, keepDims: true), [x], output: o + "/mean")
    let centered = try emit(n, .sub, [x, mean], output: o + "/centered")
    let squared = try emit(n, .unary(.square), [centered], output: o + "/squared")
    let variance = try emit(n, .reduce(.mean, axes: axes, keepDims: true), [squared], output: o + "/variance")
    let shifted = try emit(n, .add, [variance, scalarWeight(n, "epsilon", float(n, "epsilon", 1e-5))], output: o + "/variance_eps")
    let std = try emit(n, .unary(.sqrt), [shifted], output: o + "/std")
    let normed = try emit(n, .binary(.div), [centered, std], output: o + "/normalized")
    let hasBias = ins.count > 2 && !ins[2].isEmpty
    let scaled = try emit(n, .mul, [normed, ins[1]], output: hasBias ? o + "/scaled" : nil)
    if hasBias { try emit(n, .add, [scaled, ins[2]]) }
    if n.outputs.count > 1 && !n.outputs[1].isEmpty { try emit(n, .identity, [mean], output: n.outputs[1]) }
    if n.outputs.count > 2 && !n.outputs[2].isEmpty { try emit(n, .unary(.reciprocal), [std], output: n.outputs[2]) }
  }
}
