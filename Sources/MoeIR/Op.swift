// Op: the closed set of IR operations, each a pure value with typed attributes.

/// Convolution attributes (2-D, NCHW). `pads` are [top, left, bottom, right].
public struct ConvAttrs: Hashable, Sendable {
  public var strides: [Int]
  public var pads: [Int]
  public var dilations: [Int]
  public var groups: Int
  public var epilogue: Epilogue
  public init(strides: [Int] = [1, 1], pads: [Int] = [0, 0, 0, 0], dilations: [Int] = [1, 1], groups: Int = 1,
              epilogue: Epilogue = .plain) {
    self.strides = strides
    self.pads = pads
    self.dilations = dilations
    self.groups = groups
    self.epilogue = epilogue
  }
}

/// Transposed-convolution attributes. Output extent: (in−1)·s − pad_begin − pad_end + d·(k−1) + 1 + outputPadding.
public struct ConvTransposeAttrs: Hashable, Sendable {
  public var strides: [Int]
  public var pads: [Int]
  public var dilations: [Int]
  public var outputPadding: [Int]
  public var groups: Int
  public var epilogue: Epilogue
  public init(strides: [Int] = [1, 1], pads: [Int] = [0, 0, 0, 0], dilations: [Int] = [1, 1],
              outputPadding: [Int] = [0, 0], groups: Int = 1, epilogue: Epilogue = .plain) {
    self.strides = strides
    self.pads = pads
    self.dilations = dilations
    self.outputPadding = outputPadding
    self.groups = groups
    self.epilogue = epilogue
  }
}

/// Gemm: Y = alpha · op(A) · op(B) + beta · C.
public struct GemmAttrs: Hashable, Sendable {
  public var alpha: Float
  public var beta: Float
  public var transA: Bool
  public var transB: Bool
  public init(alpha: Float = 1, beta: Float = 1, transA: Bool = false, transB: Bool = false) {
    self.alpha = alpha
    self.beta = beta
    self.transA = transA
    self.transB = transB
  }
}

/// Slice along `axes` (ONNX semantics, negative indices count from the end; ends clamp).
public struct SliceAttrs: Hashable, Sendable {
  public var starts: [Int]
  public var ends: [Int]
  public var axes: [Int]
  public var steps: [Int]
  public init(starts: [Int], ends: [Int], axes: [Int], steps: [Int]) {
    self.starts = starts
    self.ends = ends
    self.axes = axes
    self.steps = steps
  }
}

/// Order of channels in DepthToSpace: DCR (Chainer depth2space, ONNX default) or CRD (PyTorch pixel_shuffle).
public enum DepthToSpaceMode: String, Hashable, Sendable, CaseIterable {
  case dcr = "DCR"
  case crd = "CRD"
}

/// An IR operation. The set is closed: every `switch` over it must handle each case.
///
/// Inputs by op (optional inputs may be left off the end):
/// - `linear`: x (N, in), W (out, in), b (out)? — y = x·Wᵀ + b (Chainer Linear; x is flattened from axis 1)
/// - `linear`, `conv2d`, `convTranspose2d` carry an `Epilogue`; with a residual, its input comes last (after the bias).
/// - `gemm`: A, B, C? ; `matmul`: A, B (NumPy matmul: leading dims broadcast)
/// - `conv2d`: x (N, C, H, W), W (O, C/g, kh, kw), b (O)?, r?
/// - `convTranspose2d`: x (N, C, H, W), W (C, O/g, kh, kw), b (O)?
/// - `batchNorm`: x, gamma, beta, mean, var (inference form); `batchNormTraining`: x, gamma, beta → y, mean, var
/// - `binary`: two inputs, NumPy broadcasting; `select` (`where`): cond (bool), a, b, broadcasting
/// - `sumTo`, `broadcastTo`: x, like — the result has the shape of `like` (sum over / repeat along broadcast axes)
/// - `prelu`: x, slope (broadcast to x); `instanceNorm`, `groupNorm`: x, scale (C), bias (C)
/// - other ops: one input; `concat`: one or more; `constant`: none
public enum Op: Hashable, Sendable {
  case linear(Epilogue)
  case gemm(GemmAttrs)
  case matmul
  case conv2d(ConvAttrs)
  case convTranspose2d(ConvTransposeAttrs)
  /// The gradient of conv2d with respect to its weight: inputs x, ∂y (the conv's output gradient), like (the weight,
  /// for its shape); output Σ over batch and positions of ∂y ⊗ patches(x), shaped like the weight.
  case conv2dFilterGrad(ConvAttrs)
  case batchNorm(eps: Float)
  /// Batch normalization with batch statistics: outputs y, the batch mean and the (biased) batch variance per channel.
  case batchNormTraining(eps: Float)
  case unary(UnaryFunction)
  case binary(BinaryFunction)
  case leakyRelu(alpha: Float)
  case clip(min: Float, max: Float)
  case prelu
  /// `where(cond, a, b)`.
  case select
  case cast(DType)
  /// Reduction over `axes` (all axes when empty); `keepDims` keeps them with extent 1.
  case reduce(ReduceFunction, axes: [Int], keepDims: Bool)
  case sumTo
  case broadcastTo
  case softmax(axis: Int)
  case logSoftmax(axis: Int)
  case instanceNorm(eps: Float)
  case groupNorm(groups: Int, eps: Float)
  case pad(PadAttrs)
  case maxPool(PoolAttrs)
  case averagePool(PoolAttrs)
  case globalAveragePool
  case globalMaxPool
  case resize(ResizeAttrs)
  /// ONNX Reshape semantics: 0 copies the input extent, −1 is inferred.
  case reshape(shape: [Int])
  case flatten(axis: Int)
  case transpose(perm: [Int])
  case depthToSpace(blockSize: Int, mode: DepthToSpaceMode)
  case spaceToDepth(blockSize: Int)
  case concat(axis: Int)
  case slice(SliceAttrs)
  case identity
  case constant(Tensor)

  // The first ops of the IR, kept as names: `.relu` is `.unary(.relu)`, `.add` is `.binary(.add)`.
  public static var relu: Op { .unary(.relu) }
  public static var tanh: Op { .unary(.tanh) }
  public static var sigmoid: Op { .unary(.sigmoid) }
  public static var softplus: Op { .unary(.softplus) }
  public static var add: Op { .binary(.add) }
  public static var sub: Op { .binary(.sub) }
  public static var mul: Op { .binary(.mul) }

  /// The op's name in the text form.
  public var name: String {
    switch self {
    case .linear: return "linear"
    case .gemm: return "gemm"
    case .matmul: return "matmul"
    case .conv2d: return "conv2d"
    case .convTranspose2d: return "conv_transpose2d"
    case .conv2dFilterGrad: return "conv2d_filter_grad"
    case .batchNorm: return "batch_norm"
    case .batchNormTraining: return "batch_norm_training"
    case .unary(let f): return f.rawValue
    case .binary(let f): return f.rawValue
    case .leakyRelu: return "leaky_relu"
    case .clip: return "clip"
    case .prelu: return "prelu"
    case .select: return "where"
    case .cast: return "cast"
    case .reduce(let f, _, _): return "reduce_" + f.rawValue
    case .sumTo: return "sum_to"
    case .broadcastTo: return "broadcast_to"
    case .softmax: return "softmax"
    case .logSoftmax: return "log_softmax"
    case .instanceNorm: return "instance_norm"
    case .groupNorm: return "group_norm"
    case .pad: return "pad"
    case .maxPool: return "max_pool"
    case .averagePool: return "average_pool"
    case .globalAveragePool: return "global_average_pool"
    case .globalMaxPool: return "global_max_pool"
    case .resize: return "resize"
    case .reshape: return "reshape"
    case .flatten: return "flatten"
    case .transpose: return "transpose"
    case .depthToSpace: return "depth_to_space"
    case .spaceToDepth: return "space_to_depth"
    case .concat: return "concat"
    case .slice: return "slice"
    case .identity: return "identity"
    case .constant: return "constant"
    }
  }

  /// Elementwise ops whose output has the (broadcast) shape of their inputs.
  public var isElementwise: Bool {
    switch self {
    case .unary, .binary, .leakyRelu, .clip, .prelu, .select, .cast, .identity: return true
    default: return false
    }
  }
}
