import CacheBuild
import NIOPosix
import Support
import TestSupport
import Testing
import VectorCache
import Word2Vec

@testable import Server

@Suite struct HotVectorsTests {
    /// A cache of `count` words of dimension 8 (`w0`, `w1`, ...), each vector its own.
    private static func makeCache(_ directory: TemporaryDirectory, count: Int) throws -> VectorCache {
        let source = directory.file("v.bin")
        let writer = try Word2VecWriter(
            path: source, count: count, dimension: 8, layout: .binary(newlineAfterVector: false))
        for index in 0..<count {
            try writer.append(word: "w\(index)", vector: (0..<8).map { Float(index * 8 + $0) })
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
        // Room for 4 vectors a shard (32 bytes each, and 64 for its word).
        let vectors = try HotVectors(cache: cache, capacityBytes: 16 * 4 * 96)
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
            let body = #"{"words": ["pound", "the", "nowhere"], "missing": "zero"}"#
            #expect(try await server.request("/v1/vectors", method: "POST", body: body).status == 200)
            let metrics = String(decoding: try await server.request("/metrics").data, as: UTF8.self)
            // Room for the cache's 7 words and its prepared dataset's out-of-vocabulary ones: one a shard.
            for line in [
                "w2vcache_hot_vectors 2", "w2vcache_hot_vectors_capacity 16", "w2vcache_hot_vector_hits_total 3",
                "w2vcache_hot_vector_misses_total 3",
            ] {
                #expect(metrics.contains(line + "\n"), "\(line)")
            }
        }
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
