import ArgumentParser
import Settings
import Datasets
import Preprocessing
import VectorCache

extension DecodingPolicy: ExpressibleByArgument {}
extension MarkupFilter: ExpressibleByArgument {}

/// `w2vcache prepare sentiment`: reviews for an LSTM classifier.
struct PrepareSentimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sentiment",
        abstract: "Prepare labelled reviews: basic_english tokens, vocabulary, padded ids, embedding matrix.",
        discussion: """
            Input: an IMDB-style directory (pos/*.txt, neg/*.txt) or label<TAB>text lines (pos/neg or 1/0). The \
            vocabulary comes from the training split: <unk> = 0, <pad> = 1, then tokens by descending frequency \
            (ties by string order). Other tokens, test tokens included, become <unk>.
            """
    )

    @OptionGroup var cache: CacheOptions
    @OptionGroup var writer: WriterOptions

    @Option(name: .long, help: ArgumentHelp("Training reviews: a directory or a TSV file.", valueName: "path"))
    var train: String

    @Option(name: .long, help: ArgumentHelp("Test reviews: a directory or a TSV file.", valueName: "path"))
    var test: String

    @Option(name: .customLong("max-vocab"), help: "Ids kept, specials included (default from the configuration: 30000).")
    var maxVocab: Int?

    @Option(name: .customLong("max-length"), help: "Tokens per review after padding or truncation (default 512).")
    var maxLength: Int?

    @Option(name: .customLong("encoding-errors"), help: "Bytes that are not UTF-8: replace (counted), skip the review, or fail.")
    var encodingErrors: DecodingPolicy = .replace

    @Flag(name: .customLong("skip-bad-lines"), help: "Count and skip empty reviews and malformed lines instead of stopping.")
    var skipBadLines = false

    func run() throws {
        let configuration = try cache.loadConfiguration()
        var options = configuration.sentiment
        options.maxVocabulary = maxVocab ?? options.maxVocabulary
        options.maxLength = maxLength ?? options.maxLength
        options.decoding = encodingErrors
        options.skipBadLines = skipBadLines
        guard options.maxVocabulary > 2, options.maxLength > 0 else {
            throw ValidationError("--max-vocab must exceed 2 and --max-length must be positive")
        }
        let vectorCache = try cache.openCacheForWriting(purpose: "w2vcache prepare sentiment", wait: writer.wait)
        let (manifest, alreadyPrepared) = try SentimentDataset.prepare(
            train: train, test: test, cache: vectorCache, options: options,
            oov: configuration.oovVectors(dimension: vectorCache.dimension))
        if alreadyPrepared {
            CacheOptions.reportAlreadyPrepared("sentiment")
            return
        }
        let s = manifest.statistics
        for split in ["train", "test"] {
            Terminal.message(
                "\(split): \(s["\(split)_reviews"] ?? 0) reviews (\(s["\(split)_positive"] ?? 0) positive), "
                    + "\(s["\(split)_tokens"] ?? 0) tokens, \(s["\(split)_unknown_tokens"] ?? 0) <unk>, "
                    + "\(s["\(split)_truncated"] ?? 0) truncated to \(options.maxLength), "
                    + "\(s["\(split)_undecodable"] ?? 0) with bytes that are not UTF-8, \(s["\(split)_skipped"] ?? 0) skipped")
        }
        Terminal.message(
            "prepared sentiment: vocabulary \(s["vocabulary"] ?? 0) of \(s["distinct_train_tokens"] ?? 0) distinct training tokens "
                + "(\(s["pretrained_words"] ?? 0) with pretrained vectors, \(s["oov_words"] ?? 0) out-of-vocabulary)")
    }
}
