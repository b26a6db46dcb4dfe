// Adam: Chainer's Adam update rule, operation for operation (float32 moments, alpha_t in double).
import Foundation

/// Hyper-parameters of Chainer's `optimizers.Adam` (no weight decay, no AMSGrad/AdaBound).
public struct AdamHyperparameters: Sendable, Equatable {
  public var alpha: Double = 2e-4
  public var beta1: Double = 0.5
  public var beta2: Double = 0.999
  public var eps: Double = 1e-8
  public var eta: Double = 1
  public init(alpha: Double = 2e-4, beta1: Double = 0.5, beta2: Double = 0.999, eps: Double = 1e-8) {
    self.alpha = alpha
    self.beta1 = beta1
    self.beta2 = beta2
    self.eps = eps
  }

  /// The step size at update `t` (1-based), as Chainer's `alpha_t`.
  public func alphaT(_ t: Int) -> Double {
    let fix1 = 1 - pow(beta1, Double(t)), fix2 = 1 - pow(beta2, Double(t))
    return alpha * fix2.squareRoot() / fix1
  }
}

/// One parameter's Adam state.
public struct AdamState: Sendable, Equatable {
  public var m: [Float]
  public var v: [Float]
  public var t: Int
  public init(count: Int) {
    m = [Float](repeating: 0, count: count)
    v = [Float](repeating: 0, count: count)
    t = 0
  }
}

extension AdamHyperparameters {
  /// Chainer's `AdamRule.update_core_cpu`: t += 1; m += (1−β1)(g − m); v += (1−β2)(g² − v);
  /// param −= η · (alpha_t / (√v + eps)) · m. Each operation rounds to float32 as NumPy does.
  public func update(_ param: UnsafeMutableBufferPointer<Float>, grad: UnsafeBufferPointer<Float>, state s: inout AdamState) {
    s.t += 1
    let a1 = Float(1 - beta1), a2 = Float(1 - beta2), at = alphaT(s.t), eps32 = Float(eps), eta32 = Float(eta)
    let at32 = Float(at)
    s.m.withUnsafeMutableBufferPointer { m in
      s.v.withUnsafeMutableBufferPointer { v in
        for i in 0..<param.count {
          let g = grad[i]
          m[i] += a1 * (g - m[i])
          v[i] += a2 * (g * g - v[i])
          let step = at32 / (v[i].squareRoot() + eps32)
          param[i] += -eta32 * (step * m[i])
        }
      }
    }
  }
}
