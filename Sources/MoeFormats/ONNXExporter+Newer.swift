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
      node("MaxPool", n.name, n.inputs, [out], try poolAttributes(p, input: x, refuse))
    case .averagePool(let p):
      if p.dilations != [1, 1] && opset < 19 { throw refuse("AveragePool takes dilations from opset 19") }
      var a = try poolAttributes(p, input: x, refuse).filter { $0.0 != "dilations" || opset >= 19 }
      a.append(("count_include_pad", .int(p.countIncludePad ? 1 : 0)))
      node("AveragePool", n.name, n.inputs, [out], a)
    case .globalAveragePool: node("GlobalAveragePool", n.name, n.inputs, [out])
    case .globalMaxPool: node("GlobalMaxPool", n.name, n.inputs, [out])
    case .resize(let r):
      var a: [(String, Attr)] = [("mode", .string(r.mode.rawValue)), ("coordinate_transformation_mode", .string(r.coordinates.rawValue))]
      if r.mode == .nearest { a.append(("nearest_mode", .string(r.nearest.rawValue))) }
      // align_corners maps through the output length, which ONNX's reference takes as in · scale unrounded: where
      // that is not whole, sizes say the length exactly (with `axes` from opset 18, else when N and C are fixed).
      let xs = types[x]!.shape, ys = types[out]!.shape
      let whole = (0..<2).allSatisfy { i in
        let v = Double(xs[2 + i].value ?? 0) * Double(r.scales[i])
        return v == v.rounded()
      }
      if r.coordinates == .alignCorners && !whole && (opset >= 18 || (xs[0].value != nil && xs[1].value != nil)) {
        let sizes = opset >= 18 ? ys.dims.suffix(2).map { $0.value! } : ys.dims.map { $0.value! }
        if opset >= 18 { a.append(("axes", .ints([2, 3]))) }
        node("Resize", n.name, [x, "", "", int64Initializer(n.name + "/sizes", sizes)], [out], a)
      } else {
        let scales = fresh(n.name + "/scales")
        initializers.append(floatTensor(scales, Tensor(shape: [4], data: [1, 1] + r.scales)))
        node("Resize", n.name, [x, "", scales], [out], a)
      }
    case .spaceToDepth(let b): node("SpaceToDepth", n.name, n.inputs, [out], [("blocksize", .int(b))])
    default:
      throw refuse("internal: not an op of the newer set")
    }
  }

  /// Pool attributes. The IR (as ONNX Runtime and PyTorch) drops a ceil-mode window that would start in the end
  /// padding; onnx's shape inference keeps it. So `ceil_mode=1` is written only when it adds a window on every axis
  /// where it changes anything; when it adds on one axis and drops on the other, the adding axis gets the extra end
  /// padding instead (`ceil_mode=0`; exact for MaxPool and count_include_pad=0), else the export is refused.
  private func poolAttributes(_ p: PoolAttrs, input x: String, _ refuse: (String) -> MoeFormatError) throws -> [(String, Attr)] {
    let spatial = types[x]!.shape.dims.suffix(2).map { $0.value ?? 0 }
    var pads = p.pads
    var ceil = false
    if p.ceilMode {
      var adds: [Int] = [], drops = false
      for i in 0..<2 {
        let span = p.dilations[i] * (p.kernel[i] - 1) + 1
        let room = spatial[i] + p.pads[i] + p.pads[i + 2] - span
        guard room >= 0, room % p.strides[i] != 0 else { continue }
        let extent = { (ceil: Bool) in
          pooledExtent(input: spatial[i], kernel: p.kernel[i], stride: p.strides[i], padBegin: p.pads[i], padEnd: p.pads[i + 2],
                       dilation: p.dilations[i], ceilMode: ceil)
        }
        if extent(true) != extent(false) { adds.append(i) } else { drops = true }
      }
      if drops && !adds.isEmpty {
        for i in adds {
          let span = p.dilations[i] * (p.kernel[i] - 1) + 1
          let room = spatial[i] + p.pads[i] + p.pads[i + 2] - span
          pads[i + 2] += p.strides[i] - room % p.strides[i]
          guard pads[i + 2] < span, !p.countIncludePad else {
            throw refuse("ceil_mode adds a window along one axis and drops the last along the other; onnx's shape inference keeps that window")
          }
        }
      } else {
        ceil = !adds.isEmpty
      }
    }
    return [("kernel_shape", .ints(p.kernel)), ("strides", .ints(p.strides)), ("pads", .ints(pads)),
            ("dilations", .ints(p.dilations)), ("ceil_mode", .int(ceil ? 1 : 0))]
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
