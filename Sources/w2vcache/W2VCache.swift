import ArgumentParser
import Foundation
import Support
import VectorCache

/// The `w2vcache` command: a word2vec embedding cache on LevelDB.
@main
struct W2VCache: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "w2vcache",
        abstract: "A word2vec embedding cache on LevelDB.",
        discussion: """
            Build a cache once from a word2vec file (binary or text, gzipped or not), then read vectors in \
            milliseconds. Keys are the words' UTF-8 bytes and values raw little-endian float32, so Python reads the \
            cache with plyvel and numpy unchanged.
            """,
        version: w2vcacheVersion,
        subcommands: [
            BuildCommand.self, LookupCommand.self, InfoCommand.self, VerifyCommand.self, PrepareCommand.self,
            DatasetsCommand.self, BatchesCommand.self, ServeCommand.self, SimilarCommand.self, AnalogyCommand.self,
            EvaluateCommand.self, CopyCommand.self, TokenizeCommand.self, SampleCommand.self,
        ]
    )

    /// Parses and runs a command. What argument-parser prints on failure (usage errors, and `Error: ` with the
    /// error's description) is printed with each line's control characters escaped: file contents and file names
    /// reach error messages. A lookup in its plain forms skips argument-parser (see `LookupCommand.Invocation`).
    static func main() async {
        do {
            if let lookup = LookupCommand.Invocation(plainArguments: Array(CommandLine.arguments.dropFirst())) {
                try lookup.run()
                return
            }
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            var code = exitCode(for: error)
            let message = fullMessage(for: error)
            if !message.isEmpty {
                let escaped =
                    message.split(separator: "\n", omittingEmptySubsequences: false).map { Printable.escape($0) }
                    .joined(separator: "\n") + "\n"
                if code == .success {
                    // Help and the version, asked for.
                    do { try Terminal.writeStdout(Array(escaped.utf8)) } catch {
                        Terminal.writeStderr(Array("Error: \(error)\n".utf8))
                        code = .failure
                    }
                } else {
                    Terminal.writeStderr(Array(escaped.utf8))
                }
            }
            Foundation.exit(code.rawValue)
        }
    }
}
