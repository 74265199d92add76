import CacheBuild
import Foundation
import Preprocessing
import Support
import VectorCache

/// Options of `prepare sentiment`.
public struct SentimentOptions: Sendable, Equatable, Codable {
    /// Ids kept, specials included: the most frequent training tokens fill the rest.
    public var maxVocabulary = 30_000
    /// Reviews are right-padded with `<pad>` or truncated to this many tokens (one of ``maxLengths``).
    public var maxLength = 512
    /// The padded lengths a prepare accepts, `--max-length` and the configuration's `max_length` alike.
    public static let maxLengths = 1...1_000_000
    /// What a review that is not UTF-8 becomes.
    public var decoding = DecodingPolicy.standard
    /// Count and skip malformed lines and empty reviews instead of stopping at the first.
    public var skipBadLines = false

    public init() {}
}

/// What `prepare sentiment` counted.
public struct SentimentStatistics: Sendable, Equatable, Codable {
    /// One split's reviews and tokens.
    public struct Split: Sendable, Equatable, Codable {
        /// Reviews kept: the rows of the split.
        public var reviews = 0
        /// Of them, labelled positive.
        public var positive = 0
        /// Tokens before truncation.
        public var tokens = 0
        /// `<unk>` ids in the rows, after truncation.
        public var unknownTokens = 0
        /// Reviews longer than `maxLength` tokens, cut to it.
        public var truncated = 0
        /// Reviews or lines with bytes that are not UTF-8 (replaced or skipped, as `decoding` says).
        public var undecodable = 0
        /// Reviews or lines left out: malformed, empty or undecodable.
        public var skipped = 0
    }

    public var train = Split()
    public var test = Split()
    /// Ids, specials included.
    public var vocabulary = 0
    /// Distinct tokens of the training split, before the vocabulary's cap.
    public var distinctTrainTokens = 0
    /// Vocabulary tokens the cache has vectors for.
    public var pretrainedWords = 0
    /// Vocabulary tokens given out-of-vocabulary vectors.
    public var oovWords = 0
}

/// The LSTM sentiment classifier's data: `basic_english` tokens, a frequency vocabulary from the training split,
/// ids padded or truncated to a fixed length, labels 0 (negative) and 1 (positive), and the vocabulary's vectors.
public struct SentimentDataset: BatchSource, PreparableDataset {
    /// `<unk>` = 0, `<pad>` = 1.
    public static let specials = ["<unk>", "<pad>"]
    public static let unknown: Int32 = 0
    public static let padding: Int32 = 1

    public let name = DatasetName.sentiment
    public let splits: [String: Int]
    public let vocabulary: [String]
    public let maxLength: Int
    private let ids: [String: [Int32]]
    private let labels: [String: [Int32]]
    private let lengths: [String: [Int32]]

    public init(cache: VectorCache) throws {
        let stored = try DatasetStore.load(.sentiment, from: cache)
        guard let (options, _) = Self.unpack(stored.manifest.details) else {
            throw DatasetError.damaged(.sentiment, "not a sentiment manifest")
        }
        vocabulary = try stored.strings("vocab")
        maxLength = options.maxLength
        guard SentimentOptions.maxLengths.contains(maxLength) else {
            throw DatasetError.damaged(.sentiment, "its manifest says reviews of \(maxLength) tokens at most")
        }
        var ids: [String: [Int32]] = [:], labels: [String: [Int32]] = [:], lengths: [String: [Int32]] = [:]
        for (split, count) in stored.manifest.splits {
            let splitIDs = try stored.array("\(split).ids", as: Int32.self)
            let splitLabels = try stored.array("\(split).labels", as: Int32.self)
            let splitLengths = try stored.array("\(split).lengths", as: Int32.self)
            // What `fill` and `describe` index by: a padded row per review, each id a word, each length in a row.
            guard splitLabels.count == count, splitLengths.count == count, splitIDs.count == count * maxLength,
                splitIDs.allLie(below: vocabulary.count), splitLabels.allLie(below: 2),
                splitLengths.allLie(below: maxLength + 1)
            else {
                throw DatasetError.damaged(
                    .sentiment, "the \(split) split's ids, labels or lengths do not fit its \(count) reviews")
            }
            ids[split] = splitIDs
            labels[split] = splitLabels
            lengths[split] = splitLengths
        }
        self.ids = ids
        self.labels = labels
        self.lengths = lengths
        splits = stored.manifest.splits
    }

    /// Batch arrays: `x` int32 `[B, L]` token ids, `y` int64 `[B]` labels, `lengths` int64 `[B]` (before padding).
    public func layout(split: String, indices: ArraySlice<Int>, compact: Bool) throws -> [ArrayLayout] {
        try checkIndices(indices, count: try count(of: split))
        return [
            ArrayLayout(name: "x", type: .int32, shape: [indices.count, maxLength]),
            ArrayLayout(name: "y", type: .int64, shape: [indices.count]),
            ArrayLayout(name: "lengths", type: .int64, shape: [indices.count]),
        ]
    }

    public func fill(split: String, indices: ArraySlice<Int>, compact: Bool, into destinations: BatchDestination) throws
    {
        try checkIndices(indices, count: try count(of: split))
        let ids = ids[split]!, labels = labels[split]!, lengths = lengths[split]!
        for (row, index) in indices.enumerated() {
            destinations[0].store(int32: ids[(index * maxLength)..<((index + 1) * maxLength)], at: row * maxLength * 4)
        }
        destinations[1].store(int64: indices.lazy.map { labels[$0] })
        destinations[2].store(int64: indices.lazy.map { lengths[$0] })
    }

    public func describe(split: String, index: Int) throws -> String {
        try checkIndices([index], count: try count(of: split))
        let length = Int(lengths[split]![index])
        let words = ids[split]![(index * maxLength)..<(index * maxLength + min(length, 12))].map { vocabulary[Int($0)] }
        let label = labels[split]![index] == 1 ? "pos" : "neg"
        return "\(label) (\(length) tokens): " + words.joined(separator: " ") + (length > 12 ? " …" : "")
    }

    static let name = DatasetName.sentiment
    static let details: @Sendable (SentimentOptions, SentimentStatistics) -> DatasetDetails = DatasetDetails.sentiment

    /// Prepares sentiment data from IMDB-style directories or TSV files and stores it in the cache.
    /// - throws: ``DatasetError/unusableInput(_:_:)`` when a split holds no review or training only one class (the
    ///   stored dataset is kept), ``DataError`` for malformed input.
    public static func prepare(
        train: String, test: String, into writer: CacheWriter, options: SentimentOptions, oov: OOVSource,
        progress: PrepareProgressHandler = { _ in }
    ) throws -> PreparedDataset<SentimentStatistics> {
        let cache = writer.cache
        func read(_ path: String) throws -> ReviewReader.Reviews {
            try writer.checkCancelled()
            progress(.reading(path))
            return try ReviewReader.read(
                path, decoding: options.decoding, skipBadLines: options.skipBadLines, checking: writer.checkCancelled)
        }
        func tokenizing(_ split: String, _ reviews: [Review]) throws -> [[String]] {
            try reviews.concurrentMap(
                progress: { progress(.working("tokenizing \(split) reviews", done: $0, total: reviews.count)) },
                checking: writer.checkCancelled
            ) { BasicEnglishTokenizer.tokenize($0.text) }
        }
        let trainReviews = try read(train)
        let testReviews = try read(test)
        let inputs = [trainReviews.fingerprint, testReviews.fingerprint]
        return try DatasetStore.prepareIfChanged(
            Self.self, inputs: inputs, options: options, oov: oov.kind, in: writer, progress: progress
        ) {
            for (split, path, read) in [("train", train, trainReviews), ("test", test, testReviews)]
            where read.reviews.isEmpty {
                throw DatasetError.unusableInput(
                    .sentiment,
                    "\(path): the \(split) split holds no review (\(read.skipped) skipped); expected label<TAB>text "
                        + "lines or pos/ and neg/ folders"
                )
            }
            guard SentimentOptions.maxLengths.contains(options.maxLength) else {
                throw DatasetError.unusableInput(
                    .sentiment,
                    "a length of \(options.maxLength) tokens; expected \(SentimentOptions.maxLengths.lowerBound) to "
                        + "\(SentimentOptions.maxLengths.upperBound)")
            }
            // Every review is padded to the length: the rows must fit in memory (with room to store them).
            let reviews = max(trainReviews.reviews.count, testReviews.reviews.count)
            let padded = UInt64(reviews * options.maxLength) * 4
            let memory = ProcessInfo.processInfo.physicalMemory
            guard padded <= memory / 2 else {
                throw DatasetError.unusableInput(
                    .sentiment,
                    "padding \(reviews) reviews to "
                        + "\(options.maxLength) tokens takes \(padded) bytes, more than half this machine's \(memory) "
                        + "bytes of memory; give a smaller --max-length")
            }
            let trainClasses = Set(trainReviews.reviews.map(\.label))
            guard trainClasses.count == 2 else {
                let only = trainClasses.first == 1 ? "positive" : "negative"
                throw DatasetError.unusableInput(
                    .sentiment, "\(train): every training review is \(only); a classifier needs both classes")
            }
            let trainTokens = try tokenizing("train", trainReviews.reviews)
            let counts = try trainTokens.tokenCounts(
                progress: { progress(.working("counting train tokens", done: $0, total: trainTokens.count)) },
                checking: writer.checkCancelled)
            let vocabulary = Vocabulary.byFrequency(counts, specials: specials, maxSize: options.maxVocabulary)

            var content = DatasetWriter(name: .sentiment)
            var statistics = SentimentStatistics(vocabulary: vocabulary.count, distinctTrainTokens: counts.count)
            var splits: [String: Int] = [:]
            for (split, read, tokenized) in [
                ("train", trainReviews, trainTokens),
                ("test", testReviews, try tokenizing("test", testReviews.reviews)),
            ] {
                try writer.checkCancelled()
                var ids = [Int32](repeating: padding, count: read.reviews.count * options.maxLength)
                var lengths = [Int32]()
                var counted = SentimentStatistics.Split(
                    reviews: read.reviews.count, positive: read.reviews.filter { $0.label == 1 }.count,
                    undecodable: read.undecodable, skipped: read.skipped)
                // Each review's ids on every core, then laid into its padded row.
                let reviewIDs = try tokenized.concurrentMap(
                    progress: { progress(.working("padding \(split) reviews", done: $0, total: tokenized.count)) },
                    checking: writer.checkCancelled
                ) { tokens in tokens.prefix(options.maxLength).map { vocabulary.id($0) ?? unknown } }
                for (row, (tokens, rowIDs)) in zip(tokenized, reviewIDs).enumerated() {
                    counted.tokens += tokens.count
                    if tokens.count > options.maxLength { counted.truncated += 1 }
                    counted.unknownTokens += rowIDs.count { $0 == unknown }
                    let start = row * options.maxLength
                    ids.replaceSubrange(start..<(start + rowIDs.count), with: rowIDs)
                    lengths.append(Int32(rowIDs.count))
                }
                content.add("\(split).ids", ids, type: .int32, shape: [read.reviews.count, options.maxLength])
                content.add("\(split).labels", read.reviews.map(\.label), type: .int32, shape: [read.reviews.count])
                content.add("\(split).lengths", lengths, type: .int32, shape: [read.reviews.count])
                splits[split] = read.reviews.count
                if split == "train" { statistics.train = counted } else { statistics.test = counted }
            }
            let matrix = try EmbeddingMatrix.add(
                tokens: vocabulary.tokens, specials: ["<unk>": .random, "<pad>": .zero], cache: cache, oov: oov,
                to: &content, progress: progress)
            try content.add(strings: vocabulary.tokens, as: "vocab")
            statistics.pretrainedWords = matrix.pretrained
            statistics.oovWords = matrix.oovWords.count
            return DatasetContent(
                writer: content, splits: splits, statistics: statistics, oovWords: matrix.oovWords, oov: oov)
        }
    }
}
