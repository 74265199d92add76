import Foundation
import Support
import VectorCache

/// A vocabulary's `[V, dim]` float32 matrix from the cache: pretrained vectors where the model has the word,
/// otherwise the word's out-of-vocabulary vector (which the dataset's commit stores in the cache, marked).
enum EmbeddingMatrix {
    /// How a special token's row is made (specials are never stored in the cache).
    enum SpecialRow {
        /// All zeros (padding, "no token").
        case zero
        /// The seeded random vector of the special's name (never an n-gram vector: a special is not a word).
        case random
    }

    /// What the matrix holds besides its values.
    struct Rows {
        /// Words whose rows are out-of-vocabulary vectors.
        var oovWords: [[UInt8]]
        var pretrained: Int
    }

    /// The most bytes a matrix may be: what one answer of the server can carry (NIO's `ByteBuffer` holds less than
    /// 4 GiB), less room for the `.npy` header. A larger one could never be served, and would be made in memory.
    static let largestByteCount = Int(UInt32.max) - 4096

    /// The step ``add(tokens:specials:cache:oov:to:progress:)`` reports.
    static let step = "making the embedding matrix"

    /// Adds the matrix of `tokens` to `content` as its array `embeddings`, row by row, telling `progress` the rows
    /// made (step ``step``) at the start, every `reportBytes` of rows or ``PrepareProgress/interval`` rows, whichever
    /// comes first, and at the end.
    /// - throws: ``DatasetError/unusableInput(_:_:)`` before anything is made when the matrix would be larger than
    ///   ``largestByteCount``.
    static func add(
        tokens: [String], specials: [String: SpecialRow], cache: VectorCache, oov: OOVSource,
        to content: inout DatasetWriter, progress: PrepareProgressHandler = { _ in }, reportBytes: Int = 64 << 20
    ) throws -> Rows {
        let (values, overflow) = tokens.count.multipliedReportingOverflow(by: cache.dimension)
        guard !overflow, values <= largestByteCount / MemoryLayout<Float>.size else {
            let megabytes = String(format: "%.1f", Double(tokens.count) * Double(cache.dimension) * 4 / 1_048_576)
            throw DatasetError.unusableInput(
                content.name,
                "the embedding matrix of \(tokens.count) words x \(cache.dimension) values would be \(megabytes) MB, "
                    + "more than one answer of the server can carry (4096.0 MB); expected a smaller vocabulary or a "
                    + "cache of shorter vectors"
            )
        }
        var rows = Rows(oovWords: [], pretrained: 0)
        let interval = max(1, min(PrepareProgress.interval, reportBytes / cache.vectorBytes))
        progress(.working(step, done: 0, total: tokens.count))
        let zeros = [UInt8](repeating: 0, count: cache.vectorBytes)
        // Every row is little-endian float32 bytes already (the cache's values, the OOV sources' vectors): appended
        // as they are.
        try content.add("embeddings", type: .float32, shape: [tokens.count, cache.dimension]) { append in
            for (index, token) in tokens.enumerated() {
                if index > 0, index.isMultiple(of: interval) {
                    progress(.working(step, done: index, total: tokens.count))
                }
                let key = Array(token.utf8)
                if let special = specials[token] {
                    switch special {
                    case .zero: zeros.withUnsafeBytes { append($0) }
                    case .random: oov.random.vectorBytes(for: key).withUnsafeBytes { append($0) }
                    }
                } else if try cache.withVectorBytes(for: key, { stored in stored.map { append($0) } != nil }) {
                    if try cache.isOutOfVocabulary(key) { rows.oovWords.append(key) } else { rows.pretrained += 1 }
                } else {
                    rows.oovWords.append(key)
                    try oov.vectorBytes(for: key).bytes.withUnsafeBytes { append($0) }
                }
            }
        }
        progress(.working(step, done: tokens.count, total: tokens.count))
        return rows
    }
}
