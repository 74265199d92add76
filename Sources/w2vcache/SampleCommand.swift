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

    @Option(help: "How many words.")
    var words: Int = 3000

    @Option(help: "Vector dimension.")
    var dim: Int = 300

    @Option(help: "Random seed.")
    var seed: UInt64 = 42

    @Flag(help: "Write word2vec text instead of binary.")
    var text = false

    @Flag(help: "Replace --output if it exists.")
    var force = false

    func validate() throws {
        if words <= 0 || dim <= 0 { throw ValidationError("--words and --dim must be positive") }
    }

    func run() throws {
        if !force && FileManager.default.fileExists(atPath: output) {
            throw ValidationError("\(output) exists; nothing was written (pass --force to replace it)")
        }
        try SampleVectors.write(
            path: output, count: words, dimension: dim, seed: seed,
            layout: text ? .text : .binary(newlineAfterVector: false))
        Terminal.message("wrote \(output): \(words) words, dim \(dim)")
    }
}
