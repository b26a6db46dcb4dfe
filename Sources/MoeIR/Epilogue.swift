// Epilogue: an activation and a residual add fused into the op that produces a value (conv, deconv, linear).

/// An activation function an epilogue can apply.
public enum Activation: Hashable, Sendable {
  case none
  case relu
  case leakyRelu(Float)
  case tanh
  case sigmoid

  /// Text form: `relu`, `leaky_relu:0.2`, `tanh`, `sigmoid` (`none` is not printed).
  public var text: String {
    switch self {
    case .none: return "none"
    case .relu: return "relu"
    case .leakyRelu(let a): return "leaky_relu:\(a.description)"
    case .tanh: return "tanh"
    case .sigmoid: return "sigmoid"
    }
  }

  public init?(text: String) {
    switch text {
    case "none": self = .none
    case "relu": self = .relu
    case "tanh": self = .tanh
    case "sigmoid": self = .sigmoid
    default:
      guard text.hasPrefix("leaky_relu:"), let a = Float(text.dropFirst("leaky_relu:".count)) else { return nil }
      self = .leakyRelu(a)
    }
  }

  /// The standalone op computing this activation.
  public var op: Op? {
    switch self {
    case .none: return nil
    case .relu: return .relu
    case .leakyRelu(let a): return .leakyRelu(alpha: a)
    case .tanh: return .tanh
    case .sigmoid: return .sigmoid
    }
  }

  /// The activation a standalone op computes, if an epilogue can take it.
  public init?(op: Op) {
    switch op {
    case .relu: self = .relu
    case .leakyRelu(let a): self = .leakyRelu(a)
    case .tanh: self = .tanh
    case .sigmoid: self = .sigmoid
    default: return nil
    }
  }
}

/// Where an epilogue adds its residual input (the node's last input) relative to the activation.
public enum ResidualPlacement: String, Hashable, Sendable {
  case none
  /// y = act(op(x) + r)
  case before
  /// y = act(op(x)) + r
  case after
}

/// What a producing op applies to its result before storing it: y = act(z [+ r]) [+ r].
public struct Epilogue: Hashable, Sendable {
  public var activation: Activation
  public var residual: ResidualPlacement
  public init(activation: Activation = .none, residual: ResidualPlacement = .none) {
    self.activation = activation
    self.residual = residual
  }
  /// No activation, no residual.
  public static let plain = Epilogue()
  public var isPlain: Bool { self == .plain }
  /// 1 when the node carries a residual input last.
  public var residualInputs: Int { residual == .none ? 0 : 1 }
}

extension Op {
  /// The epilogue of a conv2d, conv_transpose2d or linear node (plain for every other op).
  public var epilogue: Epilogue {
    switch self {
    case .conv2d(let a): return a.epilogue
    case .convTranspose2d(let a): return a.epilogue
    case .linear(let e): return e
    default: return .plain
    }
  }

  /// The op with another epilogue; nil when the op cannot carry one.
  public func with(epilogue e: Epilogue) -> Op? {
    switch self {
    case .conv2d(var a):
      a.epilogue = e
      return .conv2d(a)
    case .convTranspose2d(var a):
      a.epilogue = e
      return .convTranspose2d(a)
    case .linear: return .linear(e)
    default: return nil
    }
  }
}
