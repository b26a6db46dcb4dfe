// Initializers: Chainer's default initial weights — LeCunNormal for W, zeros for b, BN gamma 1, beta 0, mean 0, var 1.
import MoeIR

public enum Initializers {
  /// Weights for every parameter of a zoo model (Chainer keys → tensors).
  ///
  /// W: N(0, 1/fan_in) (Chainer's LeCunNormal with scale 1; fan_in = shape[1]·kh·kw, as `initializers.get_fans`);
  /// b and beta: 0; gamma: 1; avg_mean: 0; avg_var: 1.
  public static func chainerDefaults(_ parameters: [(key: String, shape: [Int])], rng: inout TrainingRandom) -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for (key, shape) in parameters {
      let n = elementCount(shape)
      let leaf = key.split(separator: "/").last.map(String.init) ?? key
      switch leaf {
      case "W":
        let fanIn = shape.count > 1 ? shape[1] * elementCount(Array(shape.dropFirst(2))) : 1
        let std = (1 / Float(max(fanIn, 1))).squareRoot()
        out[key] = Tensor(shape: shape, data: (0..<n).map { _ in rng.normal() * std })
      case "gamma", "avg_var": out[key] = Tensor(shape: shape, data: [Float](repeating: 1, count: n))
      default: out[key] = Tensor(zeros: shape)
      }
    }
    return out
  }
}
