import CacheBuild
import Foundation
import Preprocessing
import Support
import VectorCache

/// A length bucket of the translation data: pairs whose source is shorter than `source` and whose target (with
/// `<go>` and `<eos>`) fits `target`.
public struct LengthBucket: Sendable, Equatable, Codable, CustomStringConvertible {
    public var source: Int
    public var target: Int

    public init(source: Int, target: Int) {
        self.source = source
        self.target = target
    }

    /// The longest a bucket's rows can be, in tokens.
    public static let maxLength = 10_000

    /// Whether a prepare accepts it: a source of 1 token or more, a target of 3 or more (`<go>`, a token, `<eos>`),
    /// neither longer than ``maxLength``; the command line, the configuration and a stored manifest are held to it.
    public var isValid: Bool { (1...Self.maxLength).contains(source) && (3...Self.maxLength).contains(target) }

    /// What ``isValid`` asks, in words.
    public static let expected = "a source from 1 and a target from 3 to \(maxLength) tokens"

    /// `S,T`, as the command line and the manifest write it.
    public var description: String { "\(source),\(target)" }

    /// Parses `"5,10 10,15"`: valid pairs `S,T`, smallest first; `nil` if malformed.
    public static func parseList(_ text: String) -> [LengthBucket]? {
        let buckets = text.split(separator: " ").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        }
        guard !buckets.isEmpty, buckets.allSatisfy({ $0.count == 2 && $0[0] != nil && $0[1] != nil }) else {
            return nil
        }
        let parsed = buckets.map { LengthBucket(source: $0[0]!, target: $0[1]!) }
        return parsed.allSatisfy(\.isValid) ? parsed : nil
    }
}

/// Options of `prepare translation`.
public struct TranslationOptions: Sendable, Equatable, Codable {
    /// Source and target lengths, smallest first: the TensorFlow tutorial's buckets, as the book uses.
    public var buckets = [
        LengthBucket(source: 5, target: 10), LengthBucket(source: 10, target: 15),
        LengthBucket(source: 20, target: 25), LengthBucket(source: 30, target: 40),
    ]
    /// Tokens seen fewer times in training become `<unk>` (the book: 1, every token kept).
    public var minFrequency = 1
    /// Ids per language, specials included; `nil` (the book's) keeps every token.
    public var maxVocabulary: Int? = nil
    /// Split on whitespace only.
    public var pretokenized = false
    /// Lowercase every token (the book keeps case, as spaCy's tokenizers do).
    public var lowercase = false
    /// Which lines of aligned files are sentences (the book's: torchtext's IWSLT rules, chosen by file name).
    public var markup = MarkupFilter.auto
    /// What a line that is not UTF-8 becomes.
    public var decoding = DecodingPolicy.standard
    /// Count and skip malformed lines instead of stopping at the first.
    public var skipBadLines = false

    public init() {}
}

/// What `prepare translation` counted.
public struct TranslationStatistics: Sendable, Equatable, Codable {
    /// One split's pairs and where they went.
    public struct Split: Sendable, Equatable, Codable {
        /// Pairs kept: the rows of the split, over all buckets.
        public var pairs = 0
        /// Pairs per bucket.
        public var perBucket: [Int] = []
        /// Pairs cut to fit the last bucket.
        public var cut = 0
        /// Lines dropped as markup on each side.
        public var sourceMarkupLines = 0
        public var targetMarkupLines = 0
        /// Pairs left out: malformed or undecodable.
        public var skipped = 0
        /// Lines with bytes that are not UTF-8 (replaced or skipped, as `decoding` says).
        public var undecodable = 0
    }

    public var train = Split()
    /// `nil` when no validation files were given.
    public var valid: Split?
    /// Ids of each language, specials included.
    public var sourceVocabulary = 0
    public var targetVocabulary = 0
}

/// A sentence pair as tokens.
private struct TokenizedPair: Sendable {
    var source: [String]
    var target: [String]
}

/// Input of `prepare translation` for one split: two aligned files or one TSV.
public enum ParallelInput: Sendable {
    case aligned(source: String, target: String)
    case tsv(String)
}

/// The seq2seq translator's data, bucketed by length as in the TensorFlow tutorial the book follows.
///
/// A pair goes to the first bucket `(S, T)` with `len(source) < S` and `len(target) + 1 < T`; if none fits, to the
/// last bucket with the source cut to `S` and the target to `T - 2`. Source: padded with `<pad>` to `S`, then the
/// whole sequence reversed (pads first). Target: `<go>`, tokens, `<eos>`, `<pad>` to `T`.
public struct TranslationDataset: BatchSource, PreparableDataset {
    public static let specials = ["<unk>", "<pad>", "<go>", "<eos>"]
    public static let unknown: Int32 = 0, padding: Int32 = 1, go: Int32 = 2, end: Int32 = 3

    public let name = DatasetName.translation
    public let splits: [String: Int]
    public let buckets: [LengthBucket]
    public let sourceVocabulary: [String]
    public let targetVocabulary: [String]
    /// Per split and bucket: the padded source and target rows.
    private let sources: [String: [[Int32]]]
    private let targets: [String: [[Int32]]]

    public init(cache: VectorCache) throws {
        let stored = try DatasetStore.load(.translation, from: cache)
        guard let (options, _) = Self.unpack(stored.manifest.details) else {
            throw DatasetError.damaged(.translation, "not a translation manifest")
        }
        let buckets = options.buckets
        guard !buckets.isEmpty, buckets.allSatisfy(\.isValid) else {
            throw DatasetError.damaged(.translation, "its manifest says buckets \(buckets), which no prepare writes")
        }
        self.buckets = buckets
        sourceVocabulary = try stored.strings("source_vocab")
        targetVocabulary = try stored.strings("target_vocab")
        let (sourceWords, targetWords) = (sourceVocabulary.count, targetVocabulary.count)
        var sources: [String: [[Int32]]] = [:], targets: [String: [[Int32]]] = [:]
        for (split, count) in stored.manifest.splits {
            let splitSources = try buckets.indices.map { try stored.array("\(split).b\($0).source", as: Int32.self) }
            let splitTargets = try buckets.indices.map { try stored.array("\(split).b\($0).target", as: Int32.self) }
            // What `fill` and `describe` index by: in each bucket as many padded source rows as target rows, each
            // id a word; and the pairs the manifest counts.
            let pairs = zip(buckets, splitTargets).map { $1.count / $0.target }
            guard pairs.reduce(0, +) == count,
                buckets.indices.allSatisfy({
                    splitSources[$0].count == pairs[$0] * buckets[$0].source
                        && splitTargets[$0].count == pairs[$0] * buckets[$0].target
                        && splitSources[$0].allLie(below: sourceWords) && splitTargets[$0].allLie(below: targetWords)
                })
            else {
                throw DatasetError.damaged(
                    .translation, "the \(split) split's buckets do not fit its \(count) pairs and vocabularies")
            }
            sources[split] = splitSources
            targets[split] = splitTargets
        }
        self.sources = sources
        self.targets = targets
        splits = stored.manifest.splits
    }

    /// Pairs per bucket of `split`.
    public func bucketCounts(_ split: String) throws -> [Int] {
        _ = try count(of: split)
        return buckets.indices.map { targets[split]![$0].count / buckets[$0].target }
    }

    /// Example indices number the pairs bucket after bucket. Returns the bucket of a global index and the row in it.
    func locate(_ index: Int, counts: [Int]) -> (bucket: Int, row: Int)? {
        var rest = index
        for (bucket, count) in counts.enumerated() {
            if rest < count { return (bucket, rest) }
            rest -= count
        }
        return nil
    }

    /// Each bucket's pairs cut into batches: the batches of every bucket, added.
    public func batchCount(split: String, batchSize: Int) throws -> Int {
        precondition(batchSize > 0, "a batch size below 1")
        return try bucketCounts(split).reduce(0) { $0 + BatchSampler.batchCount(count: $1, batchSize: batchSize) }
    }

    /// Batches come from one bucket at a time: each bucket's pairs are shuffled and cut into batches, and the next
    /// batch is taken from a bucket chosen at random among those with batches left. Every pair once per epoch.
    public func epoch(split: String, batchSize: Int, seed: UInt64, epoch: Int, shuffle: Bool) throws -> EpochPlan {
        let counts = try bucketCounts(split)
        var offset = 0
        var pending: [EpochPlan] = []
        for (bucket, count) in counts.enumerated() {
            let order = BatchSampler.order(
                count: count, seed: seed &+ UInt64(bucket) &* 0x9E37_79B9, epoch: epoch, shuffle: shuffle)
            let base = offset
            pending.append(EpochPlan(order: order.map { $0 + base }, batchSize: batchSize))
            offset += count
        }
        var random = SplitMix64(seed: seed ^ 0xB0C4_E7 ^ (UInt64(truncatingIfNeeded: epoch) &* 0xD1B5_4A32_D192_ED03))
        var next = Array(repeating: 0, count: counts.count)
        var order: [Int] = []
        order.reserveCapacity(offset)
        var sizes: [Int] = []
        while true {
            let open = pending.indices.filter { next[$0] < pending[$0].batchCount }
            if open.isEmpty { break }
            let bucket = shuffle ? open[Int(random.next().multipliedFullWidth(by: UInt64(open.count)).high)] : open[0]
            let batch = pending[bucket].batch(next[bucket])
            order.append(contentsOf: batch)
            sizes.append(batch.count)
            next[bucket] += 1
        }
        return EpochPlan(order: order, batchSizes: sizes)
    }

    /// The bucket of a batch and each example's row in it: all indices must lie in one bucket.
    private func places(split: String, indices: ArraySlice<Int>) throws -> (bucket: Int, rows: [Int]) {
        let counts = try bucketCounts(split)
        let places = try indices.map { index in
            guard let place = locate(index, counts: counts) else {
                throw DatasetError.noSuchExample(name, index: index, count: counts.reduce(0, +))
            }
            return place
        }
        guard let bucket = places.first?.bucket, places.allSatisfy({ $0.bucket == bucket }) else {
            throw DatasetError.notOneBucket(name)
        }
        return (bucket, places.map(\.row))
    }

    /// Batch arrays: `source` int32 `[B, S]`, `target` int32 `[B, T]`, `bucket` int64 (0-d). All indices must lie
    /// in one bucket.
    public func layout(split: String, indices: ArraySlice<Int>, compact: Bool) throws -> [ArrayLayout] {
        let (bucket, rows) = try places(split: split, indices: indices)
        return [
            ArrayLayout(name: "source", type: .int32, shape: [rows.count, buckets[bucket].source]),
            ArrayLayout(name: "target", type: .int32, shape: [rows.count, buckets[bucket].target]),
            ArrayLayout(name: "bucket", type: .int64, shape: []),
        ]
    }

    public func fill(split: String, indices: ArraySlice<Int>, compact: Bool, into destinations: BatchDestination) throws
    {
        let (bucket, rows) = try places(split: split, indices: indices)
        let (s, t) = (buckets[bucket].source, buckets[bucket].target)
        for (slot, row) in rows.enumerated() {
            destinations[0].store(int32: sources[split]![bucket][(row * s)..<((row + 1) * s)], at: slot * s * 4)
            destinations[1].store(int32: targets[split]![bucket][(row * t)..<((row + 1) * t)], at: slot * t * 4)
        }
        destinations[2].store(int64: [bucket])
    }

    public func describe(split: String, index: Int) throws -> String {
        let counts = try bucketCounts(split)
        guard let (bucket, row) = locate(index, counts: counts) else {
            throw DatasetError.noSuchExample(name, index: index, count: counts.reduce(0, +))
        }
        let (s, t) = (buckets[bucket].source, buckets[bucket].target)
        let source = sources[split]![bucket][(row * s)..<((row + 1) * s)].filter { $0 != Self.padding }.reversed()
            .map { sourceVocabulary[Int($0)] }
        let target = targets[split]![bucket][(row * t)..<((row + 1) * t)].filter { $0 != Self.padding }
            .map { targetVocabulary[Int($0)] }
        return "bucket \(bucket) (\(s),\(t)): " + source.joined(separator: " ") + "  =>  "
            + target.joined(separator: " ")
    }

    /// Places one pair: its bucket and whether it had to be cut.
    static func bucket(sourceLength: Int, targetLength: Int, buckets: [LengthBucket]) -> (index: Int, cut: Bool) {
        if let index = buckets.firstIndex(where: { sourceLength < $0.source && targetLength + 1 < $0.target }) {
            return (index, false)
        }
        return (buckets.count - 1, true)
    }

    /// The padded, reversed source row and the `<go> … <eos>` target row of a pair in bucket `(s, t)`.
    static func rows(source: [Int32], target: [Int32], bucket: LengthBucket) -> ([Int32], [Int32]) {
        var sourceRow = Array(source.prefix(bucket.source))
        sourceRow += [Int32](repeating: padding, count: bucket.source - sourceRow.count)
        sourceRow.reverse()
        var targetRow = [go] + target.prefix(bucket.target - 2) + [end]
        targetRow += [Int32](repeating: padding, count: bucket.target - targetRow.count)
        return (sourceRow, targetRow)
    }

    static let name = DatasetName.translation
    static let details: @Sendable (TranslationOptions, TranslationStatistics) -> DatasetDetails =
        DatasetDetails.translation

    /// Prepares the translation data and stores it in the cache.
    /// - Parameter progress: told each file read, the pairs tokenized and arranged in buckets, and the final write.
    /// - throws: ``DatasetError/unusableInput(_:_:)`` when a split holds no pair (the stored dataset is kept),
    ///   ``DataError`` for malformed or misaligned input.
    public static func prepare(
        train: ParallelInput, valid: ParallelInput?, into writer: CacheWriter, options: TranslationOptions,
        progress: PrepareProgressHandler = { _ in }
    ) throws -> PreparedDataset<TranslationStatistics> {
        func read(_ input: ParallelInput) throws -> ParallelTextReader.Pairs {
            try writer.checkCancelled()
            switch input {
            case .aligned(let source, let target):
                progress(.reading("\(source) and \(target)"))
                return try ParallelTextReader.read(
                    source: TextFile(path: source), target: TextFile(path: target), markup: options.markup,
                    decoding: options.decoding, checking: writer.checkCancelled)
            case .tsv(let path):
                progress(.reading(path))
                return try ParallelTextReader.read(
                    tsv: TextFile(path: path), decoding: options.decoding, skipBadLines: options.skipBadLines,
                    checking: writer.checkCancelled)
            }
        }
        var trainPairs = try read(train)
        var validPairs = try valid.map(read)
        let inputs = trainPairs.fingerprints + (validPairs?.fingerprints ?? [])
        func tokenized(_ split: String, _ pairs: [SentencePair]) throws -> [TokenizedPair] {
            try pairs.concurrentMap(
                progress: { progress(.working("tokenizing \(split) pairs", done: $0, total: pairs.count)) },
                checking: writer.checkCancelled
            ) { tokenize($0, options) }
        }
        return try DatasetStore.prepareIfChanged(
            Self.self, inputs: inputs, options: options, in: writer, progress: progress
        ) {
            // The sentences are let go once tokenized (a million pairs' are 0.4 GB): what is read is kept for its counts.
            let trainTokens = try tokenized("train", trainPairs.pairs)
            trainPairs.pairs = []
            var splitPairs = [("train", trainPairs, trainTokens)]
            if let pairs = validPairs?.pairs {
                let validTokens = try tokenized("valid", pairs)
                validPairs!.pairs = []
                splitPairs.append(("valid", validPairs!, validTokens))
            }
            for (split, read, tokens) in splitPairs where tokens.isEmpty {
                throw DatasetError.unusableInput(
                    .translation,
                    "the \(split) split holds no sentence pair "
                        + "(\(read.fingerprints.map(\.name).joined(separator: ", ")): \(read.skipped) skipped, "
                        + "\(read.sourceMarkupLines) markup lines); expected line-aligned sentences"
                )
            }
            try writer.checkCancelled()
            let (sides, total) = (splitPairs[0].2.count, 2 * splitPairs[0].2.count)
            let sourceCounts = try splitPairs[0].2.map(\.source).tokenCounts(
                progress: { progress(.working("counting train tokens", done: $0, total: total)) },
                checking: writer.checkCancelled)
            let targetCounts = try splitPairs[0].2.map(\.target).tokenCounts(
                progress: { progress(.working("counting train tokens", done: sides + $0, total: total)) },
                checking: writer.checkCancelled)
            let sourceVocabulary = Vocabulary.byFrequency(
                sourceCounts, specials: specials, maxSize: options.maxVocabulary, minCount: options.minFrequency)
            let targetVocabulary = Vocabulary.byFrequency(
                targetCounts, specials: specials, maxSize: options.maxVocabulary, minCount: options.minFrequency)

            var content = DatasetWriter(name: .translation)
            var splits: [String: Int] = [:]
            var statistics = TranslationStatistics(
                sourceVocabulary: sourceVocabulary.count, targetVocabulary: targetVocabulary.count)
            for number in splitPairs.indices {
                try writer.checkCancelled()
                let (split, read, pairs) = splitPairs[number]
                splitPairs[number].2 = []  // let go once arranged (a million pairs' tokens are 0.6 GB)
                var counted = TranslationStatistics.Split(
                    pairs: pairs.count, sourceMarkupLines: read.sourceMarkupLines,
                    targetMarkupLines: read.targetMarkupLines,
                    skipped: read.skipped, undecodable: read.undecodable)
                let arranged = try arrange(
                    pairs, in: options.buckets, sourceVocabulary: sourceVocabulary,
                    targetVocabulary: targetVocabulary, checking: writer.checkCancelled
                ) { progress(.working("arranging \(split) pairs in buckets", done: $0, total: pairs.count)) }
                counted.cut = arranged.cut
                let (sources, targets) = (arranged.sources, arranged.targets)
                for (index, bucket) in options.buckets.enumerated() {
                    let count = targets[index].count / bucket.target
                    content.add(
                        "\(split).b\(index).source", sources[index], type: .int32, shape: [count, bucket.source])
                    content.add(
                        "\(split).b\(index).target", targets[index], type: .int32, shape: [count, bucket.target])
                    counted.perBucket.append(count)
                }
                splits[split] = pairs.count
                if split == "train" { statistics.train = counted } else { statistics.valid = counted }
            }
            try content.add(strings: sourceVocabulary.tokens, as: "source_vocab")
            try content.add(strings: targetVocabulary.tokens, as: "target_vocab")
            return DatasetContent(writer: content, splits: splits, statistics: statistics)
        }
    }

    /// Pairs as rows of ids in each bucket (each one's row after the row of the pair before it), and how many pairs
    /// were cut to fit the last bucket.
    private struct BucketRows: Sendable {
        var sources: [[Int32]]
        var targets: [[Int32]]
        var cut = 0

        init(buckets: Int) {
            sources = Array(repeating: [], count: buckets)
            targets = Array(repeating: [], count: buckets)
        }
    }

    /// The pairs' ids, each pair padded into the first bucket it fits (cut to fit the last), in their order within
    /// each bucket: parts of the pairs on every core, the parts' rows then joined in order. `check` is called
    /// between rounds of the parts (each round a sixteenth of them, so that a stop comes soon).
    private static func arrange(
        _ pairs: [TokenizedPair], in buckets: [LengthBucket], sourceVocabulary: Vocabulary,
        targetVocabulary: Vocabulary, checking check: () throws -> Void, progress: @Sendable (_ done: Int) -> Void
    ) throws -> BucketRows {
        let cores = Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)
        let parts = Swift.min(pairs.count, 8 * cores * concurrentMapRounds)
        let ranges = (0..<parts).map { ($0 * pairs.count / parts)..<(($0 + 1) * pairs.count / parts) }
        var arranged = try ranges.concurrentMap(progress: { progress($0 * pairs.count / parts) }, checking: check) {
            range in
            var part = BucketRows(buckets: buckets.count)
            for pair in pairs[range] {
                let (index, wasCut) = bucket(
                    sourceLength: pair.source.count, targetLength: pair.target.count, buckets: buckets)
                if wasCut { part.cut += 1 }
                let (sourceRow, targetRow) = rows(
                    source: pair.source.map { sourceVocabulary.id($0) ?? unknown },
                    target: pair.target.map { targetVocabulary.id($0) ?? unknown }, bucket: buckets[index])
                part.sources[index] += sourceRow
                part.targets[index] += targetRow
            }
            return part
        }
        // Each part's rows are let go as they are joined, so that the rows are held about once, not twice.
        func joined(_ rows: WritableKeyPath<BucketRows, [[Int32]]>, bucket: Int) -> [Int32] {
            var all: [Int32] = []
            all.reserveCapacity(arranged.reduce(0) { $0 + $1[keyPath: rows][bucket].count })
            for part in arranged.indices {
                all += arranged[part][keyPath: rows][bucket]
                arranged[part][keyPath: rows][bucket] = []
            }
            return all
        }
        var all = BucketRows(buckets: 0)
        all.sources = buckets.indices.map { joined(\.sources, bucket: $0) }
        all.targets = buckets.indices.map { joined(\.targets, bucket: $0) }
        all.cut = arranged.reduce(0) { $0 + $1.cut }
        return all
    }

    /// A pair's tokens: whitespace-separated when pretokenized, else the English and French word tokenizers.
    private static func tokenize(_ pair: SentencePair, _ options: TranslationOptions) -> TokenizedPair {
        func tokens(_ text: String, _ language: TranslationTokenizer.Language) -> [String] {
            if options.pretokenized {
                return PythonText.split(options.lowercase ? PythonText.lower(text) : text)
            }
            return TranslationTokenizer(language: language, lowercase: options.lowercase).tokenize(text)
        }
        return TokenizedPair(source: tokens(pair.source, .english), target: tokens(pair.target, .french))
    }
}
