import ArgumentParser
import Foundation
import Support
import Synchronization
import Word2Vec

/// `w2vcache sample`: writes the project's sample vectors file.
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Write a small, deterministic GoogleNews-shaped vectors file (the project's sample data).",
        discussion: """
            The same options give the same words and values on every machine. The vectors carry no meaning. The file \
            is written beside its place and renamed into it once whole: a file that cannot fit in the free space is \
            refused before anything is written, and Ctrl-C or SIGTERM stops it with nothing written (exit status 130).
            """
    )

    @Option(help: ArgumentHelp("The file to write; gzipped if it ends in .gz.", valueName: "file"))
    var output: String = "data/sample-vectors.bin.gz"

    @Option(parsing: .unconditional, help: "How many words (1 to \(SampleVectors.maxCount)).")
    var words: Int = 3000

    @Option(
        parsing: .unconditional, help: "Vector dimension (1 to \(Word2VecReader.maxDimension), what a reader accepts).")
    var dim: Int = 300

    @Option(parsing: .unconditional, help: "Random seed.")
    var seed: UInt64 = 42

    @Flag(help: "Write word2vec text instead of binary.")
    var text = false

    @Flag(help: "Replace --output if it exists.")
    var force = false

    func validate() throws {
        guard !output.isEmpty else { throw ValidationError("--output is empty; expected the file to write") }
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
        if exists && information.st_mode & S_IFMT == S_IFDIR {
            throw ValidationError("\(output) is a directory; expected the file to write (a path with its name)")
        }
        if !force && exists {
            throw ValidationError("\(output) exists; nothing was written (pass --force to replace it)")
        }
        // A file is written beside its place and renamed into it once whole: a failure or a kill never leaves a part
        // of it there (which `scripts/demo` would take for the sample), and --force keeps the old file until then.
        // Anything else that exists (/dev/stdout, a pipe) is written as it is.
        let inPlace = exists && information.st_mode & S_IFMT != S_IFREG
        let layout: Word2VecWriter.Layout = text ? .text : .binary(newlineAfterVector: false)
        let partial = PartialFile(for: output)
        if !inPlace {
            PartialFile.removeStale(of: output, isOurs: Self.isStartOfSample)
            try checkFreeSpace(layout: layout)
        }
        installInterruptHandlers()
        let progress = SampleProgress(words: words)
        do {
            try SampleVectors.write(
                path: inPlace ? output : partial.path, count: words, dimension: dim, seed: seed, layout: layout
            ) { written in
                if interruptRequested.load(ordering: .relaxed) { throw Interrupted() }
                progress.show(written)
            }
            Terminal.endProgress()
            if !inPlace { try partial.commit() }
        } catch {
            Terminal.endProgress()
            if !inPlace { partial.discard() }
            guard error is Interrupted else { throw error }
            Terminal.message(
                "w2vcache: interrupted; \(output) \(inPlace ? "got an incomplete file" : "was not written")")
            throw ExitCode(130)
        }
        Terminal.message("wrote \(output): \(Plural.count(words, "word")), dim \(dim)")
    }

    /// A stop asked for by SIGINT or SIGTERM.
    private struct Interrupted: Error {}

    /// Refuses a file larger than the free space of the file system it goes to, before anything is written
    /// (`--words 1000000 --dim 1048576` is terabytes).
    private func checkFreeSpace(layout: Word2VecWriter.Layout) throws {
        let directory = URL(fileURLWithPath: output).deletingLastPathComponent().path
        var fileSystem = statvfs()
        guard statvfs(directory, &fileSystem) == 0 else { return }  // the write itself says what is wrong
        let free = UInt64(fileSystem.f_bavail) * UInt64(fileSystem.f_frsize)
        let gzip = output.hasSuffix(".gz")
        let least = SampleVectors.leastBytes(count: words, dimension: dim, layout: layout, gzip: gzip)
        guard UInt64(least) <= free else {
            throw ValidationError(
                "\(words) words of \(dim) values take at least \(Human.bytes(Double(least)))"
                    + "\(gzip ? " gzipped" : ""), more than the \(Human.bytes(Double(free))) free in \(directory); "
                    + "nothing was written")
        }
    }

    /// Whether `bytes` can be the start of a file `sample` writes: empty, gzip's magic, or a header `COUNT DIM\n`.
    static func isStartOfSample(_ bytes: [UInt8]) -> Bool {
        if bytes.first == 0x1F { return bytes.count < 2 || bytes[1] == 0x8B }
        var fields = 0
        var digits = 0
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits += 1
            case UInt8(ascii: " ") where fields == 0 && digits > 0: (fields, digits) = (1, 0)
            case UInt8(ascii: "\n") where fields == 1 && digits > 0: return true
            default: return false
            }
        }
        return true
    }
}

/// `sample`'s progress line on a terminal: words written, the share done and the time left.
private final class SampleProgress {
    private let words: Int
    private let started = Date()
    private var lastShown = Date.distantPast

    init(words: Int) {
        self.words = words
    }

    func show(_ written: Int) {
        let now = Date()
        guard now.timeIntervalSince(lastShown) >= 0.25 else { return }
        lastShown = now
        let elapsed = now.timeIntervalSince(started)
        let fraction = Double(written) / Double(words)
        let eta = fraction > 0.01 ? elapsed / fraction - elapsed : 0
        Terminal.progress(
            "writing \(Human.count(Double(written))) of \(Human.count(Double(words))) words  "
                + String(format: "%.0f%%", fraction * 100) + (eta > 0 ? "  ETA \(Human.duration(eta))" : ""))
    }
}
