// Executor: runs a verified graph in float32 on the CPU; the memory plan is cached per binding of the symbols.
import CBLAS
import Dispatch
import MoeIR

/// Executes a graph natively (float32, OpenBLAS for the contractions).
///
/// Weights are copied once into executor-owned memory; activations, inputs and im2col tiles share one arena laid out
/// by a memory plan built for each binding of the symbolic dimensions (e.g. each batch size) and then reused.
/// An executor is not thread-safe: run it from one thread at a time.
public final class Executor {
  /// The graph being executed.
  public let graph: Graph
  public let options: ExecutorOptions
  /// Bytes of arena (activations, inputs and im2col/col2im scratch, after memory planning) the last `run` used.
  public private(set) var lastPeakArenaBytes: Int = 0

  /// Verified (possibly symbolic) type of every value.
  let types: [String: ValueInfo]
  private let constants: UnsafeMutablePointer<Float>
  private let constantOffsets: [String: Int]
  private let constantShapes: [String: [Int]]
  private var plans: [[String: Int]: ExecutionPlan] = [:]
  /// Index of the node defining each node output.
  private let producer: [String: Int]
  private var arena: UnsafeMutablePointer<Float>
  private var arenaCapacity = 0
  /// When set, `run` adds each node's wall time (seconds) here, by node index (for benchmarks and profiles).
  public var nodeSeconds: [Double]?
  /// Bumped by every variable update: weights kept transformed across runs are valid for one version.
  private(set) var weightsVersion = 0

  /// Seconds per op name accumulated in `nodeSeconds`, largest first.
  public var secondsByOp: [(op: String, seconds: Double)] {
    guard let t = nodeSeconds else { return [] }
    var by: [String: Double] = [:]
    for (i, n) in graph.nodes.enumerated() { by[n.op.name, default: 0] += t[i] }
    return by.sorted { $0.value > $1.value }.map { ($0.key, $0.value) }
  }

  /// The input shapes, then the first output's, of node `i` as text (`64x64x3x3`, symbols by name), for profiles.
  public func inputShapes(ofNode i: Int) -> String {
    (graph.nodes[i].inputs + graph.nodes[i].outputs.prefix(1)).map { name in
      types[name].map { $0.shape.dims.map { $0.value.map(String.init) ?? "?" }.joined(separator: "x") } ?? "-"
    }.joined(separator: " ")
  }

  /// Verifies `graph` (weights required) and copies its weights and constants.
  /// - Throws: `IRError` when the graph is malformed (naming the node), `RuntimeError` when it cannot be run.
  public init(graph: Graph, options: ExecutorOptions = .init()) throws {
    _ = BLASCore.choice
    types = try graph.verify(requireWeights: true)
    self.graph = graph
    self.options = options
    var tensors: [(String, Tensor)] = graph.weights.map { ($0.name, graph.initializers[$0.name]!) }
    for n in graph.nodes {
      if case .constant(let t) = n.op { tensors.append((n.outputs[0], t)) }
    }
    var offsets: [String: Int] = [:], shapes: [String: [Int]] = [:]
    var total = 0
    for (name, t) in tensors {
      offsets[name] = total
      shapes[name] = t.shape
      total += MemoryPlan.aligned(t.count)
    }
    let store = Executor.allocateFloats(max(total, 1))
    for (name, t) in tensors {
      t.data.withUnsafeBufferPointer { src in
        if let base = src.baseAddress { (store + offsets[name]!).update(from: base, count: t.count) }
      }
    }
    constants = store
    constantOffsets = offsets
    constantShapes = shapes
    var producer: [String: Int] = [:]
    for (i, n) in graph.nodes.enumerated() { for o in n.outputs { producer[o] = i } }
    self.producer = producer
    arena = Executor.allocateFloats(MemoryPlan.alignment)
    arenaCapacity = MemoryPlan.alignment
    openblas_set_num_threads(1)
  }

  deinit {
    UnsafeMutableRawPointer(constants).deallocate()
    UnsafeMutableRawPointer(arena).deallocate()
  }

  private static func allocateFloats(_ count: Int) -> UnsafeMutablePointer<Float> {
    let p = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.size, alignment: 64)
      .bindMemory(to: Float.self, capacity: count)
    p.initialize(repeating: 0, count: count)
    return p
  }

  /// Runs the graph. Every graph input must be given, with its declared shape; symbolic dimensions (the batch)
  /// are bound from the inputs, consistently across inputs, and must be ≥ 1.
  /// - Parameter fetch: values to return besides the graph outputs (any input, weight or node output).
  /// - Returns: the graph outputs and the fetched values by name (every node output too when `keepIntermediates` is set).
  /// - Throws: `RuntimeError` naming the input (missing, unknown, wrong shape), the fetched name, or the node that cannot run.
  public func run(_ inputs: [String: Tensor], fetch: [String] = []) throws -> [String: Tensor] {
    let bindings = try bind(inputs)
    let plan = try self.plan(for: bindings, inputs: inputs)
    if let unknown = fetch.first(where: { plan.locations[$0] == nil }) {
      throw RuntimeError(at: "value '\(unknown)'", "cannot be fetched: no input, weight or node of graph '\(graph.name)' defines it")
    }
    if arenaCapacity < plan.arenaCount {
      UnsafeMutableRawPointer(arena).deallocate()
      arena = Executor.allocateFloats(plan.arenaCount)
      arenaCapacity = plan.arenaCount
    }
    lastPeakArenaBytes = plan.arenaCount * MemoryLayout<Float>.size
    // MoeKit's own workers share the cores (Parallel); OpenBLAS runs single-threaded inside each work item.
    if openblas_get_num_threads() != 1 { openblas_set_num_threads(1) }
    for i in graph.inputs {
      guard case .arena(let offset)? = plan.locations[i.name] else { continue }
      let t = inputs[i.name]!
      t.data.withUnsafeBufferPointer { src in
        if let base = src.baseAddress { (arena + offset).update(from: base, count: t.count) }
      }
    }
    let wanted = Set(graph.outputs).union(fetch)
    var results: [String: Tensor] = [:]
    for name in wanted where producer[name] == nil { results[name] = read(name, plan) }
    for step in plan.steps {
      let ins = step.inputs.map { UnsafePointer(pointer($0)) }
      let start = nodeSeconds == nil ? 0 : DispatchTime.now().uptimeNanoseconds
      step.kernel.run(inputs: ins, outputs: step.outputs.map(pointer), scratch: arena + step.scratch,
                      workers: max(1, options.threads), prepared: step.prepared, weightsVersion: weightsVersion)
      if nodeSeconds != nil { nodeSeconds![step.node] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
      // Values are read as soon as they are made: later steps may overwrite their storage.
      for name in graph.nodes[step.node].outputs where options.keepIntermediates || wanted.contains(name) {
        results[name] = read(name, plan)
      }
    }
    return results
  }

  // MARK: Variables

  /// Names of the weights, which are the executor's variables: they persist across runs and can be read and updated.
  public var variableNames: [String] { graph.weights.map(\.name) }

  /// The current value of weight `name`.
  public func variable(_ name: String) throws -> Tensor {
    guard let o = constantOffsets[name], let shape = constantShapes[name], graph.weights.contains(where: { $0.name == name }) else {
      throw RuntimeError(at: "variable '\(name)'", "is not a weight of graph '\(graph.name)'")
    }
    return Tensor(shape: shape, data: Array(UnsafeBufferPointer(start: constants + o, count: elementCount(shape))))
  }

  /// Replaces the value of weight `name` in place (same shape); later runs use it. No plan is rebuilt.
  public func setVariable(_ name: String, _ value: Tensor) throws {
    try updateVariable(name) { buffer in
      guard value.shape == constantShapes[name]! else {
        throw RuntimeError(at: "variable '\(name)'", "new value has shape \(value.shape), expected \(constantShapes[name]!)")
      }
      value.data.withUnsafeBufferPointer { src in
        if let base = src.baseAddress { buffer.baseAddress!.update(from: base, count: value.count) }
      }
    }
  }

  /// Lets `body` change weight `name` in place (e.g. an optimizer step); later runs use the new values.
  public func updateVariable<R>(_ name: String, _ body: (UnsafeMutableBufferPointer<Float>) throws -> R) throws -> R {
    // Weights kept transformed or re-laid across runs (Winograd, blocked convs) are recomputed after any change.
    weightsVersion += 1
    guard let o = constantOffsets[name], let shape = constantShapes[name], graph.weights.contains(where: { $0.name == name }) else {
      throw RuntimeError(at: "variable '\(name)'", "is not a weight of graph '\(graph.name)'")
    }
    return try body(UnsafeMutableBufferPointer(start: constants + o, count: elementCount(shape)))
  }

  private func pointer(_ l: Location) -> UnsafeMutablePointer<Float> {
    switch l {
    case .arena(let o): return arena + o
    case .constant(let o): return constants + o
    }
  }

  private func read(_ name: String, _ plan: ExecutionPlan) -> Tensor {
    let shape = plan.shapes[name]!
    let p = pointer(plan.locations[name]!)
    return Tensor(shape: shape, data: Array(UnsafeBufferPointer(start: p, count: elementCount(shape))))
  }

  /// Checks the inputs against the declared shapes and binds the symbols.
  private func bind(_ inputs: [String: Tensor]) throws -> [String: Int] {
    let declared = Set(graph.inputs.map(\.name))
    if let extra = inputs.keys.sorted().first(where: { !declared.contains($0) }) {
      let list = graph.inputs.map { "'\($0.name)' \($0.shape)" }.joined(separator: ", ")
      throw RuntimeError(at: "input '\(extra)'", "is not an input of graph '\(graph.name)' (inputs: \(list))")
    }
    var bindings: [String: Int] = [:]
    for i in graph.inputs {
      let at = "input '\(i.name)'"
      guard let t = inputs[i.name] else { throw RuntimeError(at: at, "missing; expected shape \(i.shape)") }
      let given = Shape(t.shape)
      guard t.data.count == elementCount(t.shape) else {
        throw RuntimeError(at: at, "has \(t.data.count) elements for shape \(given) (expected shape \(i.shape))")
      }
      guard t.shape.count == i.shape.rank else { throw RuntimeError(at: at, "has shape \(given) but expected \(i.shape)") }
      for (d, v) in zip(i.shape.dims, t.shape) {
        switch d {
        case .fixed(let f):
          if f != v { throw RuntimeError(at: at, "has shape \(given) but expected \(i.shape)") }
        case .symbol(let s):
          if v < 1 { throw RuntimeError(at: at, "has shape \(given) but expected \(i.shape) with \(s) ≥ 1") }
          if let prev = bindings[s], prev != v {
            throw RuntimeError(at: at, "has shape \(given) but expected \(i.shape) with \(s) = \(prev) (bound by an earlier input)")
          }
          bindings[s] = v
        }
      }
    }
    return bindings
  }

  private func plan(for bindings: [String: Int], inputs: [String: Tensor]) throws -> ExecutionPlan {
    if let p = plans[bindings] { return p }
    var shapes: [String: [Int]] = [:]
    for i in graph.inputs { shapes[i.name] = inputs[i.name]!.shape }
    let p = try ExecutionPlan(graph: graph, inputShapes: shapes, constantOffsets: constantOffsets, constantShapes: constantShapes,
                              workers: max(1, options.threads))
    plans[bindings] = p
    return p
  }
}
