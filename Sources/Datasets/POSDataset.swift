import Foundation
import LevelDB
import Preprocessing
import VectorCache

/// Which tag a window is labelled with.
public enum WindowLabel: String, Sendable, CaseIterable, Codable {
    /// The tag at `i + n/2`, as in the book's code.
    case centre
    /// The tag of the window's last word.
    case last
}

/// Options of `prepare pos`.
public struct POSOptions: Sendable {
    public var window = 3
    public var label = WindowLabel.centre
    /// Stop phrase merges at sentence boundaries (the book merges across them).
    public var keepSentences = false
    public var skipBadLines = false

    public init() {}

    var parameters: [String: String] {
        ["window": "\(window)", "label": label.rawValue, "keep_sentences": "\(keepSentences)", "skip_bad_lines": "\(skipBadLines)"]
    }
}

/// The outcome of `prepare pos`.
public struct POSReport: Sendable {
    public var manifest: DatasetManifest
    /// True when the same inputs and options were already prepared: nothing was done.
    public var alreadyPrepared: Bool
    public var train = BookNormalizer.Statistics()
    public var test = BookNormalizer.Statistics()
    /// The processed token streams, as the book writes them (`word TAG` lines).
    public var processed: [String: [BookNormalizer.Token]] = [:]
}

/// The feed-forward POS tagger's data: the book's normalized token stream, a vocabulary with vectors, and n-gram
/// windows labelled with a tag.
public struct POSDataset: BatchSource {
    public let name = "pos"
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
        let stored = try DatasetStore.load("pos", from: cache)
        let manifest = stored.manifest
        vocabulary = try stored.strings("vocab")
        tags = try stored.strings("tags")
        dimension = manifest.dimension
        window = Int(manifest.parameters["window"] ?? "3") ?? 3
        let label = WindowLabel(rawValue: manifest.parameters["label"] ?? "centre") ?? .centre
        labelOffset = label == .centre ? window / 2 : window - 1
        embeddings = try stored.array("embeddings", as: Float.self)
        var ids: [String: [Int32]] = [:]
        var tagIDs: [String: [Int32]] = [:]
        for split in manifest.splits.keys {
            ids[split] = try stored.array("\(split).ids", as: Int32.self)
            tagIDs[split] = try stored.array("\(split).tags", as: Int32.self)
        }
        self.ids = ids
        self.tagIDs = tagIDs
        splits = manifest.splits
    }

    /// Batch arrays: `x` float32 `[B, window * dim]` (the window's vectors concatenated), `y` int64 `[B]` (tag ids).
    public func batch(split: String, indices: some Collection<Int>) throws -> [BatchArray] {
        let count = try count(of: split)
        let ids = ids[split]!
        let tags = tagIDs[split]!
        for index in indices where index < 0 || index >= count {
            throw DatasetError.badRequest("example \(index) is outside 0..<\(count)")
        }
        let rowBytes = window * dimension * 4
        let vectorBytes = dimension * 4
        // The window's vectors are copied straight into the batch's bytes: one pass, no zero-fill.
        let x = [UInt8](unsafeUninitializedCapacity: indices.count * rowBytes) { output, initialized in
            embeddings.withUnsafeBytes { matrix in
                for (row, index) in indices.enumerated() {
                    for offset in 0..<window {
                        (output.baseAddress! + row * rowBytes + offset * vectorBytes).initialize(
                            from: matrix.baseAddress!.assumingMemoryBound(to: UInt8.self) + Int(ids[index + offset]) * vectorBytes,
                            count: vectorBytes)
                    }
                }
            }
            initialized = indices.count * rowBytes
        }
        let y = indices.map { Int64(tags[$0 + labelOffset]) }
        return [
            BatchArray(name: "x", type: .float32, shape: [indices.count, window * dimension], bytes: x),
            .int64("y", y, shape: [indices.count]),
        ]
    }

    public func describe(split: String, index: Int) throws -> String {
        _ = try count(of: split)
        let ids = ids[split]!
        let words = (0..<window).map { vocabulary[Int(ids[index + $0])] }
        return words.joined(separator: " ") + "  ->  " + tags[Int(tagIDs[split]![index + labelOffset])]
    }

    /// Prepares the dataset from CoNLL-2000-style files and stores it in the cache.
    ///
    /// Words not in the model get out-of-vocabulary vectors, stored in the cache under their own keys.
    public static func prepare(
        train: TextFile, test: TextFile, cache: VectorCache, options: POSOptions, oov: OOVVectors
    ) throws -> POSReport {
        precondition(options.window >= 1, "the window must hold at least one word")
        let inputs = [train.fingerprint, test.fingerprint]
        if let existing = try DatasetStore.manifest("pos", in: cache),
            existing.matches(inputs: inputs, parameters: options.parameters, toolVersion: w2vcacheVersion)
        {
            return POSReport(manifest: existing, alreadyPrepared: true)
        }

        var known: [String: Bool] = [:]
        let normalizer = BookNormalizer { key in
            if let answer = known[key] { return answer }
            let answer = try cache.isPretrained(Array(key.utf8))
            known[key] = answer
            return answer
        }
        var report = POSReport(manifest: DatasetManifest.placeholder, alreadyPrepared: false)
        var vocabulary = Vocabulary()
        var tagSet = Vocabulary()
        var writer = DatasetWriter(name: "pos")
        var splits: [String: Int] = [:]
        var skipped = 0
        for (split, file) in [("train", train), ("test", test)] {
            let rows = try CoNLL2000Reader.read(file, skipBadLines: options.skipBadLines)
            skipped += rows.skippedLines
            let (tokens, statistics) = try normalizer.process(
                rows.rows, sentenceStarts: options.keepSentences ? Set(rows.sentenceStarts) : [])
            if split == "train" { report.train = statistics } else { report.test = statistics }
            report.processed[split] = tokens
            let ids = tokens.map { vocabulary.add($0.word) }
            let tags = tokens.map { tagSet.add($0.tag) }
            writer.add("\(split).ids", ids, type: .int32, shape: [ids.count])
            writer.add("\(split).tags", tags, type: .int32, shape: [tags.count])
            splits[split] = max(0, tokens.count - options.window + 1)
            // Training needs a window; a test file may be short, but not empty.
            guard split == "train" ? splits[split]! > 0 : !rows.rows.isEmpty else {
                throw DatasetError.unusableInput("pos", "\(file.path): the \(split) split gives no window of \(options.window) tokens (\(rows.rows.count) rows read); expected CoNLL-2000 lines \"word TAG\"")
            }
        }

        let matrix = try EmbeddingMatrix.build(tokens: vocabulary.tokens, specials: [:], cache: cache, oov: oov)
        writer.add("embeddings", matrix.values, type: .float32, shape: [vocabulary.count, cache.dimension])
        try writer.add(strings: vocabulary.tokens, as: "vocab")
        try writer.add(strings: tagSet.tokens, as: "tags")

        var statistics: [String: Int] = ["vocabulary": vocabulary.count, "pretrained_words": matrix.pretrained,
                                         "oov_words": matrix.oovWords.count, "tags": tagSet.count, "skipped_lines": skipped]
        for (split, value) in [("train", report.train), ("test", report.test)] {
            statistics["\(split)_rows"] = value.rows
            statistics["\(split)_tokens"] = report.processed[split]!.count
            statistics["\(split)_merged"] = value.merged
            statistics["\(split)_found"] = value.found
            statistics["\(split)_split"] = value.split
            statistics["\(split)_oov_tokens"] = value.outOfVocabulary
        }
        report.manifest = try writer.commit(
            to: cache, inputs: inputs, parameters: options.parameters, splits: splits, statistics: statistics,
            oovWords: matrix.oovWords, oov: oov)
        return report
    }

    /// Every key preparing these files can ask the model for (``BookNormalizer/candidateKeys(_:)``): a cache built
    /// with only these keys prepares exactly as the full model does, which is how `prepare pos --vectors` makes a
    /// small cache in one streamed pass.
    public static func candidateKeys(train: TextFile, test: TextFile, skipBadLines: Bool) throws -> Set<[UInt8]> {
        var keys = Set<[UInt8]>()
        for file in [train, test] {
            let rows = try CoNLL2000Reader.read(file, skipBadLines: skipBadLines).rows
            for key in BookNormalizer.candidateKeys(rows) { keys.insert(Array(key.utf8)) }
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

extension DatasetManifest {
    /// An empty manifest, replaced by the real one once a preparation commits.
    static let placeholder = DatasetManifest(
        name: "", inputs: [], parameters: [:], toolVersion: "", dimension: 0, preparedAt: "", splits: [:], arrays: [:],
        vocabularies: [:], statistics: [:])
}
