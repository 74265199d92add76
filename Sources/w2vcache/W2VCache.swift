import ArgumentParser
import Foundation
import Support
import VectorCache

/// The `w2vcache` command: a word2vec embedding cache on LevelDB.
///
/// Every numeric option is declared with `parsing: .unconditional`: by default argument-parser takes the `-3` of
/// `--top -3` for an option and says the value is missing, where the command's own check names the bound.
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

    /// The process's arguments as it got them: `CommandLine.arguments` has U+FFFD where one holds bytes that are not
    /// UTF-8, such as a word a cache keeps as its file wrote it.
    static let argumentBytes: [[UInt8]] = (0..<Int(CommandLine.argc)).map { index in
        CommandLine.unsafeArgv[index].map { Array(UnsafeRawBufferPointer(start: $0, count: strlen($0))) } ?? []
    }

    /// The bytes the process got for each of `arguments`, arguments that argument-parser read (in their order): an
    /// argument that is not UTF-8 reaches them with U+FFFD in place of its bytes, so each is the next argument of
    /// the process whose text is the argument's. Two arguments that differ only in bytes that are not UTF-8 read
    /// alike, and an option's value that reads as a later word does may stand for it.
    static func argumentBytes(of arguments: [String]) -> [[UInt8]] {
        var next = argumentBytes.startIndex
        return arguments.map { argument in
            guard
                let index = argumentBytes[next...].firstIndex(where: {
                    String(decoding: $0, as: UTF8.self) == argument
                })
            else { return Array(argument.utf8) }
            next = index + 1
            return argumentBytes[index]
        }
    }

    /// Parses and runs a command. What argument-parser prints on failure (usage errors, and `Error: ` with the
    /// error's description) is printed with each line's control characters escaped: file contents and file names
    /// reach error messages. A lookup in its plain forms skips argument-parser (see `LookupCommand.Invocation`).
    static func main() async {
        var running: (any ParsableCommand.Type)?
        do {
            if let lookup = LookupCommand.Invocation(
                plainArguments: Array(CommandLine.arguments.dropFirst()), bytes: Array(argumentBytes.dropFirst()))
            {
                try lookup.run()
                return
            }
            var command = try parseAsRoot()
            running = type(of: command)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as CacheError where error.kind == .interrupted {
            // SIGINT or SIGTERM, polled by a long command (`installInterruptHandlers()`), which left the cache as it
            // was: the shell's status for an interrupted command.
            Terminal.endProgress()
            Terminal.message("w2vcache: \(error.message)")
            Foundation.exit(130)
        } catch {
            var code = exitCode(for: error)
            var message = fullMessage(for: error)
            if error is ValidationError, let running, let path = commandPath(to: running) {
                // A command's own bounds, checked as it runs (against the cache or the dataset): its usage, as for
                // bounds its `validate()` checks, not the root's `Usage: w2vcache <subcommand>`.
                message =
                    "Error: \(error)\nUsage: \(usageString(for: running))\n  See '\(path) --help' for more information."
            }
            if code != .success { message += notUTF8Note(for: message) }
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

    /// A line for a failure whose message holds an argument that is not UTF-8, as U+FFFD in place of its bytes:
    /// such bytes reach the words a command looks up (``argumentBytes(of:)``), but a file name or another value is
    /// read as text, so a file of that name is "no such file". Empty when no argument of the message is one.
    static func notUTF8Note(for message: String) -> String {
        let arguments = argumentBytes.dropFirst().filter {
            String(validating: $0, as: UTF8.self) == nil && message.contains(String(decoding: $0, as: UTF8.self))
        }
        guard !arguments.isEmpty else { return "" }
        return "\nNote: \(arguments.map { Printable.escape(bytes: $0) }.joined(separator: ", ")) "
            + (arguments.count == 1 ? "holds bytes" : "hold bytes")
            + " that are not UTF-8, which w2vcache takes in the words it looks up but not in a file name or another"
            + " value (that reads them as U+FFFD); expected a UTF-8 name"
    }

    /// `w2vcache prepare pos`: the names that lead to `command` from this one, or `nil` if none does.
    static func commandPath(to command: any ParsableCommand.Type, from root: any ParsableCommand.Type = W2VCache.self)
        -> String?
    {
        let name = root.configuration.commandName ?? "w2vcache"
        if command == root { return name }
        for subcommand in root.configuration.subcommands {
            if let path = commandPath(to: command, from: subcommand) { return name + " " + path }
        }
        return nil
    }
}
