// moe: the MoeKit command line (one subcommand per file; the work happens in the libraries).
import ArgumentParser
import MoeFormats

@main
struct Moe: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "moe",
    abstract: "Carry trained generative models from Chainer to native and browser runtimes.",
    version: "0.1.0",
    subcommands: [Convert.self, Run.self, Bench.self, Inspect.self, Generate.self, Report.self, Verify.self, ExportSite.self, Serve.self, DatasetCommand.self, Train.self, BenchTrain.self, TrainTagger.self, Tag.self, Evaluate.self])

  /// ArgumentParser's entry point, after refusing `moe help TOPIC` for an unknown TOPIC (it would print the
  /// general help and exit 0, so a typo looked like success).
  static func main() async {
    // A probe child reads one HDF5 file and exits; the tool itself lets a child parse each HDF5 file first, so that a
    // crash inside libhdf5 on a malformed file is reported as an error (HDF5Isolation).
    HDF5Isolation.runProbeIfRequested()
    HDF5Isolation.current = .childProcess(executable: "/proc/self/exe")
    do {
      let arguments = Array(CommandLine.arguments.dropFirst())
      try checkHelpTopic(arguments)
      var command = try parseAsRoot(arguments)
      if var asyncCommand = command as? AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
    } catch {
      exit(withError: error)
    }
  }

  /// Throws when `arguments` is `help NAME…` and NAME… is not a path of subcommands.
  static func checkHelpTopic(_ arguments: [String]) throws {
    guard arguments.first == "help" else { return }
    var command: ParsableCommand.Type = Moe.self
    var path = ["moe"]
    for word in arguments.dropFirst() where !word.hasPrefix("-") {
      let subcommands = command.configuration.subcommands
      guard let next = subcommands.first(where: { $0._commandName == word }) else {
        let known = subcommands.map { $0._commandName }.joined(separator: ", ")
        throw ValidationError("no help topic '\(word)' for \(path.joined(separator: " ")); "
          + (known.isEmpty ? "it has no subcommands" : "topics: \(known)"))
      }
      command = next
      path.append(word)
    }
  }
}
