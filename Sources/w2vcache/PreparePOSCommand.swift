import ArgumentParser
import CacheBuild
import Datasets
import Foundation
import Preprocessing
import Settings
import Support
import VectorCache

/// `w2vcache prepare pos`: the POS tagger's data, normalized the book's way.
struct PreparePOSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pos",
        abstract: "Prepare CoNLL-2000 part-of-speech data: the book's normalization, vocabulary, n-gram windows.",
        discussion: """
            Input: `word TAG` per line (a third chunk column is ignored), blank lines between sentences. Writes \
            pos.train.processed.txt and pos.test.processed.txt (the book's processed files) to --out. Words the \
            model lacks get out-of-vocabulary vectors stored in the cache. With --vectors, first builds the cache \
            from that file keeping only the keys this preparation can ask for (one streamed pass), as the book does.
            """
    )

    @OptionGroup var prepare: PrepareOptions
    @OptionGroup var oov: OOVOptions

    @Option(help: ArgumentHelp("Training file.", valueName: "file"))
    var train: String

    @Option(help: ArgumentHelp("Test file.", valueName: "file"))
    var test: String

    @Option(help: ArgumentHelp("Where to write the processed files.", valueName: "dir"))
    var out: String = "."

    @Option(parsing: .unconditional, help: "Words per window (default: the book's, \(POSOptions().window)).")
    var window: Int?

    @Option(
        help: "The tag a window is labelled with: centre or last (default: the book's, \(POSOptions().label.rawValue))."
    )
    var label: WindowLabel?

    @Flag(help: "Do not merge phrases across sentence boundaries.")
    var keepSentences = false

    @Flag(help: "Count and skip malformed lines instead of stopping.")
    var skipBadLines = false

    @Option(
        help: ArgumentHelp(
            "Build the cache from this vectors file first, with only the keys the data can ask for.", valueName: "file")
    )
    var vectors: String?

    @Option(
        parsing: .unconditional,
        help: "Fail unless the cache's vectors (with --vectors, the file's) have this dimension.")
    var dim: Int?

    /// The book's name for the processed file of `split`.
    private static func processedFile(_ split: String) -> String { "pos.\(split).processed.txt" }

    func validate() throws {
        if let window, !POSOptions.windows.contains(window) {
            throw ValidationError(
                "--window \(window): expected \(POSOptions.windows.lowerBound) to \(POSOptions.windows.upperBound) "
                    + "words"
            )
        }
    }

    func run() throws {
        let configuration = try prepare.cache.loadConfiguration()
        let processedFiles = try OutputDirectory(out, flag: "--out")
        try processedFiles.refuseReplacing(
            [("--train", train), ("--test", test)], by: ["train", "test"].map(Self.processedFile))
        let trainFile = try TextFile(path: train)
        let testFile = try TextFile(path: test)
        var options = POSOptions()
        options.window = window ?? options.window
        options.label = label ?? options.label
        options.keepSentences = keepSentences
        options.skipBadLines = skipBadLines

        let report: POSReport
        if let vectors {
            var request = BuildReporter.request(
                vectors: vectors, cachePath: prepare.cache.cachePath(configuration), configuration: configuration)
            request.waitForWriter = prepare.writer.wait
            request.dimension = dim
            var prepared: POSReport?
            try BuildReporter.run(cachePath: request.cachePath) { progress, isCancelled, onWait in
                let (build, report) = try POSDataset.buildAndPrepare(
                    train: trainFile, test: testFile, build: request, options: options,
                    oov: { try oov.source(for: $0, configuration: configuration) },
                    progress: progress, isCancelled: isCancelled, onWait: onWait)
                prepared = report
                return build
            }
            report = prepared!
        } else {
            let cacheWriter = try prepare.openWriter(preparing: "pos", expectingDimension: dim)
            let source = try oov.source(for: cacheWriter.cache, configuration: configuration)
            report = try PrepareOptions.showingProgress {
                try POSDataset.prepare(
                    train: trainFile, test: testFile, into: cacheWriter, options: options, oov: source, progress: $0)
            }
        }
        for split in ["train", "test"] {
            do {
                try processedFiles.write(
                    Array(POSDataset.processedText(report.processed[split]!).utf8), to: Self.processedFile(split))
            } catch {
                throw OutputDirectory.Failure(
                    description: "\(error); the dataset pos is prepared (the same command again writes the files)")
            }
        }
        guard
            let statistics = PrepareOptions.statistics(
                of: report.prepared, "pos", done: "wrote the processed files in \(out)")
        else { return }
        for (split, counted) in [("train", statistics.train), ("test", statistics.test)] {
            let rules = counted.normalization
            Terminal.message(
                "\(split): \(rules.rows) rows -> \(counted.tokens) tokens; \(rules.found) found, "
                    + "\(rules.merged) merged phrases, \(rules.split) split into \(rules.pieces) pieces, "
                    + "\(rules.outOfVocabulary) out of vocabulary; \(counted.windows) windows")
        }
        Terminal.message(
            "prepared pos: \(statistics.vocabulary) words (\(statistics.pretrainedWords) pretrained, "
                + "\(statistics.oovWords) out-of-vocabulary), \(statistics.tags) tags, window \(options.window) "
                + "labelled at the \(options.label.rawValue); processed files in \(out)"
                + (statistics.skippedLines > 0 ? "; \(Plural.count(statistics.skippedLines, "bad line")) skipped" : ""))
    }
}
