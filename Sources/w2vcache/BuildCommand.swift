import ArgumentParser
import CacheBuild
import Settings
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

    @Option(help: ArgumentHelp("The vectors file, e.g. GoogleNews-vectors-negative300.bin.gz.", valueName: "file"))
    var vectors: String

    @Option(help: "The file's layout (default: build.format of the configuration, auto).")
    var format: FormatChoice?

    @Option(parsing: .unconditional, help: "Keep only the first N vectors of the file (like gensim's limit).")
    var limit: Int?

    @Option(help: ArgumentHelp("Keep only the words listed in this file, one per line.", valueName: "file"))
    var onlyWords: String?

    @Option(help: "Vectors with NaN or infinity (default: build.non_finite, fail).")
    var nonFinite: RecordPolicy?

    @Option(help: "Words that are not valid UTF-8: keep (raw bytes), skip or fail (default: build.invalid_utf8, keep).")
    var invalidUTF8: RecordPolicy?

    @Flag(
        help: ArgumentHelp(
            "Read only as many vectors as the header announces, as gensim does, even if more follow (default: more is "
                + "an error).")
    )
    var trustHeader = false

    @Flag(
        inversion: .prefixedNo,
        help: "Make the search index that similar, analogy and evaluate need (default: build.search_index, on).")
    var searchIndex: Bool?

    func validate() throws {
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
    }

    func run() throws {
        let configuration = try cache.loadConfiguration()
        var request = BuildReporter.request(
            vectors: vectors, cachePath: cache.cachePath(configuration), configuration: configuration)
        if let format { request.settings.format = format.format }
        if let nonFinite { request.settings.nonFinite = nonFinite }
        if let invalidUTF8 { request.settings.invalidUTF8 = invalidUTF8 }
        if let searchIndex { request.settings.searchIndex = searchIndex }
        request.limit = limit
        request.onlyWordsPath = onlyWords
        request.trustHeader = trustHeader
        request.waitForWriter = writer.wait
        try BuildReporter.run(cachePath: request.cachePath) { progress, isCancelled, onWait in
            try CacheBuilder(request).run(progress: progress, isCancelled: isCancelled, onWait: onWait)
        }
    }
}
