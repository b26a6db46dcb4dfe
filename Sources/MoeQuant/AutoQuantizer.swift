// AutoQuantizer: per-layer sensitivity, then a Lagrangian choice of encodings under an output-PSNR budget, measured.
import Foundation
import MoeIR

/// What `AutoQuantizer.run` found.
public struct AutoResult {
  public var plan: QuantizationPlan
  public var measured: Comparison
  /// Stored weight bytes of the plan (`QuantizationPlan.storedBytes` with the quantizer's `deflate`).
  public var bytes: Int
  /// Sensitivity table: weight → options.
  public var options: [String: [EncodingOption]]
  /// Measured allocation rounds.
  public var rounds: Int
  /// Forward passes of the calibration batch in all (reachability, sensitivity, rounds).
  public var passes: Int
}

/// Chooses an encoding per weight to minimise bytes subject to the model's output PSNR ≥ a target.
///
/// 0. Reachability: every weight at its most precise candidate (float16) is measured once; a target above that
///    PSNR is refused at once (`AutoQuantizerError.unreachable`), naming the PSNR.
/// 1. Sensitivity (`SensitivityAnalysis`): each weight's candidates with the output MSE each causes alone, two
///    measured per weight (on the first `sensitivityBatch` calibration inputs) and the rest estimated where the
///    error is linear in the weight error.
/// 2. Allocation: assuming errors add up, for a multiplier λ each weight takes the option minimising
///    bytes + λ·MSE; λ is bisected so that the summed MSE meets a budget.
/// 3. The plan is measured for real; the budget is rescaled by target/measured MSE (kept inside the bracket of
///    passing and failing budgets) and allocation repeats. The result is the cheapest plan measured to pass.
/// Every trial runs the whole calibration batch on the calibration set's one executor with weights swapped in place.
public struct AutoQuantizer {
  public var candidates: [String] = ["f16", "int8", "palette256", "palette128", "palette64", "palette64-pc", "palette32", "palette32-pc",
                                     "int4-g32", "palette16-pc", "palette8-pc", "palette4-pc"]
  /// Measured allocation rounds at most.
  public var maxRounds = 8
  /// Deflate payloads when smaller (bytes counted after it), as the bundle writer does with `--deflate`.
  public var deflate = true
  /// Calibration inputs the sensitivity trials run on (the first ones of the set); the allocation rounds and the
  /// final measurement use the whole set.
  public var sensitivityBatch = 2
  public init() {}

  /// Stored bytes of `t` under `scheme` (after deflate when that is smaller) and the decoded tensor.
  public func encode(_ t: Tensor, _ scheme: QuantScheme) throws -> (bytes: Int, decoded: Tensor) {
    let e = try Quantizer.encode(t, as: scheme)
    return (QuantizationPlan.storedBytes(e, deflate: deflate), try Quantizer.decode(e))
  }

  /// The sensitivity table; `progress(passesDone, passesPlanned)` after each forward pass.
  public func sensitivity(_ cal: CalibrationSet, progress: (Int, Int) -> Void = { _, _ in }) throws -> [String: [EncodingOption]] {
    try SensitivityAnalysis(candidates: candidates, deflate: deflate).table(try cal.prefix(sensitivityBatch), encode: encode, progress: progress).options
  }

  /// For a budget of summed MSE, the cheapest choice per weight (Lagrangian bisection over λ).
  public func allocate(_ table: [String: [EncodingOption]], budget: Double) -> [String: EncodingOption] {
    func choose(_ lambda: Double) -> [String: EncodingOption] {
      table.mapValues { opts in opts.min { Double($0.bytes) + lambda * $0.mse < Double($1.bytes) + lambda * $1.mse }! }
    }
    func cost(_ c: [String: EncodingOption]) -> Double { c.values.reduce(0) { $0 + $1.mse } }
    var lo = 0.0, hi = 1.0
    while cost(choose(hi)) > budget && hi < 1e30 { hi *= 10 }
    if cost(choose(hi)) > budget { return table.mapValues { $0[0] } }  // float everywhere
    for _ in 0..<80 {
      let mid = (lo + hi) / 2
      if cost(choose(mid)) <= budget { hi = mid } else { lo = mid }
    }
    return choose(hi)
  }

  /// The plan of a choice (weight → scheme name; weights not named stay float32) and its measurement on the
  /// calibration set. `known` gives decoded weights and their stored bytes already computed, by weight and scheme.
  func measure(_ choice: [String: String], _ cal: CalibrationSet,
               known: [String: [String: (bytes: Int, decoded: Tensor)]] = [:]) throws -> AutoResult {
    var plan = QuantizationPlan(), replaced: [String: Tensor] = [:], bytes = 0
    for w in cal.graph.weights {
      let t = cal.graph.initializers[w.name]!
      let name = choice[w.name] ?? "f32"
      guard let scheme = QuantScheme(name: name) else { continue }
      let e = try known[w.name]?[name] ?? encode(t, scheme)
      bytes += e.bytes
      if scheme != .float32 {
        plan.schemes[w.name] = scheme
        replaced[w.name] = e.decoded
      }
    }
    return AutoResult(plan: plan, measured: try cal.measure(replacing: replaced), bytes: bytes, options: [:], rounds: 0, passes: 0)
  }

  /// The most precise plan: every weight of rank ≥ 2 at its most precise candidate; its PSNR is the best reachable.
  public func mostPrecise(_ cal: CalibrationSet) throws -> AutoResult {
    let axes = QuantizationPlan.channelAxes(cal.graph)
    var choice: [String: String] = [:]
    for w in cal.graph.weights where w.shape.rank >= 2 {
      let t = cal.graph.initializers[w.name]!
      if candidates.contains("f16") && (try? encode(t, .float16)) != nil {
        choice[w.name] = "f16"  // float16's relative error (2⁻¹¹) is below every other candidate's
        continue
      }
      let best = candidates.compactMap { SensitivityAnalysis.scheme($0, axis: axes[w.name] ?? 0) }
        .compactMap { s -> (QuantScheme, Double)? in
          guard let d = try? encode(t, s).decoded else { return nil }
          return (s, zip(t.data, d.data).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) })
        }
        .min { $0.1 < $1.1 }
      choice[w.name] = best?.0.description ?? "f32"
    }
    return try measure(choice, cal)
  }

  /// Reachability, sensitivity, then allocation and measurement until the measured PSNR meets `targetPSNR`.
  /// `progress` gets one line per stage step, with elapsed time and an ETA.
  /// - Throws: `AutoQuantizerError.unreachable` before any sensitivity work when even the most precise plan misses.
  public func run(_ cal: CalibrationSet, targetPSNR: Double, progress: (String) -> Void = { _ in }) throws -> AutoResult {
    let clock = ProgressClock()
    let precise = try mostPrecise(cal)
    var passes = 1
    guard precise.measured.psnr >= targetPSNR else {
      throw AutoQuantizerError.unreachable(target: targetPSNR, best: precise.measured.psnr)
    }
    progress(String(format: "best reachable PSNR %.2f dB (every weight at its most precise encoding); target %.2f dB", precise.measured.psnr, targetPSNR))
    var lastShown = 0.0
    let trials = try cal.prefix(sensitivityBatch)
    let (table, decoded) = try SensitivityAnalysis(candidates: candidates, deflate: deflate).table(trials, encode: encode) { done, total in
      if clock.elapsed - lastShown >= 2 || done == total {
        lastShown = clock.elapsed
        progress("sensitivity \(done)/\(total) passes (\(clock.status(done: done, total: total)))")
      }
      passes = 1 + done
    }
    var known: [String: [String: (bytes: Int, decoded: Tensor)]] = [:]
    for (w, options) in table {
      for o in options { if let d = decoded[w]?[o.scheme] { known[w, default: [:]][o.scheme] = (o.bytes, d) } }
      known[w, default: [:]]["f32"] = (options[0].bytes, cal.graph.initializers[w]!)
    }
    for w in cal.graph.weights where known[w.name] == nil {  // vectors: float32, encoded once
      let t = cal.graph.initializers[w.name]!
      known[w.name] = ["f32": (try encode(t, .float32).bytes, t)]
    }
    let targetMSE = mse(forPSNR: targetPSNR, peak: cal.peak)
    var best = precise
    var budget = targetMSE, passing = 0.0, failing = Double.infinity
    var tried = Set<[String: String]>()
    var rounds = 0
    let roundClock = ProgressClock()
    while rounds < maxRounds {
      let choice = allocate(table, budget: budget).mapValues(\.scheme)
      if tried.contains(choice) { break }
      tried.insert(choice)
      let r = try measure(choice, cal, known: known)
      rounds += 1
      passes += 1
      let ok = r.measured.psnr >= targetPSNR
      progress(String(format: "round %d: %@, measured PSNR %.2f dB (target %.2f) — %@ (%@)", rounds, humanBytes(r.bytes) as NSString,
                      r.measured.psnr, targetPSNR, (ok ? "passes" : "misses") as NSString,
                      (clock.status() + ", ETA ≤ " + ProgressClock.seconds(roundClock.elapsed / Double(rounds) * Double(maxRounds - rounds))) as NSString))
      if ok {
        if r.bytes < best.bytes { best = r }
        passing = max(passing, budget)
        if r.measured.mse >= 0.9 * targetMSE { break }  // close enough: little left to gain
      } else {
        failing = min(failing, budget)
      }
      // The estimate's scale error is roughly a constant factor: rescale, but stay inside the bracket.
      var next = budget * targetMSE / max(r.measured.mse, 1e-300)
      if next <= passing || next >= failing { next = failing.isFinite ? (passing > 0 ? (passing * failing).squareRoot() : failing / 2) : budget * 2 }
      if failing.isFinite && passing > 0 && failing / passing < 1.02 { break }
      budget = next
    }
    best.options = table
    best.rounds = rounds
    best.passes = passes
    return best
  }
}

/// Why `AutoQuantizer.run` refuses a target.
public enum AutoQuantizerError: Error, CustomStringConvertible {
  /// Even the most precise plan (every weight at its most precise encoding) gives only `best` dB.
  case unreachable(target: Double, best: Double)

  public var description: String {
    switch self {
    case let .unreachable(target, best):
      return String(format: "target PSNR %.2f dB is unreachable: the most precise plan (every weight at its most precise encoding, f16) gives %.2f dB on the calibration set; use a target ≤ %.2f, or --quantize none for float32", target, best, best)
    }
  }
}
