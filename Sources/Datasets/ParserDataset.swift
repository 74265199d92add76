import CacheBuild
import Foundation
import Preprocessing
import Support
import VectorCache

/// Options of `prepare parser`.
public struct ParserOptions: Sendable, Equatable, Codable {
    /// The POS column (EWT's XPOS holds Penn Treebank tags, as the book's parser uses).
    public var pos = CoNLLUReader.POSColumn.xpos
    /// Count and skip malformed lines instead of stopping at the first.
    public var skipBadLines = false

    public init() {}
}

/// What `prepare parser` counted.
public struct ParserStatistics: Sendable, Equatable, Codable {
    /// One split's sentences and the configurations their oracle runs gave.
    public struct Split: Sendable, Equatable, Codable {
        /// Sentences read, the non-projective ones included.
        public var sentences = 0
        /// Skipped: the arc-standard system cannot build them.
        public var nonProjective = 0
        /// Kept, with their unseen labels mapped to the unknown label.
        public var unknownLabelSentences = 0
        /// Arcs whose label the training split never had.
        public var unknownLabelArcs = 0
        /// Malformed lines passed over (`skipBadLines`).
        public var skippedLines = 0
        /// Rows of the dataset: one per configuration, labelled with its transition.
        public var configurations = 0
    }

    public var train = Split()
    public var test = Split()
    /// Word ids, specials included.
    public var vocabulary = 0
    /// Words of the vocabulary the cache lacked, given out-of-vocabulary vectors.
    public var oovWords = 0
}

/// The feed-forward dependency parser's data (Chen & Manning 2014): for every configuration the static
/// arc-standard oracle passes through, 18 word ids, 18 POS ids and 12 arc-label ids, labelled with the oracle's
/// transition.
public struct ParserDataset: BatchSource, PreparableDataset {
    /// Feature ids 0, 1 and 2 of every vocabulary: no token, the root, an unknown token.
    public static let specials = ["<NULL>", "<ROOT>", "<UNK>"]
    public static let null: Int32 = 0
    public static let root: Int32 = 1
    public static let unknown: Int32 = 2
    /// 18 words + 18 tags + 12 labels.
    public static let featureCount = 48

    public let name = DatasetName.parser
    public let splits: [String: Int]
    public let words: [String]
    public let tags: [String]
    /// Feature labels: the specials, then the dependency labels.
    public let labels: [String]
    public let transitions: [String]
    private let features: [String: [Int32]]
    private let targets: [String: [Int32]]
    /// `[V, dim]` float32 for `words`.
    public let embeddings: [Float]

    public init(cache: VectorCache) throws {
        let stored = try DatasetStore.load(.parser, from: cache)
        words = try stored.strings("words")
        tags = try stored.strings("tags")
        labels = try stored.strings("labels")
        transitions = try stored.strings("transitions")
        embeddings = try stored.array("embeddings", as: Float.self)
        var features: [String: [Int32]] = [:]
        var targets: [String: [Int32]] = [:]
        for (split, count) in stored.manifest.splits {
            let splitFeatures = try stored.array("\(split).features", as: Int32.self)
            let splitTargets = try stored.array("\(split).transitions", as: Int32.self)
            // What `fill` and `describe` index by: a row of features per configuration, each id in its list.
            let bounds = [(0..<18, words.count), (18..<36, tags.count), (36..<48, labels.count)]
            guard splitTargets.count == count, splitFeatures.count == count * Self.featureCount,
                splitTargets.allLie(below: transitions.count),
                bounds.allSatisfy({ columns, bound in
                    stride(from: 0, to: splitFeatures.count, by: Self.featureCount).allSatisfy {
                        splitFeatures[($0 + columns.lowerBound)..<($0 + columns.upperBound)].allLie(below: bound)
                    }
                })
            else {
                throw DatasetError.damaged(
                    .parser, "the \(split) split's features or transitions do not fit its \(count) configurations")
            }
            features[split] = splitFeatures
            targets[split] = splitTargets
        }
        self.features = features
        self.targets = targets
        splits = stored.manifest.splits
    }

    /// Batch arrays: `x` int32 `[B, 48]` (18 word, 18 tag, 12 label ids), `y` int64 `[B]` (transition ids, as
    /// PyTorch's losses want class indices).
    public func layout(split: String, indices: ArraySlice<Int>, compact: Bool) throws -> [ArrayLayout] {
        try checkIndices(indices, count: try count(of: split))
        return [
            ArrayLayout(name: "x", type: .int32, shape: [indices.count, Self.featureCount]),
            ArrayLayout(name: "y", type: .int64, shape: [indices.count]),
        ]
    }

    public func fill(split: String, indices: ArraySlice<Int>, compact: Bool, into destinations: BatchDestination) throws
    {
        try checkIndices(indices, count: try count(of: split))
        let features = features[split]!
        let targets = targets[split]!
        for (row, index) in indices.enumerated() {
            let start = index * Self.featureCount
            destinations[0].store(int32: features[start..<(start + Self.featureCount)], at: row * Self.featureCount * 4)
        }
        destinations[1].store(int64: indices.lazy.map { targets[$0] })
    }

    public func describe(split: String, index: Int) throws -> String {
        try checkIndices([index], count: try count(of: split))
        let row = features[split]![(index * Self.featureCount)..<((index + 1) * Self.featureCount)].map(Int.init)
        let stack = (0..<3).map { words[row[$0]] + "/" + tags[row[18 + $0]] }.joined(separator: " ")
        let buffer = (3..<6).map { words[row[$0]] + "/" + tags[row[18 + $0]] }.joined(separator: " ")
        return "stack [\(stack)] buffer [\(buffer)]  ->  \(transitions[Int(targets[split]![index])])"
    }

    /// The 48 feature ids of a configuration, in Chen & Manning's order: words, then tags, of s1 s2 s3 b1 b2 b3
    /// lc1(s1) rc1(s1) lc2(s1) rc2(s1) lc1(lc1(s1)) rc1(rc1(s1)) and the same six of s2; then the arc labels of those
    /// twelve children positions. `wordIDs` and `tagIDs` are indexed by token (0 is the root).
    public static func features(
        of state: ArcStandardState, wordIDs: [Int32], tagIDs: [Int32], labelIDs: (Int) -> Int32
    ) -> [Int32] {
        let s1 = state.stack(0), s2 = state.stack(1), s3 = state.stack(2)
        let b1 = state.buffer(0), b2 = state.buffer(1), b3 = state.buffer(2)
        var positions = [s1, s2, s3, b1, b2, b3]
        for top in [s1, s2] {
            positions += [
                state.leftmost(top), state.rightmost(top), state.leftmost(top, 2), state.rightmost(top, 2),
                state.leftmost(state.leftmost(top)), state.rightmost(state.rightmost(top)),
            ]
        }
        var ids = positions.map { $0.map { $0 == 0 ? root : wordIDs[$0] } ?? null }
        ids += positions.map { $0.map { $0 == 0 ? root : tagIDs[$0] } ?? null }
        ids += positions[6...].map { $0.map { labelIDs(state.labels[$0]) } ?? null }
        return ids
    }

    static let name = DatasetName.parser
    static let details: @Sendable (ParserOptions, ParserStatistics) -> DatasetDetails = DatasetDetails.parser

    /// Prepares the parser's data from CoNLL-U (or CoNLL-X) files and stores it in the cache.
    ///
    /// Vocabularies come from the training file (words normalized with the book's digit and hyphen rule, which also
    /// keeps test words the model knows); other test tokens map to `<UNK>`, and test arc labels training never saw to
    /// the unknown label (every projective test sentence is kept). Non-projective sentences, which the arc-standard
    /// system cannot build, are counted and skipped.
    /// - throws: ``DatasetError/unusableInput(_:_:)`` when training holds no projective sentence or the test file
    ///   no sentence (the stored dataset is kept), ``DataError`` for malformed input.
    public static func prepare(
        train: TextFile, test: TextFile, into writer: CacheWriter, options: ParserOptions, oov: OOVSource,
        progress: PrepareProgressHandler = { _ in }
    ) throws -> PreparedDataset<ParserStatistics> {
        let cache = writer.cache
        func read(_ file: TextFile) throws -> CoNLLUReader.Sentences {
            try writer.checkCancelled()
            progress(.reading(file.path))
            return try CoNLLUReader.read(
                file, pos: options.pos, skipBadLines: options.skipBadLines, checking: writer.checkCancelled)
        }
        return try DatasetStore.prepareIfChanged(
            Self.self, inputs: [train.fingerprint, test.fingerprint], options: options, oov: oov.kind, in: writer,
            progress: progress
        ) {
            let read = [("train", train.path, try read(train)), ("test", test.path, try read(test))]
            let vocabularies = try Vocabularies(train: read[0].2.sentences, test: read[1].2.sentences, cache: cache)
            var content = DatasetWriter(name: .parser)
            var splits: [String: Int] = [:]
            var statistics = ParserStatistics()
            for (split, path, sentences) in read {
                var examples = try vocabularies.examples(of: sentences.sentences) { done in
                    try writer.checkCancelled()
                    progress(
                        .working(
                            "following the oracle through \(split) sentences", done: done,
                            total: sentences.sentences.count))
                }
                examples.statistics.skippedLines = sentences.skippedLines
                guard split == "train" ? !examples.targets.isEmpty : !sentences.sentences.isEmpty else {
                    throw DatasetError.unusableInput(
                        .parser,
                        "\(path): the \(split) split holds no projective sentence (\(sentences.sentences.count) read, "
                            + "\(examples.statistics.nonProjective) non-projective); expected a CoNLL-U treebank"
                    )
                }
                content.add(
                    "\(split).features", examples.features, type: .int32, shape: [examples.targets.count, featureCount])
                content.add("\(split).transitions", examples.targets, type: .int32, shape: [examples.targets.count])
                splits[split] = examples.targets.count
                if split == "train" {
                    statistics.train = examples.statistics
                } else {
                    statistics.test = examples.statistics
                }
            }
            // Word vectors: none for <NULL>, made-up ones for <ROOT> and <UNK>, then pretrained or out-of-vocabulary.
            let matrix = try EmbeddingMatrix.add(
                tokens: vocabularies.words.tokens, specials: ["<NULL>": .zero, "<ROOT>": .random, "<UNK>": .random],
                cache: cache, oov: oov, to: &content, progress: progress)
            try content.add(strings: vocabularies.words.tokens, as: "words")
            try content.add(strings: vocabularies.tags.tokens, as: "tags")
            try content.add(strings: vocabularies.labels.tokens, as: "labels")
            try content.add(strings: vocabularies.transitionNames, as: "transitions")
            statistics.oovWords = matrix.oovWords.count
            statistics.vocabulary = vocabularies.words.count
            return DatasetContent(
                writer: content, splits: splits, statistics: statistics, oovWords: matrix.oovWords, oov: oov)
        }
    }

    /// The ids of a treebank's words, tags and labels, and of the transitions over those labels.
    ///
    /// Transitions: SHIFT, then LEFT and RIGHT of each training label and of a reserved unknown label, the last of
    /// each kind. A test arc whose label training never saw gets the unknown label: `<UNK>` in the label features,
    /// LEFT(<UNK>) or RIGHT(<UNK>) as its target, which a model trained on these data never predicts.
    struct Vocabularies {
        var words = Vocabulary(specials)
        var tags = Vocabulary(specials)
        var labels = Vocabulary(specials)
        let trainedLabels: [String]

        init(train: [[DependencyToken]], test: [[DependencyToken]], cache: VectorCache) throws {
            for token in train.joined() {
                words.add(BookNormalizer.normalize(token.form))
                tags.add(token.pos)
                labels.add(token.label)
            }
            for token in test.joined() {
                let word = BookNormalizer.normalize(token.form)
                if words.id(word) == nil, try cache.isPretrained(Array(word.utf8)) { words.add(word) }
            }
            trainedLabels = Array(labels.tokens.dropFirst(specials.count))
        }

        /// The index of the reserved unknown label among the transitions' labels.
        var unknownLabel: Int { trainedLabels.count }

        var transitionNames: [String] {
            ["SHIFT"] + (trainedLabels + ["<UNK>"]).map { "LEFT(\($0))" }
                + (trainedLabels + ["<UNK>"]).map { "RIGHT(\($0))" }
        }

        /// Every configuration the static oracle passes through on the projective sentences, as features and
        /// targets.
        /// - Parameter progress: told the sentences done so far, every ``PrepareProgress/interval`` / 16; what it
        ///   throws (an interruption) stops the step.
        func examples(of sentences: [[DependencyToken]], progress: (_ done: Int) throws -> Void) rethrows -> (
            features: [Int32], targets: [Int32], statistics: ParserStatistics.Split
        ) {
            var features: [Int32] = []
            var targets: [Int32] = []
            var statistics = ParserStatistics.Split()
            statistics.sentences = sentences.count
            for (number, sentence) in sentences.enumerated() {
                if number % (PrepareProgress.interval / 16) == 0 { try progress(number) }
                let wordIDs = [root] + sentence.map { words.id(BookNormalizer.normalize($0.form)) ?? unknown }
                let tagIDs = [root] + sentence.map { tags.id($0.pos) ?? unknown }
                let labelIndices = sentence.map { token in
                    labels.id(token.label).map { Int($0) - specials.count } ?? unknownLabel
                }
                guard
                    let sequence = ArcStandardOracle.transitions(
                        heads: [-1] + sentence.map(\.head), labels: [-1] + labelIndices)
                else {
                    statistics.nonProjective += 1
                    continue
                }
                let unseen = labelIndices.filter { $0 == unknownLabel }.count
                if unseen > 0 {
                    statistics.unknownLabelSentences += 1
                    statistics.unknownLabelArcs += unseen
                }
                var state = ArcStandardState(wordCount: sentence.count)
                for transition in sequence {
                    features += ParserDataset.features(of: state, wordIDs: wordIDs, tagIDs: tagIDs) {
                        $0 == unknownLabel ? unknown : Int32($0 + specials.count)
                    }
                    targets.append(transition.id(labelCount: trainedLabels.count + 1))
                    state.apply(transition)
                }
            }
            statistics.configurations = targets.count
            return (features, targets, statistics)
        }
    }
}
