import ArgumentParser
import Settings
import Foundation
import LevelDB
import Synchronization
import VectorCache
import Word2Vec

extension Word2VecFormat: ExpressibleByArgument {}
extension NonFinitePolicy: ExpressibleByArgument {}
extension InvalidUTF8Policy: ExpressibleByArgument {}

/// `w2vcache build`: streams a vectors file into a new cache and swaps it into place.
struct BuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build the cache from a word2vec, GloVe or fastText file (gzipped or not).",
        discussion: """
            The file is streamed, never held in memory. The new cache is written beside the old one and swapped in \
            only when complete: a failed or interrupted build leaves the previous cache as it was.
            """
    )

    @OptionGroup var cache: CacheOptions

    @Option(name: .long, help: ArgumentHelp("The vectors file, e.g. GoogleNews-vectors-negative300.bin.gz.", valueName: "file"))
    var vectors: String

    @Option(name: .long, help: "The file's layout: auto, binary, text or glove (default: from the configuration, auto).")
    var format: String?

    @Option(name: .long, help: "Keep only the first N vectors of the file (like gensim's limit).")
    var limit: Int?

    @Option(name: .customLong("only-words"), help: ArgumentHelp("Keep only the words listed in this file, one per line.", valueName: "file"))
    var onlyWords: String?

    @Option(name: .customLong("non-finite"), help: "Vectors with NaN or infinity: fail, skip or keep.")
    var nonFinite: NonFinitePolicy?

    @Option(name: .customLong("invalid-utf8"), help: "Words that are not valid UTF-8: keep (raw bytes), skip or fail.")
    var invalidUTF8: InvalidUTF8Policy?

    func validate() throws {
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
        if let format, format != "auto", Word2VecFormat(rawValue: format) == nil {
            throw ValidationError("--format must be auto, binary, text or glove")
        }
    }

    func run() throws {
        let configuration = try cache.loadConfiguration()
        var request = try Self.request(vectors: vectors, cachePath: cache.cachePath(configuration), configuration: configuration)
        if let format { request.format = format == "auto" ? nil : Word2VecFormat(rawValue: format) }
        request.limit = limit
        request.onlyWordsPath = onlyWords
        if let nonFinite { request.nonFinite = nonFinite }
        if let invalidUTF8 { request.invalidUTF8 = invalidUTF8 }
        try Self.execute(request)
    }

    /// A build request with the configuration's defaults.
    static func request(vectors: String, cachePath: String, configuration: Configuration) throws -> BuildRequest {
        var request = BuildRequest(vectorsPath: vectors, cachePath: cachePath)
        let formatName = configuration.build.format
        request.format = formatName == "auto" ? nil : Word2VecFormat(rawValue: formatName)
        request.nonFinite = try policy(configuration.build.nonFinite, key: "build.non_finite")
        request.invalidUTF8 = try policy(configuration.build.invalidUTF8, key: "build.invalid_utf8")
        request.storeOptions = Options(configuration.leveldb)
        request.sortMemory = configuration.build.runBufferMB << 20
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
                isCancelled: { interruptRequested.load(ordering: .relaxed) })
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

    private static func policy<P: RawRepresentable<String>>(_ value: String, key: String) throws -> P {
        guard let policy = P(rawValue: value) else {
            throw ValidationError("configuration \(key): unknown value \"\(value)\"")
        }
        return policy
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
