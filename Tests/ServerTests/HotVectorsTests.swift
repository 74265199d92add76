import CacheBuild
import NIOPosix
import Support
import TestSupport
import Testing
import VectorCache
import Word2Vec

@testable import Server

@Suite struct HotVectorsTests {
    /// A cache of `count` words of dimension 8 (`w0`, `w1`, ...), or of `words`, each vector its own.
    private static func makeCache(
        _ directory: TemporaryDirectory, count: Int, words: [String]? = nil
    ) throws -> VectorCache {
        let words = words ?? (0..<count).map { "w\($0)" }
        let source = directory.file("v.bin")
        let writer = try Word2VecWriter(
            path: source, count: words.count, dimension: 8, layout: .binary(newlineAfterVector: false))
        for (index, word) in words.enumerated() {
            try writer.append(word: word, vector: (0..<8).map { Float(index * 8 + $0) })
        }
        try writer.close()
        var build = BuildRequest(vectorsPath: source, cachePath: directory.file("cache"))
        build.settings.searchIndex = false
        _ = try CacheBuilder(build).run()
        return try VectorCache(path: directory.file("cache"))
    }

    /// What `vectors` answers for `word`: its bytes, or `nil`.
    private static func read(_ vectors: HotVectors, _ word: String) throws -> [UInt8]? {
        try vectors.withVectorBytes(for: Array(word.utf8)) { $0.map { Array($0) } }
    }

    @Test func everyAnswerIsTheCachesAndTheKeptStayWithinTheirBound() throws {
        let directory = TemporaryDirectory()
        let cache = try Self.makeCache(directory, count: 2_000)
        // Room for 4 vectors a shard: a slot of 128 bytes (64 for its word, the vector's 32 rounded up to 64) and
        // 32 for the index each.
        let vectors = try HotVectors(cache: cache, capacityBytes: 16 * 4 * 160)
        #expect(vectors.capacity == 64)
        var random = SplitMix64(seed: 11)
        for _ in 0..<20_000 {
            // Half the reads among 40 words, the rest among all 2,000 and 100 the cache lacks.
            let word = random.next() % 2 == 0 ? "w\(random.next() % 40)" : "w\(random.next() % 2_100)"
            let expected = try cache.withVectorBytes(for: Array(word.utf8)) { $0.map { Array($0) } }
            #expect(try Self.read(vectors, word) == expected, "\(word)")
            #expect(vectors.statistics.kept <= vectors.capacity)
        }
        #expect(vectors.statistics.kept == vectors.capacity, "a full shard replaces, it does not grow or shrink")
    }

    /// A word asked for again and again is kept within eight misses of its shard (one miss in eight is kept once
    /// the shard is full), and is then found, however the evictions before and after it moved the words in the
    /// shard's index.
    @Test func wordsAskedForAgainAreKeptAndFound() throws {
        let directory = TemporaryDirectory()
        let cache = try Self.makeCache(directory, count: 4_000)
        // 64 slots a shard, full after the first 1,000 words or so; the next 2,000 evict.
        let vectors = try HotVectors(cache: cache, capacityBytes: 16 * 64 * 160)
        for index in 1_000..<4_000 { _ = try Self.read(vectors, "w\(index)") }
        // 120 words, about 8 a shard (more than 25 in one: under one chance in a million): each kept, moving its
        // shard's clock hand at most twice as many steps as the shard has words of the set, fewer than its 64
        // slots, so none is passed twice and evicted.
        let working = (0..<120).map { "w\($0)" }
        for word in working {
            for _ in 0..<9 { _ = try Self.read(vectors, word) }
        }
        let hits = vectors.statistics.hits
        for word in working {
            let expected = try cache.withVectorBytes(for: Array(word.utf8)) { $0.map { Array($0) } }
            #expect(try Self.read(vectors, word) == expected)
        }
        #expect(vectors.statistics.hits - hits == working.count, "every word of the working set kept and found")
    }

    /// A kept word lies in its slot's first 64 bytes: up to 55 bytes are kept, longer words are read every time.
    @Test func wordsLongerThanASlotsLineAreReadNotKept() throws {
        let directory = TemporaryDirectory()
        let words = [55, 56, 300].map { String(repeating: "x", count: $0) }
        let cache = try Self.makeCache(directory, count: 0, words: words)
        let vectors = try HotVectors(cache: cache, capacityBytes: 1 << 20)
        for _ in 0..<2 {
            for word in words {
                let expected = try cache.withVectorBytes(for: Array(word.utf8)) { $0.map { Array($0) } }
                #expect(try Self.read(vectors, word) == expected)
            }
        }
        #expect(
            vectors.statistics == HotVectorStatistics(capacity: 16, kept: 1, hits: 1, misses: 1),
            "the longer words neither kept nor counted")
    }

    @Test func aKeptVectorIsAnsweredFromMemory() throws {
        let directory = TemporaryDirectory()
        let cache = try Self.makeCache(directory, count: 100)
        let vectors = try HotVectors(cache: cache, capacityBytes: 1 << 20)
        #expect(vectors.capacity == 112, "room for the cache's 100 words, 7 a shard, not for 1 MB of vectors")
        let expected = try #require(try Self.read(vectors, "w7"))
        #expect(try Self.read(vectors, "nowhere") == nil)
        #expect(vectors.statistics.kept == 1, "a word the cache lacks is not kept")
        try cache.close()
        #expect(try Self.read(vectors, "w7") == expected, "kept: the closed cache is not read")
        #expect(throws: CacheError.self, "not kept: read from the closed cache") { try Self.read(vectors, "w8") }
        #expect(vectors.statistics == HotVectorStatistics(capacity: 112, kept: 1, hits: 1, misses: 3))
    }

    /// The lane's and the router's vectors come through the hot vectors, which `/metrics` counts.
    @Test func theServersVectorRoutesKeepTheirVectorsAndMetricsCountThem() async throws {
        try await withServer { server in
            for accept in [nil, "application/json", nil] {
                #expect(try await server.request("/v1/vectors/pound", accept: accept).status == 200)
            }
            let body = #"{"words": ["pound", "nowhere"], "missing": "zero"}"#
            #expect(try await server.request("/v1/vectors", method: "POST", body: body).status == 200)
            let metrics = String(decoding: try await server.request("/metrics").data, as: UTF8.self)
            // Room for the cache's 7 words and its prepared dataset's out-of-vocabulary ones: one a shard. A word
            // the cache lacks is a miss, and not kept.
            for line in [
                "w2vcache_hot_vectors 1", "w2vcache_hot_vectors_capacity 16", "w2vcache_hot_vector_hits_total 3",
                "w2vcache_hot_vector_misses_total 2",
            ] {
                #expect(metrics.contains(line + "\n"), "\(line)")
            }
        }
    }

    /// A list of words copied at once (the lane's `POST`, each shard's lock held once) gives each word the row the
    /// cache holds and leaves the rows of words it lacks as they were, counting each word it may keep once, as
    /// reading each word alone does: with room for few vectors, so that words are found kept, missed, kept and
    /// evicted; with room for none; with words too long to keep and a word twice in a list (both looked for before
    /// either is kept: two misses where reading them one by one finds the second).
    @Test(arguments: [16 * 4 * 160, 0])
    func aListCopiedAtOnceGetsTheCachesRows(capacityBytes: Int) throws {
        let directory = TemporaryDirectory()
        let longWords = [56, 300].map { String(repeating: "y", count: $0) }
        let cache = try Self.makeCache(directory, count: 0, words: (0..<2_000).map { "w\($0)" } + longWords)
        let listed = try HotVectors(cache: cache, capacityBytes: capacityBytes)
        let alone = try HotVectors(cache: cache, capacityBytes: capacityBytes)
        var random = SplitMix64(seed: 5)
        for round in 0..<300 {
            let count = Int(random.next() % 120)
            var words = (0..<count).map { _ in
                random.next() % 2 == 0 ? "w\(random.next() % 40)" : "w\(random.next() % 2_100)"
            }
            if round % 10 == 0 { words += longWords + (words.first.map { [$0] } ?? []) }
            let keys = words.map { Array($0.utf8)[...] }
            var rows = [UInt8](repeating: 0xEE, count: keys.count * 32)
            let found = try rows.withUnsafeMutableBytes { try listed.copyVectors(of: keys, into: $0) }
            #expect(found?.count == words.count)
            for (index, word) in words.enumerated() {
                let expected = try Self.read(alone, word)
                let row = Array(rows[(index * 32)..<((index + 1) * 32)])
                #expect(found?[index] == (expected != nil), "\(word)")
                #expect(row == (expected ?? [UInt8](repeating: 0xEE, count: 32)), "\(word)")
            }
            let (counted, countedAlone) = (listed.statistics, alone.statistics)
            #expect(counted.hits + counted.misses == countedAlone.hits + countedAlone.misses, "round \(round)")
            #expect(counted.kept <= counted.capacity)
        }
        var rows = [UInt8](repeating: 0, count: 31)
        #expect(
            try rows.withUnsafeMutableBytes { try listed.copyVectors(of: [Array("w1".utf8)[...]], into: $0) } == nil)
    }

    /// Words a list misses are kept once read, so that the same list is then copied from memory alone.
    @Test func aListsMissesAreKeptAndThenFound() throws {
        let directory = TemporaryDirectory()
        // Room for all 2,000 words, 125 a shard, far more than the list's 100 can put in one.
        let cache = try Self.makeCache(directory, count: 2_000)
        let vectors = try HotVectors(cache: cache, capacityBytes: 1 << 20)
        let keys = (0..<100).map { Array("w\($0)".utf8)[...] } + [Array("nowhere".utf8)[...]]
        var first = [UInt8](repeating: 0, count: keys.count * 32)
        var second = [UInt8](repeating: 0, count: 100 * 32)
        #expect(
            try first.withUnsafeMutableBytes { try vectors.copyVectors(of: keys, into: $0) }
                == (0..<101).map { $0 < 100 })
        #expect(vectors.statistics == HotVectorStatistics(capacity: 2_000, kept: 100, hits: 0, misses: 101))
        try cache.close()
        #expect(try second.withUnsafeMutableBytes { try vectors.copyVectors(of: keys[..<100], into: $0) } != nil)
        #expect(second[...] == first[..<3_200], "kept: the closed cache is not read")
        #expect(vectors.statistics == HotVectorStatistics(capacity: 2_000, kept: 100, hits: 100, misses: 101))
    }

    /// Under `"missing": "error"` a list stops at the first word the cache lacks: the words in shards read after
    /// it are not read, so not kept, and the list gives `nil` (the router's 404). Ten absent words, so that the first
    /// read falls before the last shard unless all ten hash to it (1 in 16^10).
    @Test func allOrNothingStopsAtTheFirstAbsentWord() throws {
        let directory = TemporaryDirectory()
        // Room for all 2,000 words, 125 a shard, so that every word read is kept.
        let cache = try Self.makeCache(directory, count: 2_000)
        let keys = (0..<10).map { Array("absent\($0)".utf8)[...] } + (0..<200).map { Array("w\($0)".utf8)[...] }
        var rows = [UInt8](repeating: 0, count: keys.count * 32)
        let stopping = try HotVectors(cache: cache, capacityBytes: 1 << 20)
        #expect(
            try rows.withUnsafeMutableBytes { try stopping.copyVectors(of: keys, into: $0, allOrNothing: true) } == nil)
        #expect(stopping.statistics.kept < 200, "words after the first absent one were read")
        var presentRows = [UInt8](repeating: 0, count: 200 * 32)
        #expect(
            try presentRows.withUnsafeMutableBytes {
                try stopping.copyVectors(of: keys[10...], into: $0, allOrNothing: true)
            } == [Bool](repeating: true, count: 200), "a list the cache holds whole is copied whole")
        let reading = try HotVectors(cache: cache, capacityBytes: 1 << 20)
        let found = try rows.withUnsafeMutableBytes { try reading.copyVectors(of: keys, into: $0) }
        #expect(found == (0..<210).map { $0 >= 10 })
        #expect(reading.statistics.kept == 200)
    }

    @Test func noRoomKeepsNothing() throws {
        let directory = TemporaryDirectory()
        let cache = try Self.makeCache(directory, count: 10)
        let vectors = try HotVectors(cache: cache, capacityBytes: 0)
        #expect(vectors.capacity == 0)
        var expected: [UInt8] = []
        Float32Bytes.append((24..<32).map(Float.init), to: &expected)
        #expect(try Self.read(vectors, "w3") == expected)
        #expect(vectors.statistics == HotVectorStatistics(capacity: 0, kept: 0, hits: 0, misses: 0))
    }
}

@Suite struct EventLoopsTests {
    @Test func halfTheCoresUnlessTheSettingsSay() {
        var settings = ServerSettings()
        #expect([1, 2, 3, 16].map { settings.eventLoopCount(cores: $0) } == [1, 1, 1, 8])
        settings.eventLoops = 3
        #expect(settings.eventLoopCount(cores: 2) == 3)
    }

    @Test func aServerOnThreeLoopsAnswersFromEach() async throws {
        let group = EventLoops.group(3)
        #expect(EventLoops.group(3) === group, "one group per loop count")
        #expect(Array(group.makeIterator()).count == 3)
        var settings = ServerSettings()
        settings.eventLoops = 3
        try await withServer(settings: settings) { server async throws in
            // Connections go to the loops in turn: six of them reach each loop twice.
            for _ in 0..<6 {
                #expect(try await server.request("/v1/vectors/pound").status == 200)
                let body = #"{"words": ["pound", "the"]}"#
                #expect(try await server.request("/v1/vectors", method: "POST", body: body).status == 200)
            }
        }
    }
}
