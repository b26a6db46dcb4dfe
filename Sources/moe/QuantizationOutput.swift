// QuantizationOutput: what convert and report share about a plan: its size line and checks of output paths.
import ArgumentParser
import Foundation
import MoeIR
import MoeQuant

/// One line with the stored weight bytes of `plan` on `g`, without and with per-payload deflate, and float32's.
/// `convert` and `report` both print it, so the same plan gives the same numbers in both.
func planSizeLine(_ plan: QuantizationPlan, _ g: Graph) throws -> String {
  let stored = try plan.storedBytes(g, deflate: false), deflated = try plan.storedBytes(g, deflate: true)
  let float = try QuantizationPlan().storedBytes(g, deflate: false)
  return "weights \(humanBytes(stored)), \(humanBytes(deflated)) with --deflate (float32 \(humanBytes(float)))"
}

/// Refuses an output path whose folder does not exist or that is a folder, before any long work.
func checkOutputFolder(_ path: String, option: String) throws {
  let url = URL(fileURLWithPath: path)
  var isDir: ObjCBool = false
  if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
    throw ValidationError("\(option) \(path): is a folder; give a file path")
  }
  let folder = url.deletingLastPathComponent()
  guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDir) else {
    throw ValidationError("\(option) \(path): folder '\(folder.path)' does not exist")
  }
  guard isDir.boolValue else { throw ValidationError("\(option) \(path): '\(folder.path)' is not a folder") }
  guard FileManager.default.isWritableFile(atPath: folder.path) else {
    throw ValidationError("\(option) \(path): folder '\(folder.path)' is not writable")
  }
}

/// The `--quantize` help of convert and report: every name the scheme parser reads (`QuantizationPlan.uniformNameList`).
let quantizeNamesHelp = "Weight encoding: \(QuantizationPlan.uniformNameList)"

/// Refuses a `--quantize` value no scheme has, before the model is read; the error lists every accepted name.
func checkQuantizeName(_ name: String?) throws {
  guard let name, name != "auto" else { return }
  do { _ = try QuantizationPlan.uniform(name, for: Graph(name: "")) } catch let e as QuantError {
    throw ValidationError("--quantize \(name): \(e)")
  }
}
