// Kernel: an Op lowered for concrete shapes (geometry fixed at plan time), and how to run one on raw pointers.
import MoeIR

/// An op with its geometry computed for concrete shapes. Running it is loops and sgemm calls only.
enum Kernel {
  /// No work: the output is its input's storage or a constant.
  case none
  case conv(ConvGeometry)
  case convTranspose(ConvGeometry)
  case linear(LinearGeometry)
  case gemm(GemmGeometry)
  case matmul(MatmulGeometry)
  case batchNorm(BatchNormGeometry)
  case unary(UnaryFunction, count: Int)
  case binary(BinaryFunction, BroadcastGeometry)
  case gather(StridedGather)
  case depthToSpace(DepthToSpaceGeometry)
  case concat(ConcatGeometry)
  /// A contraction followed by its epilogue (activation, residual add).
  case fused(FusedKernel)

  /// Runs the kernel. `inputs` are in node-input order; `scratch` has the lowered node's `scratchCount` floats.
  func run(inputs x: [UnsafePointer<Float>], output y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
    switch self {
    case .none: break
    case .conv(let g): Kernels.conv2d(g, x: x[0], w: x[1], bias: x.count > 2 ? x[2] : nil, y: y, scratch: scratch)
    case .convTranspose(let g):
      Kernels.convTranspose2d(g, x: x[0], w: x[1], bias: x.count > 2 ? x[2] : nil, y: y, scratch: scratch)
    case .linear(let g): Kernels.linear(g, x: x[0], w: x[1], bias: x.count > 2 ? x[2] : nil, y: y)
    case .gemm(let g): Kernels.gemm(g, a: x[0], b: x[1], c: x.count > 2 ? x[2] : nil, y: y)
    case .matmul(let g): Kernels.matmul(g, a: x[0], b: x[1], y: y)
    case .batchNorm(let g): Kernels.batchNorm(g, x: x[0], gamma: x[1], beta: x[2], mean: x[3], variance: x[4], y: y)
    case .unary(let f, let count): Kernels.unary(f, count: count, x: x[0], y: y)
    case .binary(let f, let g): Kernels.binary(f, g, a: x[0], b: x[1], y: y)
    case .gather(let g): Kernels.gather(g, x: x[0], y: y)
    case .depthToSpace(let g): Kernels.depthToSpace(g, x: x[0], y: y)
    case .concat(let g): Kernels.concat(g, inputs: x, y: y)
    case .fused(let f):
      let r = f.residual == .none ? 0 : 1
      f.core.run(inputs: Array(x.dropLast(r)), output: y, scratch: scratch)
      Kernels.epilogue(f, y: y, residual: r == 1 ? x.last! : nil)
    }
  }
}

/// The epilogue of a fused contraction, lowered: y = act(y [+ r]) [+ r] over `count` values.
final class FusedKernel {
  let core: Kernel
  let activation: UnaryFunction?
  let residual: ResidualPlacement
  let count: Int

  init(core: Kernel, epilogue: Epilogue, count: Int) {
    self.core = core
    self.residual = epilogue.residual
    self.count = count
    switch epilogue.activation {
    case .none: activation = nil
    case .relu: activation = .relu
    case .leakyRelu(let a): activation = .leakyRelu(a)
    case .tanh: activation = .tanh
    case .sigmoid: activation = .sigmoid
    }
  }
}

/// Where a node's output may live.
enum OutputSharing: Equatable {
  /// A new arena buffer.
  case fresh
  /// Its input's storage, unchanged (reshape, flatten, identity).
  case aliasOfInput
  /// The constant store (constant nodes).
  case constant
  /// The buffer of one of these inputs when that input is not used afterwards (elementwise, same shape).
  case inPlace(candidates: [Int])
}

/// A node lowered for concrete shapes.
struct LoweredNode {
  var kernel: Kernel
  var scratchCount = 0
  var sharing = OutputSharing.fresh
}

extension Op {
  /// Lowers the op for concrete input shapes `s` and output shape `y` (already checked by `inferShapes`).
  func lowered(inputs s: [[Int]], output y: [Int]) -> LoweredNode {
    let e = epilogue
    guard !e.isPlain else { return loweredCore(inputs: s, output: y) }
    var node = loweredCore(inputs: Array(s.dropLast(e.residualInputs)), output: y)
    node.kernel = .fused(FusedKernel(core: node.kernel, epilogue: e, count: elementCount(y)))
    return node
  }

  /// Lowers the op itself, without its epilogue (and without its residual input).
  private func loweredCore(inputs s: [[Int]], output y: [Int]) -> LoweredNode {
    switch self {
    case .linear:
      let g = LinearGeometry(rows: y[0], inFeatures: s[1][1], outFeatures: s[1][0], hasBias: s.count > 2)
      return LoweredNode(kernel: .linear(g))
    case .gemm(let a):
      return LoweredNode(kernel: .gemm(GemmGeometry(a, aShape: s[0], bShape: s[1], cShape: s.count > 2 ? s[2] : nil)))
    case .matmul:
      return LoweredNode(kernel: .matmul(MatmulGeometry(a: s[0], b: s[1], y: y)))
    case .conv2d(let a):
      let g = ConvGeometry.conv(a, x: s[0], w: s[1], y: y, hasBias: s.count > 2)
      return LoweredNode(kernel: .conv(g), scratchCount: g.scratchCount)
    case .convTranspose2d(let a):
      let g = ConvGeometry.convTranspose(a, x: s[0], w: s[1], y: y, hasBias: s.count > 2)
      return LoweredNode(kernel: .convTranspose(g), scratchCount: g.scratchCount)
    case .batchNorm(let eps):
      let g = BatchNormGeometry(batch: y[0], channels: y[1], inner: elementCount(Array(y.dropFirst(2))), eps: eps)
      return LoweredNode(kernel: .batchNorm(g), sharing: .inPlace(candidates: [0]))
    case .add, .sub, .mul:
      let f: BinaryFunction = self == .add ? .add : (self == .sub ? .sub : .mul)
      let same = s.indices.filter { s[$0] == y }
      return LoweredNode(kernel: .binary(f, BroadcastGeometry(a: s[0], b: s[1], y: y)), sharing: .inPlace(candidates: same))
    case .relu: return unary(.relu, y)
    case .leakyRelu(let alpha): return unary(.leakyRelu(alpha), y)
    case .tanh: return unary(.tanh, y)
    case .sigmoid: return unary(.sigmoid, y)
    case .softplus: return unary(.softplus, y)
    case .reshape, .flatten, .identity:
      return LoweredNode(kernel: .none, sharing: .aliasOfInput)
    case .transpose(let perm):
      return LoweredNode(kernel: .gather(.transpose(s[0], perm: perm)))
    case .depthToSpace(let b, let mode):
      let g = DepthToSpaceGeometry(batch: s[0][0], channels: s[0][1], height: s[0][2], width: s[0][3], block: b, mode: mode)
      return LoweredNode(kernel: .depthToSpace(g))
    case .concat(let axis):
      return LoweredNode(kernel: .concat(ConcatGeometry(inputs: s, axis: axis)))
    case .slice(let a):
      return LoweredNode(kernel: .gather(.slice(s[0], a)))
    case .constant:
      return LoweredNode(kernel: .none, sharing: .constant)
    }
  }

  private func unary(_ f: UnaryFunction, _ y: [Int]) -> LoweredNode {
    LoweredNode(kernel: .unary(f, count: elementCount(y)), sharing: .inPlace(candidates: [0]))
  }
}
