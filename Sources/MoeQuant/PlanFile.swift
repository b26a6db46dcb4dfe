// PlanFile: a quantization plan as JSON (per-weight scheme), written by `--quantize auto --plan` and read by `--plan`.
import Foundation
import MoeIR

/// The JSON form of a `QuantizationPlan`:
/// `{"format": "moekit-quantization-plan", "version": 1, "target_psnr": 30, "measured_psnr": 30.4,
///   "schemes": {"fc/W": "int8", "res/0/c1/W": "palette16-pc", …}}`.
/// Weights a plan does not name are stored as float32.
public struct PlanFile: Codable, Equatable {
  public static let formatName = "moekit-quantization-plan"
  public var format: String
  public var version: Int
  public var targetPSNR: Double?
  public var measuredPSNR: Double?
  public var schemes: [String: String]

  enum CodingKeys: String, CodingKey { case format, version, targetPSNR = "target_psnr", measuredPSNR = "measured_psnr", schemes }

  /// The file form of `plan`.
  public init(_ plan: QuantizationPlan, targetPSNR: Double? = nil, measuredPSNR: Double? = nil) {
    format = Self.formatName
    version = 1
    self.targetPSNR = targetPSNR
    self.measuredPSNR = measuredPSNR.map { $0.isFinite ? $0 : 999 }
    schemes = plan.schemes.mapValues(\.description)
  }

  /// Pretty, key-sorted JSON.
  public func data() throws -> Data {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    return try enc.encode(self) + Data("\n".utf8)
  }

  /// Reads a plan file and checks it against `g`: every named weight exists, every scheme name parses and applies
  /// to that weight's shape.
  /// - Throws: `PlanFileError` naming the file and the weight.
  public static func load(_ url: URL, for g: Graph) throws -> QuantizationPlan {
    let path = url.path
    let data: Data
    do { data = try Data(contentsOf: url) } catch { throw PlanFileError(file: path, "cannot read (\(error.localizedDescription))") }
    let file: PlanFile
    do { file = try JSONDecoder().decode(PlanFile.self, from: data) } catch {
      throw PlanFileError(file: path, "not a quantization plan (expected JSON {\"format\": \"\(formatName)\", \"version\": 1, \"schemes\": {weight: scheme}}): \(error)")
    }
    guard file.format == formatName else { throw PlanFileError(file: path, "format '\(file.format)', expected '\(formatName)'") }
    guard file.version == 1 else { throw PlanFileError(file: path, "version \(file.version); this reader knows version 1") }
    var plan = QuantizationPlan()
    for (name, schemeName) in file.schemes.sorted(by: { $0.key < $1.key }) {
      guard let t = g.initializers[name], g.weights.contains(where: { $0.name == name }) else {
        throw PlanFileError(file: path, key: name, "no such weight in the model (it has \(g.weights.count): \(g.weights.prefix(4).map(\.name).joined(separator: ", "))…)")
      }
      guard let scheme = QuantScheme(name: schemeName) else {
        throw PlanFileError(file: path, key: name, "unknown scheme '\(schemeName)'")
      }
      do { _ = try Quantizer.payloadSize(scheme, shape: t.shape) } catch {
        throw PlanFileError(file: path, key: name, "\(schemeName) does not apply to shape \(t.shape): \(error)")
      }
      if scheme != .float32 { plan.schemes[name] = scheme }
    }
    return plan
  }
}

/// A plan file that cannot be used, naming the file and (when known) the weight.
public struct PlanFileError: Error, CustomStringConvertible {
  public var file: String
  public var key: String?
  public var message: String
  public init(file: String, key: String? = nil, _ message: String) {
    self.file = file
    self.key = key
    self.message = message
  }
  public var description: String { file + (key.map { ": weight '\($0)'" } ?? "") + ": " + message }
}
