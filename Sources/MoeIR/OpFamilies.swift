// OpFamilies: the elementwise and reduction function families and the attribute structs of the newer ops.

/// A one-input elementwise function. `Op.unary(f)` prints as `f.rawValue` (e.g. `relu`, `exp`).
/// Adding a function: follow `Formats/adding-an-op.md` (a case, its `wasmCode`, `formula` and `onnx` below, the
/// shared kernel, the VJP rule, a corpus case; the JS/Python tables, Formats/ir.md and kernels.wasm are regenerated).
public enum UnaryFunction: String, CaseIterable, Hashable, Sendable {
  case relu, tanh, sigmoid, softplus
  case neg, exp, log, sqrt, reciprocal, abs, square, sign
  case erf
  case mish
}

/// A two-input elementwise function with NumPy broadcasting. Comparisons produce `bool` values.
public enum BinaryFunction: String, CaseIterable, Hashable, Sendable {
  case add, sub, mul, div, pow, max, min
  case greater, less, equal

  /// True for the comparisons, whose result dtype is `bool`.
  public var isComparison: Bool {
    switch self {
    case .greater, .less, .equal: return true
    default: return false
    }
  }
}

/// The schema of each unary function: its `moe_unary` code (Sources/MoeKernels/Elementwise.swift) and semantics.
extension UnaryFunction {
  /// The `moe_unary` code (codes 14…16 are casts, 2 is leaky_relu).
  public var wasmCode: Int32 {
    switch self {
    case .relu: return 1
    case .tanh: return 3
    case .sigmoid: return 4
    case .softplus: return 5
    case .neg: return 6
    case .exp: return 7
    case .log: return 8
    case .sqrt: return 9
    case .reciprocal: return 10
    case .abs: return 11
    case .square: return 12
    case .sign: return 13
    case .erf: return 17
    case .mish: return 18
    }
  }

  /// The function, in one line.
  public var formula: String {
    switch self {
    case .relu: return "max(x, 0)"
    case .tanh: return "tanh x"
    case .sigmoid: return "1 / (1 + e^−x)"
    case .softplus: return "log(1 + eˣ)"
    case .neg: return "−x"
    case .exp: return "eˣ"
    case .log: return "natural logarithm (NaN below 0, −inf at 0)"
    case .sqrt: return "√x (NaN below 0)"
    case .reciprocal: return "1 / x"
    case .abs: return "|x|"
    case .square: return "x·x"
    case .sign: return "−1, 0 or 1 (±0 and NaN stay)"
    case .erf: return "the error function 2/√π ∫₀ˣ e^(−t²) dt, used by GELU"
    case .mish: return "x · tanh(softplus x) (YOLOv4, PyTorch `nn.Mish`)"
    }
  }

  /// The ONNX op of the function (default domain), both ways: the exporter writes it (at opsets from `since`; below,
  /// the export is refused naming the node) and the importer reads it back. `square` is written as Mul(x, x).
  public var onnx: ONNXOpType {
    switch self {
    case .relu: return ONNXOpType("Relu")
    case .tanh: return ONNXOpType("Tanh")
    case .sigmoid: return ONNXOpType("Sigmoid")
    case .softplus: return ONNXOpType("Softplus")
    case .neg: return ONNXOpType("Neg")
    case .exp: return ONNXOpType("Exp")
    case .log: return ONNXOpType("Log")
    case .sqrt: return ONNXOpType("Sqrt")
    case .reciprocal: return ONNXOpType("Reciprocal")
    case .abs: return ONNXOpType("Abs")
    case .square: return ONNXOpType("Mul")
    case .sign: return ONNXOpType("Sign", since: 9)
    case .erf: return ONNXOpType("Erf", since: 9)
    case .mish: return ONNXOpType("Mish", since: 18)
    }
  }
}

/// An ONNX op type of the default domain and the first opset that has it.
public struct ONNXOpType: Hashable, Sendable {
  /// The op type (`Erf`).
  public let name: String
  /// The first opset defining the op (ONNX's Operators.md "since version" of its first version).
  public let since: Int
  public init(_ name: String, since: Int = 1) {
    self.name = name
    self.since = since
  }
}

extension BinaryFunction {
  /// The `moe_binary` code (10 is prelu).
  public var wasmCode: Int32 {
    switch self {
    case .add: return 0
    case .sub: return 1
    case .mul: return 2
    case .div: return 3
    case .pow: return 4
    case .max: return 5
    case .min: return 6
    case .greater: return 7
    case .less: return 8
    case .equal: return 9
    }
  }

  /// The function, in one line.
  public var formula: String {
    switch self {
    case .add: return "a + b"
    case .sub: return "a − b"
    case .mul: return "a · b"
    case .div: return "a / b"
    case .pow: return "aᵇ"
    case .max: return "elementwise maximum (NaN propagates)"
    case .min: return "elementwise minimum (NaN propagates)"
    case .greater: return "a > b → bool"
    case .less: return "a < b → bool"
    case .equal: return "a == b → bool"
    }
  }
}

/// A reduction over axes. `Op.reduce(f, …)` prints as `reduce_\(f.rawValue)`.
public enum ReduceFunction: String, CaseIterable, Hashable, Sendable {
  case sum, mean, max, min
}

/// Padding mode of `pad` (ONNX `Pad` modes).
public enum PadMode: String, CaseIterable, Hashable, Sendable {
  case constant, reflect, edge
}

/// `pad` attributes. `pads` lists the begin extents of every axis, then the end extents (ONNX order).
public struct PadAttrs: Hashable, Sendable {
  public var mode: PadMode
  public var pads: [Int]
  public var value: Float
  public init(mode: PadMode = .constant, pads: [Int], value: Float = 0) {
    self.mode = mode
    self.pads = pads
    self.value = value
  }
}

/// 2-D pooling attributes (NCHW). `pads` are [top, left, bottom, right].
public struct PoolAttrs: Hashable, Sendable {
  public var kernel: [Int]
  public var strides: [Int]
  public var pads: [Int]
  public var dilations: [Int]
  /// Output extent rounds up (ONNX `ceil_mode`); a window must still start inside the input or its left padding.
  public var ceilMode: Bool
  /// Average pooling divides by the whole window, padding included (ONNX `count_include_pad`).
  public var countIncludePad: Bool
  public init(kernel: [Int], strides: [Int] = [1, 1], pads: [Int] = [0, 0, 0, 0], dilations: [Int] = [1, 1],
              ceilMode: Bool = false, countIncludePad: Bool = false) {
    self.kernel = kernel
    self.strides = strides
    self.pads = pads
    self.dilations = dilations
    self.ceilMode = ceilMode
    self.countIncludePad = countIncludePad
  }
}

/// Interpolation of `resize`.
public enum ResizeMode: String, CaseIterable, Hashable, Sendable {
  case nearest, linear
}

/// How an output coordinate maps to an input coordinate (ONNX `coordinate_transformation_mode`).
public enum CoordinateMode: String, CaseIterable, Hashable, Sendable {
  case halfPixel = "half_pixel"
  case pytorchHalfPixel = "pytorch_half_pixel"
  case alignCorners = "align_corners"
  case asymmetric
}

/// How a fractional coordinate picks a pixel in nearest mode (ONNX `nearest_mode`).
public enum NearestMode: String, CaseIterable, Hashable, Sendable {
  case roundPreferFloor = "round_prefer_floor"
  case roundPreferCeil = "round_prefer_ceil"
  case floor, ceil
}

/// `resize` attributes over the two spatial axes of an NCHW tensor: output extent = floor(in · scale).
public struct ResizeAttrs: Hashable, Sendable {
  public var mode: ResizeMode
  public var coordinates: CoordinateMode
  public var nearest: NearestMode
  /// Scale of height and width.
  public var scales: [Float]
  public init(mode: ResizeMode = .nearest, coordinates: CoordinateMode = .halfPixel,
              nearest: NearestMode = .roundPreferFloor, scales: [Float]) {
    self.mode = mode
    self.coordinates = coordinates
    self.nearest = nearest
    self.scales = scales
  }
}
