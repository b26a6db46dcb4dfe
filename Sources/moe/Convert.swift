// moe convert: a model file in, another format out (by extension), optionally quantized, written atomically.
import ArgumentParser
import Foundation
import MoeFormats
import MoeModels
import MoeQuant

struct Convert: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Convert a checkpoint to another format (by the output's extension).")

  @Argument(help: ArgumentHelp("Input model: \(ModelFile.inputFormatsHelp)."))
  var input: String

  @Option(name: .shortAndLong, help: "Output: .moe (browser bundle), .moeir (IR text; weights beside it as NAME.weights.npz), .onnx, .npz or .h5 (Chainer layout), .safetensors (PyTorch state_dict), .py (PyTorch nn.Module source + NAME.safetensors beside it).")
  var output: String

  @OptionGroup var model: ModelOptions

  @OptionGroup var optimization: OptimizeOptions

  @Option(help: ArgumentHelp("\(quantizeNamesHelp) for a .moe bundle; none or int8 (DequantizeLinear, per output channel) for .onnx. Default: keep the input's encodings (a quantized .moe, an int8 .onnx), else float32."))
  var quantize: String?

  @Option(name: .customLong("target-psnr"), help: "With --quantize auto: the output PSNR (dB) to keep against the float model (default 30).")
  var targetPSNR: Double?

  @Option(help: "A quantization plan (JSON, per-weight scheme): with --quantize auto, where the chosen plan is saved; without --quantize, the plan to use (as saved by convert or report).")
  var plan: String?

  @Flag(help: "Print what each optimization pass changed.")
  var verbose = false

  @Flag(help: "Deflate each bundle payload (zlib) when that makes it smaller.")
  var deflate = false

  @Option(help: "ONNX opset of a .onnx output (13–21).")
  var opset: Int = 17

  func validate() throws {
    try checkQuantizeName(quantize)
    if targetPSNR != nil && quantize != "auto" {
      throw ValidationError("--target-psnr applies only with --quantize auto (got \(quantize.map { "--quantize \($0)" } ?? "no --quantize"))")
    }
    if plan != nil, let q = quantize, q != "auto" {
      throw ValidationError("--plan goes with --quantize auto (to save the chosen plan) or alone (to use a saved plan), not with --quantize \(q)")
    }
    if let plan, quantize == "auto" { try checkOutputFolder(plan, option: "--plan") }
    guard (13...21).contains(opset) else { throw ValidationError("--opset \(opset): MoeKit writes ONNX opsets 13–21") }
    let ext = URL(fileURLWithPath: output).pathExtension.lowercased()
    guard ModelFile.writable.contains(ext) else {
      throw ValidationError("\(output): unsupported output format '.\(ext)'; supported: \(ModelFile.writable.map { "." + $0 }.joined(separator: ", "))")
    }
  }

  func run() throws {
    var m = try model.load(input)
    let ext = URL(fileURLWithPath: output).pathExtension.lowercased()
    // A Chainer checkpoint keeps Chainer's layout: its weights are written as imported.
    if ext == "moeir" || ext == "moe" || ext == "onnx" {
      try optimization.optimize(&m.graph, log: verbose)
    }
    if let q = quantize, q != "none", ext != "moe" {
      guard ext == "onnx" else { throw ValidationError("--quantize applies to .moe bundles and .onnx; \(output) is .\(ext)") }
      guard q == "int8" else {
        throw ValidationError("--quantize \(q): ONNX output takes none or int8 (int8 weights become DequantizeLinear); f16, int4, palette, eightbit and auto exist only in .moe bundles")
      }
    }
    var plan = QuantizationPlan()
    if quantize == nil, let file = self.plan {
      guard ext == "moe" else { throw ValidationError("--plan applies to .moe bundles; \(output) is .\(ext)") }
      plan = try PlanFile.load(URL(fileURLWithPath: file), for: m.graph)
      print("plan \(file): \(plan.schemes.count) encoded weight(s); " + (try planSizeLine(plan, m.graph)))
    } else if quantize == nil {
      plan = QuantizationPlan.keeping(m.encodings, for: m.graph)
    } else if quantize == "auto" {
      let cal = try CalibrationSet(graph: m.graph)
      let targetPSNR = self.targetPSNR ?? 30
      var auto = AutoQuantizer()
      auto.deflate = deflate
      let result = try auto.run(cal, targetPSNR: targetPSNR) { printErr("auto: \($0)") }
      plan = result.plan
      print(String(format: "auto: measured output PSNR %.2f dB (target %.2f), %d forward passes; ", result.measured.psnr, targetPSNR, result.passes)
        + (try planSizeLine(plan, m.graph)))
      if let file = self.plan {
        try AtomicFile.write(try PlanFile(plan, targetPSNR: targetPSNR, measuredPSNR: result.measured.psnr).data(), to: URL(fileURLWithPath: file))
        print("auto: plan saved to \(file)")
      }
    } else {
      plan = try QuantizationPlan.uniform(quantize ?? "none", for: m.graph)
    }
    if ext == "onnx" {
      let split = plan.forONNX()
      plan = split.onnx
      if !split.decoded.isEmpty {
        let kinds = Set(split.decoded.values.map(\.description)).sorted().joined(separator: ", ")
        printErr("note: \(split.decoded.count) weight(s) encoded \(kinds) are written to ONNX as float32 (their decoded values): ONNX has no such encoding; int8 weights use DequantizeLinear")
      }
      if !plan.schemes.isEmpty { print("  \(plan.schemes.count) weight(s) as int8 → DequantizeLinear") }
    }
    try ModelFile.write(m, to: URL(fileURLWithPath: output), plan: plan, deflate: deflate, sourceURL: URL(fileURLWithPath: input),
                        onnxOpset: opset)
    let prefix = m.prefix.isEmpty ? "" : " (prefix '\(m.prefix)')"
    let what = m.graph.metadata["model"] ?? m.graph.metadata["arch"] ?? m.graph.name
    print("\(input)\(prefix) → \(output): \(what), \(m.graph.nodes.count) nodes, \(m.graph.parameterCount) parameters")
  }
}
