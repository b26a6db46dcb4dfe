// InputFiles: graph inputs read from .npy files given as X.npy (single-input models) or NAME=X.npy.
import ArgumentParser
import Foundation
import MoeFormats
import MoeIR

/// Reads `specs` (`X.npy` or `NAME=X.npy`) as feeds for `g`; shapes must fit the inputs (symbols bind freely).
///
/// Models compute in float32. Other dtypes are converted with a note on stderr naming the file and the dtype
/// (float64 rounds to nearest; integers beyond ±2^24 and float64 values beyond float32's range do not survive,
/// and the latter become ±Inf). NaN or ±Inf values (after conversion) are refused, naming the file and the count,
/// unless `allowNonFinite`: a model run on them yields NaN outputs that look like a bug in the model.
func readInputs(_ specs: [String], for g: Graph, modelPath: String, allowNonFinite: Bool = false) throws -> [String: Tensor] {
  var feeds: [String: Tensor] = [:]
  for spec in specs {
    var name: String, file: String
    if let eq = spec.firstIndex(of: "="), g.inputs.contains(where: { $0.name == spec[..<eq] }) {
      name = String(spec[..<eq])
      file = String(spec[spec.index(after: eq)...])
    } else if spec.contains("=") && !FileManager.default.fileExists(atPath: spec) {
      throw ValidationError("\(modelPath): no input named '\(spec.prefix(while: { $0 != "=" }))'; inputs: \(g.inputs.map(\.name).joined(separator: ", "))")
    } else {
      guard g.inputs.count == 1 else {
        throw ValidationError("the model has inputs \(g.inputs.map(\.name).joined(separator: ", ")); name each: --input NAME=X.npy")
      }
      name = g.inputs[0].name
      file = spec
    }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), isDirectory.boolValue {
      throw ValidationError("\(file): is a directory; --input expects a .npy file")
    }
    let a = try Npy.read(URL(fileURLWithPath: file))
    let values: [Float]
    do { values = try a.floats() } catch { throw ValidationError("\(file): \(error)") }
    let want = g.inputs.first { $0.name == name }!.shape
    let fits = want.rank == a.shape.count && zip(want.dims, a.shape).allSatisfy { $0.value == nil || $0.value == $1 }
    guard fits else {
      throw ValidationError("\(file): shape \(a.shape) does not fit input '\(name)' of \(modelPath), expected \(want)")
    }
    if a.dtype != .float32 {
      printErr("note: \(file): input '\(name)' is \(a.dtype.rawValue) (\(a.dtype.descr)); converted to float32")
    }
    let nan = values.lazy.filter(\.isNaN).count
    let infinite = values.lazy.filter(\.isInfinite).count
    if nan + infinite > 0 {
      let first = values.firstIndex { !$0.isFinite }!
      let what = "\(nan + infinite) non-finite value(s) (\(nan) NaN, \(infinite) ±Inf\(a.dtype == .float32 ? "" : " after conversion to float32"); first at flat index \(first))"
      guard allowNonFinite else {
        throw ValidationError("\(file): input '\(name)' holds \(what); pass --allow-non-finite to run it anyway")
      }
      printErr("note: \(file): input '\(name)' holds \(what); running it (--allow-non-finite)")
    }
    feeds[name] = Tensor(shape: a.shape, data: values)
  }
  return feeds
}

/// The flag that lets `run` and `verify` feed NaN or ±Inf inputs.
struct InputOptions: ParsableArguments {
  @Flag(name: .customLong("allow-non-finite"), help: "Run .npy inputs holding NaN or ±Inf (refused by default).")
  var allowNonFinite = false
}
