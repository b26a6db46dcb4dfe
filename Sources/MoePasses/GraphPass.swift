// GraphPass and Pipeline: named graph rewrites run in an explicit order, with counts and optional verification.
import MoeIR

/// A rewrite of a graph that keeps its outputs (within float rounding).
public protocol GraphPass {
  /// The pass's name, as printed by `moe convert`.
  var name: String { get }
  /// Rewrites `graph` in place; returns how many rewrites it made (0: unchanged).
  func run(on graph: inout Graph) throws -> Int
}

/// What one pass did.
public struct PassReport: Sendable, Equatable {
  public var pass: String
  public var changes: Int
  public var nodesBefore: Int
  public var nodesAfter: Int
}

/// An error raised by a pass or by the verification after it.
public struct PassError: Error, CustomStringConvertible {
  public var pass: String
  public var message: String
  public var description: String { "pass '\(pass)': \(message)" }
}

/// An ordered list of passes.
///
/// Ordering constraints of the default preset:
/// - `eliminate-identity` first, so later patterns see producers and consumers directly.
/// - `fold-constants` before `fold-batch-norm`: BN parameters computed from constants become weights.
/// - `fold-batch-norm` before `hoist-activations` and `fuse-epilogue`: fusion needs the BN gone.
/// - `hoist-activations` before `fuse-epilogue`: it moves activations next to their producers.
/// - `eliminate-dead-code` last: it drops the weights the folds left unused.
public struct Pipeline {
  public var passes: [any GraphPass]
  /// Verify the graph after every pass (`--verify-each`).
  public var verifyEach: Bool

  public init(_ passes: [any GraphPass], verifyEach: Bool = false) {
    self.passes = passes
    self.verifyEach = verifyEach
  }

  /// Named presets, in the order a graph goes through them: `training` keeps what training needs, `inference`
  /// (alias `default`) is what export applies.
  public static let presetNames = ["none", "training", "inference", "default"]

  /// A preset by name:
  /// - `none`: no passes.
  /// - `training`: the training-safe stage — identities and dead code removed, constant-only subgraphs folded; batch
  ///   normalizations and pre-activation values are kept (nothing is folded into or fused with a contraction), so the
  ///   graph can be differentiated and trained.
  /// - `inference` (`default`): fold batch norms, hoist activations, fuse epilogues — the stage applied at export.
  public static func preset(_ name: String, verifyEach: Bool = false) -> Pipeline? {
    switch name {
    case "none": return Pipeline([], verifyEach: verifyEach)
    case "training": return Pipeline([EliminateIdentity(), FoldConstants(), EliminateDeadCode()], verifyEach: verifyEach)
    case "inference", "default":
      return Pipeline([EliminateIdentity(), FoldConstants(), FoldBatchNorm(), HoistActivations(), FuseEpilogue(), EliminateDeadCode()],
                      verifyEach: verifyEach)
    default: return nil
    }
  }

  /// Whether a graph already went through `preset` (its metadata records the last preset applied; `inference` includes
  /// everything `training` does), so loading an optimized bundle does not optimize it again.
  public static func alreadyApplied(_ preset: String, to graph: Graph) -> Bool {
    guard let done = graph.metadata["passes"] else { return false }
    func canonical(_ p: String) -> String { p == "default" ? "inference" : p }
    let (d, want) = (canonical(done), canonical(preset))
    return d == want || (d == "inference" && want == "training")
  }

  /// Runs every pass in order; returns what each did.
  @discardableResult
  public func run(on graph: inout Graph) throws -> [PassReport] {
    var reports: [PassReport] = []
    for p in passes {
      let before = graph.nodes.count
      let changes = try p.run(on: &graph)
      if verifyEach {
        do { try graph.verify(requireWeights: true) } catch {
          throw PassError(pass: p.name, message: "left an invalid graph: \(error)")
        }
      }
      reports.append(PassReport(pass: p.name, changes: changes, nodesBefore: before, nodesAfter: graph.nodes.count))
    }
    return reports
  }
}
