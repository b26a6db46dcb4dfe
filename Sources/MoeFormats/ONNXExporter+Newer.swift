// ONNXExporter+Newer: ONNX forms of the reductions, normalizations, padding, pooling, resize and selection ops.
import MoeIR

extension ONNXExporter.Builder {
  /// Emits the ops added with the training and PyTorch op set; each maps to standard ONNX ops at the builder's opset.
  func emitNewer(_ n: Node) throws {
    let out = n.outputs[0], x = n.inputs.first ?? ""
    func refuse(_ why: String) -> MoeFormatError {
      MoeFormatError(.invalidArray, key: n.name, "\(n.op.name) cannot be exported to ONNX opset \(opset): \(why)")
    }
    func scalar(_ base: String, _ v: Float) -> String {
      let name = fresh(n.name + "/" + base)
      initializers.append(floatTensor(name, Tensor(shape: [], data: [v])))
      return name
    }
    switch n.op {
    case .conv2dFilterGrad:
      throw refuse("the weight gradient of a convolution is a training op; export the inference graph")
    case .batchNormTraining:
      throw refuse("batch normalization with batch statistics is a training form; export the inference graph (running statistics)")
    case .clip(let lo, let hi):
      node("Clip", n.name, [x, scalar("min", lo), scalar("max", hi)], [out])
    case .prelu: node("PRelu", n.name, n.inputs, [out])
    case .select: node("Where", n.name, n.inputs, [out])
    case .cast(let t): node("Cast", n.name, n.inputs, [out], [("to", .int(Int(ONNXOpNames.tensorType(t))))])
    case .reduce(let f, let axes, let keep):
      reduce(ONNXOpNames.reduce[f]!, n.name, x, axes: axes, keep: keep, out)
    case .sumTo:
      // Sum the leading axes away, then the axes where the target has extent 1 (kept).
      let xs = types[x]!.shape, like = types[n.inputs[1]]!.shape, lead = xs.rank - like.rank
      var v = x
      if lead > 0 {
        let t = like.rank == 0 || (lead..<xs.rank).allSatisfy({ !(like[$0 - lead] == .fixed(1) && xs[$0] != .fixed(1)) }) ? out : fresh(out + "/lead")
        reduce("ReduceSum", n.name + "/lead", v, axes: Array(0..<lead), keep: false, t)
        v = t
      }
      let ones = (0..<like.rank).filter { like[$0] == .fixed(1) && xs[$0 + lead] != .fixed(1) }
      if !ones.isEmpty { reduce("ReduceSum", n.name, v, axes: ones, keep: true, out) } else if v != out { node("Identity", n.name, [v], [out]) }
    case .broadcastTo:
      let shape = fresh(out + "/shape")
      node("Shape", n.name + "/shape", [n.inputs[1]], [shape])
      node("Expand", n.name, [x, shape], [out])
    case .softmax(let axis): node("Softmax", n.name, n.inputs, [out], [("axis", .int(axis))])
    case .logSoftmax(let axis): node("LogSoftmax", n.name, n.inputs, [out], [("axis", .int(axis))])
    case .instanceNorm(let eps): node("InstanceNormalization", n.name, n.inputs, [out], [("epsilon", .float(eps))])
    case .groupNorm(let groups, let eps):
      // As PyTorch exports it: instance norm over (N, groups, rest), then the per-channel affine.
      let c = types[x]!.shape[1].value!
      let grouped = fresh(out + "/grouped"), normed = fresh(out + "/normed"), back = fresh(out + "/back")
      node("Reshape", n.name + "/group", [x, int64Initializer(n.name + "/gshape", [0, groups, -1])], [grouped])
      node("InstanceNormalization", n.name + "/norm",
           [grouped, scalarVector(n.name + "/ones", 1, groups), scalarVector(n.name + "/zeros", 0, groups)], [normed],
           [("epsilon", .float(eps))])
      let xshape = fresh(out + "/xshape")
      node("Shape", n.name + "/xshape", [x], [xshape])
      node("Reshape", n.name + "/ungroup", [normed, xshape], [back])
      let affine = [1, c] + Array(repeating: 1, count: types[x]!.shape.rank - 2)
      let scaled = fresh(out + "/scaled")
      let sc = fresh(out + "/scale"), bi = fresh(out + "/bias")
      node("Reshape", n.name + "/scale", [n.inputs[1], int64Initializer(n.name + "/ashape", affine)], [sc])
      node("Reshape", n.name + "/bias", [n.inputs[2], int64Initializer(n.name + "/bshape", affine)], [bi])
      node("Mul", n.name + "/mul", [back, sc], [scaled])
      node("Add", n.name, [scaled, bi], [out])
    case .pad(let p):
      var ins = [x, int64Initializer(n.name + "/pads", p.pads)]
      if p.mode == .constant { ins.append(scalar("value", p.value)) }
      node("Pad", n.name, ins, [out], [("mode", .string(p.mode.rawValue))])
    case .maxPool(let p):
      node("MaxPool", n.name, n.inputs, [out], poolAttributes(p))
    case .averagePool(let p):
      if p.dilations != [1, 1] && opset < 19 { throw refuse("AveragePool takes dilations from opset 19") }
      var a = poolAttributes(p).filter { $0.0 != "dilations" || opset >= 19 }
      a.append(("count_include_pad", .int(p.countIncludePad ? 1 : 0)))
      node("AveragePool", n.name, n.inputs, [out], a)
    case .globalAveragePool: node("GlobalAveragePool", n.name, n.inputs, [out])
    case .globalMaxPool: node("GlobalMaxPool", n.name, n.inputs, [out])
    case .resize(let r):
      let scales = fresh(n.name + "/scales")
      initializers.append(floatTensor(scales, Tensor(shape: [4], data: [1, 1] + r.scales)))
      var a: [(String, Attr)] = [("mode", .string(r.mode.rawValue)), ("coordinate_transformation_mode", .string(r.coordinates.rawValue))]
      if r.mode == .nearest { a.append(("nearest_mode", .string(r.nearest.rawValue))) }
      node("Resize", n.name, [x, "", scales], [out], a)
    case .spaceToDepth(let b): node("SpaceToDepth", n.name, n.inputs, [out], [("blocksize", .int(b))])
    default:
      throw refuse("internal: not an op of the newer set")
    }
  }

  private func poolAttributes(_ p: PoolAttrs) -> [(String, Attr)] {
    [("kernel_shape", .ints(p.kernel)), ("strides", .ints(p.strides)), ("pads", .ints(p.pads)),
     ("dilations", .ints(p.dilations)), ("ceil_mode", .int(p.ceilMode ? 1 : 0))]
  }

  private func scalarVector(_ base: String, _ v: Float, _ count: Int) -> String {
    let name = fresh(base)
    initializers.append(floatTensor(name, Tensor(shape: [count], data: Array(repeating: v, count: count))))
    return name
  }

  /// A reduction node: axes as an attribute before the opset that made them an input (13 for ReduceSum, 18 for the rest).
  private func reduce(_ op: String, _ name: String, _ x: String, axes: [Int], keep: Bool, _ out: String) {
    let axesAsInput = opset >= (op == "ReduceSum" ? 13 : 18)
    var ins = [x]
    var a: [(String, Attr)] = [("keepdims", .int(keep ? 1 : 0))]
    if !axes.isEmpty {
      if axesAsInput { ins.append(int64Initializer(name + "/axes", axes)) } else { a.append(("axes", .ints(axes))) }
    }
    node(op, name, ins, [out], a)
  }
}
