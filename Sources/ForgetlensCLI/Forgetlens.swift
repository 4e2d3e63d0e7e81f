import ArgumentParser
import Foundation

/// The root command. Subcommands are small structs, one file each.
public struct Forgetlens: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "forgetlens",
        abstract: "What a fine-tune cost and what it bought: evaluation, forgetting probes and weight spectra.",
        version: "0.2.0",
        subcommands: [SpectraCommand.self, TokenizeCommand.self, Logprobs.self, EvalCommand.self, TasksCommand.self, RunCommand.self, MergeCommand.self, StatusCommand.self, ReportCommand.self, ParetoCommand.self, ExportCommand.self, ImportCommand.self, CodeEvalCommand.self]
    )

    public init() {}

    /// Entry point used by the executable: usage errors keep ArgumentParser's exit code (64);
    /// errors in the user's files print one clear line and exit with status 2.
    public static func runMain(arguments: [String]? = nil) -> Never {
        let command: ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exit(withError: error)
        }
        do {
            var mutable = command
            try mutable.run()
            Foundation.exit(0)
        } catch let error as ExitCode {
            Foundation.exit(error.rawValue)
        } catch let error where error is CleanExit || error is ValidationError {
            exit(withError: error)
        } catch where exitCode(for: error) != .failure {
            // ArgumentParser's own flow: `--help` parses to its help command, whose run() throws
            // a help request (exit code 0); printing it is ArgumentParser's job.
            exit(withError: error)
        } catch {
            FileHandle.standardError.write(Data("forgetlens: error: \(describe(error))\n".utf8))
            Foundation.exit(2)
        }
    }

    static func describe(_ error: Error) -> String {
        String(describing: error)
    }
}
