import Synchronization
import VectorCache

#if canImport(Glibc)
import Glibc
#endif

/// The served cache's vectors, with the ones asked for lately kept in memory: a word asked again skips LevelDB,
/// whose get (the table's index and bloom filter, the block's checksum, two copies of the value) was three fifths of
/// a `POST /v1/vectors` of 100 words. Up to ``ServerSettings/hotVectorBytes`` of vectors are kept, in 16 shards each
/// behind its own lock; when a shard is full, the vector not asked for longest goes (CLOCK: one pass over the slots,
/// sparing each asked for since the last pass once).
///
/// Every kept vector was read through the cache, its block checked against its checksum, and the served cache is
/// read-only, so a kept vector is the one the cache holds. Words the cache lacks are not kept.
final class HotVectors: Sendable {
    let cache: VectorCache
    private let shards: [Shard]
    private let vectorBytes: Int

    /// Keeps up to `capacityBytes` of `cache`'s vectors (each counted with 64 bytes for its word and its place in
    /// the index), and never room for more vectors than the cache holds; `0` keeps none.
    /// - throws: ``CacheError/Kind/unavailable`` when the memory cannot be had.
    init(cache: VectorCache, capacityBytes: Int) throws {
        let vectorBytes = cache.vectorBytes
        let slots = min(capacityBytes / (vectorBytes + 64), cache.manifest.wordCount + cache.manifest.oovCount)
        let slotsPerShard = (slots + Self.shardCount - 1) / Self.shardCount
        self.cache = cache
        self.vectorBytes = vectorBytes
        shards = try (0..<(slotsPerShard > 0 ? Self.shardCount : 0)).map { _ in
            guard let shard = Shard(slots: slotsPerShard, vectorBytes: vectorBytes) else {
                throw CacheError(
                    .unavailable,
                    "no memory for \(slots) hot vectors (\(slots * vectorBytes >> 20) MB, server.hot_vectors_mb); "
                        + "lower it, or 0 to keep none")
            }
            return shard
        }
    }

    private static let shardCount = 16

    /// How many vectors it can keep.
    var capacity: Int { shards.reduce(0) { $0 + $1.slots } }

    /// How many vectors it can keep and keeps now, and how many words asked for were found kept or not, since it
    /// was made.
    var statistics: HotVectorStatistics {
        shards.reduce(HotVectorStatistics(capacity: capacity)) { total, shard in
            let counts = shard.statistics
            return HotVectorStatistics(
                capacity: total.capacity, kept: total.kept + counts.kept, hits: total.hits + counts.hits,
                misses: total.misses + counts.misses)
        }
    }

    /// Lends `word`'s vector bytes to `body`, or `nil` when the cache does not hold the word: from memory when kept
    /// (under its shard's lock, so `body` must not read through these hot vectors itself), else read from the cache
    /// (and kept).
    /// - throws: what ``VectorCache/withVectorBytes(for:_:)`` throws, or what `body` throws.
    func withVectorBytes<R>(for word: [UInt8], _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        guard !shards.isEmpty else { return try cache.withVectorBytes(for: word, body) }
        let key = Key(word)
        let shard = shards[Int(key.hash % UInt64(Self.shardCount))]
        switch try shard.lend(key, to: body) {
        case .kept(let result):
            return result
        case .missing(let keep):
            return try cache.withVectorBytes(for: word) { bytes in
                if keep, let bytes, bytes.count == vectorBytes { shard.keep(key, bytes) }
                return try body(bytes)
            }
        }
    }

    /// A word and its FNV-1a hash, computed once for its shard and its place in the shard's dictionary (which
    /// hashes the hash, seeded, rather than each byte again).
    private struct Key: Hashable {
        let word: [UInt8]
        let hash: UInt64

        init(_ word: [UInt8]) {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in word { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            self.word = word
            self.hash = hash
        }

        func hash(into hasher: inout Hasher) { hasher.combine(hash) }
        static func == (left: Key, right: Key) -> Bool { left.hash == right.hash && left.word == right.word }
    }

    /// A part of the kept vectors: `slots` vectors in one allocation, their words, and a lock over both.
    private final class Shard: Sendable {
        let slots: Int
        private let vectorBytes: Int
        private let state: Mutex<State>
        /// `slots * vectorBytes` bytes, written and read only under the lock of ``state``.
        private nonisolated(unsafe) let vectors: UnsafeMutableRawPointer

        struct State {
            /// The slot of each kept word.
            var slotOfWord: [Key: Int] = [:]
            /// The word of each slot in use.
            var words: [Key] = []
            /// Whether each slot's vector was asked for since the clock hand last passed it.
            var asked: [Bool] = []
            var hand = 0
            /// Words asked for and found kept, and not, since the shard was made.
            var hits = 0
            var misses = 0
        }

        /// What ``lend(_:to:)`` found.
        enum Lent<Result> {
            /// Kept: what the body returned.
            case kept(Result)
            /// Not kept; `keep` says whether to keep it once read.
            case missing(keep: Bool)
        }

        /// Once the shard is full, one word in this many of those asked for and not kept is kept when read: a word
        /// asked for often is soon kept, while words asked for once (a scan, uniform random traffic) replace an
        /// eighth as many kept vectors, at an eighth of the cost (keeping every one made random `POST`s of 100
        /// words 15-26% slower; one in eight, within the noise).
        static let keepOneMissIn = 8

        /// `nil` when the memory cannot be had.
        init?(slots: Int, vectorBytes: Int) {
            guard let vectors = malloc(slots * vectorBytes) else { return nil }
            self.slots = slots
            self.vectorBytes = vectorBytes
            self.vectors = vectors
            state = Mutex(State())
        }

        deinit {
            free(vectors)
        }

        var statistics: (kept: Int, hits: Int, misses: Int) {
            state.withLock { ($0.words.count, $0.hits, $0.misses) }
        }

        /// Lends the kept vector of `word` to `body`, if it is kept, under the shard's lock: `body` must not read
        /// through this shard (the server's bodies copy the bytes, and return).
        func lend<R>(_ word: Key, to body: (UnsafeRawBufferPointer?) throws -> R) throws -> Lent<R> {
            try state.withLock { state throws -> Lent<R> in
                guard let slot = state.slotOfWord[word] else {
                    state.misses &+= 1
                    return .missing(keep: state.words.count < slots || state.misses % Self.keepOneMissIn == 0)
                }
                state.asked[slot] = true
                state.hits &+= 1
                return .kept(try body(UnsafeRawBufferPointer(start: vectors + slot * vectorBytes, count: vectorBytes)))
            }
        }

        /// Keeps `vector` (`vectorBytes` long) as `word`'s, in a free slot or in place of the vector not asked for
        /// longest.
        func keep(_ word: Key, _ vector: UnsafeRawBufferPointer) {
            state.withLock { state in
                guard state.slotOfWord[word] == nil else { return }
                let slot: Int
                if state.words.count < slots {
                    slot = state.words.count
                    state.words.append(word)
                    state.asked.append(false)
                } else {
                    while state.asked[state.hand] {
                        state.asked[state.hand] = false
                        state.hand = (state.hand + 1) % slots
                    }
                    slot = state.hand
                    state.hand = (state.hand + 1) % slots
                    state.slotOfWord[state.words[slot]] = nil
                    state.words[slot] = word
                }
                state.slotOfWord[word] = slot
                (vectors + slot * vectorBytes).copyMemory(from: vector.baseAddress!, byteCount: vectorBytes)
            }
        }
    }
}

/// What ``HotVectors/statistics`` says, for `/metrics`.
struct HotVectorStatistics: Equatable {
    var capacity: Int
    var kept = 0
    var hits = 0
    var misses = 0
}
