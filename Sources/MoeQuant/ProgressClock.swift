// ProgressClock: elapsed time and an ETA for long analyses' progress lines.
import Dispatch
import Foundation

/// Measures time since its creation and estimates the time left from the rate so far.
public struct ProgressClock: Sendable {
  let start = DispatchTime.now().uptimeNanoseconds

  public init() {}

  /// Seconds since creation.
  public var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

  /// "12.3 s elapsed", plus ", ETA 40 s" when `done` of `total` steps are finished (0 < done < total).
  public func status(done: Int = 0, total: Int = 0) -> String {
    let e = elapsed
    var s = "\(Self.seconds(e)) elapsed"
    if done > 0 && total > done { s += ", ETA \(Self.seconds(e / Double(done) * Double(total - done)))" }
    return s
  }

  /// "0.8 s", "12 s", "3 min 5 s".
  public static func seconds(_ s: Double) -> String {
    if s < 10 { return String(format: "%.1f s", s) }
    if s < 60 { return String(format: "%.0f s", s) }
    return String(format: "%d min %d s", Int(s) / 60, Int(s) % 60)
  }
}

/// A byte count in human units with the exact bytes beside it: "2.96 MB (2,964,078 B)", "812 B".
public func humanBytes(_ n: Int) -> String {
  let exact = grouped(n) + " B"
  let v = Double(n)
  if abs(n) < 1000 { return exact }
  let (value, unit) = abs(v) < 1e6 ? (v / 1e3, "kB") : abs(v) < 1e9 ? (v / 1e6, "MB") : (v / 1e9, "GB")
  let digits = abs(value) < 10 ? 2 : abs(value) < 100 ? 1 : 0
  return String(format: "%.\(digits)f", value) + " \(unit) (\(exact))"
}

/// `n` with thousands separated by commas.
func grouped(_ n: Int) -> String {
  let digits = String(n.magnitude)
  var out = ""
  for (i, c) in digits.enumerated() {
    if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
    out.append(c)
  }
  return (n < 0 ? "-" : "") + out
}
