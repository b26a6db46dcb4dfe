// Graph: SSA nodes in topological order, named inputs/outputs, weights referenced by name.

/// A typed value of the graph (an input or a weight declaration).
public struct ValueInfo: Hashable, Sendable {
  public var name: String
  public var dtype: DType
  public var shape: Shape
  public init(name: String, dtype: DType = .float32, shape: Shape) {
    self.name = name
    self.dtype = dtype
    self.shape = shape
  }
}

/// One operation applied to named values, defining named values (SSA: each name defined once).
public struct Node: Hashable, Sendable {
  /// Human-facing node name (e.g. the Chainer link path `res/0/c1`), used in messages.
  public var name: String
  public var op: Op
  public var inputs: [String]
  public var outputs: [String]
  public init(name: String, op: Op, inputs: [String], outputs: [String]) {
    self.name = name
    self.op = op
    self.inputs = inputs
    self.outputs = outputs
  }
}

/// A dataflow graph. Weights are declared with shape and dtype; their data lives in `initializers`
/// (and, in the text form, in a weight file beside it).
public struct Graph: Sendable {
  public var name: String
  /// Free-form metadata (architecture, hyper-parameters, source), printed in key order.
  public var metadata: [String: String]
  public var inputs: [ValueInfo]
  public var weights: [ValueInfo]
  public var nodes: [Node]
  public var outputs: [String]
  /// Weight data by name; may be empty for a graph read from text without its weights.
  public var initializers: [String: Tensor]

  public init(name: String, metadata: [String: String] = [:], inputs: [ValueInfo] = [], weights: [ValueInfo] = [],
              nodes: [Node] = [], outputs: [String] = [], initializers: [String: Tensor] = [:]) {
    self.name = name
    self.metadata = metadata
    self.inputs = inputs
    self.weights = weights
    self.nodes = nodes
    self.outputs = outputs
    self.initializers = initializers
  }

  /// Declares a weight with its data.
  public mutating func addWeight(_ name: String, _ tensor: Tensor) {
    weights.append(ValueInfo(name: name, dtype: .float32, shape: Shape(tensor.shape)))
    initializers[name] = tensor
  }

  /// Appends a node with one output and returns that output's name.
  @discardableResult
  public mutating func add(_ op: Op, _ inputs: [String], name: String, output: String? = nil) -> String {
    let out = output ?? name
    nodes.append(Node(name: name, op: op, inputs: inputs, outputs: [out]))
    return out
  }

  /// Number of weight elements.
  public var parameterCount: Int {
    weights.reduce(0) { $0 + ($1.shape.fixed.map(elementCount) ?? 0) }
  }
}
