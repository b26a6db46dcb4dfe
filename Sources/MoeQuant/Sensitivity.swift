// Sensitivity: each weight's candidate encodings with the output error each causes alone, measured or estimated.
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
  /// Largest output difference with only this weight encoded (nil when `mse` is estimated, not measured).
  public var maxAbs: Double?
  /// Whether `mse` comes from a forward pass (true) or from the weight error and the measured gains (false).
  public var measured: Bool
}

/// Builds the sensitivity table with few forward passes.
///
/// To first order the output error of a weight perturbation ΔW is linear in ΔW, so its MSE grows with the squared
/// weight error: mse ≈ gain · ‖ΔW‖². For each weight two anchors are measured with one pass of the whole
/// calibration batch each — the most accurate candidate after float16 and the least accurate one — giving two
/// gains. Where they agree within `linearTolerance` the relation holds for that weight and the other candidates'
/// MSE is interpolated (log gain linear in log ‖ΔW‖², held constant outside the anchors); where not, every
/// candidate of that weight is measured. Only weights of rank ≥ 2 are candidates; vectors stay float32.
struct SensitivityAnalysis {
  var candidates: [String]
  var deflate: Bool
  /// The largest ratio between the two anchors' gains for which the estimate is trusted.
  var linearTolerance = 4.0

  /// One candidate of one weight before any forward pass.
  struct Trial {
    var scheme: QuantScheme
    var bytes: Int
    var decoded: Tensor
    var squaredError: Double
    var sqnr: Double
  }

  /// Every candidate of `t` that applies to it, with bytes and weight error.
  func trials(_ t: Tensor, axis: Int, encode: (Tensor, QuantScheme) throws -> (bytes: Int, decoded: Tensor)) throws -> [Trial] {
    var out: [Trial] = []
    var seen = Set<QuantScheme>()
    for name in candidates {
      guard let scheme = Self.scheme(name, axis: axis), !seen.contains(scheme) else { continue }
      seen.insert(scheme)
      guard let (bytes, decoded) = try? encode(t, scheme) else { continue }  // e.g. a group size that does not divide
      var se = 0.0
      for (a, b) in zip(t.data, decoded.data) { se += Double(a - b) * Double(a - b) }
      out.append(Trial(scheme: scheme, bytes: bytes, decoded: decoded, squaredError: se, sqnr: sqnr(t.data, decoded.data)))
    }
    return out
  }

  /// A candidate name with the weight's channel axis.
  static func scheme(_ name: String, axis: Int) -> QuantScheme? {
    switch QuantScheme(name: name) {
    case .int8?: return .int8(axis: axis)
    case let .int4(_, g)?: return .int4(axis: axis, groupSize: g)
    case let .palette(k, pc, _)?: return .palette(k: k, perChannel: pc, axis: axis)
    case let other: return other
    }
  }

  /// The table: weight → [f32, candidates…], and each candidate's decoded weight by weight and scheme name;
  /// `progress(passesDone, passesPlanned)` after each forward pass.
  func table(_ cal: CalibrationSet, encode: (Tensor, QuantScheme) throws -> (bytes: Int, decoded: Tensor),
             progress: (Int, Int) -> Void) throws -> (options: [String: [EncodingOption]], decoded: [String: [String: Tensor]]) {
    let g = cal.graph
    let axes = QuantizationPlan.channelAxes(g)
    let matrices = g.weights.filter { $0.shape.rank >= 2 }
    var planned = 2 * matrices.count, done = 0
    var table: [String: [EncodingOption]] = [:], decodedByWeight: [String: [String: Tensor]] = [:]
    for w in matrices {
      let t = g.initializers[w.name]!
      let trials = try self.trials(t, axis: axes[w.name] ?? 0, encode: encode)
      var measured: [Int: Comparison] = [:]
      func measure(_ i: Int) throws {
        guard measured[i] == nil else { return }
        measured[i] = try cal.measure(replacing: [w.name: trials[i].decoded])
        done += 1
        progress(done, planned)
      }
      // Anchors: the lowest and the highest weight error among the non-float16 candidates with any error.
      let lossy = trials.indices.filter { trials[$0].scheme != .float16 && trials[$0].squaredError > 0 }
        .sorted { trials[$0].squaredError < trials[$1].squaredError }
      var gains: [(logError: Double, logGain: Double)] = []
      for i in Set([lossy.first, lossy.last].compactMap { $0 }).sorted() {
        try measure(i)
        gains.append((log(trials[i].squaredError), log(max(measured[i]!.mse, 1e-300) / trials[i].squaredError)))
      }
      planned -= 2 - gains.count
      gains.sort { $0.logError < $1.logError }
      let linear = gains.count < 2 || abs(gains[0].logGain - gains[1].logGain) <= log(linearTolerance)
      if !linear {
        planned += trials.count - 2
        for i in trials.indices { try measure(i) }
      }
      var options = [EncodingOption(scheme: "f32", bytes: try encode(t, .float32).bytes, mse: 0, sqnr: .infinity, maxAbs: 0, measured: true)]
      for (i, trial) in trials.enumerated() {
        if let c = measured[i] {
          options.append(EncodingOption(scheme: trial.scheme.description, bytes: trial.bytes, mse: c.mse, sqnr: trial.sqnr, maxAbs: c.maxAbs, measured: true))
        } else {
          let mse = trial.squaredError == 0 || gains.isEmpty ? 0 : trial.squaredError * exp(Self.interpolate(gains, log(trial.squaredError)))
          options.append(EncodingOption(scheme: trial.scheme.description, bytes: trial.bytes, mse: mse, sqnr: trial.sqnr, maxAbs: nil, measured: false))
        }
      }
      table[w.name] = options
      decodedByWeight[w.name] = Dictionary(uniqueKeysWithValues: trials.map { ($0.scheme.description, $0.decoded) })
    }
    return (table, decodedByWeight)
  }

  /// log gain at `x` (log squared error): linear between the anchors, constant outside them.
  static func interpolate(_ anchors: [(logError: Double, logGain: Double)], _ x: Double) -> Double {
    guard let first = anchors.first, let last = anchors.last else { return 0 }
    if x <= first.logError || anchors.count == 1 { return first.logGain }
    if x >= last.logError { return last.logGain }
    let f = (x - first.logError) / (last.logError - first.logError)
    return first.logGain + f * (last.logGain - first.logGain)
  }
}
