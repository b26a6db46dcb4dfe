// AutoQuantizer: per-layer sensitivity, then a Lagrangian choice of encodings under an output-PSNR budget, measured.
import Foundation
import MoeIR

/// One way to store one weight: its bytes and the output error it causes alone.
public struct EncodingOption: Codable, Sendable {
  public var scheme: String
  public var bytes: Int
  /// Output MSE (against the float model, on the calibration set) with only this weight encoded this way.
  public var mse: Double
  /// Weight SQNR in dB.
  public var sqnr: Double
  public var maxAbs: Double
}

/// What `AutoQuantizer.run` found.
public struct AutoResult {
  public var plan: QuantizationPlan
  public var measured: Comparison
  public var bytes: Int
  /// Sensitivity table: weight → options.
  public var options: [String: [EncodingOption]]
  public var rounds: Int
}

/// Chooses an encoding per weight to minimise bytes subject to the model's output PSNR ≥ a target.
///
/// 1. Sensitivity: each weight matrix/kernel is encoded with each candidate scheme alone; the output MSE on the
///    calibration set is measured (one forward pass each).
/// 2. Allocation: assuming errors add up, for a multiplier λ each weight takes the option minimising
///    bytes + λ·MSE; λ is bisected so that the summed MSE meets the budget MSE(target).
/// 3. The plan is measured for real; if it misses the target, the budget shrinks by the observed ratio and
///    allocation repeats. The final PSNR is measured, never estimated.
public struct AutoQuantizer {
  public var candidates: [String] = ["f16", "int8", "palette256", "palette128", "palette64", "palette64-pc", "palette32", "palette32-pc",
                                     "int4-g32", "palette16-pc", "palette8-pc", "palette4-pc"]
  /// Bisection steps over log λ, each one measured.
  public var maxRounds = 22
  /// Deflate payloads when smaller (bytes counted after it), as the bundle writer does with `--deflate`.
  public var deflate = true
  public init() {}

  /// Stored bytes of `t` under `scheme` (after deflate when that is smaller) and the decoded tensor.
  public func encode(_ t: Tensor, _ scheme: QuantScheme) throws -> (bytes: Int, decoded: Tensor) {
    let e = try Quantizer.encode(t, as: scheme)
    var bytes = e.payload.count
    if deflate, let d = try? deflateBytes(e.payload), d.count < bytes { bytes = d.count }
    return (bytes, try Quantizer.decode(e))
  }

  /// The sensitivity table; `progress(done, total)` after each measurement.
  public func sensitivity(_ cal: CalibrationSet, progress: (Int, Int) -> Void = { _, _ in }) throws -> [String: [EncodingOption]] {
    let g = cal.graph
    let matrices = g.weights.filter { $0.shape.rank >= 2 }
    let total = matrices.count * candidates.count
    var done = 0
    var table: [String: [EncodingOption]] = [:]
    for w in matrices {
      let t = g.initializers[w.name]!
      var options = [EncodingOption(scheme: "f32", bytes: 4 * t.count, mse: 0, sqnr: .infinity, maxAbs: 0)]
      for name in candidates {
        let plan = try QuantizationPlan.uniform(name, for: g)
        guard let scheme = plan.schemes[w.name] else { continue }
        let (bytes, decoded) = try encode(t, scheme)
        let c = cal.compare(try cal.outputs(replacing: [w.name: decoded]))
        options.append(EncodingOption(scheme: scheme.description, bytes: bytes, mse: c.mse, sqnr: sqnr(t.data, decoded.data), maxAbs: c.maxAbs))
        done += 1
        progress(done, total)
      }
      table[w.name] = options
    }
    return table
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

  /// Sensitivity, allocation and measurement until the measured PSNR meets `targetPSNR`.
  public func run(_ cal: CalibrationSet, targetPSNR: Double, progress: (String) -> Void = { _ in }) throws -> AutoResult {
    let table = try sensitivity(cal) { done, total in
      if done % max(1, total / 10) == 0 || done == total { progress("sensitivity \(done)/\(total)") }
    }
    let peak = cal.peak
    // For a multiplier λ each weight takes the option minimising bytes + λ·MSE (alone); small λ favours bytes.
    // Bytes fall and error rises as λ falls; bisect log λ on the *measured* PSNR.
    func planFor(_ logLambda: Double) throws -> AutoResult {
      let lambda = pow(10, logLambda)
      var plan = QuantizationPlan()
      var replaced: [String: Tensor] = [:]
      var bytes = 0
      for w in cal.graph.weights {
        let t = cal.graph.initializers[w.name]!
        let opt = table[w.name]?.min { Double($0.bytes) + lambda * $0.mse < Double($1.bytes) + lambda * $1.mse }
        if let opt, opt.scheme != "f32", let s = QuantScheme(name: opt.scheme) {
          plan.schemes[w.name] = s
          let (b, decoded) = try encode(t, s)
          bytes += b
          replaced[w.name] = decoded
        } else {
          bytes += 4 * t.count
        }
      }
      let measured = cal.compare(try cal.outputs(replacing: replaced))
      return AutoResult(plan: plan, measured: measured, bytes: bytes, options: table, rounds: 0)
    }
    _ = peak
    var lo = -2.0, hi = 18.0  // log10 λ: lo is cheapest, hi is (nearly) lossless
    var best: AutoResult? = nil
    var closestFailing: AutoResult? = nil
    var round = 0
    let cheapest = try planFor(lo)
    round += 1
    progress(String(format: "round %d: %d bytes, measured PSNR %.2f dB (target %.2f)", round, cheapest.bytes, cheapest.measured.psnr, targetPSNR))
    if cheapest.measured.psnr >= targetPSNR {
      best = cheapest
    } else {
      while round < maxRounds && hi - lo > 0.02 {
        let mid = (lo + hi) / 2
        var r = try planFor(mid)
        round += 1
        r.rounds = round
        progress(String(format: "round %d: %d bytes, measured PSNR %.2f dB (target %.2f)", round, r.bytes, r.measured.psnr, targetPSNR))
        if r.measured.psnr >= targetPSNR {
          if best == nil || r.bytes < best!.bytes { best = r }
          hi = mid
        } else {
          lo = mid
          if closestFailing == nil || r.measured.psnr > closestFailing!.measured.psnr { closestFailing = r }
        }
      }
      if best == nil {
        let r = try planFor(hi)
        if r.measured.psnr >= targetPSNR { best = r }
      }
    }
    // λ moves every layer at once; close the last gap one layer at a time: upgrade the failing plan's layer with
    // the best error-saved-per-byte until it passes, if that is cheaper than the best passing plan.
    if var current = closestFailing {
      for _ in 0..<40 {
        var bestStep: (name: String, option: EncodingOption, gain: Double)? = nil
        for (name, opts) in table {
          let now = current.plan.schemes[name]?.description ?? "f32"
          guard let cur = opts.first(where: { $0.scheme == now }) else { continue }
          // The next option up: the cheapest one that is more accurate, within what the best passing plan costs.
          let room = best.map { $0.bytes - current.bytes } ?? Int.max
          guard let o = opts.filter({ $0.mse < cur.mse && $0.bytes > cur.bytes && $0.bytes - cur.bytes < room }).min(by: { $0.bytes < $1.bytes })
          else { continue }
          let gain = (cur.mse - o.mse) / Double(o.bytes - cur.bytes)
          if bestStep == nil || gain > bestStep!.gain { bestStep = (name, o, gain) }
        }
        guard let step = bestStep else { break }
        var plan = current.plan
        plan.schemes[step.name] = step.option.scheme == "f32" ? nil : QuantScheme(name: step.option.scheme)
        var replaced: [String: Tensor] = [:]
        var bytes = 0
        for w in cal.graph.weights {
          let t = cal.graph.initializers[w.name]!
          if let s = plan.schemes[w.name] {
            let (b, d) = try encode(t, s)
            bytes += b
            replaced[w.name] = d
          } else {
            bytes += 4 * t.count
          }
        }
        if let b = best, bytes >= b.bytes { break }
        let measured = cal.compare(try cal.outputs(replacing: replaced))
        round += 1
        progress(String(format: "round %d (refine %@): %d bytes, measured PSNR %.2f dB", round, step.name, bytes, measured.psnr))
        current = AutoResult(plan: plan, measured: measured, bytes: bytes, options: table, rounds: round)
        if measured.psnr >= targetPSNR {
          if best == nil || bytes < best!.bytes { best = current }
          break
        }
      }
    }
    best?.rounds = round
    guard let best else {
      let fp = QuantizationPlan()
      return AutoResult(plan: fp, measured: cal.compare(cal.reference), bytes: cal.graph.weights.reduce(0) { $0 + 4 * (cal.graph.initializers[$1.name]?.count ?? 0) },
                        options: table, rounds: maxRounds)
    }
    return best
  }
}
