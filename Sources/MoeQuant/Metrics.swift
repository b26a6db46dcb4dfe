// Metrics: how far one output is from a reference (max-abs, max-rel, mean-abs, MSE, PSNR, SQNR, passing tolerance).
import Foundation

/// Differences between a reference tensor and an approximation of it.
public struct Comparison: Codable, Sendable, Equatable {
  public var maxAbs: Double
  public var maxRel: Double
  public var meanAbs: Double
  public var mse: Double
  /// 10·log10(peak² / MSE), peak = the reference's peak-to-peak range (2 for outputs in [-1, 1]); +inf when exact.
  public var psnr: Double
  /// The smallest atol that passes |a − b| ≤ atol + rtol·|b| at the given rtol.
  public var minimumAtol: Double
  public var count: Int

  enum CodingKeys: String, CodingKey {
    case maxAbs = "max_abs", maxRel = "max_rel", meanAbs = "mean_abs", mse, psnr, minimumAtol = "minimum_atol", count
  }

  /// Compares `approx` with `reference`; `peak` defaults to the reference's range (at least 2 for tanh images).
  public init(reference: [Float], approx: [Float], peak: Double? = nil, rtol: Double = 0) {
    precondition(reference.count == approx.count, "Comparison: \(reference.count) vs \(approx.count) values")
    var maxAbs = 0.0, maxRel = 0.0, sumAbs = 0.0, sumSq = 0.0, minAtol = 0.0
    var lo = Double.infinity, hi = -Double.infinity
    for (r, a) in zip(reference, approx) {
      let rv = Double(r), diff = abs(Double(a) - rv)
      let d = diff.isNaN ? Double.infinity : diff  // a NaN on either side is as far off as it gets
      maxAbs = max(maxAbs, d)
      if rv.isFinite && rv != 0 { maxRel = max(maxRel, d / abs(rv)) } else if d > 0 { maxRel = .infinity }
      sumAbs += d
      sumSq += d * d
      minAtol = max(minAtol, rv.isFinite ? d - rtol * abs(rv) : d)
      lo = min(lo, rv)
      hi = max(hi, rv)
    }
    let n = Double(max(reference.count, 1))
    self.maxAbs = maxAbs
    self.maxRel = maxRel
    self.meanAbs = sumAbs / n
    self.mse = sumSq / n
    let p = peak ?? max(2, hi - lo)
    self.psnr = mse == 0 ? .infinity : 10 * log10(p * p / mse)
    self.minimumAtol = max(0, minAtol)
    self.count = reference.count
  }
}

/// PSNR in dB of a mean squared error against a peak-to-peak range.
public func psnr(mse: Double, peak: Double = 2) -> Double { mse == 0 ? .infinity : 10 * log10(peak * peak / mse) }

/// The MSE at which the PSNR equals `db`.
public func mse(forPSNR db: Double, peak: Double = 2) -> Double { peak * peak / pow(10, db / 10) }
