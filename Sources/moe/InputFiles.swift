// InputFiles: graph inputs read from .npy files given as X.npy (single-input models) or NAME=X.npy.
import ArgumentParser
import Foundation
import MoeFormats
import MoeIR

/// Reads `specs` (`X.npy` or `NAME=X.npy`) as feeds for `g`; shapes must fit the inputs (symbols bind freely).
func readInputs(_ specs: [String], for g: Graph, modelPath: String) throws -> [String: Tensor] {
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
    let a = try Npy.read(URL(fileURLWithPath: file))
    let values: [Float]
    do { values = try a.floats() } catch { throw ValidationError("\(file): \(error)") }
    let want = g.inputs.first { $0.name == name }!.shape
    let fits = want.rank == a.shape.count && zip(want.dims, a.shape).allSatisfy { $0.value == nil || $0.value == $1 }
    guard fits else {
      throw ValidationError("\(file): shape \(a.shape) does not fit input '\(name)' of \(modelPath), expected \(want)")
    }
    feeds[name] = Tensor(shape: a.shape, data: values)
  }
  return feeds
}
