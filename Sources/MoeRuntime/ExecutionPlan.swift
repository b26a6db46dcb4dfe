// ExecutionPlan: a graph lowered for one binding of its symbols: concrete shapes, kernels, storage in the arena.
import MoeIR

/// Where a value's data lives during a run; offsets are in floats.
enum Location: Equatable {
  case arena(Int)
  case constant(Int)
}

/// Everything a run needs once the input shapes are known. Built once per binding and cached.
struct ExecutionPlan {
  struct Step {
    var node: Int
    var kernel: Kernel
    var inputs: [Location]
    var outputs: [Location]
    /// Arena offset of the step's scratch (im2col / col2im tile).
    var scratch: Int
    /// For a Winograd or blocked conv whose weights are constants: its transformed weights, kept across runs.
    var prepared: PreparedWeights? = nil
  }

  var steps: [Step]
  /// Concrete shape of every value (inputs, weights, node outputs).
  var shapes: [String: [Int]]
  /// Storage of every value.
  var locations: [String: Location]
  /// Floats of arena the plan needs (activations, inputs and scratch).
  var arenaCount: Int

  /// Lowers `graph` for concrete input shapes. Values whose lifetimes do not overlap share arena space;
  /// reshape/flatten/identity alias their input; elementwise ops and batch norm overwrite an input that dies there;
  /// the producers of a concat's inputs write them straight into its output where it is one run per input.
  /// `workers`: threads that will run the kernels (convolutions size their per-thread scratch for it).
  init(
    graph: Graph, inputShapes: [String: [Int]], constantOffsets: [String: Int], constantShapes: [String: [Int]],
    workers: Int = 1
  ) throws {
    // A slot is a whole buffer, a constant, or a value laid inside a buffer (a concat input written in place).
    enum Slot: Equatable { case buffer(Int), constant(Int), within(Int, offset: Int) }
    var shapes = inputShapes
    for w in graph.weights { shapes[w.name] = constantShapes[w.name] }
    // Step 0 defines the inputs; node i runs at step i + 1.
    var lastUse: [String: Int] = [:]
    for (i, n) in graph.nodes.enumerated() { for v in n.inputs { lastUse[v] = i + 1 } }

    // Shapes first: where a concat's inputs can be made in place depends on the shapes of all of them.
    var nodeOutputShapes: [[[Int]]] = []
    for n in graph.nodes {
      let at = "node '\(n.name)' (\(n.op.name))"
      var outs: [[Int]] = []
      do {
        let inferred = try n.op.inferShapes(n.inputs.map { Shape(shapes[$0]!) })
        guard inferred.count == n.outputs.count else {
          throw RuntimeError(at: at, "defines \(n.outputs.count) values, op produces \(inferred.count)")
        }
        for shape in inferred {
          guard let f = shape.fixed else { throw RuntimeError(at: at, "output shape \(shape) is not concrete") }
          outs.append(f)
        }
      } catch let e as ShapeError {
        throw RuntimeError(at: at, e.message)
      }
      for (name, shape) in zip(n.outputs, outs) { shapes[name] = shape }
      nodeOutputShapes.append(outs)
    }
    let inPlaceConcat = ExecutionPlan.concatInputsInPlace(graph, shapes: shapes)

    var requests: [BufferRequest] = []
    var slots: [String: Slot] = [:]
    func fresh(_ count: Int, _ first: Int, _ last: Int) -> Slot {
      requests.append(BufferRequest(count: count, first: first, last: last))
      return .buffer(requests.count - 1)
    }
    /// The buffer a slot lies in, if any.
    func bufferIndex(_ s: Slot) -> Int? {
      switch s {
      case .buffer(let b), .within(let b, _): return b
      case .constant: return nil
      }
    }
    for w in graph.weights { slots[w.name] = .constant(constantOffsets[w.name]!) }
    for i in graph.inputs { slots[i.name] = fresh(elementCount(shapes[i.name]!), 0, lastUse[i.name] ?? 0) }
    // The output buffer of each concat some of whose inputs are written in place, made by its first such input.
    var concatBuffers: [Int: Int] = [:]

    var pending: [(node: Int, kernel: Kernel, inputs: [Slot], outputs: [Slot], scratch: Slot?)] = []
    for (i, n) in graph.nodes.enumerated() {
      let t = i + 1
      let ins = n.inputs.map { shapes[$0]! }
      let outs = nodeOutputShapes[i]
      let lowered = n.op.lowered(inputs: ins, outputs: outs, workers: workers)
      let inSlots = n.inputs.map { slots[$0]! }
      let last = max(t, lastUse[n.outputs[0]] ?? t)
      var outSlot: Slot? = nil
      if let c = inPlaceConcat[n.outputs[0]], lowered.sharing == .fresh || lowered.sharing.isInPlace {
        // Written straight into its slice of the concat's output; the concat then skips this piece.
        let b: Int
        if let known = concatBuffers[c.node] { b = known } else {
          requests.append(BufferRequest(count: elementCount(shapes[graph.nodes[c.node].outputs[0]]!), first: t, last: t))
          b = requests.count - 1
          concatBuffers[c.node] = b
        }
        requests[b].last = max(requests[b].last, last)
        outSlot = .within(b, offset: c.offset)
      } else if let b = concatBuffers[i] {
        outSlot = .buffer(b)
        requests[b].last = max(requests[b].last, last)
      } else {
        switch lowered.sharing {
        case .fresh:
          break
        case .constant:
          outSlot = .constant(constantOffsets[n.outputs[0]]!)
        case .aliasOfInput:
          outSlot = inSlots[0]
          if let b = bufferIndex(inSlots[0]) { requests[b].last = max(requests[b].last, last) }
        case .inPlace(let candidates):
          for k in candidates {
            guard case .buffer(let b) = inSlots[k], requests[b].last == t else { continue }
            let shared = inSlots.indices.contains { $0 != k && inSlots[$0] == inSlots[k] && n.inputs[$0] != n.inputs[k] }
            if shared { continue }
            requests[b].last = last
            outSlot = inSlots[k]
            break
          }
        }
      }
      var outSlots = [outSlot ?? fresh(elementCount(outs[0]), t, last)]
      for (name, shape) in zip(n.outputs, outs).dropFirst() {
        outSlots.append(fresh(elementCount(shape), t, max(t, lastUse[name] ?? t)))
      }
      for (name, slot) in zip(n.outputs, outSlots) { slots[name] = slot }
      let scratch = lowered.scratchCount > 0 ? fresh(lowered.scratchCount, t, t) : nil
      pending.append((i, lowered.kernel, inSlots, outSlots, scratch))
    }

    let memory = MemoryPlan(requests)
    func location(_ s: Slot) -> Location {
      switch s {
      case .buffer(let b): return .arena(memory.offsets[b])
      case .constant(let o): return .constant(o)
      case .within(let b, let offset): return .arena(memory.offsets[b] + offset)
      }
    }
    steps = pending.map { p in
      var scratch = 0
      if case .buffer(let b)? = p.scratch { scratch = memory.offsets[b] }
      var step = Step(node: p.node, kernel: p.kernel, inputs: p.inputs.map(location), outputs: p.outputs.map(location),
                      scratch: scratch)
      if p.kernel.keepsPreparedWeights, step.inputs.count > 1, case .constant = step.inputs[1] { step.prepared = PreparedWeights() }
      return step
    }
    self.shapes = shapes
    locations = slots.mapValues(location)
    arenaCount = memory.arenaCount
  }
}

extension ExecutionPlan {
  /// Concat inputs that can be made in place: for each concat whose output is one contiguous run per input (nothing
  /// but size-1 dimensions before the axis, e.g. channels at batch 1), each input value made by a single-output
  /// node before it, used once in that concat and claimed by no earlier concat, with its offset in floats.
  static func concatInputsInPlace(_ graph: Graph, shapes: [String: [Int]]) -> [String: (node: Int, offset: Int)] {
    var producer: [String: Int] = [:]
    for (i, n) in graph.nodes.enumerated() where n.outputs.count == 1 { producer[n.outputs[0]] = i }
    var byValue: [String: (node: Int, offset: Int)] = [:]
    for (j, n) in graph.nodes.enumerated() {
      guard case .concat(let axis) = n.op, let y = shapes[n.outputs[0]], !y.isEmpty else { continue }
      let a = axis < 0 ? axis + y.count : axis
      guard a >= 0, a < y.count, y[..<a].allSatisfy({ $0 == 1 }) else { continue }
      var offset = 0
      for v in n.inputs {
        defer { offset += elementCount(shapes[v] ?? []) }
        guard let p = producer[v], p < j, byValue[v] == nil, n.inputs.filter({ $0 == v }).count == 1 else { continue }
        byValue[v] = (j, offset)
      }
    }
    return byValue
  }
}
