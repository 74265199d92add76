import ArgumentParser
import Foundation
import Settings
import Synchronization
import VectorCache
import Word2Vec


/// `w2vcache build`: streams a vectors file into a new cache and swaps it into place.
struct BuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build the cache from a word2vec, GloVe or fastText file (gzipped or not).",
        discussion: """
            The file is streamed, never held in memory. The new cache is written beside the old one and swapped in \
            only when complete: a failed or interrupted build leaves the previous cache as it was. --db must name a \
            new or empty directory or an existing w2vcache cache; anything else is refused and left untouched. One \
            build or prepare writes a cache at a time. Words may be up to \(Word2VecReader.maxWordLength) bytes long.
            """
    )

    @OptionGroup var cache: CacheOptions
    @OptionGroup var writer: WriterOptions

    @Option(name: .long, help: ArgumentHelp("The vectors file, e.g. GoogleNews-vectors-negative300.bin.gz.", valueName: "file"))
    var vectors: String

    @Option(name: .long, help: "The file's layout (default: build.format of the configuration, auto).")
    var format: FormatChoice?

    @Option(name: .long, help: "Keep only the first N vectors of the file (like gensim's limit).")
    var limit: Int?

    @Option(name: .customLong("only-words"), help: ArgumentHelp("Keep only the words listed in this file, one per line.", valueName: "file"))
    var onlyWords: String?

    @Option(name: .customLong("non-finite"), help: "Vectors with NaN or infinity (default: build.non_finite, fail).")
    var nonFinite: NonFinitePolicy?

    @Option(name: .customLong("invalid-utf8"), help: "Words that are not valid UTF-8: keep (raw bytes), skip or fail (default: build.invalid_utf8, keep).")
    var invalidUTF8: InvalidUTF8Policy?

    @Flag(name: .customLong("trust-header"), help: "Read only as many vectors as the header announces, as gensim does, even if more follow (default: more is an error).")
    var trustHeader = false

    @Flag(inversion: .prefixedNo, help: "Make the search index that similar, analogy and evaluate need (default: build.search_index, on).")
    var searchIndex: Bool?

    func validate() throws {
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
    }

    func run() throws {
        let configuration = try cache.loadConfiguration()
        var request = Self.request(vectors: vectors, cachePath: cache.cachePath(configuration), configuration: configuration)
        if let format { request.settings.format = format.format }
        if let nonFinite { request.settings.nonFinite = nonFinite }
        if let invalidUTF8 { request.settings.invalidUTF8 = invalidUTF8 }
        if let searchIndex { request.settings.searchIndex = searchIndex }
        request.limit = limit
        request.onlyWordsPath = onlyWords
        request.trustHeader = trustHeader
        request.waitForWriter = writer.wait
        try Self.execute(request)
    }

    /// A build request with the configuration's settings.
    static func request(vectors: String, cachePath: String, configuration: Configuration) -> BuildRequest {
        var request = BuildRequest(vectorsPath: vectors, cachePath: cachePath)
        request.settings = configuration.build
        request.storeOptions = configuration.store
        return request
    }

    /// Runs a build with progress on the terminal and a one-line summary; Ctrl-C stops it cleanly (exit status 130).
    static func execute(_ request: BuildRequest) throws {
        installInterruptHandlers()
        let started = Date()
        var lastReport = Date.distantPast
        let summary: BuildSummary
        do {
            summary = try CacheBuilder(request).run(
                progress: { progress in
                    let now = Date()
                    guard now.timeIntervalSince(lastReport) >= 0.25 else { return }
                    lastReport = now
                    Terminal.progress(describe(progress, elapsed: now.timeIntervalSince(started)))
                },
                isCancelled: { interruptRequested.load(ordering: .relaxed) },
                onWait: { Terminal.message("w2vcache: \($0)") })
        } catch let error as CacheError where error.kind == .interrupted {
            Terminal.endProgress()
            Terminal.message("w2vcache: \(error.message)")
            throw ExitCode(130)
        }
        Terminal.endProgress()
        let manifest = summary.manifest
        let seconds = Date().timeIntervalSince(started)
        var notes: [String] = []
        if manifest.statistics.duplicates > 0 { notes.append("\(manifest.statistics.duplicates) duplicates (first kept)") }
        if manifest.statistics.invalidUTF8 > 0 {
            notes.append("\(manifest.statistics.invalidUTF8) non-UTF-8 words (\(manifest.statistics.invalidUTF8Skipped) skipped)")
        }
        if manifest.statistics.nonFinite > 0 {
            notes.append("\(manifest.statistics.nonFinite) non-finite vectors (\(manifest.statistics.nonFiniteSkipped) skipped)")
        }
        if manifest.statistics.notListed > 0 { notes.append("\(manifest.statistics.notListed) not in --only-words") }
        Terminal.message(
            "built \(request.cachePath): \(manifest.wordCount) words, dim \(manifest.dimension), "
                + "\(manifest.source.format.rawValue)\(manifest.source.gzip ? "+gzip" : "") from \(manifest.source.name) "
                + "in \(Human.duration(seconds)) (\(Human.count(Double(manifest.statistics.recordsRead) / max(seconds, 1e-9))) words/s)"
                + (notes.isEmpty ? "" : "; " + notes.joined(separator: ", ")))
    }

    static func describe(_ progress: BuildProgress, elapsed: Double) -> String {
        switch progress.phase {
        case .reading:
            let fraction = progress.fileSize > 0 ? Double(progress.fileBytesRead) / Double(progress.fileSize) : 0
            let eta = fraction > 0.01 ? elapsed / fraction - elapsed : 0
            return "reading \(Human.count(Double(progress.recordsRead))) words  "
                + "\(Human.count(Double(progress.recordsRead) / max(elapsed, 1e-9))) words/s  "
                + "\(Human.bytes(Double(progress.fileBytesRead) / max(elapsed, 1e-9)))/s  "
                + String(format: "%.0f%%", fraction * 100) + (eta > 0 ? "  ETA \(Human.duration(eta))" : "")
        case .writing:
            return "writing \(Human.count(Double(progress.wordsWritten))) of \(Human.count(Double(progress.wordsToWrite))) words in key order"
        }
    }
}
