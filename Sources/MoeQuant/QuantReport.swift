// QuantReport: per-layer and whole-model size/fidelity of an encoding plan, as text and JSON.
import Foundation
import MoeIR

/// Size and fidelity of a model under an encoding plan.
public struct QuantReport: Codable {
  public struct Layer: Codable {
    public var weight: String
    public var node: String
    public var op: String
    public var shape: [Int]
    public var params: Int
    public var encoding: String
    public var bytes: Int
    /// Weight SQNR in dB (+inf when exact).
    public var sqnr: Double
    /// Output PSNR / max-abs when only this weight is encoded (nil when not measured).
    public var onlyThisPSNR: Double?
    public var onlyThisMaxAbs: Double?
    enum CodingKeys: String, CodingKey {
      case weight, node, op, shape, params, encoding, bytes, sqnr, onlyThisPSNR = "only_this_psnr", onlyThisMaxAbs = "only_this_max_abs"
    }
  }
  /// One uniform scheme applied to the whole model (for the bytes-vs-PSNR chart).
  public struct SchemePoint: Codable {
    public var scheme: String
    public var bytes: Int
    public var psnr: Double
  }
  /// An image output ([N, 3, S, S]) on the first calibration inputs, from the float model and under the plan.
  public struct SampleImages: Sendable {
    public var output: String
    public var side: Int
    /// One CHW image in [-1, 1] per sample.
    public var float: [[Float]]
    public var quantized: [[Float]]
  }
  /// How many calibration samples the HTML page shows.
  public static let sampleCount = 4

  public var model: String
  public var plan: String
  public var passes: [String: Int]
  public var layers: [Layer]
  public var rawBytes: Int
  public var encodedBytes: Int
  /// Bytes of the whole `.moe` bundle, and of it gzip/deflate-compressed as a web server would send it.
  public var bundleBytes: Int
  public var bundleGzipBytes: Int
  public var output: Comparison
  public var calibration: String
  public var schemes: [SchemePoint]
  /// Sample images for the HTML page (not part of the JSON).
  public var samples: [SampleImages] = []

  enum CodingKeys: String, CodingKey {
    case model, plan, passes, layers, rawBytes = "raw_bytes", encodedBytes = "encoded_bytes", bundleBytes = "bundle_bytes"
    case bundleGzipBytes = "bundle_gzip_bytes", output, calibration, schemes
  }

  /// Text for the terminal (the optimization passes' changes only when `verbose`).
  public var text: String { text(verbose: false) }

  /// Text for the terminal; `verbose` adds what each optimization pass changed.
  public func text(verbose: Bool) -> String {
    func db(_ v: Double?) -> String { guard let v else { return "—" }; return v.isInfinite ? "inf" : String(format: "%.1f", v) }
    var lines = ["\(model) — plan \(plan)"]
    if verbose && !passes.isEmpty { lines.append("passes: " + passes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")) }
    lines.append(String(format: "%-22@ %-16@ %-18@ %9@ %-16@ %10@ %7@ %8@ %9@", "weight" as NSString, "op" as NSString,
                        "shape" as NSString, "params" as NSString, "encoding" as NSString, "bytes" as NSString,
                        "SQNR" as NSString, "PSNR*" as NSString, "max-abs*" as NSString))
    for l in layers {
      let shape = "[" + l.shape.map(String.init).joined(separator: ",") + "]"
      lines.append(String(format: "%-22@ %-16@ %-18@ %9d %-16@ %10d %7@ %8@ %9@", l.weight as NSString, l.op as NSString, shape as NSString,
                          l.params, l.encoding as NSString, l.bytes, db(l.sqnr) as NSString, db(l.onlyThisPSNR) as NSString,
                          (l.onlyThisMaxAbs.map { String(format: "%.2e", $0) } ?? "—") as NSString))
    }
    lines.append("* output when only this weight is encoded")
    lines.append("weights: \(humanBytes(rawBytes)) float32 → \(humanBytes(encodedBytes)) encoded ("
      + String(format: "%.2f×", Double(rawBytes) / Double(max(encodedBytes, 1))) + "); bundle \(humanBytes(bundleBytes)), \(humanBytes(bundleGzipBytes)) deflated")
    lines.append(String(format: "output vs float model (%@): PSNR %@ dB, max-abs %.3g, mean-abs %.3g", calibration as NSString,
                        db(output.psnr) as NSString, output.maxAbs, output.meanAbs))
    if !schemes.isEmpty {
      lines.append("uniform schemes (whole model):")
      for s in schemes {
        lines.append(String(format: "  %-14@ %-28@ PSNR %@ dB", s.scheme as NSString, humanBytes(s.bytes) as NSString, db(s.psnr) as NSString))
      }
    }
    if let e = eightbitComparison { lines.append(e) }
    return lines.joined(separator: "\n")
  }

  /// This plan against WebDNN's eightbit on the same model, when the sweep measured it.
  public var eightbitComparison: String? {
    guard let e = schemes.first(where: { $0.scheme == "eightbit" }), e.bytes > 0 else { return nil }
    let ratio = Double(encodedBytes) / Double(e.bytes)
    let verdict = output.psnr >= e.psnr
      ? String(format: "%.2f× eightbit's bytes at %.1f dB ≥ eightbit's %.1f dB", ratio, output.psnr, e.psnr)
      : String(format: "%.2f× eightbit's bytes but %.1f dB below eightbit's %.1f dB", ratio, e.psnr - output.psnr, e.psnr)
    return "vs WebDNN eightbit (\(humanBytes(e.bytes))): this plan is " + verdict + (ratio <= 0.5 && output.psnr >= e.psnr ? " — goal (≤ 0.50×) met" : " — goal ≤ 0.50× at equal PSNR")
  }

  /// JSON (infinities written as 1e999-free strings would break parsers: they become null).
  public func json() throws -> String {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try enc.encode(self), as: UTF8.self)
  }
}

extension QuantReport {
  /// Measures `plan` on `cal` (with `options` from a sensitivity run for the per-layer columns when given).
  public static func build(model: String, planName: String, plan: QuantizationPlan, cal: CalibrationSet, deflate: Bool,
                           options: [String: [EncodingOption]]? = nil, passes: [String: Int] = [:],
                           schemes: [SchemePoint] = [], bundleBytes: Int = 0, bundleGzipBytes: Int = 0) throws -> QuantReport {
    let g = cal.graph
    var user: [String: Node] = [:]
    for n in g.nodes { for i in n.inputs where user[i] == nil { user[i] = n } }
    var layers: [Layer] = []
    var replaced: [String: Tensor] = [:]
    var raw = 0, encoded = 0
    let q = AutoQuantizer()
    for w in g.weights {
      let t = g.initializers[w.name]!
      raw += 4 * t.count
      let scheme = plan.schemes[w.name] ?? .float32
      var quantizer = q
      quantizer.deflate = deflate
      let (bytes, decoded) = try quantizer.encode(t, scheme)
      encoded += bytes
      if scheme != .float32 { replaced[w.name] = decoded }
      let opt = options?[w.name]?.first { $0.scheme == scheme.description && $0.measured }
      var onlyPSNR = opt.map { psnr(mse: $0.mse, peak: cal.peak) }, onlyMax = opt?.maxAbs
      if opt == nil && scheme != .float32 && t.shape.count >= 2 {
        let c = cal.compare(try cal.outputs(replacing: [w.name: decoded]))
        onlyPSNR = c.psnr
        onlyMax = c.maxAbs
      }
      layers.append(Layer(weight: w.name, node: user[w.name]?.name ?? "", op: user[w.name]?.op.name ?? "", shape: t.shape, params: t.count,
                          encoding: scheme.description, bytes: bytes, sqnr: sqnr(t.data, decoded.data),
                          onlyThisPSNR: scheme == .float32 ? nil : onlyPSNR, onlyThisMaxAbs: scheme == .float32 ? nil : onlyMax))
    }
    let quantized = try cal.outputs(replacing: replaced)
    var report = QuantReport(model: model, plan: planName, passes: passes, layers: layers, rawBytes: raw, encodedBytes: encoded,
                             bundleBytes: bundleBytes, bundleGzipBytes: bundleGzipBytes, output: cal.compare(quantized),
                             calibration: "\(cal.inputs.values.first?.shape.first ?? 0) inputs from the prior, seed 2024", schemes: schemes)
    for o in g.outputs {
      guard let f = cal.reference[o], let q = quantized[o], f.shape == q.shape, f.shape.count == 4, f.shape[1] == 3,
        f.shape[2] == f.shape[3], f.shape[2] > 0 else { continue }
      let plane = 3 * f.shape[2] * f.shape[2], n = min(f.shape[0], sampleCount)
      report.samples.append(SampleImages(output: o, side: f.shape[2], float: (0..<n).map { Array(f.data[($0 * plane)..<(($0 + 1) * plane)]) },
                                         quantized: (0..<n).map { Array(q.data[($0 * plane)..<(($0 + 1) * plane)]) }))
    }
    return report
  }

  /// Whole-model bytes and PSNR of each uniform scheme.
  public static func sweep(_ schemes: [String], cal: CalibrationSet, deflate: Bool) throws -> [SchemePoint] {
    var q = AutoQuantizer()
    q.deflate = deflate
    var points: [SchemePoint] = []
    for name in schemes {
      let plan = try QuantizationPlan.uniform(name, for: cal.graph)
      var replaced: [String: Tensor] = [:]
      var bytes = 0
      for w in cal.graph.weights {
        let t = cal.graph.initializers[w.name]!
        if let s = plan.schemes[w.name] {
          let (b, d) = try q.encode(t, s)
          bytes += b
          replaced[w.name] = d
        } else {
          bytes += 4 * t.count
        }
      }
      points.append(SchemePoint(scheme: name, bytes: bytes, psnr: cal.compare(try cal.outputs(replacing: replaced)).psnr))
    }
    return points
  }
}
