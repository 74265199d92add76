import Dispatch
import Foundation
import Support
import VectorCache

/// The rows of a `POST /v1/vectors` answer, in request order: one `dimension`-float32 row per word, and what each
/// row is (`X-W2VCache-Rows`: `c` in the cache, `s` from subwords, `r` random, `z` zeros).
struct VectorRows {
    /// What a word the cache lacks gets.
    enum Missing {
        /// Nothing: the request is refused, naming ``unknown``.
        case error
        case zero
        case oov(OOVSource)
    }

    /// `words.count x dimension` little-endian float32.
    var data: [UInt8]
    /// One ASCII letter per word.
    var kinds: String
    /// The words the cache lacks, in request order.
    var unknown: [[UInt8]]

    /// A request of fewer than twice as many words is answered on the calling thread; a larger one is spread over
    /// the cores, off the event loop: a verified read of a vector costs 3-4 µs, an out-of-vocabulary vector tens of
    /// n-gram rows, and one client's 100 words come back ~20% sooner in two parts.
    static let wordsPerPart = 32

    /// Gathers the rows of `words`, each its bytes.
    /// - throws: ``CacheError`` when the cache cannot be read or holds a vector of the wrong size.
    static func gather(_ words: [[UInt8]], from vectors: HotVectors, missing: Missing) async throws -> VectorRows {
        let parts = min(ProcessInfo.processInfo.activeProcessorCount, words.count / wordsPerPart)
        guard parts > 1 else { return try gather(words, from: vectors, missing: missing, parts: 1) }
        return try await ServerState.compute { try gather(words, from: vectors, missing: missing, parts: parts) }
    }

    private static func gather(_ words: [[UInt8]], from vectors: HotVectors, missing: Missing, parts: Int) throws
        -> VectorRows
    {
        let rowBytes = vectors.cache.vectorBytes
        let failure = Locked<(any Error)?>(nil)
        var kinds = [UInt8](repeating: 0, count: words.count)
        let data = [UInt8].filled(count: words.count * rowBytes) { buffer in
            nonisolated(unsafe) let rows = UnsafeMutableRawBufferPointer(buffer)
            kinds.withUnsafeMutableBufferPointer { kinds in
                nonisolated(unsafe) let kinds = kinds
                DispatchQueue.concurrentPerform(iterations: parts) { part in
                    do {
                        for index in (part * words.count / parts)..<((part + 1) * words.count / parts) {
                            kinds[index] = try fill(
                                rows.row(index, bytes: rowBytes), for: words[index], from: vectors, missing: missing)
                        }
                    } catch {
                        failure.withLock { $0 = $0 ?? error }
                    }
                }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        let unknown = zip(words, kinds).compactMap { $1 == UInt8(ascii: "c") ? nil : $0 }
        return VectorRows(data: data, kinds: String(decoding: kinds, as: UTF8.self), unknown: unknown)
    }

    /// Writes the row of `word` into `row` (zeros for a word the cache lacks under `.error`) and says what it is.
    private static func fill(
        _ row: UnsafeMutableRawBufferPointer, for key: [UInt8], from vectors: HotVectors, missing: Missing
    ) throws -> UInt8 {
        let cache = vectors.cache
        let found = try vectors.withVectorBytes(for: key) { bytes -> Bool in
            guard let bytes else { return false }
            guard bytes.count == row.count else {
                throw CacheError(
                    .corrupt,
                    "the cache \(cache.path) holds \(bytes.count) bytes for a \(row.count)-byte vector; run "
                        + "`w2vcache verify --db \(cache.path)`")
            }
            row.copyMemory(from: bytes)
            return true
        }
        if found { return UInt8(ascii: "c") }
        guard case .oov(let source) = missing else {
            row.initializeMemory(as: UInt8.self, repeating: 0)
            return UInt8(ascii: "z")
        }
        let (vector, kind) = try source.vectorBytes(for: key)
        vector.withUnsafeBytes { row.copyMemory(from: $0) }
        return UInt8(ascii: kind == .subword ? "s" : "r")
    }
}
