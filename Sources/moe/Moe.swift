// moe: the MoeKit command line (one subcommand per file; the work happens in the libraries).
import ArgumentParser

@main
struct Moe: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "moe",
    abstract: "Carry trained generative models from Chainer to native and browser runtimes.",
    version: "0.1.0",
    subcommands: [Convert.self, Run.self, Bench.self, Inspect.self, Generate.self, Report.self, Verify.self, ExportSite.self, Serve.self, DatasetCommand.self])
}
