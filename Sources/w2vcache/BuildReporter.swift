import ArgumentParser
import CacheBuild
import Foundation
import Settings
import Support
import VectorCache
import Word2Vec

/// A build as the terminal shows it, for `build` and `prepare pos --vectors`: progress on stderr while it runs
/// (words/s, MB/s, ETA), Ctrl-C or SIGTERM stopping it cleanly (exit status 130), and a one-line summary.
final class BuildReporter {
    private let started = Date()
    private var lastReport = Date.distantPast

    /// A build request with the configuration's settings.
    static func request(vectors: String, cachePath: String, configuration: Configuration) -> BuildRequest {
        var request = BuildRequest(vectorsPath: vectors, cachePath: cachePath)
        request.settings = configuration.build
        request.storage = configuration.storage
        return request
    }

    /// Runs `build` with this reporter's callbacks, then prints the summary of what it built at `cachePath`.
    static func run(
        cachePath: String,
        _ build: (
            _ progress: (BuildProgress) -> Void, _ isCancelled: @escaping @Sendable () -> Bool,
            _ onWait: (String) -> Void
        ) throws -> BuildSummary
    ) throws {
        let isCancelled = installInterruptHandlers()
        let reporter = BuildReporter()
        let summary = try build(reporter.show, isCancelled, { Terminal.message("w2vcache: \($0)") })
        Terminal.endProgress()
        Terminal.message(reporter.summary(summary.manifest, cachePath: cachePath))
    }

    private func show(_ progress: BuildProgress) {
        let now = Date()
        guard now.timeIntervalSince(lastReport) >= 0.25 else { return }
        lastReport = now
        Terminal.progress(Self.describe(progress, elapsed: now.timeIntervalSince(started)))
    }

    private func summary(_ manifest: CacheManifest, cachePath: String) -> String {
        let seconds = Date().timeIntervalSince(started)
        let statistics = manifest.statistics
        var notes: [String] = []
        if statistics.duplicates > 0 { notes.append("\(statistics.duplicates) duplicates (first kept)") }
        if statistics.invalidUTF8 > 0 {
            notes.append("\(statistics.invalidUTF8) non-UTF-8 words (\(statistics.invalidUTF8Skipped) skipped)")
        }
        if statistics.nonFinite > 0 {
            notes.append("\(statistics.nonFinite) non-finite vectors (\(statistics.nonFiniteSkipped) skipped)")
        }
        if statistics.notListed > 0 { notes.append("\(statistics.notListed) not in --only-words") }
        let rate = Human.count(Double(statistics.recordsRead) / max(seconds, 1e-9))
        let source =
            "\(manifest.source.format.rawValue)\(manifest.source.gzip ? "+gzip" : "") from \(manifest.source.name)"
        return "built \(cachePath): \(Plural.count(manifest.wordCount, "word")), dim \(manifest.dimension), \(source) "
            + "in \(Human.duration(seconds)) (\(rate) words/s)"
            + (notes.isEmpty ? "" : "; " + notes.joined(separator: ", "))
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
            return
                "writing \(Human.count(Double(progress.wordsWritten))) of "
                + "\(Human.count(Double(progress.wordsToWrite))) words in key order"
        }
    }
}
