// OpSchema.all: the declaration of every op of the IR (the families expand to one entry per function).

extension AttributeSchema {
  static func int(_ n: String, _ example: String = "1", _ doc: String) -> Self { .init(n, .int, example: example, doc) }
  static func float(_ n: String, _ example: String = "0.5", _ doc: String) -> Self { .init(n, .float, example: example, doc) }
  static func bool(_ n: String, _ doc: String) -> Self { .init(n, .bool, example: "1", doc) }
  static func ints(_ n: String, _ example: String, _ doc: String) -> Self { .init(n, .ints, example: example, doc) }
  static func word<E: RawRepresentable & CaseIterable>(_ n: String, _: E.Type, _ doc: String) -> Self where E.RawValue == String {
    let words = E.allCases.map(\.rawValue)
    return .init(n, .word(words), example: words.last!, doc)
  }
}

extension OpSchema {
  static let convAttributes: [AttributeSchema] = [
    .ints("strides", "[1,1]", "[sh,sw]"), .ints("pads", "[0,0,0,0]", "[top,left,bottom,right]"),
    .ints("dilations", "[1,1]", "[dh,dw]"), .int("groups", "1", "channel groups"),
  ]
  static let poolAttributes: [AttributeSchema] = [
    .ints("kernel", "[2,2]", "[kh,kw]"), .ints("strides", "[2,2]", "[sh,sw]"), .ints("pads", "[0,0,0,0]", "[top,left,bottom,right]"),
    .ints("dilations", "[1,1]", "[dh,dw]"), .bool("ceil_mode", "output extent rounds up (ONNX ceil_mode)"),
  ]
  static let reduceAttributes: [AttributeSchema] = [
    .ints("axes", "[1]", "axes to reduce (all when empty; negative count from the end)"),
    .bool("keepdims", "keep reduced axes with extent 1"),
  ]
  /// Phrases of the exporter's refusals (ONNXOpCorpusTests checks the refusal message contains them).
  static let trainingOp = "is a training op; export the inference graph"
  static let trainingForm = "is a training form; export the inference graph"
  static let firstSlice = "a first-slice op: checked against Chainer by the model fidelity tests, the executor and ONNX tests"

  /// Every op, in the order of Formats/ir.md's op table.
  public static let all: [OpSchema] = [
    OpSchema("linear", inputs: 2...3, "x, W (out, in), [b (out)]", epilogue: true, exempt: [.corpus: firstSlice],
             "x flattened from axis 1; y = x·Wᵀ + b (Chainer `Linear`)"),
    OpSchema("gemm", inputs: 2...3, "A, B, [C]",
             [.float("alpha", "1.0", "α"), .float("beta", "1.0", "β"), .bool("trans_a", "transpose A"), .bool("trans_b", "transpose B")], exempt: [.corpus: firstSlice],
             "y = α·op(A)·op(B) + β·C (ONNX `Gemm`)"),
    OpSchema("matmul", inputs: 2...2, "A, B", exempt: [.corpus: firstSlice], "NumPy `matmul`, rank ≥ 2"),
    OpSchema("conv2d", inputs: 2...3, "x, W (O, C/g, kh, kw), [b (O)]", convAttributes, epilogue: true, exempt: [.corpus: firstSlice],
             "cross-correlation; out = (in + pb + pe − d·(k−1) − 1) / s + 1"),
    OpSchema("conv_transpose2d", inputs: 2...3, "x, W (C, O/g, kh, kw), [b (O)]",
             Array(convAttributes.prefix(3)) + [.ints("output_padding", "[0,0]", "[oh,ow]"), .int("groups", "1", "channel groups")],
             epilogue: true, exempt: [.corpus: firstSlice], "out = (in−1)·s − pb − pe + d·(k−1) + 1 + op (Chainer `Deconvolution2D` weight layout)"),
    OpSchema("conv2d_filter_grad", inputs: 3...3, "x, ∂y, like (the weight)", convAttributes,
             exempt: [.onnxExport: trainingOp, .onnxImport: "ONNX has no weight-gradient op; gradients are built by MoeAutodiff"],
             "∂L/∂W of conv2d: Σ over batch and positions of ∂y ⊗ patches(x), shaped like the weight"),
    OpSchema("batch_norm", inputs: 5...5, "x, gamma, beta, mean, var", [.float("eps", "1e-05", "added to the variance")],
             exempt: [.corpus: firstSlice], "y = (x − mean)/√(var + eps)·gamma + beta over axis 1 (inference)"),
    OpSchema("batch_norm_training", inputs: 3...3, "x, gamma, beta", [.float("eps", "1e-05", "added to the variance")], outputs: 3,
             exempt: [.onnxExport: trainingForm, .onnxImport: "ONNX BatchNormalization in training mode is refused on import (inference only: one output, training_mode=0)"],
             "outputs y, batch mean, biased batch variance per channel (axis 1); y normalized with the batch statistics"),
  ]
    + UnaryFunction.allCases.map { f in
      let onnx = f == .square ? "ONNX `Mul`(x, x)" : "ONNX `\(f.onnx.name)`" + (f.onnx.since > 1 ? ", opset ≥ \(f.onnx.since)" : "")
      return OpSchema(f.rawValue, inputs: 1...1, "x", wasm: .unary(f.wasmCode), "\(f.formula); \(onnx)")
    }
    + BinaryFunction.allCases.map { f in
      OpSchema(f.rawValue, inputs: 2...2, "a, b", wasm: .binary(f.wasmCode), f.formula + ", NumPy broadcasting")
    }
    + [
      OpSchema("leaky_relu", inputs: 1...1, "x", [.float("alpha", "0.2", "slope below 0")], wasm: .unary(2), "x if x ≥ 0 else α·x"),
      OpSchema("clip", inputs: 1...1, "x", [.float("min", "-1.0", "lower bound"), .float("max", "1.0", "upper bound")],
               "min(max(x, min), max); NaN stays"),
      OpSchema("prelu", inputs: 2...2, "x, slope (broadcast to x)", wasm: .binary(10), "x if x ≥ 0 else slope·x"),
      OpSchema("where", inputs: 3...3, "cond (bool), a, b", "a where cond else b, NumPy broadcasting"),
      OpSchema("cast", inputs: 1...1, "x", [.word("to", DType.self, "target dtype")],
               "converts the dtype: to integers truncates toward zero, to bool is x ≠ 0, to f16 rounds to nearest even"),
    ]
    + ReduceFunction.allCases.map { f in
      OpSchema("reduce_" + f.rawValue, inputs: 1...1, "x", reduceAttributes, "\(f.rawValue) over `axes`")
    }
    + [
      OpSchema("sum_to", inputs: 2...2, "x, like", "sums x over the axes broadcasting added, to the shape of `like`"),
      OpSchema("broadcast_to", inputs: 2...2, "x, like", "repeats x along broadcast axes to the shape of `like`"),
      OpSchema("softmax", inputs: 1...1, "x", [.int("axis", "1", "normalized axis")], "eˣ / Σ eˣ along `axis`"),
      OpSchema("log_softmax", inputs: 1...1, "x", [.int("axis", "1", "normalized axis")], "x − log Σ eˣ along `axis`"),
      OpSchema("instance_norm", inputs: 3...3, "x, scale (C), bias (C)", [.float("eps", "1e-05", "added to the variance")],
               "normalizes each (sample, channel) over the spatial axes, then scale·y + bias"),
      OpSchema("group_norm", inputs: 3...3, "x, scale (C), bias (C)",
               [.int("groups", "1", "channel groups"), .float("eps", "1e-05", "added to the variance")],
               "normalizes each (sample, group of channels), then scale·y + bias per channel"),
      OpSchema("pad", inputs: 1...1, "x",
               [.word("mode", PadMode.self, "ONNX Pad mode"), .ints("pads", "[0,0,1,1,0,0,1,1]", "begin extents of every axis, then end extents"),
                .float("value", "0.0", "fill of constant mode")],
               "ONNX `Pad`"),
      OpSchema("max_pool", inputs: 1...1, "x (N, C, H, W)", poolAttributes,
               exempt: [.numpy: "checked against ONNX Runtime in the op corpus instead"], "2-D max pooling (ONNX `MaxPool`)"),
      OpSchema("average_pool", inputs: 1...1, "x (N, C, H, W)",
               poolAttributes + [.bool("count_include_pad", "divide by the whole window, padding included")],
               exempt: [.numpy: "checked against ONNX Runtime in the op corpus instead"], "2-D average pooling (ONNX `AveragePool`)"),
      OpSchema("global_average_pool", inputs: 1...1, "x (N, C, …)", "mean over the spatial axes, kept with extent 1"),
      OpSchema("global_max_pool", inputs: 1...1, "x (N, C, …)", "maximum over the spatial axes, kept with extent 1"),
      OpSchema("resize", inputs: 1...1, "x (N, C, H, W)",
               [.word("mode", ResizeMode.self, "interpolation"), .word("coordinates", CoordinateMode.self, "ONNX coordinate_transformation_mode"),
                .word("nearest", NearestMode.self, "ONNX nearest_mode"), .init("scales", .floats, example: "[2.0,2.0]", "scale of H and W")],
               exempt: [.numpy: "checked against ONNX Runtime in the op corpus instead"],
               "ONNX `Resize` over H and W; out = floor(in · scale)"),
      OpSchema("reshape", inputs: 1...1, "x", [.ints("shape", "[-1]", "target shape")],
               exempt: [.corpus: "a first-slice op: checked against Chainer by every model fidelity test"],
               "ONNX `Reshape`: `0` copies the input extent, `-1` is inferred"),
      OpSchema("flatten", inputs: 1...1, "x", [.int("axis", "1", "first flattened axis")],
               exempt: [.corpus: "a first-slice op: checked by the executor and ONNX import tests"], "(∏ dims before axis, ∏ dims from axis)"),
      OpSchema("transpose", inputs: 1...1, "x", [.ints("perm", "[1,0]", "axis permutation")],
               exempt: [.corpus: "a first-slice op: checked by the executor and ONNX import tests"], "permutes axes"),
      OpSchema("depth_to_space", inputs: 1...1, "x", [.int("block_size", "2", "block edge"), .word("mode", DepthToSpaceMode.self, "channel order")],
               exempt: [.corpus: "a first-slice op: checked against Chainer by every model fidelity test"],
               "ONNX `DepthToSpace`; `DCR` is Chainer's `depth2space`, `CRD` PyTorch's `pixel_shuffle`"),
      OpSchema("space_to_depth", inputs: 1...1, "x", [.int("block_size", "2", "block edge")], "ONNX `SpaceToDepth`"),
      OpSchema("concat", inputs: 1...Int.max, "x₁ … xₖ", [.int("axis", "1", "joined axis")],
               exempt: [.corpus: "a first-slice op: checked by the executor and ONNX import tests"], "concatenation"),
      OpSchema("slice", inputs: 1...1, "x",
               [.ints("starts", "[0]", "first index"), .ints("ends", "[1]", "end index (clamped)"), .ints("axes", "[0]", "sliced axes"),
                .ints("steps", "[1]", "steps")],
               exempt: [.corpus: "a first-slice op: checked by the executor and ONNX import tests"],
               "ONNX `Slice` (negative indices from the end, clamped)"),
      OpSchema("identity", inputs: 1...1, "x", exempt: [.corpus: "y = x; checked by the executor tests"], "y = x"),
      OpSchema("constant", inputs: 0...0, "—", [.init("value", .tensor, example: "f32[2]{1.0,2.0}", "the value")],
               exempt: [.corpus: "has no inputs; folded constants are checked by the pass tests"], "a constant"),
    ]
}
