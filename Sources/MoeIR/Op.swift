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
/// - `batchNorm`: x, gamma, beta, mean, var (inference form)
/// - `add`, `mul`, `sub`: two inputs, NumPy broadcasting
/// - unary activations, `reshape`, `flatten`, `transpose`, `depthToSpace`, `slice`, `identity`: one input
/// - `concat`: one or more inputs; `constant`: none
public enum Op: Hashable, Sendable {
  case linear(Epilogue)
  case gemm(GemmAttrs)
  case matmul
  case conv2d(ConvAttrs)
  case convTranspose2d(ConvTransposeAttrs)
  case batchNorm(eps: Float)
  case add
  case mul
  case sub
  case relu
  case leakyRelu(alpha: Float)
  case tanh
  case sigmoid
  case softplus
  /// ONNX Reshape semantics: 0 copies the input extent, −1 is inferred.
  case reshape(shape: [Int])
  case flatten(axis: Int)
  case transpose(perm: [Int])
  case depthToSpace(blockSize: Int, mode: DepthToSpaceMode)
  case concat(axis: Int)
  case slice(SliceAttrs)
  case identity
  case constant(Tensor)

  /// The op's name in the text form.
  public var name: String {
    switch self {
    case .linear: return "linear"
    case .gemm: return "gemm"
    case .matmul: return "matmul"
    case .conv2d: return "conv2d"
    case .convTranspose2d: return "conv_transpose2d"
    case .batchNorm: return "batch_norm"
    case .add: return "add"
    case .mul: return "mul"
    case .sub: return "sub"
    case .relu: return "relu"
    case .leakyRelu: return "leaky_relu"
    case .tanh: return "tanh"
    case .sigmoid: return "sigmoid"
    case .softplus: return "softplus"
    case .reshape: return "reshape"
    case .flatten: return "flatten"
    case .transpose: return "transpose"
    case .depthToSpace: return "depth_to_space"
    case .concat: return "concat"
    case .slice: return "slice"
    case .identity: return "identity"
    case .constant: return "constant"
    }
  }

  /// Allowed input counts.
  public var arity: ClosedRange<Int> {
    switch self {
    case .linear, .conv2d, .convTranspose2d: return (2 + epilogue.residualInputs)...(3 + epilogue.residualInputs)
    case .gemm: return 2...3
    case .matmul: return 2...2
    case .batchNorm: return 5...5
    case .add, .mul, .sub: return 2...2
    case .relu, .leakyRelu, .tanh, .sigmoid, .softplus, .reshape, .flatten, .transpose, .depthToSpace, .slice, .identity:
      return 1...1
    case .concat: return 1...Int.max
    case .constant: return 0...0
    }
  }

  /// Elementwise ops whose output has the (broadcast) shape of their inputs.
  public var isElementwise: Bool {
    switch self {
    case .add, .mul, .sub, .relu, .leakyRelu, .tanh, .sigmoid, .softplus, .identity: return true
    default: return false
    }
  }
}
