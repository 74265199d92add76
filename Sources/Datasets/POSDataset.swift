import CacheBuild
import Foundation
import Preprocessing
import Support
import VectorCache

/// Which tag a window is labelled with.
public enum WindowLabel: String, Sendable, CaseIterable, Codable {
    /// The tag at `i + n/2`, as in the book's code.
    case centre
    /// The tag of the window's last word.
    case last
}

/// Options of `prepare pos`.
public struct POSOptions: Sendable, Equatable, Codable {
    /// Words per window (the book: 3), one of ``windows``.
    public var window = 3
    /// Which tag labels a window (the book: the centre's).
    public var label = WindowLabel.centre
    /// Stop phrase merges at sentence boundaries (the book merges across them).
    public var keepSentences = false
    /// Count and skip malformed lines instead of stopping at the first.
    public var skipBadLines = false

    public init() {}

    /// The window sizes a preparation accepts: a window is at most one sentence's worth of words.
    public static let windows = 1...1024
}

/// What `prepare pos` counted.
public struct POSStatistics: Sendable, Equatable, Codable {
    /// One split's rows, as the book's rules turned them into tokens and windows.
    public struct Split: Sendable, Equatable, Codable {
        public var normalization = BookNormalizer.Statistics()
        /// Tokens of the normalized stream.
        public var tokens = 0
        /// Windows over them: the rows of the split.
        public var windows = 0
    }

    public var train = Split()
    public var test = Split()
    /// Distinct tokens, and how many of them have pretrained vectors or got out-of-vocabulary ones.
    public var vocabulary = 0
    public var pretrainedWords = 0
    public var oovWords = 0
    /// Distinct tags of both splits.
    public var tags = 0
    /// Malformed lines passed over (`skipBadLines`).
    public var skippedLines = 0
}

/// The outcome of `prepare pos`: the dataset, and the processed token streams as the book writes them.
public struct POSReport: Sendable {
    public var prepared: PreparedDataset<POSStatistics>
    /// `word TAG` streams by split (made again from the inputs when the dataset was prepared already).
    public var processed: [String: [BookNormalizer.Token]] = [:]
}

/// The feed-forward POS tagger's data: the book's normalized token stream, a vocabulary with vectors, and n-gram
/// windows labelled with a tag.
public struct POSDataset: BatchSource, PreparableDataset {
    public let name = DatasetName.pos
    public let splits: [String: Int]
    public let vocabulary: [String]
    public let tags: [String]
    public let dimension: Int
    public let window: Int
    public let labelOffset: Int
    private let ids: [String: [Int32]]
    private let tagIDs: [String: [Int32]]
    /// `[V, dim]` float32, row-major.
    public let embeddings: [Float]

    /// Loads the prepared dataset from the cache.
    public init(cache: VectorCache) throws {
        let stored = try DatasetStore.load(.pos, from: cache)
        let manifest = stored.manifest
        guard let (options, _) = Self.unpack(manifest.details) else {
            throw DatasetError.damaged(.pos, "not a pos manifest")
        }
        guard POSOptions.windows.contains(options.window) else {
            throw DatasetError.damaged(.pos, "its manifest says a window of \(options.window), which no prepare writes")
        }
        vocabulary = try stored.strings("vocab")
        tags = try stored.strings("tags")
        dimension = manifest.dimension
        window = options.window
        labelOffset = options.label == .centre ? window / 2 : window - 1
        embeddings = try stored.array("embeddings", as: Float.self)
        var ids: [String: [Int32]] = [:]
        var tagIDs: [String: [Int32]] = [:]
        let (vocabularyCount, tagCount, window, matrixCount) = (vocabulary.count, tags.count, window, embeddings.count)
        for (split, windows) in manifest.splits {
            let splitIDs = try stored.array("\(split).ids", as: Int32.self)
            let splitTags = try stored.array("\(split).tags", as: Int32.self)
            // What `fill` relies on to copy rows at computed offsets: every id a row of the matrix, every window
            // inside the token stream.
            guard matrixCount == vocabularyCount * manifest.dimension, splitTags.count == splitIDs.count,
                windows == max(0, splitIDs.count - window + 1),
                splitIDs.allLie(below: vocabularyCount), splitTags.allLie(below: tagCount)
            else {
                throw DatasetError.damaged(.pos, "the \(split) split's ids do not fit its vocabulary, tags or windows")
            }
            ids[split] = splitIDs
            tagIDs[split] = splitTags
        }
        self.ids = ids
        self.tagIDs = tagIDs
        splits = manifest.splits
    }

    /// Batch arrays: `x` float32 `[B, window * dim]` (the window's vectors concatenated; compact, the window's
    /// `[B, window]` embedding row ids), `y` int64 `[B]` (tag ids).
    public func layout(split: String, indices: ArraySlice<Int>, compact: Bool) throws -> [ArrayLayout] {
        try checkIndices(indices, count: try count(of: split))
        let gather = compact ? ArrayLayout.Gather(table: "embeddings", idsShape: [indices.count, window]) : nil
        return [
            ArrayLayout(name: "x", type: .float32, shape: [indices.count, window * dimension], gather: gather),
            ArrayLayout(name: "y", type: .int64, shape: [indices.count]),
        ]
    }

    /// The window's vectors are copied straight from the embedding matrix into the batch: one pass, no zero-fill.
    public func fill(split: String, indices: ArraySlice<Int>, compact: Bool, into destinations: BatchDestination) throws
    {
        try checkIndices(indices, count: try count(of: split))
        let ids = ids[split]!
        let tags = tagIDs[split]!
        destinations[1].store(int64: indices.lazy.map { tags[$0 + labelOffset] })
        if compact {
            for (row, index) in indices.enumerated() {
                destinations[0].store(int32: ids[index..<(index + window)], at: row * window * 4)
            }
            return
        }
        // `x` holds exactly `indices.count * window * dimension` float32 (the destination matches the layout), and
        // every id is a row of `embeddings` (checked when the dataset was loaded): each copy stays inside both.
        let vectorBytes = dimension * 4
        let rowBytes = window * vectorBytes
        let x = destinations[0]
        embeddings.withUnsafeBytes { matrix in
            for (row, index) in indices.enumerated() {
                for offset in 0..<window {
                    (x.baseAddress! + row * rowBytes + offset * vectorBytes).copyMemory(
                        from: matrix.baseAddress! + Int(ids[index + offset]) * vectorBytes, byteCount: vectorBytes)
                }
            }
        }
    }

    public func describe(split: String, index: Int) throws -> String {
        try checkIndices([index], count: try count(of: split))
        let ids = ids[split]!
        let words = (0..<window).map { vocabulary[Int(ids[index + $0])] }
        return words.joined(separator: " ") + "  ->  " + tags[Int(tagIDs[split]![index + labelOffset])]
    }

    static let name = DatasetName.pos
    static let details: @Sendable (POSOptions, POSStatistics) -> DatasetDetails = DatasetDetails.pos

    /// Prepares the dataset from CoNLL-2000-style files and stores it in the cache.
    ///
    /// Words not in the model get out-of-vocabulary vectors, stored in the cache under their own keys.
    /// - throws: ``DatasetError/unusableInput(_:_:)`` when the training file gives no window or the test file is
    ///   empty (the stored dataset is kept), ``DataError`` for malformed input.
    public static func prepare(
        train: TextFile, test: TextFile, into writer: CacheWriter, options: POSOptions, oov: OOVSource,
        progress: PrepareProgressHandler = { _ in }
    ) throws -> POSReport {
        guard POSOptions.windows.contains(options.window) else {
            throw DatasetError.unusableInput(
                .pos,
                "a window of \(options.window) words; expected \(POSOptions.windows.lowerBound) to "
                    + "\(POSOptions.windows.upperBound)"
            )
        }
        var processed: [String: [BookNormalizer.Token]] = [:]
        let cache = writer.cache
        let prepared = try DatasetStore.prepareIfChanged(
            Self.self, inputs: [train.fingerprint, test.fingerprint], options: options, oov: oov.kind, in: writer,
            progress: progress
        ) {
            var statistics = POSStatistics()
            var vocabulary = Vocabulary()
            var tagSet = Vocabulary()
            var content = DatasetWriter(name: .pos)
            var splits: [String: Int] = [:]
            for normalized in try normalizedSplits(
                train: train, test: test, options: options, writer: writer, progress: progress)
            {
                let (split, tokens) = (normalized.split, normalized.tokens)
                statistics.skippedLines += normalized.skippedLines
                let windows = max(0, tokens.count - options.window + 1)
                // Training needs a window; a test file may be short, but not empty.
                guard split == "train" ? windows > 0 : normalized.rows > 0 else {
                    throw DatasetError.unusableInput(
                        .pos,
                        "\(normalized.file.path): the \(split) split gives no window of \(options.window) tokens "
                            + "(\(normalized.rows) rows read); expected CoNLL-2000 lines \"word TAG\""
                    )
                }
                let splitStatistics = POSStatistics.Split(
                    normalization: normalized.normalization, tokens: tokens.count, windows: windows)
                if split == "train" { statistics.train = splitStatistics } else { statistics.test = splitStatistics }
                processed[split] = tokens
                let ids = tokens.map { vocabulary.add($0.word) }
                let tags = tokens.map { tagSet.add($0.tag) }
                content.add("\(split).ids", ids, type: .int32, shape: [ids.count])
                content.add("\(split).tags", tags, type: .int32, shape: [tags.count])
                splits[split] = windows
            }
            let matrix = try EmbeddingMatrix.add(
                tokens: vocabulary.tokens, specials: [:], cache: cache, oov: oov, to: &content, progress: progress)
            try content.add(strings: vocabulary.tokens, as: "vocab")
            try content.add(strings: tagSet.tokens, as: "tags")
            statistics.vocabulary = vocabulary.count
            statistics.pretrainedWords = matrix.pretrained
            statistics.oovWords = matrix.oovWords.count
            statistics.tags = tagSet.count
            return DatasetContent(
                writer: content, splits: splits, statistics: statistics, oovWords: matrix.oovWords, oov: oov)
        }
        if prepared.alreadyPrepared {
            // The processed files are made again from the same inputs (the cache says which keys are pretrained,
            // as when it was prepared): a run whose files were lost, or that wants them elsewhere, gets them.
            for normalized in try normalizedSplits(train: train, test: test, options: options, writer: writer) {
                processed[normalized.split] = normalized.tokens
            }
        }
        return POSReport(prepared: prepared, processed: processed)
    }

    /// The two splits read and normalized the book's way against the keys the writer's cache holds pretrained.
    private static func normalizedSplits(
        train: TextFile, test: TextFile, options: POSOptions, writer: CacheWriter,
        progress: PrepareProgressHandler = { _ in }
    ) throws -> [(
        split: String, file: TextFile, rows: Int, skippedLines: Int, tokens: [BookNormalizer.Token],
        normalization: BookNormalizer.Statistics
    )] {
        let cache = writer.cache
        var known: [CodePoints: Bool] = [:]
        let normalizer = BookNormalizer { key in
            if let answer = known[CodePoints(key)] { return answer }
            let answer = try cache.isPretrained(Array(key.utf8))
            known[CodePoints(key)] = answer
            return answer
        }
        return try [("train", train), ("test", test)].map { split, file in
            try writer.checkCancelled()
            progress(.reading(file.path))
            let rows = try CoNLL2000Reader.read(
                file, skipBadLines: options.skipBadLines, checking: writer.checkCancelled)
            let (tokens, normalization) = try normalizer.process(
                rows.rows, sentenceStarts: options.keepSentences ? Set(rows.sentenceStarts) : [])
            return (split, file, rows.rows.count, rows.skippedLines, tokens, normalization)
        }
    }

    /// `prepare pos --vectors`: builds the cache `build.cachePath` from a vectors file keeping only the keys these
    /// files can ask for (``candidateKeys(train:test:skipBadLines:)``, one streamed pass, as the book does), and
    /// prepares the files in the built cache before it replaces the previous one, holding the cache's writer lock
    /// throughout: no other writer comes in between, and a failure or a kill leaves the previous cache as it was.
    /// - Parameters:
    ///   - oov: the out-of-vocabulary vectors of the built cache (its dimension, its subwords).
    ///   - progress, isCancelled, onWait: as ``CacheBuilder/run(holding:progress:isCancelled:onWait:beforeSwap:)`` takes them.
    public static func buildAndPrepare(
        train: TextFile, test: TextFile, build: BuildRequest, options: POSOptions,
        oov: (_ cache: VectorCache) throws -> OOVSource,
        progress: (BuildProgress) -> Void = { _ in }, isCancelled: @escaping () -> Bool = { false },
        onWait: (String) -> Void = { _ in }
    ) throws -> (build: BuildSummary, prepared: POSReport) {
        let lock = try CacheWriterLock(
            cachePath: build.cachePath, purpose: "w2vcache prepare pos", wait: build.waitForWriter, onWait: onWait,
            isCancelled: isCancelled)
        var request = build
        request.onlyWords = (
            try candidateKeys(train: train, test: test, skipBadLines: options.skipBadLines),
            "candidate keys of \(train.fingerprint.name), \(test.fingerprint.name)"
        )
        var report: POSReport?
        // Prepared in the built cache before it replaces the previous one: both, or neither.
        let summary = try CacheBuilder(request).run(
            holding: lock, progress: progress, isCancelled: isCancelled,
            beforeSwap: { builtPath in
                let writer = try CacheWriter(
                    building: builtPath, storage: request.storage, holding: lock, isCancelled: isCancelled)
                defer { try? writer.close() }
                report = try prepare(
                    train: train, test: test, into: writer, options: options, oov: try oov(writer.cache))
            })
        return (summary, report!)
    }

    /// Every key preparing these files can ask the model for (``BookNormalizer/candidateKeys(_:)``): a cache built
    /// with only these keys prepares exactly as the full model does, which is how `prepare pos --vectors` makes a
    /// small cache in one streamed pass.
    public static func candidateKeys(train: TextFile, test: TextFile, skipBadLines: Bool) throws -> Set<[UInt8]> {
        var keys = Set<[UInt8]>()
        for file in [train, test] {
            let rows = try CoNLL2000Reader.read(file, skipBadLines: skipBadLines).rows
            for key in BookNormalizer.candidateKeys(rows) { keys.insert(Array(key.string.utf8)) }
        }
        return keys
    }

    /// The book's processed file: `word TAG` per line.
    public static func processedText(_ tokens: [BookNormalizer.Token]) -> String {
        var text = ""
        text.reserveCapacity(tokens.count * 12)
        for token in tokens {
            text += token.word
            text += " "
            text += token.tag
            text += "\n"
        }
        return text
    }
}
