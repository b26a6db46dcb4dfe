// ONNXImporter+SymbolicInts: small int64 tensors whose elements are constants or c·symbol + d (shape arithmetic).
import MoeIR

extension ONNXImporter {
  /// One int64 element of a shape computation: `coef · symbol + offset`, a constant when `symbol` is nil.
  struct SymInt: Equatable, CustomStringConvertible {
    var symbol: String?
    var coef = 0
    var offset: Int

    static func const(_ v: Int) -> SymInt { SymInt(symbol: nil, offset: v) }
    static func dim(_ d: Dim) -> SymInt {
      switch d {
      case .fixed(let v): return .const(v)
      case .symbol(let s): return SymInt(symbol: s, coef: 1, offset: 0)
      }
    }

    var constant: Int? { symbol == nil ? offset : nil }
    /// The dimension this element is, when it is a constant or exactly one symbol.
    var dim: Dim? {
      if let c = constant { return .fixed(c) }
      return coef == 1 && offset == 0 ? .symbol(symbol!) : nil
    }

    var description: String {
      guard let s = symbol else { return String(offset) }
      return (coef == 1 ? s : "\(coef)·\(s)") + (offset == 0 ? "" : (offset > 0 ? "+\(offset)" : "\(offset)"))
    }

    /// The elementwise functions of the folded ops; nil when the result is not of this form.
    static func apply(_ op: String, _ a: SymInt, _ b: SymInt) -> SymInt? {
      if let x = a.constant, let y = b.constant {
        switch op {
        case "Add": return .const(x &+ y)
        case "Sub": return .const(x &- y)
        case "Mul": return .const(x &* y)
        case "Div": return y == 0 ? nil : .const(x / y)
        case "Mod": return y == 0 ? nil : .const(((x % y) + y) % y)
        case "Equal": return .const(x == y ? 1 : 0)
        case "Less": return .const(x < y ? 1 : 0)
        case "Greater": return .const(x > y ? 1 : 0)
        case "Max": return .const(Swift.max(x, y))
        case "Min": return .const(Swift.min(x, y))
        case "And": return .const(x != 0 && y != 0 ? 1 : 0)
        case "Or": return .const(x != 0 || y != 0 ? 1 : 0)
        default: return nil
        }
      }
      switch op {
      case "Add", "Sub":
        let sign = op == "Add" ? 1 : -1
        if b.symbol == nil { return SymInt(symbol: a.symbol, coef: a.coef, offset: a.offset + sign * b.offset) }
        if a.symbol == nil { return SymInt(symbol: b.symbol, coef: sign * b.coef, offset: a.offset + sign * b.offset) }
        guard a.symbol == b.symbol else { return nil }
        let c = a.coef + sign * b.coef
        return c == 0 ? .const(a.offset + sign * b.offset) : SymInt(symbol: a.symbol, coef: c, offset: a.offset + sign * b.offset)
      case "Mul":
        guard let k = a.constant ?? b.constant else { return nil }
        let s = a.symbol == nil ? b : a
        return k == 0 ? .const(0) : SymInt(symbol: s.symbol, coef: s.coef * k, offset: s.offset * k)
      case "Div":
        guard let k = b.constant, k != 0, a.coef % k == 0, a.offset % k == 0 else { return nil }
        return SymInt(symbol: a.symbol, coef: a.coef / k, offset: a.offset / k)
      case "Equal":
        if a == b { return .const(1) }
        // A dimension is at least 1: a bare symbol is never 0 or negative (PyTorch's -1/0 tests in reshapes).
        if let k = a.constant ?? b.constant, (a.constant == nil ? a : b).dim != nil, k <= 0 { return .const(0) }
        return nil
      case "Max", "Min":
        guard let k = a.constant ?? b.constant, (a.constant == nil ? a : b).dim != nil, k <= 1 else { return nil }
        return op == "Max" ? (a.constant == nil ? a : b) : .const(k)
      default: return nil
      }
    }
  }

  /// A small int64 tensor of `SymInt`s, row-major.
  struct SymTensor {
    var shape: [Int]
    var values: [SymInt]

    var count: Int { shape.reduce(1, *) }
    var constants: [Int]? {
      let c = values.compactMap(\.constant)
      return c.count == values.count ? c : nil
    }

    static func strides(_ shape: [Int]) -> [Int] {
      var s = [Int](repeating: 1, count: shape.count)
      for i in stride(from: shape.count - 2, through: 0, by: -1) { s[i] = s[i + 1] * shape[i + 1] }
      return s
    }

    /// Elements at the cartesian product of per-axis index lists.
    func pick(_ perAxis: [[Int]]) -> SymTensor {
      let st = SymTensor.strides(shape)
      var out: [SymInt] = []
      func walk(_ axis: Int, _ base: Int) {
        if axis == perAxis.count { out.append(values[base]); return }
        for i in perAxis[axis] { walk(axis + 1, base + i * st[axis]) }
      }
      walk(0, 0)
      return SymTensor(shape: perAxis.map(\.count), values: out)
    }

    /// The axes permuted (Transpose).
    func transposed(_ perm: [Int]) -> SymTensor {
      let st = SymTensor.strides(shape), outShape = perm.map { shape[$0] }
      var out: [SymInt] = []
      func walk(_ k: Int, _ base: Int) {
        if k == perm.count { out.append(values[base]); return }
        for i in 0..<outShape[k] { walk(k + 1, base + i * st[perm[k]]) }
      }
      walk(0, 0)
      return SymTensor(shape: outShape, values: out)
    }

    /// Elementwise `f` over NumPy-broadcast operands; nil when `f` is.
    static func broadcast(_ xs: [SymTensor], _ f: ([SymInt]) -> SymInt?) -> SymTensor? {
      let rank = xs.map(\.shape.count).max() ?? 0
      let padded = xs.map { [Int](repeating: 1, count: rank - $0.shape.count) + $0.shape }
      var outShape = [Int](repeating: 1, count: rank)
      for p in padded {
        for (i, d) in p.enumerated() where d != 1 {
          guard outShape[i] == 1 || outShape[i] == d else { return nil }
          outShape[i] = d
        }
      }
      let st = padded.map { strides($0) }, outStrides = strides(outShape)
      let total = outShape.reduce(1, *)
      var values: [SymInt] = []
      for flat in 0..<total {
        var args: [SymInt] = []
        for (k, x) in xs.enumerated() {
          var idx = 0
          for a in 0..<rank where padded[k][a] != 1 { idx += (flat / outStrides[a]) % outShape[a] * st[k][a] }
          args.append(x.values[idx])
        }
        guard let v = f(args) else { return nil }
        values.append(v)
      }
      return SymTensor(shape: outShape, values: values)
    }
  }
}
