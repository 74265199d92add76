import Preprocessing
import Support
import VectorCache

/// The datasets w2vcache prepares, one per trainer of the book.
public enum DatasetName: String, Sendable, CaseIterable, Codable, CustomStringConvertible {
    /// The feed-forward POS tagger's n-gram windows (CoNLL-2000).
    case pos
    /// The arc-standard dependency parser's configurations (CoNLL-U).
    case parser
    /// The LSTM sentiment classifier's padded reviews.
    case sentiment
    /// The seq2seq translator's length-bucketed sentence pairs.
    case translation

    public var description: String { rawValue }
}

/// What a prepared dataset holds and what it was prepared from, stored as JSON in the cache.
public struct DatasetManifest: Sendable, Equatable {
    /// The dataset's options and what preparing it counted, typed by dataset.
    public var details: DatasetDetails
    /// The input files' names, sizes and CRC-32s, in the order given.
    public var inputs: [InputFingerprint]
    public var toolVersion: String
    /// The cache's vector dimension at preparation.
    public var dimension: Int
    public var preparedAt: String
    /// Examples per split (e.g. windows, parser configurations, reviews, sentence pairs).
    public var splits: [String: Int]
    /// Shapes and types of the stored arrays.
    public var arrays: [String: ArrayInfo]
    /// Sizes of the stored string lists (vocabularies, tag sets).
    public var vocabularies: [String: Int]
    /// The CRC-32 of every stored array and list, in the order written: two preparations agree exactly when it does.
    public var contentCRC32: String
    /// The kind of vector the words the cache lacked were given (`nil` for a dataset without an embedding matrix).
    public var oov: OOVKind?

    public var name: DatasetName { details.name }
}

/// A dataset's options and statistics, whose types depend on the dataset.
public enum DatasetDetails: Sendable, Equatable {
    case pos(POSOptions, POSStatistics)
    case parser(ParserOptions, ParserStatistics)
    case sentiment(SentimentOptions, SentimentStatistics)
    case translation(TranslationOptions, TranslationStatistics)

    public var name: DatasetName {
        switch self {
        case .pos: .pos
        case .parser: .parser
        case .sentiment: .sentiment
        case .translation: .translation
        }
    }

    /// The options and statistics of this case, for code generic over the datasets (``PreparableDataset``) and for
    /// encoding.
    var contents: (options: any Sendable & Encodable, statistics: any Sendable & Encodable) {
        switch self {
        case .pos(let options, let statistics): (options, statistics)
        case .parser(let options, let statistics): (options, statistics)
        case .sentiment(let options, let statistics): (options, statistics)
        case .translation(let options, let statistics): (options, statistics)
        }
    }
}

extension DatasetManifest: Codable {
    private enum Key: String, CodingKey {
        case name, options, statistics, inputs, toolVersion, dimension, preparedAt, splits, arrays, vocabularies,
            contentCRC32, oov
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        func decoded<Value: Decodable>(_ key: Key) throws -> Value { try container.decode(Value.self, forKey: key) }
        switch try container.decode(DatasetName.self, forKey: .name) {
        case .pos: details = .pos(try decoded(.options), try decoded(.statistics))
        case .parser: details = .parser(try decoded(.options), try decoded(.statistics))
        case .sentiment: details = .sentiment(try decoded(.options), try decoded(.statistics))
        case .translation: details = .translation(try decoded(.options), try decoded(.statistics))
        }
        inputs = try decoded(.inputs)
        toolVersion = try decoded(.toolVersion)
        dimension = try decoded(.dimension)
        preparedAt = try decoded(.preparedAt)
        splits = try decoded(.splits)
        arrays = try decoded(.arrays)
        vocabularies = try decoded(.vocabularies)
        contentCRC32 = try decoded(.contentCRC32)
        oov = try container.decodeIfPresent(OOVKind.self, forKey: .oov)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(name, forKey: .name)
        try container.encode(details.contents.options, forKey: .options)
        try container.encode(details.contents.statistics, forKey: .statistics)
        try container.encode(inputs, forKey: .inputs)
        try container.encode(toolVersion, forKey: .toolVersion)
        try container.encode(dimension, forKey: .dimension)
        try container.encode(preparedAt, forKey: .preparedAt)
        try container.encode(splits, forKey: .splits)
        try container.encode(arrays, forKey: .arrays)
        try container.encode(vocabularies, forKey: .vocabularies)
        try container.encode(contentCRC32, forKey: .contentCRC32)
        try container.encodeIfPresent(oov, forKey: .oov)
    }
}

/// A stored array's element type and shape.
public struct ArrayInfo: Codable, Sendable, Equatable {
    /// float32 or int32: stored arrays have 4-byte elements.
    public var type: ElementType
    public var shape: [Int]
    /// How many values of the cache hold it.
    public var chunks: Int

    public var elementCount: Int { shape.reduce(1, *) }
    public var byteCount: Int { elementCount * 4 }

    /// Whether a prepare could have written this: no negative size, a byte count that fits an `Int`, and one chunk
    /// per started ``DatasetStore/chunkBytes`` (at least one). Every size computed from an array is checked by this
    /// first, when its manifest is read.
    var isWellFormed: Bool {
        var bytes = 4
        for size in shape {
            guard size >= 0 else { return false }
            let (product, overflow) = bytes.multipliedReportingOverflow(by: size)
            if overflow { return false }
            bytes = product
        }
        let chunkBytes = DatasetStore.chunkBytes
        return chunks == max(1, bytes / chunkBytes + (bytes % chunkBytes == 0 ? 0 : 1))
    }
}

/// A dataset freshly prepared, or found prepared already from the same inputs and options.
public struct PreparedDataset<Statistics: Sendable>: Sendable {
    public var manifest: DatasetManifest
    public var statistics: Statistics
    /// True when nothing was done: the same inputs and options were prepared before.
    public var alreadyPrepared: Bool
}
