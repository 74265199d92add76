import ArgumentParser
import CacheBuild
import Datasets
import Preprocessing
import Settings
import VectorCache

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

    @OptionGroup var prepare: PrepareOptions
    @OptionGroup var oov: OOVOptions

    @Option(help: ArgumentHelp("Training reviews: a directory or a TSV file.", valueName: "path"))
    var train: String

    @Option(help: ArgumentHelp("Test reviews: a directory or a TSV file.", valueName: "path"))
    var test: String

    @Option(
        parsing: .unconditional,
        help: "Ids kept, specials included (default from the configuration: \(SentimentOptions().maxVocabulary)).")
    var maxVocab: Int?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Tokens per review after padding or truncation (default from the configuration: "
                + "\(SentimentOptions().maxLength)).")
    )
    var maxLength: Int?

    @OptionGroup var input: TextInputOptions

    func run() throws {
        let configuration = try prepare.cache.loadConfiguration()
        var options = configuration.sentiment
        options.maxVocabulary = maxVocab ?? options.maxVocabulary
        options.maxLength = maxLength ?? options.maxLength
        input.apply(decoding: &options.decoding, skipBadLines: &options.skipBadLines)
        guard options.maxVocabulary > 2 else { throw ValidationError("--max-vocab must exceed 2") }
        guard SentimentOptions.maxLengths.contains(options.maxLength) else {
            throw ValidationError(
                "--max-length \(options.maxLength): expected \(SentimentOptions.maxLengths.lowerBound) to "
                    + "\(SentimentOptions.maxLengths.upperBound)")
        }
        let cacheWriter = try prepare.openWriter(preparing: "sentiment")
        let source = try oov.source(for: cacheWriter.cache, configuration: configuration)
        let prepared = try PrepareOptions.showingProgress {
            try SentimentDataset.prepare(
                train: train, test: test, into: cacheWriter, options: options, oov: source, progress: $0)
        }
        guard let statistics = PrepareOptions.statistics(of: prepared, "sentiment") else { return }
        for (split, counted) in [("train", statistics.train), ("test", statistics.test)] {
            Terminal.message(
                "\(split): \(counted.reviews) reviews (\(counted.positive) positive), \(counted.tokens) tokens, "
                    + "\(counted.unknownTokens) <unk>, \(counted.truncated) truncated to \(options.maxLength), "
                    + "\(counted.undecodable) with bytes that are not UTF-8, \(counted.skipped) skipped")
        }
        Terminal.message(
            "prepared sentiment: vocabulary \(statistics.vocabulary) of \(statistics.distinctTrainTokens) distinct "
                + "training tokens "
                + "(\(statistics.pretrainedWords) with pretrained vectors, \(statistics.oovWords) out-of-vocabulary)")
    }
}
