// OptimizeOptions: the pass pipeline flags (--no-optimize, --passes PRESET, --verify-each) and running it.
import ArgumentParser
import MoeIR
import MoePasses

struct OptimizeOptions: ParsableArguments {
  @Flag(name: .customLong("no-optimize"), help: "Run the graph as imported, without the pass pipeline.")
  var noOptimize = false

  @Option(help: "Pass preset: none, training (keeps BN and pre-activations), inference (fold and fuse; default).")
  var passes: String = "inference"

  @Flag(name: .customLong("verify-each"), help: "Verify the graph after every pass.")
  var verifyEach = false

  func validate() throws {
    if passes == "size" {
      throw ValidationError("--passes size was removed: it ran the same passes as inference; sizes are chosen with --quantize")
    }
    guard Pipeline.presetNames.contains(passes) else {
      throw ValidationError("unknown pass preset '\(passes)'; known: \(Pipeline.presetNames.joined(separator: ", "))")
    }
  }

  /// Runs the chosen pipeline on `graph` and returns what each pass did.
  func optimizeReports(_ graph: inout Graph) throws -> [PassReport] {
    guard !noOptimize, !Pipeline.alreadyApplied(passes, to: graph), let pipeline = Pipeline.preset(passes, verifyEach: verifyEach) else { return [] }
    let reports = try pipeline.run(on: &graph)
    graph.metadata["passes"] = passes
    return reports
  }

  /// Runs the chosen pipeline on `graph`; with `log`, prints what each pass changed.
  func optimize(_ graph: inout Graph, log: Bool = false) throws {
    guard !noOptimize, !Pipeline.alreadyApplied(passes, to: graph), let pipeline = Pipeline.preset(passes, verifyEach: verifyEach) else { return }
    let reports = try pipeline.run(on: &graph)
    graph.metadata["passes"] = passes
    if log {
      for r in reports {
        print("  pass \(r.pass): \(r.changes) change(s), nodes \(r.nodesBefore) → \(r.nodesAfter)")
      }
    }
  }
}
