// KinkGradientTests: at the kink of ReLU and LeakyReLU (input exactly 0) the gradient takes Chainer's side.
import Foundation
import MoeFormats
import MoeIR
import MoeRuntime
import MoeTestSupport
import XCTest

@testable import MoeAutodiff

final class KinkGradientTests: XCTestCase {
  /// Finite differences cannot see a kink; a zero pre-activation is common all the same (a zero bias on a constant image
  /// region). The gradient of Σ w·f(x) at x = 0 must be the one real Chainer computes (F.relu, F.leaky_relu 0.2).
  func testReluAndLeakyReluAtZeroMatchChainer() throws {
    let x: [Float] = [-1, -0.0, 0, 1e-30, -1e-30, 0.5]
    let w: [Float] = [0.3, -0.7, 1.1, 2, -3, 0.25]
    let dir = try TestSupport.temporaryDirectory("kink")
    defer { try? FileManager.default.removeItem(at: dir) }
    let chainerOut = dir.appendingPathComponent("chainer.npz")
    try TestSupport.python(["-c", """
      import numpy as np, chainer, chainer.functions as F
      x, w = np.array(\(x), np.float32), np.array(\(w), np.float32)
      out = {}
      for name, f in (("relu", F.relu), ("leaky_relu", lambda v: F.leaky_relu(v, 0.2))):
          v = chainer.Variable(x.copy())
          F.sum(f(v) * w).backward()
          out[name] = v.grad
      np.savez('\(chainerOut.path)', **out)
      """])
    let reference = try NPZFile(url: chainerOut)
    for (name, op) in [("relu", Op.relu), ("leaky_relu", Op.leakyRelu(alpha: 0.2))] {
      var g = Graph(name: name)
      g.inputs = [ValueInfo(name: "x", shape: [x.count])]
      g.initializers["w"] = Tensor(shape: [w.count], data: w)
      g.weights = [ValueInfo(name: "w", shape: [w.count])]
      g.add(op, ["x"], name: "f")
      g.add(.mul, ["f", "w"], name: "fw")
      g.add(.reduce(.sum, axes: [], keepDims: false), ["fw"], name: "loss")
      g.outputs = ["loss"]
      let (withGrad, grads) = try Autodiff.gradient(of: "loss", wrt: ["x"], in: g)
      let out = try Executor(graph: withGrad).run(["x": Tensor(shape: [x.count], data: x)], fetch: [grads["x"]!])
      let ours = out[grads["x"]!]!.data, chainer = try reference.array(name).floats()
      XCTAssertEqual(ours, chainer, "\(name)'(x)·w at x = \(x)")
    }
  }
}
