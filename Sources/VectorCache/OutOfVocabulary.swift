import CVectorKernels
import Dispatch
import Foundation
import LevelDB
import Support
import Word2Vec

#if canImport(Glibc)
import Glibc
#endif

/// Vectors for words the pretrained model lacks: each component uniform in `[-range, range)`, drawn from a generator
/// seeded by a stable hash of the word's bytes and a configurable seed, so the same word gets the same bytes on every
/// machine and every run.
public struct OOVVectors: Sendable, Equatable {
    public var dimension: Int
    public var seed: UInt64
    public var range: Float

    public init(dimension: Int, seed: UInt64, range: Float) {
        self.dimension = dimension
        self.seed = seed
        self.range = range
    }

    /// The seed unless the configuration says otherwise (`oov.seed`).
    public static let defaultSeed: UInt64 = 1
    /// The range unless the configuration says otherwise (`oov.range`): the book's uniform(-0.25, 0.25).
    public static let defaultRange: Float = 0.25

    /// The vector of `word`, as little-endian float32 bytes.
    public func vectorBytes(for word: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: dimension * 4) { bytes, count in
            write(for: word, into: UnsafeMutableRawBufferPointer(bytes))
            count = bytes.count
        }
    }

    /// Writes the vector of `word` into `row`, as little-endian float32 bytes, without allocating; `false` (and
    /// nothing written) when `row` is not `dimension` floats long.
    @discardableResult
    public func write(for word: some Collection<UInt8>, into row: UnsafeMutableRawBufferPointer) -> Bool {
        guard row.count == dimension * 4 else { return false }
        var random = SplitMix64(seed: StableHash.fnv1a64(word) ^ (seed &* 0x9E37_79B9_7F4A_7C15))
        for index in 0..<dimension {
            row.storeBytes(
                of: random.nextSymmetric(range: range).bitPattern.littleEndian, toByteOffset: index * 4,
                as: UInt32.self)
        }
        return true
    }
}

/// The value of a word's out-of-vocabulary marker (`\0oov\0WORD`): how the word's vector was made, recorded so that
/// `verify` can make it again and compare.
package enum OOVMarker: Equatable, Sendable {
    /// The word's n-gram vector: `subword`.
    case subword
    /// A seeded random vector: `random SEED RANGE`, the range as Swift prints a `Float` (which reads back exactly).
    case random(seed: UInt64, range: Float)
    /// A random vector whose seed and range were not recorded: the empty value w2vcache wrote before markers
    /// recorded them (its releases up to 0.4.0).
    case unrecordedRandom

    /// The marker of a vector of `kind` made by `random` (or by n-grams).
    package init(kind: OOVKind, random: OOVVectors) {
        self = kind == .subword ? .subword : .random(seed: random.seed, range: random.range)
    }

    /// The marker a value holds; `nil` for one that is none of the three.
    package init?(_ value: some Collection<UInt8>) {
        if value.isEmpty {
            self = .unrecordedRandom
            return
        }
        let fields = String(decoding: value, as: UTF8.self).split(separator: " ", omittingEmptySubsequences: false)
        if fields == ["subword"] {
            self = .subword
        } else if fields.count == 3, fields[0] == "random", let seed = UInt64(fields[1]), let range = Float(fields[2]),
            range.isFinite, range > 0,
            String(decoding: value, as: UTF8.self) == Self.random(seed: seed, range: range).text
        {
            self = .random(seed: seed, range: range)
        } else {
            return nil
        }
    }

    /// The marker's value as stored.
    package var bytes: [UInt8] { Array(text.utf8) }

    private var text: String {
        switch self {
        case .subword: OOVKind.subword.rawValue
        case .random(let seed, let range): "random \(seed) \(range)"
        case .unrecordedRandom: ""
        }
    }

    /// The kind of vector the marker says.
    package var kind: OOVKind { self == .subword ? .subword : .random }
}

/// Where the vector of a word the vectors file lacks comes from.
public enum OOVKind: String, Sendable, CaseIterable, Codable {
    /// A seeded random vector (``OOVVectors``), as the book gives every word GoogleNews lacks.
    case random
    /// The average of the word's character n-gram rows, for a cache built from a fastText model
    /// (``VectorCache/subwordVector(for:)``).
    case subword
}

/// The vectors a cache gives to words it lacks: of the kind chosen (the n-gram vector where the cache has a fastText
/// model's rows, unless told otherwise), and the seeded random vector for a word without a single n-gram.
public struct OOVSource: Sendable {
    public let random: OOVVectors
    /// The kind asked for: `.subword` only for a cache that has subwords.
    public let kind: OOVKind
    private let cache: VectorCache?
    /// The n-gram rows in memory, for a server answering many words (else each row is read from the cache).
    private var matrix: SubwordMatrix?

    /// - Parameter kind: `nil` for the cache's best: `.subword` where it has subwords, else `.random`.
    /// - throws: ``CacheError`` (`.badInput`) for `.subword` on a cache built from a file without subwords.
    public init(cache: VectorCache, random: OOVVectors, kind: OOVKind? = nil) throws {
        let best: OOVKind = cache.manifest.subwords == nil ? .random : .subword
        if kind == .subword && best != .subword {
            throw CacheError(
                .badInput,
                "the cache \(cache.path) has no subword vectors (it was built from a \(cache.manifest.source.format.rawValue) "
                    + "file, not a fastText .bin model); use --oov random")
        }
        self.random = random
        self.kind = kind ?? best
        self.cache = self.kind == .subword ? cache : nil
    }

    /// Random vectors only (for tests and tools without a cache).
    public init(random: OOVVectors) {
        self.random = random
        kind = .random
        cache = nil
    }

    /// The same, reading n-gram rows from `matrix` (loaded from the same cache).
    public func reading(from matrix: SubwordMatrix) -> OOVSource {
        var source = self
        if kind == .subword { source.matrix = matrix }
        return source
    }

    /// The vector of `word` as little-endian float32 bytes, and what kind it is.
    public func vectorBytes(for word: [UInt8]) throws -> (bytes: [UInt8], kind: OOVKind) {
        if let matrix {
            if let bytes = matrix.vectorBytes(for: word) { return (bytes, .subword) }
        } else if let cache, let vector = try cache.subwordVector(for: word) {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(vector.count * 4)
            Float32Bytes.append(vector, to: &bytes)
            return (bytes, .subword)
        }
        return (random.vectorBytes(for: word), .random)
    }
}

extension VectorCache {
    /// The n-gram vector of `word`, as gensim's `FastTextKeyedVectors.get_vector` gives a word the model lacks: its
    /// n-grams' rows added in turn (float32) to zeros and divided by their count. `nil` when the cache has no
    /// subwords or the word has no n-gram.
    public func subwordVector(for word: [UInt8]) throws -> [Float]? {
        guard let subwords = manifest.subwords else { return nil }
        let rows = subwords.ngramRows(of: word)
        guard !rows.isEmpty else { return nil }
        var sum = [Float](repeating: 0, count: dimension)
        for row in rows {
            try translatingErrors {
                try database.withValue(forKey: CacheKeys.subwordRow(row)) { bytes in
                    guard let bytes, bytes.count == 4 * dimension else {
                        throw CacheError(
                            .corrupt,
                            "the cache \(path) lacks n-gram row \(row) of its fastText model, or holds it damaged; run "
                                + "`w2vcache verify --db \(path)`")
                    }
                    sum.withUnsafeMutableBufferPointer { sum in
                        for i in 0..<sum.count {
                            sum[i] += Float(
                                bitPattern: UInt32(
                                    littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                        }
                    }
                }
            }
        }
        let count = Float(rows.count)
        return sum.map { $0 / count }
    }

    /// Which kind of out-of-vocabulary vector `word` holds, or `nil` for a word of the vectors file (or absent).
    public func outOfVocabularyKind(_ word: [UInt8]) throws -> OOVKind? {
        try translatingErrors {
            try database.withValue(forKey: CacheKeys.oovMarker(for: word)) { marker in
                marker.map { OOVMarker($0)?.kind ?? .random }
            }
        }
    }

    /// Whether `word` came from the vectors file (present, and not an out-of-vocabulary vector added later).
    ///
    /// This is what "a key of the model" means for preprocessing: adding OOV vectors never changes the answer.
    public func isPretrained(_ word: [UInt8]) throws -> Bool {
        try contains(word) && !isOutOfVocabulary(word)
    }
}

/// A fastText cache's n-gram rows read once into memory (every row checked by LevelDB as it is read), so that a
/// server gives a word its n-gram vector without a read of the cache per n-gram: `bucket x dimension` float32, the
/// size of the model's n-gram matrix, in memory mapped for it.
public final class SubwordMatrix: @unchecked Sendable {
    // `@unchecked Sendable`: the rows are written while the matrix is made, before it is shared, then only read.
    public let subwords: FastTextSubwords
    public let dimension: Int
    private let rows: UnsafeMutablePointer<Float>
    private let mappedBytes: Int

    /// - Parameter parts: how many threads read the rows, each its own range with its own iterator (the cores).
    /// - throws: ``CacheError``: `.missing` for a cache without subwords, `.unavailable` when the memory cannot be
    ///   had now (a server answers 503 and goes on serving the rest), `.corrupt` for rows missing, damaged, of the
    ///   wrong size, or more than the manifest says.
    public init(cache: VectorCache, parts: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        guard let subwords = cache.manifest.subwords else {
            throw CacheError(.missing, "the cache \(cache.path) has no subword vectors")
        }
        self.subwords = subwords
        dimension = cache.dimension
        let rowBytes = 4 * cache.dimension
        let expected = subwords.bucket
        let mappedBytes = max(rowBytes * expected, 1)
        let mapped = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw CacheError(
                .unavailable,
                "cannot map \(mappedBytes) bytes of memory for the model's n-gram rows "
                    + "(\(String(cString: strerror(errno)))); free memory and try again")
        }
        // Rows are read at random: huge pages spare a TLB miss per row (where the kernel has them; advice only).
        _ = madvise(mapped, mappedBytes, MADV_HUGEPAGE)
        nonisolated(unsafe) let destination = UnsafeMutableRawBufferPointer(start: mapped, count: mappedBytes)
        let parts = max(1, min(parts, expected))
        let failure = Locked<(any Error)?>(nil)
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            do {
                try cache.translatingErrors {
                    try Self.read(
                        rows: (part * expected / parts)..<((part + 1) * expected / parts), last: part == parts - 1,
                        of: cache, rowBytes: rowBytes, into: destination)
                }
            } catch {
                failure.withLock { $0 = $0 ?? error }
            }
        }
        if let error = failure.withLock({ $0 }) {
            munmap(mapped, mappedBytes)  // (the object is not whole yet: deinit does not run)
            throw error
        }
        rows = mapped.bindMemory(to: Float.self, capacity: expected * cache.dimension)
        self.mappedBytes = mappedBytes
    }

    /// Copies n-gram rows `rows` into their places in `destination`, each checked by LevelDB as it is read; the
    /// `last` range also checks that no row follows it.
    private static func read(
        rows: Range<Int>, last: Bool, of cache: VectorCache, rowBytes: Int,
        into destination: UnsafeMutableRawBufferPointer
    ) throws {
        let iterator = try cache.database.makeIterator(fillCache: false)
        iterator.seek(to: CacheKeys.subwordRow(rows.lowerBound))
        func damaged(_ what: String) -> CacheError {
            CacheError(.corrupt, "the cache \(cache.path) \(what); run `w2vcache verify --db \(cache.path)`")
        }
        for row in rows {
            guard iterator.isValid, try iterator.withKey({ $0.elementsEqual(CacheKeys.subwordRow(row)) }) else {
                try iterator.checkError()
                throw damaged(
                    "lacks n-gram row \(row) of the \(cache.manifest.subwords?.bucket ?? 0) its manifest names")
            }
            try iterator.withValue { value in
                guard value.count == rowBytes else {
                    throw damaged("holds n-gram row \(row) in \(value.count) bytes, not \(rowBytes)")
                }
                destination.row(row, bytes: rowBytes).copyMemory(from: value)
            }
            iterator.next()
        }
        try iterator.checkError()
        if last, iterator.isValid, try iterator.withKey({ $0.starts(with: CacheKeys.subwordPrefix) }) {
            throw damaged("holds more n-gram rows than the \(rows.upperBound) its manifest names")
        }
    }

    deinit {
        munmap(rows, mappedBytes)
    }

    /// The n-gram vector of `word` (as ``VectorCache/subwordVector(for:)`` computes it) as little-endian float32
    /// bytes, or `nil` for a word without an n-gram.
    public func vectorBytes(for word: [UInt8]) -> [UInt8]? {
        let ngrams = subwords.ngramRows(of: word).map(Int64.init)
        guard !ngrams.isEmpty else { return nil }
        return [UInt8](unsafeUninitializedCapacity: 4 * dimension) { bytes, initialized in
            ngrams.withUnsafeBufferPointer { ngrams in
                w2v_mean_of_rows(
                    rows, dimension, ngrams.baseAddress!, ngrams.count,
                    UnsafeMutableRawPointer(bytes.baseAddress!).assumingMemoryBound(to: Float.self))
            }
            initialized = 4 * dimension
        }
    }
}
