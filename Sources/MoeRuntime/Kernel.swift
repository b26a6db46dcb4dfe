// Kernel: an Op lowered for concrete shapes (geometry fixed at plan time), and how to run one on raw pointers.
import MoeIR

/// An op with its geometry computed for concrete shapes. Running it is loops and sgemm calls only.
enum Kernel {
  /// No work: the output is its input's storage or a constant.
  case none
  case conv(ConvGeometry)
  case convTranspose(ConvGeometry)
  /// A stride-1 convTranspose2d run as conv2d (geometry of the conv2d) after flipping its weights into scratch.
  case convTransposeAsConv(ConvGeometry)
  case convFilterGrad(ConvGeometry)
  case linear(LinearGeometry)
  case gemm(GemmGeometry)
  case matmul(MatmulGeometry)
  case batchNorm(BatchNormGeometry)
  case batchNormTraining(BatchNormGeometry)
  case pointwise(PointwiseFunction, count: Int)
  case binary(BinaryFunction, BroadcastGeometry)
  case prelu(BroadcastGeometry)
  case select(SelectGeometry)
  case reduce(ReduceGeometry)
  case softmax(SoftmaxGeometry)
  case groupNorm(StatisticsNormGeometry)
  case pad(PadGeometry)
  case pool(PoolGeometry)
  case resize(ResizeGeometry)
  case gather(StridedGather)
  case depthToSpace(DepthToSpaceGeometry)
  case concat(ConcatGeometry)
  /// A contraction followed by its epilogue (activation, residual add).
  case fused(FusedKernel)

  /// Runs the kernel. `inputs` are in node-input order, `outputs` in node-output order; `scratch` has the
  /// lowered node's `scratchCount` floats; products use up to `workers` threads.
  /// `prepared` keeps weights transformed across runs for a conv whose weights are constants (see `PreparedWeights`).
  func run(
    inputs x: [UnsafePointer<Float>], outputs: [UnsafeMutablePointer<Float>], scratch: UnsafeMutablePointer<Float>,
    workers: Int = 1, prepared: PreparedWeights? = nil, weightsVersion: Int = 0
  ) {
    let y = outputs[0]
    switch self {
    case .none: break
    case .conv(let g):
      Kernels.conv2d(g, x: x[0], w: x[1], bias: x.count > 2 ? x[2] : nil, y: y, scratch: scratch, prepared: prepared,
                     weightsVersion: weightsVersion)
    case .convTranspose(let g):
      Kernels.convTranspose2d(g, x: x[0], w: x[1], bias: x.count > 2 ? x[2] : nil, y: y, scratch: scratch,
                              prepared: prepared, weightsVersion: weightsVersion)
    case .convTransposeAsConv(let g):
      let flipped = MemoryPlan.aligned(g.outChannels * (g.inChannels / g.groups) * g.kernelHeight * g.kernelWidth)
      Kernels.flipTransposedWeights(g, w: x[1], into: scratch)
      Kernels.conv2d(g, x: x[0], w: scratch, bias: x.count > 2 ? x[2] : nil, y: y, scratch: scratch + flipped)
    case .convFilterGrad(let g): Kernels.conv2dFilterGrad(g, x: x[0], gy: x[1], gw: y, scratch: scratch)
    case .linear(let g): Kernels.linear(g, x: x[0], w: x[1], bias: x.count > 2 ? x[2] : nil, y: y, workers: workers)
    case .gemm(let g): Kernels.gemm(g, a: x[0], b: x[1], c: x.count > 2 ? x[2] : nil, y: y, workers: workers)
    case .matmul(let g): Kernels.matmul(g, a: x[0], b: x[1], y: y, workers: workers)
    case .batchNorm(let g): Kernels.batchNorm(g, x: x[0], gamma: x[1], beta: x[2], mean: x[3], variance: x[4], y: y)
    case .batchNormTraining(let g):
      Kernels.batchNormTraining(g, x: x[0], gamma: x[1], beta: x[2], y: y, mean: outputs[1], variance: outputs[2],
                                workers: workers)
    case .pointwise(let f, let count): Kernels.pointwise(f, count: count, x: x[0], y: y, workers: workers)
    case .binary(let f, let g): Kernels.binary(f, g, a: x[0], b: x[1], y: y, workers: workers)
    case .prelu(let g): Kernels.prelu(g, x: x[0], slope: x[1], y: y, workers: workers)
    case .select(let g): Kernels.select(g, c: x[0], a: x[1], b: x[2], y: y, scratch: scratch, workers: workers)
    case .reduce(let g): Kernels.reduce(g, x: x[0], y: y)
    case .softmax(let g): Kernels.softmax(g, x: x[0], y: y)
    case .groupNorm(let g): Kernels.groupNorm(g, x: x[0], scale: x[1], bias: x[2], y: y, workers: workers)
    case .pad(let g): Kernels.pad(g, x: x[0], y: y)
    case .pool(let g): Kernels.pool(g, x: x[0], y: y, workers: workers)
    case .resize(let g): Kernels.resize(g, x: x[0], y: y, workers: workers)
    case .gather(let g): Kernels.gather(g, x: x[0], y: y)
    case .depthToSpace(let g): Kernels.depthToSpace(g, x: x[0], y: y)
    case .concat(let g): Kernels.concat(g, inputs: x, y: y, workers: workers)
    case .fused(let f):
      let r = f.residual == .none ? 0 : 1
      f.core.run(inputs: Array(x.dropLast(r)), outputs: outputs, scratch: scratch, workers: workers, prepared: prepared,
                 weightsVersion: weightsVersion)
      Kernels.epilogue(f, y: y, residual: r == 1 ? x.last! : nil, workers: workers)
    }
  }
}

extension Kernel {
  /// A conv (fused or not) on the Winograd or a blocked path, whose transformed or re-laid weights can be kept across
  /// runs.
  var keepsPreparedWeights: Bool {
    switch self {
    case .conv(let g): return g.isWinograd || g.isBlocked
    case .convTranspose(let g): return g.isBlocked
    case .fused(let f): return f.core.keepsPreparedWeights
    default: return false
    }
  }
}

/// The epilogue of a fused contraction, lowered: y = act(y [+ r]) [+ r] over `count` values.
final class FusedKernel {
  let core: Kernel
  let activation: PointwiseFunction?
  let residual: ResidualPlacement
  let count: Int

  init(core: Kernel, epilogue: Epilogue, count: Int) {
    self.core = core
    self.residual = epilogue.residual
    self.count = count
    switch epilogue.activation {
    case .none: activation = nil
    case .relu: activation = .unary(.relu)
    case .leakyRelu(let a): activation = .leakyRelu(a)
    case .tanh: activation = .unary(.tanh)
    case .sigmoid: activation = .unary(.sigmoid)
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

  var isInPlace: Bool { if case .inPlace = self { return true } else { return false } }
}

/// A node lowered for concrete shapes.
struct LoweredNode {
  var kernel: Kernel
  var scratchCount = 0
  var sharing = OutputSharing.fresh
}

extension Op {
  /// Lowers the op for concrete input shapes `s` and output shapes `y` (already checked by `inferShapes`).
  /// `workers` threads will run the kernel (convolutions size their per-thread scratch for it).
  func lowered(inputs s: [[Int]], outputs y: [[Int]], workers: Int = 1) -> LoweredNode {
    let e = epilogue
    guard !e.isPlain else { return loweredCore(inputs: s, outputs: y, workers: workers) }
    var node = loweredCore(inputs: Array(s.dropLast(e.residualInputs)), outputs: y, workers: workers)
    node.kernel = .fused(FusedKernel(core: node.kernel, epilogue: e, count: elementCount(y[0])))
    return node
  }

  /// Lowers the op itself, without its epilogue (and without its residual input).
  private func loweredCore(inputs s: [[Int]], outputs ys: [[Int]], workers: Int) -> LoweredNode {
    let y = ys[0]
    switch self {
    case .linear:
      let g = LinearGeometry(rows: y[0], inFeatures: s[1][1], outFeatures: s[1][0], hasBias: s.count > 2)
      return LoweredNode(kernel: .linear(g))
    case .gemm(let a):
      return LoweredNode(kernel: .gemm(GemmGeometry(a, aShape: s[0], bShape: s[1], cShape: s.count > 2 ? s[2] : nil)))
    case .matmul:
      return LoweredNode(kernel: .matmul(MatmulGeometry(a: s[0], b: s[1], y: y)))
    case .conv2d(let a):
      let g = ConvGeometry.conv(a, x: s[0], w: s[1], y: y, hasBias: s.count > 2, workers: workers)
      return LoweredNode(kernel: .conv(g), scratchCount: g.scratchCount)
    case .conv2dFilterGrad(let a):
      let g = ConvGeometry.filterGrad(a, x: s[0], gy: s[1], w: y, workers: workers)
      return LoweredNode(kernel: .convFilterGrad(g), scratchCount: g.scratchCount)
    case .convTranspose2d(let a):
      if let g = ConvGeometry.convTransposeAsConv(a, x: s[0], w: s[1], y: y, hasBias: s.count > 2, workers: workers) {
        return LoweredNode(kernel: .convTransposeAsConv(g), scratchCount: MemoryPlan.aligned(elementCount(s[1])) + g.scratchCount)
      }
      let g = ConvGeometry.convTranspose(a, x: s[0], w: s[1], y: y, hasBias: s.count > 2, workers: workers)
      return LoweredNode(kernel: .convTranspose(g), scratchCount: g.scratchCount)
    case .batchNorm(let eps):
      return LoweredNode(kernel: .batchNorm(bnGeometry(y, eps)), sharing: .inPlace(candidates: [0]))
    case .batchNormTraining(let eps):
      return LoweredNode(kernel: .batchNormTraining(bnGeometry(y, eps)))
    case .binary(let f):
      let same = s.indices.filter { s[$0] == y }
      return LoweredNode(kernel: .binary(f, BroadcastGeometry(a: s[0], b: s[1], y: y)), sharing: .inPlace(candidates: same))
    case .prelu:
      return LoweredNode(kernel: .prelu(BroadcastGeometry(a: s[0], b: s[1], y: y)), sharing: .inPlace(candidates: [0]))
    case .select:
      let g = SelectGeometry(cond: s[0], a: s[1], b: s[2], y: y)
      return LoweredNode(kernel: .select(g), scratchCount: g.scratchCount)
    case .unary(let f): return pointwise(.unary(f), y)
    case .leakyRelu(let alpha): return pointwise(.leakyRelu(alpha), y)
    case .clip(let lo, let hi): return pointwise(.clip(lo, hi), y)
    case .cast(let t): return pointwise(.cast(t), y)
    case .reduce(let f, let axes, _):
      let ax = (try? reductionAxes(axes, rank: s[0].count)) ?? []
      return LoweredNode(kernel: .reduce(.over(f, input: s[0], axes: ax)))
    case .globalAveragePool, .globalMaxPool:
      let f: ReduceFunction = self == .globalAveragePool ? .mean : .max
      return LoweredNode(kernel: .reduce(.over(f, input: s[0], axes: Array(2..<s[0].count))))
    case .sumTo:
      return LoweredNode(kernel: .reduce(.sumTo(input: s[0], like: y)))
    case .broadcastTo:
      return LoweredNode(kernel: .gather(.broadcast(s[0], to: y)))
    case .softmax(let axis), .logSoftmax(let axis):
      let a = axis < 0 ? axis + s[0].count : axis
      if case .logSoftmax = self { return LoweredNode(kernel: .softmax(SoftmaxGeometry(s[0], axis: a, log: true))) }
      return LoweredNode(kernel: .softmax(SoftmaxGeometry(s[0], axis: a, log: false)))
    case .instanceNorm(let eps):
      return LoweredNode(kernel: .groupNorm(normGeometry(y, groups: y[1], eps)))
    case .groupNorm(let groups, let eps):
      return LoweredNode(kernel: .groupNorm(normGeometry(y, groups: groups, eps)))
    case .pad(let a):
      return LoweredNode(kernel: .pad(PadGeometry(a, input: s[0], output: y)))
    case .maxPool(let a), .averagePool(let a):
      var isMax = false
      if case .maxPool = self { isMax = true }
      let g = PoolGeometry(planes: y[0] * y[1], height: s[0][2], width: s[0][3], outH: y[2], outW: y[3], attrs: a, isMax: isMax)
      return LoweredNode(kernel: .pool(g))
    case .resize(let a):
      return LoweredNode(kernel: .resize(ResizeGeometry(a, input: s[0], output: y)))
    case .reshape, .flatten, .identity:
      return LoweredNode(kernel: .none, sharing: .aliasOfInput)
    case .transpose(let perm):
      return LoweredNode(kernel: .gather(.transpose(s[0], perm: perm)))
    case .depthToSpace(let b, let mode):
      let g = DepthToSpaceGeometry(batch: s[0][0], channels: s[0][1], height: s[0][2], width: s[0][3], block: b, mode: mode)
      return LoweredNode(kernel: .depthToSpace(g))
    case .spaceToDepth(let b):
      return LoweredNode(kernel: .gather(.spaceToDepth(s[0], block: b)))
    case .concat(let axis):
      return LoweredNode(kernel: .concat(ConcatGeometry(inputs: s, axis: axis)))
    case .slice(let a):
      return LoweredNode(kernel: .gather(.slice(s[0], a)))
    case .constant:
      return LoweredNode(kernel: .none, sharing: .constant)
    }
  }

  private func bnGeometry(_ y: [Int], _ eps: Float) -> BatchNormGeometry {
    BatchNormGeometry(batch: y[0], channels: y[1], inner: elementCount(Array(y.dropFirst(2))), eps: eps)
  }

  private func normGeometry(_ y: [Int], groups: Int, _ eps: Float) -> StatisticsNormGeometry {
    StatisticsNormGeometry(batch: y[0], channels: y[1], inner: elementCount(Array(y.dropFirst(2))), groups: groups, eps: eps)
  }

  private func pointwise(_ f: PointwiseFunction, _ y: [Int]) -> LoweredNode {
    LoweredNode(kernel: .pointwise(f, count: elementCount(y)), sharing: .inPlace(candidates: [0]))
  }
}
