// ModelOptions: the flags every command that opens a model shares (--arch, --prefix, --bn-eps, --strict, --allow-unused).
import ArgumentParser
import Foundation
import MoeFormats
import MoeIR
import MoeModels

struct ModelOptions: ParsableArguments {
  @Option(help: ArgumentHelp("Zoo architecture (\(Zoo.names.joined(separator: ", "))) or a traced .moeir (default: inferred from the keys)."))
  var arch: String?

  @Option(help: "Subtree of the checkpoint holding the model (default: auto-detected).")
  var prefix: String?

  @Option(name: .customLong("bn-eps"), help: "BatchNormalization eps for Chainer input (Chainer's default 2e-5).")
  var bnEps: Float = chainerBatchNormEps

  @Flag(help: "Fail on checkpoint keys the architecture does not use.")
  var strict = false

  @Flag(name: .customLong("allow-unused"), help: "Accept checkpoint keys shaped like parameters of the inferred architecture that it does not use (e.g. res/5/… beside five residual blocks), instead of failing.")
  var allowUnused = false

  var importOptions: ChainerImportOptions {
    .init(arch: arch, prefix: prefix, bnEps: bnEps, strict: strict, allowUnused: allowUnused)
  }

  /// Loads `path` and prints notes (conversions, unused keys) to stderr.
  func load(_ path: String) throws -> ImportedModel {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
      throw ValidationError("\(path): is a directory; expected a model file (\(ModelFile.readable.map { "." + $0 }.joined(separator: ", ")))")
    }
    let m = try ModelFile.load(URL(fileURLWithPath: path), options: importOptions)
    for n in m.notes { printErr("note: \(n)") }
    if !m.unusedKeys.isEmpty {
      let shown = m.unusedKeys.prefix(8).joined(separator: ", ")
      printErr("note: \(path): \(m.unusedKeys.count) unused key(s): \(shown)\(m.unusedKeys.count > 8 ? ", …" : "")")
    }
    return m
  }
}

func printErr(_ s: String) {
  FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// Input shapes with the symbolic batch bound, for messages and sampling.
func boundShape(_ v: ValueInfo, batch: Int) -> [Int] {
  v.shape.dims.map { d in d.value ?? batch }
}
