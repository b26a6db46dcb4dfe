// OpFamilies: the elementwise and reduction function families and the attribute structs of the newer ops.

/// A one-input elementwise function. `Op.unary(f)` prints as `f.rawValue` (e.g. `relu`, `exp`).
/// Adding a function: a case here, its formula in `MoeRuntime/Kernels+Elementwise.swift`, the wasm/JS tables,
/// the ONNX name in `ONNXOpNames.swift`, and a row in `Formats/ir.md` (see `Formats/adding-an-op.md`).
public enum UnaryFunction: String, CaseIterable, Hashable, Sendable {
  case relu, tanh, sigmoid, softplus
  case neg, exp, log, sqrt, reciprocal, abs, square, sign
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
