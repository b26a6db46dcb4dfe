// moe report: per-layer encoding, bytes, SQNR and output fidelity of a quantization plan (text, JSON, HTML).
import ArgumentParser
import Foundation
import MoeFormats
import MoeModels
import MoeQuant

struct Report: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Size and fidelity of a model under a weight encoding, per layer.")

  @Argument(help: ArgumentHelp("Model: \(ModelFile.inputFormatsHelp)."))
  var modelPath: String

  @Option(help: ArgumentHelp("\(quantizeNamesHelp) (default auto, unless --plan is given alone)."))
  var quantize: String?

  @Option(help: "A quantization plan (JSON, per-weight scheme): with --quantize auto, where the chosen plan is saved; without --quantize, the plan to report on (as saved by convert or report).")
  var plan: String?

  @Flag(help: "Also print what each optimization pass changed.")
  var verbose = false

  @Option(name: .customLong("target-psnr"), help: "Output PSNR target (dB) for --quantize auto (default 30).")
  var targetPSNR: Double?

  @Option(help: "Calibration inputs drawn from the input prior.")
  var calibration: Int = 8

  @Flag(inversion: .prefixedNo, help: "Deflate payloads when smaller (as `convert --deflate`).")
  var deflate = true

  @Flag(inversion: .prefixedNo, help: "Also measure every uniform scheme for the bytes-vs-PSNR chart.")
  var sweep = true

  @Flag(help: "JSON instead of text.")
  var json = false

  @Option(help: "Also write a self-contained HTML page with charts.")
  var html: String?

  @OptionGroup var model: ModelOptions
  @OptionGroup var optimization: OptimizeOptions

  static let sweepSchemes = ["f16", "int8", "int4-g64", "int4-g32", "palette16-pc", "palette8-pc", "palette4-pc", "eightbit"]

  func validate() throws {
    try checkQuantizeName(quantize)
    if targetPSNR != nil && !isAuto {
      throw ValidationError("--target-psnr applies only with --quantize auto (got \(quantize.map { "--quantize \($0)" } ?? "--plan \(plan ?? "")"))")
    }
    if plan != nil, let q = quantize, q != "auto" {
      throw ValidationError("--plan goes with --quantize auto (to save the chosen plan) or alone (to report on a saved plan), not with --quantize \(q)")
    }
    guard calibration >= 1 else { throw ValidationError("--calibration \(calibration): give at least 1 input") }
    // Output paths are checked before the analysis, which can take a while.
    if let html { try checkOutputFolder(html, option: "--html") }
    if let plan, isAuto { try checkOutputFolder(plan, option: "--plan") }
  }

  /// Whether the plan is chosen by the auto quantizer (the default) rather than given.
  var isAuto: Bool { quantize == "auto" || (quantize == nil && plan == nil) }

  func run() throws {
    let targetPSNR = self.targetPSNR ?? 30
    var m = try model.load(modelPath)
    var passes: [String: Int] = [:]
    for r in try optimization.optimizeReports(&m.graph) { passes[r.pass] = r.changes }
    let cal = try CalibrationSet(graph: m.graph, batch: calibration)
    var options: [String: [EncodingOption]]? = nil
    let plan: QuantizationPlan
    var planName = quantize ?? "auto"
    if isAuto {
      var auto = AutoQuantizer()
      auto.deflate = deflate
      let result = try auto.run(cal, targetPSNR: targetPSNR) { printErr("auto: \($0)") }
      plan = result.plan
      options = result.options
      planName = String(format: "auto (target %.1f dB)", targetPSNR)
      if let file = self.plan {
        try AtomicFile.write(try PlanFile(plan, targetPSNR: targetPSNR, measuredPSNR: result.measured.psnr).data(), to: URL(fileURLWithPath: file))
        printErr("auto: plan saved to \(file)")
      }
    } else if let file = self.plan {
      plan = try PlanFile.load(URL(fileURLWithPath: file), for: m.graph)
      planName = "from \(file)"
    } else {
      plan = try QuantizationPlan.uniform(quantize ?? "none", for: m.graph)
    }
    let points = sweep ? try QuantReport.sweep(Self.sweepSchemes, cal: cal, deflate: deflate) : []
    // The bundle as it would be written, and its size deflated as a whole (what a server would send gzip'd).
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("moe-report-\(UUID().uuidString).moe")
    defer { try? FileManager.default.removeItem(at: tmp) }
    let summary = try ModelFile.writeBundle(m.graph, to: tmp, plan: plan, deflate: deflate)
    let gz = try deflateBytes([UInt8](try Data(contentsOf: tmp)), level: 6).count
    let report = try QuantReport.build(model: m.graph.metadata["model"] ?? m.graph.name, planName: planName, plan: plan, cal: cal,
                                       deflate: deflate, options: options, passes: passes, schemes: points,
                                       bundleBytes: summary.fileBytes, bundleGzipBytes: gz)
    print(json ? try report.json() : report.text(verbose: verbose) + "\n" + (try planSizeLine(plan, m.graph)))
    if let html {
      let page = report.html(imageURI: { chw, side in
        "data:image/png;base64," + PNG.encode(rgb: PNG.rgb(fromCHW: chw, side: side), width: side, height: side).base64EncodedString()
      })
      try AtomicFile.write(Data(page.utf8), to: URL(fileURLWithPath: html))
    }
  }
}
