// VerifyReport: what `moe verify` found — per runtime and output, the differences from the reference runtime, and
// layerwise the first node where runtimes diverge — as a text table or JSON.
import Foundation
import MoeQuant

/// The result of a cross-runtime verification.
public struct VerifyReport: Codable, Sendable {
  public struct InputInfo: Codable, Sendable {
    public var name: String
    public var shape: [Int]
  }

  public struct RuntimeInfo: Codable, Sendable {
    public var name: String
    public var version: String
    public var seconds: Double
    /// Why the runtime could not run (it then fails the verification).
    public var error: String?
    public var notes: [String]
  }

  /// One value of one runtime against the reference.
  public struct Row: Codable, Sendable {
    public var runtime: String
    public var value: String
    public var comparison: Comparison?
    /// The atol applied (layerwise: scaled by the reference's magnitude).
    public var tolerance: Double = 0
    public var passed = false
    public var error: String?

    init(runtime: String, value: String) {
      self.runtime = runtime
      self.value = value
    }
  }

  /// One node's output compared across the runtimes that expose intermediates.
  public struct Layer: Codable, Sendable {
    public var node: String
    public var op: String
    public var value: String
    /// Weights the node reads.
    public var weights: [String]
    public var rows: [Row] = []
  }

  public struct Layerwise: Codable, Sendable {
    public var runtimes: [String]
    public var reference: String
    public var layers: [Layer] = []
    /// Index in `layers` of the first node whose output diverges beyond tolerance.
    public var firstDivergence: Int?
    public var note: String?

    enum CodingKeys: String, CodingKey {
      case runtimes, reference, layers, note
      case firstDivergence = "first_divergence"
    }
  }

  public var model: String
  public var reference: String
  public var atol: Double
  public var rtol: Double
  public var inputs: [InputInfo]
  public var perturbations: [String] = []
  public var runtimes: [RuntimeInfo] = []
  public var rows: [Row] = []
  public var layers: Layerwise?
  /// Set when nothing could be compared (the reference failed).
  public var fatal: String?
  /// Image outputs as each runtime computed them (first sample), for `html()`; not part of the JSON.
  public var images: [VerifyImages] = []

  /// True when every runtime ran and every output of every runtime is within tolerance of the reference.
  public var passed: Bool {
    fatal == nil && runtimes.allSatisfy { $0.error == nil } && rows.allSatisfy(\.passed)
  }

  /// The first diverging layer, when the layerwise comparison found one.
  public var firstDivergingLayer: Layer? { layers.flatMap { lw in lw.firstDivergence.map { lw.layers[$0] } } }

  enum CodingKeys: String, CodingKey {
    case model, reference, atol, rtol, inputs, perturbations, runtimes, rows, layers, fatal, passed
  }

  public init(model: String, reference: String, atol: Double, rtol: Double, inputs: [InputInfo]) {
    self.model = model
    self.reference = reference
    self.atol = atol
    self.rtol = rtol
    self.inputs = inputs
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    model = try c.decode(String.self, forKey: .model)
    reference = try c.decode(String.self, forKey: .reference)
    atol = try c.decode(Double.self, forKey: .atol)
    rtol = try c.decode(Double.self, forKey: .rtol)
    inputs = try c.decode([InputInfo].self, forKey: .inputs)
    perturbations = try c.decode([String].self, forKey: .perturbations)
    runtimes = try c.decode([RuntimeInfo].self, forKey: .runtimes)
    rows = try c.decode([Row].self, forKey: .rows)
    layers = try c.decodeIfPresent(Layerwise.self, forKey: .layers)
    fatal = try c.decodeIfPresent(String.self, forKey: .fatal)
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(model, forKey: .model)
    try c.encode(reference, forKey: .reference)
    try c.encode(atol, forKey: .atol)
    try c.encode(rtol, forKey: .rtol)
    try c.encode(inputs, forKey: .inputs)
    try c.encode(perturbations, forKey: .perturbations)
    try c.encode(runtimes, forKey: .runtimes)
    try c.encode(rows, forKey: .rows)
    try c.encodeIfPresent(layers, forKey: .layers)
    try c.encodeIfPresent(fatal, forKey: .fatal)
    try c.encode(passed, forKey: .passed)
  }

  /// JSON (infinities, e.g. the PSNR of identical outputs, written as the strings "inf"/"-inf").
  public func json() throws -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys]
    e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try e.encode(self), as: UTF8.self)
  }

  /// The human-readable report.
  public func text() -> String {
    var s = "moe verify: \(model)\n"
    s += "inputs: " + inputs.map { "\($0.name) \($0.shape)" }.joined(separator: ", ") + "\n"
    s += "reference: \(reference); pass when |a − b| ≤ atol + rtol·|ref| with atol \(Self.num(atol)), rtol \(Self.num(rtol))\n"
    if !perturbations.isEmpty { s += "fault injection: " + perturbations.joined(separator: ", ") + "\n" }
    s += "\nruntimes:\n"
    for r in runtimes {
      s += "  " + Self.pad(r.name, 12) + (r.error.map { "FAILED: \($0)" } ?? String(format: "%@ (%.2f s)", r.version, r.seconds)) + "\n"
      for n in r.notes { s += "  " + Self.pad("", 12) + "note: \(n)\n" }
    }
    if let fatal { return s + "\n\(fatal)\nresult: FAIL\n" }
    s += "\n" + table(rows, first: "runtime", key: \.runtime)
    if let lw = layers {
      s += "\nlayerwise (\(lw.runtimes.joined(separator: ", ")) vs \(lw.reference); atol scaled by max(1, max|ref|)):\n"
      if let note = lw.note {
        s += "  \(note)\n"
      } else {
        var rows: [Row] = []
        for l in lw.layers { for r in l.rows { var r = r; r.value = "\(l.node) → %\(l.value)"; rows.append(r) } }
        s += table(rows, first: "node → value", key: \.value, runtimeColumn: true)
        if let i = lw.firstDivergence {
          let l = lw.layers[i]
          let bad = l.rows.filter { !$0.passed }
          s += "first divergence: node '\(l.node)' (\(l.op)) → %\(l.value)"
          s += l.weights.isEmpty ? "" : ", reading \(l.weights.joined(separator: ", "))"
          s += "; " + bad.map { r in r.error ?? "\(r.runtime) differs by \(Self.num(r.comparison?.maxAbs ?? .nan))" }.joined(separator: ", ") + "\n"
        } else {
          s += "no node diverges beyond tolerance\n"
        }
      }
    }
    s += "\nresult: \(passed ? "PASS" : "FAIL")\n"
    return s
  }

  func table(_ rows: [Row], first: String, key: KeyPath<Row, String>, runtimeColumn: Bool = false) -> String {
    let w = max(first.count, rows.map { $0[keyPath: key].count }.max() ?? 0) + 2
    var s = Self.pad(first, w) + (runtimeColumn ? Self.pad("runtime", 13) : Self.pad("output", 12))
    s += ["max-abs", "max-rel", "mean-abs", "PSNR dB", "min atol", "tolerance", ""].map { Self.pad($0, 11) }.joined() + "\n"
    for r in rows {
      s += Self.pad(r[keyPath: key], w) + Self.pad(runtimeColumn ? r.runtime : r.value, runtimeColumn ? 13 : 12)
      if let c = r.comparison {
        s += [c.maxAbs, c.maxRel, c.meanAbs].map { Self.pad(Self.num($0), 11) }.joined()
        s += Self.pad(c.psnr.isInfinite ? "inf" : String(format: "%.1f", c.psnr), 11)
        s += Self.pad(Self.num(c.minimumAtol), 11) + Self.pad(Self.num(r.tolerance), 11)
      }
      s += r.error.map { "FAIL: \($0)" } ?? (r.passed ? "ok" : "FAIL")
      s += "\n"
    }
    return s
  }

  static func num(_ x: Double) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return "inf" }
    return x == 0 ? "0" : String(format: "%.3g", x)
  }

  static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
}
