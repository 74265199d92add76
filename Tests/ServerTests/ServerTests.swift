import CacheBuild
import Datasets
import Foundation
import FoundationNetworking
import Hummingbird
import Logging
import NumPyFormat
import Preprocessing
import ServiceLifecycle
import Support
import TestSupport
import Testing
import VectorCache
import Word2Vec

@testable import Server

#if canImport(FoundationNetworking)
#endif

/// Runs `body` against a real server on a free loopback port, over a cache with a prepared `pos` dataset, and stops
/// the server however `body` ends (as Hummingbird's `app.test(.live)` does).
/// - Parameter makeCache: builds the cache at `directory.file("cache")` instead of the small default one.
func withServer<R>(
    settings: ServerSettings = ServerSettings(), logger: Logger? = nil, searchIndex: Bool = true,
    makeCache: ((TemporaryDirectory) throws -> Void)? = nil, _ body: (RunningServer) async throws -> R
) async throws -> R {
    let server = try await RunningServer(
        settings: settings, logger: logger, searchIndex: searchIndex, makeCache: makeCache)
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

/// A real server on a free loopback port, over a cache with a prepared `pos` dataset; made and stopped by
/// ``withServer(settings:logger:searchIndex:_:)``.
final class RunningServer: @unchecked Sendable {
    // `@unchecked Sendable`: `task` and `port` are set in `init`, before the server is shared, and only read after.
    let directory = TemporaryDirectory()
    let cache: VectorCache
    let state: ServerState
    private var task: Task<Void, any Error>?
    private(set) var port = 0

    fileprivate init(
        settings: ServerSettings, logger: Logger?, searchIndex: Bool, makeCache: ((TemporaryDirectory) throws -> Void)?
    ) async throws {
        if let makeCache {
            try makeCache(directory)
        } else {
            try Self.makeSmallCache(directory, searchIndex: searchIndex)
        }
        cache = try VectorCache(path: directory.file("cache"))
        var settings = settings
        settings.port = 0
        state = try ServerState(
            cache: cache, settings: settings,
            oov: OOVSource(random: OOVVectors(dimension: cache.dimension, seed: 1, range: 0.25)))
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let quiet = {
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            return logger
        }()
        let application = buildApplication(state: state, logger: logger ?? quiet) { port in continuation.yield(port) }
        task = Task { try await application.run() }
        for await port in stream {
            self.port = port
            break
        }
    }

    /// Seven words of dimension 4 (`[i, 1, 2, 3]` for the i-th) and pos prepared from nine rows.
    static func makeSmallCache(_ directory: TemporaryDirectory, searchIndex: Bool) throws {
        let words = ["Confidence", "in", "the", "pound", "New_York", "café", "a/b"]
        let source = directory.file("v.bin")
        let writer = try Word2VecWriter(
            path: source, count: words.count, dimension: 4, layout: .binary(newlineAfterVector: false))
        for (index, word) in words.enumerated() { try writer.append(word: word, vector: [Float(index), 1, 2, 3]) }
        try writer.close()
        var build = BuildRequest(vectorsPath: source, cachePath: directory.file("cache"))
        build.settings.searchIndex = searchIndex
        _ = try CacheBuilder(build).run()
        let cacheWriter = try CacheWriter(path: directory.file("cache"), purpose: "a test")
        try "Confidence NN\nin IN\nthe DT\npound NN\nis VBZ\nwidely RB\nexpected VBN\nto TO\ntake VB\n".write(
            toFile: directory.file("train.txt"), atomically: true, encoding: .utf8)
        try "New NNP\nYork NNP\nrose VBD\n".write(toFile: directory.file("test.txt"), atomically: true, encoding: .utf8)
        _ = try POSDataset.prepare(
            train: TextFile(path: directory.file("train.txt")), test: TextFile(path: directory.file("test.txt")),
            into: cacheWriter, options: POSOptions(),
            oov: OOVSource(random: OOVVectors(dimension: 4, seed: 1, range: 0.25)))
        try cacheWriter.close()
    }

    fileprivate func stop() async {
        task?.cancel()
        _ = await task?.result
    }

    /// An answer's status, body, and the headers the tests read.
    typealias Answer = (status: Int, data: Data, contentType: String?, rows: String?, examples: String?)

    func request(_ path: String, method: String = "GET", body: String? = nil, accept: String? = nil) async throws
        -> Answer
    {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        if let body { request.httpBody = Data(body.utf8) }
        if let accept { request.setValue(accept, forHTTPHeaderField: "Accept") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        return (
            http.statusCode, data, http.value(forHTTPHeaderField: "Content-Type"),
            http.value(forHTTPHeaderField: "X-W2VCache-Rows"), http.value(forHTTPHeaderField: "X-Examples")
        )
    }

    /// The JSON error message of a response.
    static func error(_ data: Data) -> String? {
        (try? JSONSerialization.jsonObject(with: data) as? [String: String])?["error"]
    }
}

/// The float32 values after an `.npy` header.
func npyFloats(_ data: Data) -> (shape: String, values: [Float]) {
    let bytes = Array(data)
    let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
    let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
    let shape = String(header[header.range(of: "'shape': ")!.upperBound...].prefix { $0 != ")" }) + ")"
    return (shape, bareFloats(bytes[(10 + headerLength)...]))
}

/// Bare float32 values (an answer in `application/octet-stream`).
func bareFloats(_ bytes: some Collection<UInt8>) -> [Float] {
    Array(bytes).withUnsafeBytes { raw in
        (0..<(raw.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
    }
}

@Suite(.serialized) struct ServerTests {
    @Test func healthInfoAndMetrics() async throws {
        try await withServer { server in
            let health = try await server.request("/healthz")
            #expect(health.status == 200 && String(decoding: health.data, as: UTF8.self) == "ok")
            let info = try await server.request("/v1/info")
            let object = try JSONSerialization.jsonObject(with: info.data) as? [String: Any]
            #expect(object?["dimension"] as? Int == 4 && object?["words"] as? Int == 7)
            #expect(object?["datasets"] as? [String] == ["pos"])
            _ = try await server.request("/v1/vectors/nothing")
            let metrics = String(decoding: try await server.request("/metrics").data, as: UTF8.self)
            #expect(metrics.contains("w2vcache_requests_total{route=\"/healthz\",status=\"200\"} 1"))
            #expect(metrics.contains("w2vcache_requests_total{route=\"/v1/vectors/{word}\",status=\"404\"} 1"))
            #expect(metrics.contains("w2vcache_request_seconds_count"))
        }
    }

    @Test func oneVectorAsNpyOrJSON() async throws {
        try await withServer { server in
            let npy = try await server.request("/v1/vectors/New_York")
            #expect(npy.status == 200 && npy.contentType == "application/x-npy")
            let (shape, values) = npyFloats(npy.data)
            #expect(shape == "(4,)" && values == [4, 1, 2, 3])
            let json = try await server.request("/v1/vectors/caf%C3%A9", accept: "application/json")
            let object = try JSONSerialization.jsonObject(with: json.data) as? [String: Any]
            #expect(object?["word"] as? String == "café" && object?["oov"] as? Bool == false)
            #expect((object?["vector"] as? [Double]) == [5, 1, 2, 3])
            #expect(try await server.request("/v1/vectors/a%2Fb").status == 200)
            let spaced = try await server.request("/v1/vectors/two%20words")
            #expect(spaced.status == 404 && RunningServer.error(spaced.data) == "\"two words\" is not in the cache")
            let oov = try await server.request("/v1/vectors/widely", accept: "application/json")
            #expect((try JSONSerialization.jsonObject(with: oov.data) as? [String: Any])?["oov"] as? Bool == true)
            let missing = try await server.request("/v1/vectors/zebra")
            #expect(missing.status == 404 && RunningServer.error(missing.data) == "\"zebra\" is not in the cache")
        }
    }

    @Test func manyVectorsInRequestOrderWithAMissingPolicy() async throws {
        var settings = ServerSettings()
        settings.maxWordsPerRequest = 3
        settings.maxBodyBytes = 200
        try await withServer(settings: settings) { server in
            let ok = try await server.request("/v1/vectors", method: "POST", body: #"{"words": ["the", "Confidence"]}"#)
            #expect(ok.status == 200)
            #expect(npyFloats(ok.data).shape == "(2, 4)" && npyFloats(ok.data).values == [2, 1, 2, 3, 0, 1, 2, 3])
            let error = try await server.request(
                "/v1/vectors", method: "POST", body: #"{"words": ["the", "x1", "x2"]}"#)
            #expect(error.status == 404 && RunningServer.error(error.data) == #"not in the cache: "x1", "x2""#)
            // Each in quotes: an empty word, or one with a space at an end, showed as nothing, or as two spaces.
            let unseen = try await server.request("/v1/vectors", method: "POST", body: #"{"words": ["", " the"]}"#)
            #expect(unseen.status == 404 && RunningServer.error(unseen.data) == #"not in the cache: "", " the""#)
            let zero = try await server.request(
                "/v1/vectors", method: "POST", body: #"{"words": ["x1", "the"], "missing": "zero"}"#)
            #expect(npyFloats(zero.data).values == [0, 0, 0, 0, 2, 1, 2, 3])
            let oov = try await server.request(
                "/v1/vectors", method: "POST", body: #"{"words": ["x1"], "missing": "oov"}"#)
            let expected = OOVVectors(dimension: 4, seed: 1, range: 0.25).vectorBytes(for: Array("x1".utf8))
                .withUnsafeBytes { Float32Bytes.decode($0) }
            #expect(npyFloats(oov.data).values == expected)
            // Subword vectors from a cache without them: a 400 in the client's terms, not naming the server's files.
            let subword = try await server.request(
                "/v1/vectors", method: "POST", body: #"{"words": ["x1"], "missing": "oov", "oov": "subword"}"#)
            let message = RunningServer.error(subword.data) ?? ""
            #expect(subword.status == 400 && message.contains(#"ask for "oov": "random""#), "\(message)")
            #expect(!message.contains(server.directory.path) && !message.contains("--oov"), "\(message)")
            // "oov" without "missing": "oov": it was ignored, and the row zeros (or a 404).
            for (body, missing) in [
                (#"{"words": ["x1", "the"], "missing": "zero", "oov": "random"}"#, "zero"),
                (#"{"words": ["the"], "oov": "random"}"#, "error"),
            ] {
                let ignored = try await server.request("/v1/vectors", method: "POST", body: body)
                #expect(
                    ignored.status == 400
                        && RunningServer.error(ignored.data)
                            == #""oov": "random" is the kind of vector "missing": "oov" gives; with "missing": "\#(missing)" no word gets one"#,
                    "\(body): \(RunningServer.error(ignored.data) ?? "")")
            }
            let tooMany = try await server.request(
                "/v1/vectors", method: "POST", body: #"{"words": ["a", "b", "c", "d"]}"#)
            #expect(tooMany.status == 413 && RunningServer.error(tooMany.data)?.contains("at most 3") == true)
            let bad = try await server.request("/v1/vectors", method: "POST", body: "not json")
            #expect(
                bad.status == 400
                    && RunningServer.error(bad.data)?.hasPrefix(
                        #"the body is not JSON: at byte 0 (line 1, column 1): found "not"; expected a value (this "#)
                        == true,
                "\(RunningServer.error(bad.data) ?? "")")
            // A misspelt key is refused: it used to be ignored, and "mising": "zero" answered a 404.
            let misspelt = try await server.request(
                "/v1/vectors", method: "POST", body: #"{"words": ["x1", "the"], "mising": "zero"}"#)
            #expect(
                misspelt.status == 400
                    && RunningServer.error(misspelt.data)
                        == #"unknown parameter "mising"; expected words, missing, oov"#,
                "\(RunningServer.error(misspelt.data) ?? "")")
            let huge = try await server.request(
                "/v1/vectors", method: "POST",
                body: #"{"words": [""# + String(repeating: "\"aaaa\",", count: 60) + "\"a\"]}")
            #expect(huge.status == 413)
        }
    }

    /// A request of thousands of words is gathered in parts on several threads: the rows still come in request
    /// order, each the one its word gets alone.
    @Test func aLargeRequestKeepsItsOrder() async throws {
        try await withServer { server in
            let known: [String: [Float]] = ["the": [2, 1, 2, 3], "New_York": [4, 1, 2, 3], "café": [5, 1, 2, 3]]
            let random = OOVVectors(dimension: 4, seed: 1, range: 0.25)
            let words = (0..<3_000).map { $0 % 3 == 0 ? ["the", "New_York", "café"][$0 % 9 / 3] : "x\($0)" }
            let body = String(decoding: try JSONEncoder().encode(["words": words]), as: UTF8.self)
            let oov = try await server.request(
                "/v1/vectors", method: "POST", body: body.dropLast() + #", "missing": "oov"}"#)
            #expect(oov.status == 200 && npyFloats(oov.data).shape == "(3000, 4)")
            let expected = words.flatMap {
                known[$0] ?? random.vectorBytes(for: Array($0.utf8)).withUnsafeBytes { Float32Bytes.decode($0) }
            }
            #expect(npyFloats(oov.data).values == expected)
            #expect(oov.rows == String(words.map { known[$0] == nil ? "r" : "c" }))
            let zero = try await server.request(
                "/v1/vectors", method: "POST", body: body.dropLast() + #", "missing": "zero"}"#)
            #expect(npyFloats(zero.data).values == words.flatMap { known[$0] ?? [0, 0, 0, 0] })
            #expect(zero.rows == String(words.map { known[$0] == nil ? "z" : "c" }))
            let error = try await server.request("/v1/vectors", method: "POST", body: body)
            #expect(error.status == 404)
            #expect(
                RunningServer.error(error.data)?.hasPrefix(#"not in the cache: "x1", "x2", "x4", "x5", "x7","#) == true)
            #expect(RunningServer.error(error.data)?.hasSuffix("(2000 in all)") == true)
        }
    }

    /// `runServer` warms the datasets up as it starts: a trainer's first requests find them loaded, and answer what
    /// a load on demand answers.
    @Test func warmingUpLoadsEachDatasetOnceAndAnswersTheSame() async throws {
        try await withServer { server in
            #expect(server.state.loadedDatasets == ([], []))
            let onDemand = try await server.request("/v1/datasets/pos/embeddings")
            #expect(server.state.loadedDatasets == ([], [.pos]))
            await server.state.warmUp()
            #expect(server.state.loadedDatasets == ([.pos], [.pos]))
            let warmed = try await server.request("/v1/datasets/pos/embeddings")
            #expect(warmed.status == 200 && warmed.data == onDemand.data && !warmed.data.isEmpty)
            #expect(try await server.request("/v1/datasets/pos/train/batches/0?batch_size=2").status == 200)
        }
    }

    @Test func datasetsBatchesAndEpochsMatchTheLibrary() async throws {
        try await withServer { server in
            let listed = try await server.request("/v1/datasets")
            let list = try JSONSerialization.jsonObject(with: listed.data) as? [String: Any]
            #expect((list?["datasets"] as? [[String: Any]])?.first?["name"] as? String == "pos")
            let described = try await server.request("/v1/datasets/pos")
            let pos = try JSONSerialization.jsonObject(with: described.data) as? [String: Any]
            #expect(((pos?["labels"] as? [String: Any])?["tags"] as? [String])?.first == "NN")
            // Both answers are made once and kept: asked again, the same bytes, typed as JSON.
            for (path, first) in [("/v1/datasets", listed), ("/v1/datasets/pos", described)] {
                let again = try await server.request(path)
                #expect(again.data == first.data && again.contentType == "application/json; charset=utf-8")
            }
            let vocab =
                try JSONSerialization.jsonObject(with: try await server.request("/v1/datasets/pos/vocab").data)
                as? [String: [String]]
            #expect(vocab?["vocab"]?.first == "Confidence" && vocab?["tags"]?.count == 10)
            let embeddings = try await server.request("/v1/datasets/pos/embeddings")
            #expect(npyFloats(embeddings.data).shape == "(\(vocab!["vocab"]!.count), 4)")
            let dataset = try POSDataset(cache: server.cache)
            #expect(npyFloats(embeddings.data).values == dataset.embeddings)

            let plan = try dataset.epoch(split: "train", batchSize: 3, seed: 5, epoch: 2, shuffle: true)
            let batch = try await server.request("/v1/datasets/pos/train/batches/1?batch_size=3&seed=5&epoch=2")
            #expect(batch.status == 200 && batch.contentType == "application/x-npz")
            #expect(batch.examples == "\(plan.batch(1).count)" && plan.batch(1).count == 3)
            #expect(
                try NPZReference.decode(Array(batch.data))
                    == NPZReference.arrays(try dataset.batch(split: "train", indices: plan.batch(1))))

            let epoch = try await server.request("/v1/datasets/pos/train/epoch?batch_size=3&seed=5&epoch=2")
            var frames: [[UInt8]] = []
            var offset = 0
            let bytes = Array(epoch.data)
            while true {
                let size = bytes[offset..<(offset + 8)].enumerated().reduce(0) {
                    $0 | Int($1.element) << (8 * $1.offset)
                }
                offset += 8
                if size == 0 { break }
                frames.append(Array(bytes[offset..<(offset + size)]))
                offset += size
            }
            #expect(offset == bytes.count && frames.count == plan.batchCount)
            #expect(epoch.examples == "7")  // every window of the 9 training rows
            for (frame, indices) in zip(frames, (0..<plan.batchCount).map(plan.batch)) {
                #expect(
                    try NPZReference.decode(frame)
                        == NPZReference.arrays(try dataset.batch(split: "train", indices: indices)))
            }
        }
    }

    @Test func badBatchRequestsAndUnpreparedDatasets() async throws {
        var settings = ServerSettings()
        settings.maxBatchSize = 8
        try await withServer(settings: settings) { server in
            let parser = try await server.request("/v1/datasets/parser")
            #expect(
                parser.status == 404 && RunningServer.error(parser.data)?.contains("w2vcache prepare parser") == true)
            let parserBatch = try await server.request("/v1/datasets/parser/train/batches/0")
            #expect(parserBatch.status == 404)
            #expect(try await server.request("/v1/datasets/unknown").status == 404)
            let dev = try await server.request("/v1/datasets/pos/dev/batches/0")
            #expect(dev.status == 404, "\(String(decoding: dev.data, as: UTF8.self))")
            let outside = try await server.request("/v1/datasets/pos/train/batches/99")
            #expect(outside.status == 404, "\(String(decoding: outside.data, as: UTF8.self))")
            let big = try await server.request("/v1/datasets/pos/train/batches/0?batch_size=9")
            #expect(
                big.status == 400
                    && RunningServer.error(big.data)?.contains(
                        "batch_size=9 is outside 1 to 8, the server's limit (server.max_batch_size)") == true
            )
            #expect(try await server.request("/v1/datasets/pos/train/batches/0?seed=x").status == 400)
            #expect(try await server.request("/v1/datasets/pos/train/batches/0?shuffle=maybe").status == 400)
        }
    }
}

/// An `.npz` reader written from the ZIP and NPY specifications, independent of the server's encoder, so that the
/// tests check what a client such as numpy would read.
enum NPZReference {
    struct Array: Equatable {
        var name: String
        var descr: String
        var shape: [Int]
        var data: [UInt8]
    }

    struct Malformed: Error {
        let reason: String
    }

    /// The arrays a batch should decode to: `.npy` descriptors as numpy writes them for little-endian types.
    static func arrays(_ batch: [BatchArray]) -> [Array] {
        batch.map { array in
            let descr =
                switch array.type {
                case .float32: "<f4"
                case .int32: "<i4"
                case .int64: "<i8"
                }
            return Array(name: array.name, descr: descr, shape: array.shape, data: array.bytes)
        }
    }

    /// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), bit by bit.
    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func decode(_ bytes: [UInt8]) throws -> [Array] {
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }
        var result: [Array] = []
        var offset = 0
        while offset + 4 <= bytes.count && u32(offset) == 0x0403_4B50 {
            guard u16(offset + 8) == 0 else { throw Malformed(reason: "compressed member") }
            let crc = u32(offset + 14)
            let size = Int(u32(offset + 18))
            let nameLength = u16(offset + 26), extraLength = u16(offset + 28)
            let name = String(decoding: bytes[(offset + 30)..<(offset + 30 + nameLength)], as: UTF8.self)
            let start = offset + 30 + nameLength + extraLength
            let npy = bytes[start..<(start + size)]
            guard crc32(npy) == crc else { throw Malformed(reason: "CRC of \(name)") }
            guard npy.starts(with: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0]) else {
                throw Malformed(reason: "npy magic")
            }
            let headerLength = Int(npy[npy.startIndex + 8]) | Int(npy[npy.startIndex + 9]) << 8
            let header = String(
                decoding: npy[(npy.startIndex + 10)..<(npy.startIndex + 10 + headerLength)], as: UTF8.self)
            guard (10 + headerLength) % 64 == 0, name.hasSuffix(".npy") else {
                throw Malformed(reason: "alignment or name")
            }
            let descr = header.components(separatedBy: "'descr': '")[1].prefix { $0 != "'" }
            let shapeText = header.components(separatedBy: "'shape': (")[1].prefix { $0 != ")" }
            let shape = shapeText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            result.append(
                Array(
                    name: String(name.dropLast(4)), descr: String(descr), shape: shape,
                    data: Swift.Array(npy[(npy.startIndex + 10 + headerLength)...])))
            offset = start + size
        }
        guard offset + 4 <= bytes.count, u32(offset) == 0x0201_4B50 else {
            throw Malformed(reason: "central directory")
        }
        return result
    }
}
