import ArgumentParser
import Foundation
import Word2Vec

/// `w2vcache sample`: writes the project's sample vectors file.
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Write a small, deterministic GoogleNews-shaped vectors file (the project's sample data).",
        discussion: "The same options give the same words and values on every machine. The vectors carry no meaning."
    )

    @Option(help: ArgumentHelp("The file to write; gzipped if it ends in .gz.", valueName: "file"))
    var output: String = "data/sample-vectors.bin.gz"

    @Option(help: "How many words (1 to \(SampleVectors.maxCount)).")
    var words: Int = 3000

    @Option(help: "Vector dimension (1 to \(Word2VecReader.maxDimension), what a reader accepts).")
    var dim: Int = 300

    @Option(help: "Random seed.")
    var seed: UInt64 = 42

    @Flag(help: "Write word2vec text instead of binary.")
    var text = false

    @Flag(help: "Replace --output if it exists.")
    var force = false

    func validate() throws {
        guard (1...SampleVectors.maxCount).contains(words) else {
            throw ValidationError("--words \(words): expected 1 to \(SampleVectors.maxCount)")
        }
        guard (1...Word2VecReader.maxDimension).contains(dim) else {
            throw ValidationError("--dim \(dim): expected 1 to \(Word2VecReader.maxDimension)")
        }
    }

    func run() throws {
        var information = stat()
        let exists = stat(output, &information) == 0
        if !force && exists {
            throw ValidationError("\(output) exists; nothing was written (pass --force to replace it)")
        }
        // A file is written beside its place and renamed into it once whole: a failure or a kill never leaves a part
        // of it there (which `scripts/demo` would take for the sample), and --force keeps the old file until then.
        // Anything else that exists (/dev/stdout, a pipe) is written as it is.
        let inPlace = exists && information.st_mode & S_IFMT != S_IFREG
        let url = URL(fileURLWithPath: output)
        let partial = url.deletingLastPathComponent().appendingPathComponent(
            ".partial-\(getpid())-" + url.lastPathComponent
        ).path
        let written = inPlace ? output : partial
        do {
            try SampleVectors.write(
                path: written, count: words, dimension: dim, seed: seed,
                layout: text ? .text : .binary(newlineAfterVector: false))
            if !inPlace && rename(partial, output) != 0 {
                throw Word2VecError(
                    file: output, kind: .cannotOpen,
                    message: "cannot move it into place: \(String(cString: strerror(errno)))")
            }
        } catch {
            if !inPlace { unlink(partial) }
            throw error
        }
        Terminal.message("wrote \(output): \(words) words, dim \(dim)")
    }
}
