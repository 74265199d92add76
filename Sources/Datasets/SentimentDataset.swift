import Foundation
import Preprocessing
import VectorCache

/// Options of `prepare sentiment`.
public struct SentimentOptions: Sendable, Equatable {
    /// Ids kept, specials included: the most frequent training tokens fill the rest.
    public var maxVocabulary = 30_000
    /// Reviews are right-padded with `<pad>` or truncated to this many tokens.
    public var maxLength = 512
    public var decoding = DecodingPolicy.replace
    public var skipBadLines = false

    public init() {}

    var parameters: [String: String] {
        ["max_vocab": "\(maxVocabulary)", "max_length": "\(maxLength)", "encoding_errors": decoding.rawValue,
         "skip_bad_lines": "\(skipBadLines)", "tokenizer": "basic_english"]
    }
}

/// The LSTM sentiment classifier's data: `basic_english` tokens, a frequency vocabulary from the training split,
/// ids padded or truncated to a fixed length, labels 0 (negative) and 1 (positive), and the vocabulary's vectors.
public struct SentimentDataset: BatchSource {
    /// `<unk>` = 0, `<pad>` = 1.
    public static let specials = ["<unk>", "<pad>"]
    public static let unknown: Int32 = 0
    public static let padding: Int32 = 1

    public let name = "sentiment"
    public let splits: [String: Int]
    public let vocabulary: [String]
    public let maxLength: Int
    private let ids: [String: [Int32]]
    private let labels: [String: [Int32]]
    private let lengths: [String: [Int32]]

    public init(cache: VectorCache) throws {
        let stored = try DatasetStore.load("sentiment", from: cache)
        vocabulary = try stored.strings("vocab")
        maxLength = Int(stored.manifest.parameters["max_length"] ?? "512") ?? 512
        var ids: [String: [Int32]] = [:], labels: [String: [Int32]] = [:], lengths: [String: [Int32]] = [:]
        for split in stored.manifest.splits.keys {
            ids[split] = try stored.array("\(split).ids", as: Int32.self)
            labels[split] = try stored.array("\(split).labels", as: Int32.self)
            lengths[split] = try stored.array("\(split).lengths", as: Int32.self)
        }
        self.ids = ids
        self.labels = labels
        self.lengths = lengths
        splits = stored.manifest.splits
    }

    /// Batch arrays: `x` int32 `[B, L]` token ids, `y` int64 `[B]` labels, `lengths` int64 `[B]` (before padding).
    public func batch(split: String, indices: some Collection<Int>) throws -> [BatchArray] {
        let count = try count(of: split)
        let ids = ids[split]!, labels = labels[split]!, lengths = lengths[split]!
        var x = [Int32](), y = [Int64](), sizes = [Int64]()
        x.reserveCapacity(indices.count * maxLength)
        for index in indices {
            guard index >= 0 && index < count else { throw DatasetError.badRequest("example \(index) is outside 0..<\(count)") }
            x += ids[(index * maxLength)..<((index + 1) * maxLength)]
            y.append(Int64(labels[index]))
            sizes.append(Int64(lengths[index]))
        }
        return [
            .int32("x", x, shape: [indices.count, maxLength]), .int64("y", y, shape: [indices.count]),
            .int64("lengths", sizes, shape: [indices.count]),
        ]
    }

    public func describe(split: String, index: Int) throws -> String {
        _ = try count(of: split)
        let length = Int(lengths[split]![index])
        let words = ids[split]![(index * maxLength)..<(index * maxLength + min(length, 12))].map { vocabulary[Int($0)] }
        let label = labels[split]![index] == 1 ? "pos" : "neg"
        return "\(label) (\(length) tokens): " + words.joined(separator: " ") + (length > 12 ? " …" : "")
    }

    /// Prepares sentiment data from IMDB-style directories or TSV files and stores it in the cache.
    public static func prepare(
        train: String, test: String, cache: VectorCache, options: SentimentOptions, oov: OOVVectors
    ) throws -> (manifest: DatasetManifest, alreadyPrepared: Bool) {
        let trainReviews = try ReviewReader.read(train, decoding: options.decoding, skipBadLines: options.skipBadLines)
        let testReviews = try ReviewReader.read(test, decoding: options.decoding, skipBadLines: options.skipBadLines)
        let inputs = [trainReviews.fingerprint, testReviews.fingerprint]
        if let existing = try DatasetStore.manifest("sentiment", in: cache),
            existing.matches(inputs: inputs, parameters: options.parameters, toolVersion: w2vcacheVersion)
        {
            return (existing, true)
        }
        for (split, path, read) in [("train", train, trainReviews), ("test", test, testReviews)] {
            guard !read.reviews.isEmpty else {
                throw DatasetError.unusableInput("sentiment", "\(path): the \(split) split holds no review (\(read.skipped) skipped); expected label<TAB>text lines or pos/ and neg/ folders")
            }
        }
        let trainClasses = Set(trainReviews.reviews.map(\.label))
        guard trainClasses.count == 2 else {
            let only = trainClasses.first == 1 ? "positive" : "negative"
            throw DatasetError.unusableInput("sentiment", "\(train): every training review is \(only); a classifier needs both classes")
        }
        let trainTokens = trainReviews.reviews.concurrentMap { BasicEnglishTokenizer.tokenize($0.text) }
        var counts: [String: Int] = [:]
        for tokens in trainTokens { for token in tokens { counts[token, default: 0] += 1 } }
        let vocabulary = Vocabulary.byFrequency(counts, specials: specials, maxSize: options.maxVocabulary)

        var writer = DatasetWriter(name: "sentiment")
        var statistics: [String: Int] = ["vocabulary": vocabulary.count, "distinct_train_tokens": counts.count]
        var splits: [String: Int] = [:]
        for (split, read, tokenized) in [
            ("train", trainReviews, trainTokens),
            ("test", testReviews, testReviews.reviews.concurrentMap { BasicEnglishTokenizer.tokenize($0.text) }),
        ] {
            var ids = [Int32](repeating: padding, count: read.reviews.count * options.maxLength)
            var lengths = [Int32]()
            var tokenCount = 0, unknownCount = 0, truncated = 0
            for (row, tokens) in tokenized.enumerated() {
                tokenCount += tokens.count
                if tokens.count > options.maxLength { truncated += 1 }
                for (column, token) in tokens.prefix(options.maxLength).enumerated() {
                    let id = vocabulary.id(token) ?? unknown
                    if id == unknown { unknownCount += 1 }
                    ids[row * options.maxLength + column] = id
                }
                lengths.append(Int32(min(tokens.count, options.maxLength)))
            }
            writer.add("\(split).ids", ids, type: .int32, shape: [read.reviews.count, options.maxLength])
            writer.add("\(split).labels", read.reviews.map(\.label), type: .int32, shape: [read.reviews.count])
            writer.add("\(split).lengths", lengths, type: .int32, shape: [read.reviews.count])
            splits[split] = read.reviews.count
            statistics["\(split)_reviews"] = read.reviews.count
            statistics["\(split)_positive"] = read.reviews.filter { $0.label == 1 }.count
            statistics["\(split)_tokens"] = tokenCount
            statistics["\(split)_unknown_tokens"] = unknownCount
            statistics["\(split)_truncated"] = truncated
            statistics["\(split)_undecodable"] = read.undecodable
            statistics["\(split)_skipped"] = read.skipped
        }
        let matrix = try EmbeddingMatrix.build(
            tokens: vocabulary.tokens, specials: ["<unk>": .random, "<pad>": .zero], cache: cache, oov: oov)
        writer.add("embeddings", matrix.values, type: .float32, shape: [vocabulary.count, cache.dimension])
        try writer.add(strings: vocabulary.tokens, as: "vocab")
        statistics["pretrained_words"] = matrix.pretrained
        statistics["oov_words"] = matrix.oovWords.count
        let manifest = try writer.commit(
            to: cache, inputs: inputs, parameters: options.parameters, splits: splits, statistics: statistics,
            oovWords: matrix.oovWords, oov: oov)
        return (manifest, false)
    }
}
