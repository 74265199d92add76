import Foundation
import Preprocessing
import VectorCache

/// Options of `prepare parser`.
public struct ParserOptions: Sendable {
    public var pos = CoNLLUReader.POSColumn.xpos
    public var skipBadLines = false

    public init() {}

    var parameters: [String: String] { ["pos": pos.rawValue, "skip_bad_lines": "\(skipBadLines)"] }
}

/// The outcome of `prepare parser`.
public struct ParserReport: Sendable {
    public var manifest: DatasetManifest
    public var alreadyPrepared: Bool
}

/// The feed-forward dependency parser's data (Chen & Manning 2014): for every configuration the static
/// arc-standard oracle passes through, 18 word ids, 18 POS ids and 12 arc-label ids, labelled with the oracle's
/// transition.
public struct ParserDataset: BatchSource {
    /// Feature ids 0, 1 and 2 of every vocabulary: no token, the root, an unknown token.
    public static let specials = ["<NULL>", "<ROOT>", "<UNK>"]
    public static let null: Int32 = 0
    public static let root: Int32 = 1
    public static let unknown: Int32 = 2
    /// 18 words + 18 tags + 12 labels.
    public static let featureCount = 48

    public let name = "parser"
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
        let stored = try DatasetStore.load("parser", from: cache)
        words = try stored.strings("words")
        tags = try stored.strings("tags")
        labels = try stored.strings("labels")
        transitions = try stored.strings("transitions")
        embeddings = try stored.array("embeddings", as: Float.self)
        var features: [String: [Int32]] = [:]
        var targets: [String: [Int32]] = [:]
        for split in stored.manifest.splits.keys {
            features[split] = try stored.array("\(split).features", as: Int32.self)
            targets[split] = try stored.array("\(split).transitions", as: Int32.self)
        }
        self.features = features
        self.targets = targets
        splits = stored.manifest.splits
    }

    /// Batch arrays: `x` int32 `[B, 48]` (18 word, 18 tag, 12 label ids), `y` int64 `[B]` (transition ids, as
    /// PyTorch's losses want class indices).
    public func batch(split: String, indices: some Collection<Int>) throws -> [BatchArray] {
        let count = try count(of: split)
        let features = features[split]!
        let targets = targets[split]!
        var x = [Int32]()
        x.reserveCapacity(indices.count * Self.featureCount)
        var y = [Int64]()
        y.reserveCapacity(indices.count)
        for index in indices {
            guard index >= 0 && index < count else { throw DatasetError.badRequest("example \(index) is outside 0..<\(count)") }
            let start = index * Self.featureCount
            x.append(contentsOf: features[start..<(start + Self.featureCount)])
            y.append(Int64(targets[index]))
        }
        return [.int32("x", x, shape: [indices.count, Self.featureCount]), .int64("y", y, shape: [indices.count])]
    }

    public func describe(split: String, index: Int) throws -> String {
        _ = try count(of: split)
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

    /// Prepares the parser's data from CoNLL-U (or CoNLL-X) files and stores it in the cache.
    ///
    /// Vocabularies come from the training file (words normalized with the book's digit and hyphen rule, which also
    /// keeps test words the model knows); other test tokens map to `<UNK>`, and test arc labels training never saw to
    /// the unknown label (every projective test sentence is kept). Non-projective sentences, which the arc-standard
    /// system cannot build, are counted and skipped.
    public static func prepare(
        train: TextFile, test: TextFile, cache: VectorCache, options: ParserOptions, oov: OOVVectors
    ) throws -> ParserReport {
        let inputs = [train.fingerprint, test.fingerprint]
        if let existing = try DatasetStore.manifest("parser", in: cache),
            existing.matches(inputs: inputs, parameters: options.parameters, toolVersion: w2vcacheVersion)
        {
            return ParserReport(manifest: existing, alreadyPrepared: true)
        }
        let trainSentences = try CoNLLUReader.read(train, pos: options.pos, skipBadLines: options.skipBadLines)
        let testSentences = try CoNLLUReader.read(test, pos: options.pos, skipBadLines: options.skipBadLines)

        var words = Vocabulary(specials)
        var tags = Vocabulary(specials)
        var labels = Vocabulary(specials)
        for sentence in trainSentences.sentences {
            for token in sentence {
                words.add(BookNormalizer.normalize(token.form))
                tags.add(token.pos)
                labels.add(token.label)
            }
        }
        for sentence in testSentences.sentences {
            for token in sentence {
                let word = BookNormalizer.normalize(token.form)
                if words.id(word) == nil, try cache.isPretrained(Array(word.utf8)) { words.add(word) }
            }
        }
        // Transitions: SHIFT, then LEFT and RIGHT of each training label and of a reserved unknown label, the last
        // of each kind. A test arc whose label training never saw gets the unknown label: <UNK> in the label
        // features, LEFT(<UNK>) or RIGHT(<UNK>) as its target, which a model trained on these data never predicts.
        let trainedLabels = Array(labels.tokens.dropFirst(specials.count))
        let unknownLabel = trainedLabels.count
        let labelCount = trainedLabels.count + 1
        let transitionNames = ["SHIFT"] + (trainedLabels + ["<UNK>"]).map { "LEFT(\($0))" } + (trainedLabels + ["<UNK>"]).map { "RIGHT(\($0))" }

        var writer = DatasetWriter(name: "parser")
        var splits: [String: Int] = [:]
        var statistics: [String: Int] = [:]
        for (split, read) in [("train", trainSentences), ("test", testSentences)] {
            var features: [Int32] = []
            var targets: [Int32] = []
            var nonProjective = 0
            var unknownLabelSentences = 0
            var unknownLabelArcs = 0
            for sentence in read.sentences {
                let wordIDs = [root] + sentence.map { words.id(BookNormalizer.normalize($0.form)) ?? unknown }
                let tagIDs = [root] + sentence.map { tags.id($0.pos) ?? unknown }
                let labelIndices = sentence.map { token in labels.id(token.label).map { Int($0) - specials.count } ?? unknownLabel }
                guard let sequence = ArcStandardOracle.transitions(
                    heads: [-1] + sentence.map(\.head), labels: [-1] + labelIndices)
                else {
                    nonProjective += 1
                    continue
                }
                let unseen = labelIndices.filter { $0 == unknownLabel }.count
                if unseen > 0 {
                    unknownLabelSentences += 1
                    unknownLabelArcs += unseen
                }
                var state = ArcStandardState(wordCount: sentence.count)
                for transition in sequence {
                    features += Self.features(of: state, wordIDs: wordIDs, tagIDs: tagIDs) {
                        $0 == unknownLabel ? unknown : Int32($0 + specials.count)
                    }
                    targets.append(transition.id(labelCount: labelCount))
                    state.apply(transition)
                }
            }
            guard split == "train" ? !targets.isEmpty : !read.sentences.isEmpty else {
                let file = split == "train" ? train.path : test.path
                throw DatasetError.unusableInput("parser", "\(file): the \(split) split holds no projective sentence (\(read.sentences.count) read, \(nonProjective) non-projective); expected a CoNLL-U treebank")
            }
            writer.add("\(split).features", features, type: .int32, shape: [targets.count, featureCount])
            writer.add("\(split).transitions", targets, type: .int32, shape: [targets.count])
            splits[split] = targets.count
            statistics["\(split)_sentences"] = read.sentences.count
            statistics["\(split)_non_projective"] = nonProjective
            statistics["\(split)_unknown_label_sentences"] = unknownLabelSentences
            statistics["\(split)_unknown_label_arcs"] = unknownLabelArcs
            statistics["\(split)_skipped_lines"] = read.skippedLines
            statistics["\(split)_configurations"] = targets.count
        }

        // Word vectors: none for <NULL>, made-up ones for <ROOT> and <UNK>, then pretrained or out-of-vocabulary.
        let matrix = try EmbeddingMatrix.build(
            tokens: words.tokens, specials: ["<NULL>": .zero, "<ROOT>": .random, "<UNK>": .random], cache: cache, oov: oov)
        writer.add("embeddings", matrix.values, type: .float32, shape: [words.count, cache.dimension])
        try writer.add(strings: words.tokens, as: "words")
        try writer.add(strings: tags.tokens, as: "tags")
        try writer.add(strings: labels.tokens, as: "labels")
        try writer.add(strings: transitionNames, as: "transitions")
        statistics["oov_words"] = matrix.oovWords.count
        statistics["vocabulary"] = words.count
        let manifest = try writer.commit(
            to: cache, inputs: inputs, parameters: options.parameters, splits: splits, statistics: statistics,
            oovWords: matrix.oovWords, oov: oov)
        return ParserReport(manifest: manifest, alreadyPrepared: false)
    }
}
