import Support
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
/// read-only, so a kept vector is the one the cache holds. Words the cache lacks are not kept, nor words longer than
/// ``longestWord`` bytes.
final class HotVectors: Sendable {
    let cache: VectorCache
    private let shards: [Shard]
    private let vectorBytes: Int
    /// The seed of the words' hashes, drawn when these hot vectors are made.
    private let seed = UInt64.random(in: .min ... .max)

    /// Keeps up to `capacityBytes` of `cache`'s vectors, each counted with its word and its place in the index
    /// (``Shard/slotBytes(vectorBytes:)``, and 32 bytes: the index has two to four 8-byte entries a slot), and never
    /// room for more vectors than the cache holds; `0` keeps none.
    /// - throws: ``CacheError/Kind/unavailable`` when the memory cannot be had.
    init(cache: VectorCache, capacityBytes: Int) throws {
        let vectorBytes = cache.vectorBytes
        let slots = min(
            capacityBytes / (Shard.slotBytes(vectorBytes: vectorBytes) + 32),
            cache.manifest.wordCount + cache.manifest.oovCount)
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

    /// 16 shards, chosen by the top 4 bits of a word's hash.
    private static let shardBits = 4
    private static let shardCount = 1 << shardBits
    /// The longest word kept, in bytes: a kept word lies in the first 64 bytes of its slot, beside its vector.
    static let longestWord = Shard.longestWord

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
        try withVectorBytes(for: word[...], body)
    }

    /// ``withVectorBytes(for:_:)-([UInt8],_)`` for a word that is a part of an array.
    func withVectorBytes<R>(for word: ArraySlice<UInt8>, _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        guard !shards.isEmpty, word.count <= Self.longestWord else {
            return try cache.withVectorBytes(for: Array(word), body)
        }
        return try word.withUnsafeBytes { word in
            let hash = self.hash(word)
            let shard = shards[shardIndex(hash)]
            switch try shard.lend(word, hash: hash, to: body) {
            case .kept(let result):
                return result
            case .missing(let keep):
                return try read(word, hash: hash, keep: keep ? shard : nil, body)
            }
        }
    }

    /// Copies the vectors of `words` into `rows`, one row of ``VectorCache/vectorBytes`` a word, in their order, and
    /// says which words the cache holds, by their offsets in `words` (the row of a word it lacks is left as it was);
    /// `nil` when `rows` is not one row a word or the cache holds a vector of another length, and, when
    /// `allOrNothing`, at the first word the cache lacks, leaving the rest unread (`"missing": "error"`, whose 404
    /// the router gives). Kept vectors are copied under one hold of each shard's lock rather than one a word (a
    /// `POST` of 100 kept words: 0.85x the CPU of a lock a word); the others are read from the cache and kept as
    /// ``withVectorBytes(for:_:)-([UInt8],_)`` keeps them.
    /// - throws: what ``VectorCache/withVectorBytes(for:_:)`` throws.
    func copyVectors<Words: RandomAccessCollection<ArraySlice<UInt8>>>(
        of words: Words, into rows: UnsafeMutableRawBufferPointer, allOrNothing: Bool = false
    ) throws -> [Bool]? where Words.Index == Int {
        guard rows.count == words.count * vectorBytes else { return nil }
        var found = [Bool](repeating: false, count: words.count)
        func row(_ index: Int) -> UnsafeMutableRawBufferPointer { rows.row(index, bytes: vectorBytes) }
        // Reads the word at `index` from the cache into its row; false for a vector of another length, or for a
        // word the cache lacks when `allOrNothing`.
        func copyFromCache(_ index: Int, hash: Int, keep shard: Shard?) throws -> Bool {
            try words[words.startIndex + index].withUnsafeBytes { word in
                try read(word, hash: hash, keep: shard) { bytes in
                    guard let bytes else { return !allOrNothing }
                    guard bytes.count == vectorBytes else { return false }
                    row(index).copyMemory(from: bytes)
                    found[index] = true
                    return true
                }
            }
        }
        guard !shards.isEmpty else {
            for index in 0..<words.count { guard try copyFromCache(index, hash: 0, keep: nil) else { return nil } }
            return found
        }
        // The words' hashes, and their places sorted by shard (a counting sort), so that each shard is visited once.
        let hashes = words.map { word in
            word.count <= Self.longestWord ? word.withUnsafeBytes { hash($0) } : 0
        }
        var starts = [Int](repeating: 0, count: Self.shardCount + 1)
        for (index, word) in words.enumerated() where word.count <= Self.longestWord {
            starts[shardIndex(hashes[index]) + 1] += 1
        }
        for shard in 0..<Self.shardCount { starts[shard + 1] += starts[shard] }
        var byShard = [Int](repeating: 0, count: starts[Self.shardCount])
        var next = starts
        for (index, word) in words.enumerated() where word.count <= Self.longestWord {
            let shard = shardIndex(hashes[index])
            byShard[next[shard]] = index
            next[shard] += 1
        }
        var missed: [(index: Int, keep: Bool)] = []
        for (number, shard) in shards.enumerated() where starts[number] < starts[number + 1] {
            shard.copyKept(
                byShard[starts[number]..<starts[number + 1]], of: words, hashes: hashes, into: row, found: &found,
                missed: &missed)
        }
        for (index, keep) in missed {
            let hash = hashes[index]
            guard try copyFromCache(index, hash: hash, keep: keep ? shards[shardIndex(hash)] : nil) else { return nil }
        }
        for (index, word) in words.enumerated() where word.count > Self.longestWord {
            guard try copyFromCache(index, hash: 0, keep: nil) else { return nil }
        }
        return found
    }

    /// The shard of a word of `hash`: its top bits (the bottom ones choose its place in the shard's index).
    private func shardIndex(_ hash: Int) -> Int { Int(UInt(bitPattern: hash) >> (UInt.bitWidth - Self.shardBits)) }

    /// Reads `word`, of `hash`, from the cache and lends its vector bytes to `body`, keeping them in `shard` if one
    /// is given (and they are a vector's length).
    private func read<R>(
        _ word: UnsafeRawBufferPointer, hash: Int, keep shard: Shard?, _ body: (UnsafeRawBufferPointer?) throws -> R
    ) throws -> R {
        try cache.withVectorBytes(for: Array(word)) { bytes in
            if let shard, let bytes, bytes.count == vectorBytes { shard.keep(word, hash: hash, bytes) }
            return try body(bytes)
        }
    }

    /// `word`'s hash, seeded with ``seed``, 8 bytes at a time, each step mixed as MurmurHash3's finalizer mixes
    /// (Swift's `Hasher`, SipHash, cost 4% of a `POST` of 100 words). Not a keyed hash: words chosen to collide
    /// could lengthen a shard's probes, but only words the cache holds are kept, and a probe that passes a word
    /// not its own compares 4 bytes; at worst a lookup costs as much as reading the cache.
    private func hash(_ word: UnsafeRawBufferPointer) -> Int {
        func mix(_ value: UInt64) -> UInt64 {
            var value = (value ^ (value >> 33)) &* 0xFF51_AFD7_ED55_8CCD
            value = (value ^ (value >> 33)) &* 0xC4CE_B9FE_1A85_EC53
            return value ^ (value >> 33)
        }
        var hash = seed ^ UInt64(word.count)
        var offset = 0
        while offset + 8 <= word.count {
            hash = mix(hash ^ word.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset += 8
        }
        if offset < word.count {
            var tail: UInt64 = 0
            for index in offset..<word.count { tail |= UInt64(word[index]) << (8 * (index - offset)) }
            hash = mix(hash ^ tail)
        }
        return Int(truncatingIfNeeded: mix(hash))
    }

    /// A part of the kept vectors: `slots` slots in one allocation, each a word and its vector, an index of them by
    /// the words' hashes, and a lock over both.
    private final class Shard: Sendable {
        let slots: Int
        private let vectorBytes: Int
        private let slotBytes: Int
        private let state: Locked<State>
        /// `slots * slotBytes` bytes, written and read only under the lock of ``state``. A slot in use holds, in its
        /// first 64 bytes (one cache line), its word's hash (8 bytes), the word's length (1) and bytes; then, from
        /// byte 64, the vector.
        private nonisolated(unsafe) let memory: UnsafeMutableRawPointer

        /// A slot's bytes: 64 for its word, then its vector, rounded up to whole cache lines.
        static func slotBytes(vectorBytes: Int) -> Int { 64 + (vectorBytes + 63) / 64 * 64 }
        static let longestWord = 64 - 9

        struct State {
            /// Where each kept word's slot is found, by the word's hash (open addressing, probing linearly): the
            /// hash's low 32 bits, then the slot + 1; 0 for none. Twice the slots or more, a power of two, so that
            /// probes stay short; a probe reads a slot's word only when the 32 bits are its word's.
            var index: [UInt64]
            /// Slots in use: the first `used`.
            var used = 0
            /// Whether each slot's vector was asked for since the clock hand last passed it.
            var asked: [Bool]
            var hand = 0
            /// Words asked for and found kept, and not, since the shard was made.
            var hits = 0
            var misses = 0

            var mask: Int { index.count - 1 }
        }

        /// What ``lend(_:hash:to:)`` found.
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

        /// `nil` when the memory cannot be had. `slots` is below 2^31 (``ServerSettings/hotVectorBytes`` is at most
        /// 2^40), so a slot + 1 fits the index's 32 bits.
        init?(slots: Int, vectorBytes: Int) {
            let slotBytes = Self.slotBytes(vectorBytes: vectorBytes)
            var memory: UnsafeMutableRawPointer?
            guard posix_memalign(&memory, 64, slots * slotBytes) == 0, let memory else { return nil }
            self.slots = slots
            self.vectorBytes = vectorBytes
            self.slotBytes = slotBytes
            self.memory = memory
            let places = 1 << (Int.bitWidth - (2 * slots - 1).leadingZeroBitCount)
            state = Locked(
                State(index: Array(repeating: 0, count: places), asked: Array(repeating: false, count: slots)))
        }

        deinit {
            free(memory)
        }

        var statistics: (kept: Int, hits: Int, misses: Int) {
            state.withLock { ($0.used, $0.hits, $0.misses) }
        }

        private func slot(_ slot: Int) -> UnsafeMutableRawPointer { memory + slot * slotBytes }

        /// The hash of the word in `slot`.
        private func hash(ofSlot slot: Int) -> Int { self.slot(slot).load(as: Int.self) }

        private static func entry(hash: Int, slot: Int) -> UInt64 {
            UInt64(UInt32(truncatingIfNeeded: hash)) << 32 | UInt64(slot + 1)
        }

        /// The place in the index of `word`, of `hash`, and its slot; or the free place where it would go.
        private func find(_ word: UnsafeRawBufferPointer, hash: Int, in state: borrowing State) -> (
            place: Int, slot: Int?
        ) {
            let tag = UInt64(UInt32(truncatingIfNeeded: hash))
            var place = hash & state.mask
            while state.index[place] != 0 {
                let entry = state.index[place]
                if entry >> 32 == tag {
                    let slot = Int(truncatingIfNeeded: entry & 0xFFFF_FFFF) - 1
                    let kept = self.slot(slot)
                    if kept.load(as: Int.self) == hash, Int(kept.load(fromByteOffset: 8, as: UInt8.self)) == word.count,
                        UnsafeRawBufferPointer(start: kept + 9, count: word.count).elementsEqual(word)
                    {
                        return (place, slot)
                    }
                }
                place = (place + 1) & state.mask
            }
            return (place, nil)
        }

        /// Takes the word of `slot` out of the index, moving back each word after it that may then be found sooner
        /// (so that no probe stops short of a word).
        private func removeFromIndex(slot: Int, in state: inout State) {
            let mask = state.mask
            var hole = hash(ofSlot: slot) & mask
            while state.index[hole] & 0xFFFF_FFFF != UInt64(slot + 1) { hole = (hole + 1) & mask }
            var next = (hole + 1) & mask
            while state.index[next] != 0 {
                let home = Int(truncatingIfNeeded: state.index[next] >> 32) & mask
                // A probe for it starts at `home` and passes the hole before reaching `next`.
                if (next &- home) & mask >= (next &- hole) & mask {
                    state.index[hole] = state.index[next]
                    hole = next
                }
                next = (next + 1) & mask
            }
            state.index[hole] = 0
        }

        /// Lends the kept vector of `word`, of `hash`, to `body`, if it is kept, under the shard's lock: `body` must
        /// not read through this shard (the server's bodies copy the bytes, and return).
        func lend<R>(_ word: UnsafeRawBufferPointer, hash: Int, to body: (UnsafeRawBufferPointer?) throws -> R) throws
            -> Lent<R>
        {
            try state.withLock { state throws -> Lent<R> in
                switch look(for: word, hash: hash, in: &state) {
                case .kept(let vector): return .kept(try body(vector))
                case .missing(let keep): return .missing(keep: keep)
                }
            }
        }

        /// Copies the kept vector of each word of `words` at offsets `places` (of `hashes` at the same) into its
        /// `row` and marks it `found`, under one hold of the lock; appends each word not kept to `missed`, with
        /// whether to keep it once read.
        func copyKept<Words: RandomAccessCollection<ArraySlice<UInt8>>>(
            _ places: ArraySlice<Int>, of words: Words, hashes: [Int], into row: (Int) -> UnsafeMutableRawBufferPointer,
            found: inout [Bool], missed: inout [(index: Int, keep: Bool)]
        ) where Words.Index == Int {
            state.withLock { state in
                for place in places {
                    let lent = words[words.startIndex + place].withUnsafeBytes {
                        look(for: $0, hash: hashes[place], in: &state)
                    }
                    switch lent {
                    case .kept(let vector):
                        row(place).copyMemory(from: vector)
                        found[place] = true
                    case .missing(let keep):
                        missed.append((place, keep))
                    }
                }
            }
        }

        /// The kept vector of `word`, of `hash`, counted as a hit and marked as asked for; or, counted as a miss,
        /// whether to keep it once read. Under the lock: the bytes are the shard's until it is released.
        private func look(for word: UnsafeRawBufferPointer, hash: Int, in state: inout State) -> Lent<
            UnsafeRawBufferPointer
        > {
            guard let slot = find(word, hash: hash, in: state).slot else {
                state.misses &+= 1
                return .missing(keep: state.used < slots || state.misses % Self.keepOneMissIn == 0)
            }
            state.asked[slot] = true
            state.hits &+= 1
            return .kept(UnsafeRawBufferPointer(start: self.slot(slot) + 64, count: vectorBytes))
        }

        /// Keeps `vector` (`vectorBytes` long) as the one of `word` (at most ``longestWord`` bytes), of `hash`, in
        /// a free slot or in place of the vector not asked for longest.
        func keep(_ word: UnsafeRawBufferPointer, hash: Int, _ vector: UnsafeRawBufferPointer) {
            state.withLock { state in
                guard find(word, hash: hash, in: state).slot == nil else { return }
                let slot: Int
                if state.used < slots {
                    slot = state.used
                    state.used += 1
                } else {
                    while state.asked[state.hand] {
                        state.asked[state.hand] = false
                        state.hand = (state.hand + 1) % slots
                    }
                    slot = state.hand
                    state.hand = (state.hand + 1) % slots
                    removeFromIndex(slot: slot, in: &state)
                }
                state.asked[slot] = false
                let kept = self.slot(slot)
                kept.storeBytes(of: hash, as: Int.self)
                kept.storeBytes(of: UInt8(word.count), toByteOffset: 8, as: UInt8.self)
                if let bytes = word.baseAddress { (kept + 9).copyMemory(from: bytes, byteCount: word.count) }
                (kept + 64).copyMemory(from: vector.baseAddress!, byteCount: vectorBytes)
                state.index[find(word, hash: hash, in: state).place] = Self.entry(hash: hash, slot: slot)
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
