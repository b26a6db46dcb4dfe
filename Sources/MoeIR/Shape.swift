// Shape: dimensions that are fixed integers or named symbols (the batch dimension "N").

/// One dimension of a shape: a fixed extent or a symbol bound at run time.
public enum Dim: Hashable, Sendable, CustomStringConvertible {
  case fixed(Int)
  case symbol(String)

  public var value: Int? {
    if case .fixed(let v) = self { return v }
    return nil
  }

  public var description: String {
    switch self {
    case .fixed(let v): return String(v)
    case .symbol(let s): return s
    }
  }
}

/// A tensor shape; may contain symbolic dimensions.
public struct Shape: Hashable, Sendable, CustomStringConvertible, ExpressibleByArrayLiteral {
  public var dims: [Dim]

  public init(_ dims: [Dim]) { self.dims = dims }
  public init(_ fixed: [Int]) { self.dims = fixed.map { .fixed($0) } }
  public init(arrayLiteral elements: Int...) { self.dims = elements.map { .fixed($0) } }

  public var rank: Int { dims.count }
  /// The extents when every dimension is fixed.
  public var fixed: [Int]? {
    var out: [Int] = []
    out.reserveCapacity(dims.count)
    for d in dims {
      guard let v = d.value else { return nil }
      out.append(v)
    }
    return out
  }
  public var isFixed: Bool { fixed != nil }
  public subscript(i: Int) -> Dim { dims[i] }
  public var description: String { "[" + dims.map(\.description).joined(separator: ",") + "]" }

  /// Replaces symbols by their bound values; unbound symbols stay symbolic.
  public func bound(_ bindings: [String: Int]) -> Shape {
    Shape(dims.map { d in
      if case .symbol(let s) = d, let v = bindings[s] { return .fixed(v) }
      return d
    })
  }

  /// The product of the dimensions as (constant factor, symbols).
  /// The constant factor saturates at `Int.max` (a malformed file's extents must not trap; the verifier rejects
  /// element counts that large).
  public var product: (constant: Int, symbols: [String]) {
    var c = 1
    var syms: [String] = []
    for d in dims {
      switch d {
      case .fixed(let v):
        let (p, overflow) = c.multipliedReportingOverflow(by: v)
        c = overflow ? Int.max : p
      case .symbol(let s): syms.append(s)
      }
    }
    return (c, syms.sorted())
  }
}

/// Element count of a concrete shape.
@inlinable public func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }
