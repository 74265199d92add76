import CacheBuild
import Datasets
import Foundation
import LevelDB
import Logging
import Preprocessing
import Support
import Synchronization
import TestSupport
import Testing
import VectorCache
import Word2Vec

@testable import Server

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The resident memory of this process, in bytes.
func residentBytes() -> Int {
    let fields = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8))?.split(separator: " ") ?? []
    return (fields.count > 1 ? Int(fields[1]) ?? 0 : 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// A status line, headers and body of a raw HTTP response.
func parseResponse(_ bytes: [UInt8]) -> (status: Int, headers: String, body: [UInt8]) {
    let separator = Array("\r\n\r\n".utf8)
    guard let end = (0..<max(0, bytes.count - 3)).first(where: { Array(bytes[$0..<($0 + 4)]) == separator }) else {
        return (0, String(decoding: bytes, as: UTF8.self), [])
    }
    let head = String(decoding: bytes[..<end], as: UTF8.self)
    let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
    return (status, head, Array(bytes[(end + 4)...]))
}

/// While `stalled` (clients that asked and read nothing) hold their connections, sends `request` on new ones a tenth
/// of a second apart until one is refused with a 503, at most 100 times: the last answer, and the most bytes `memory`
/// held in the half second after it. (Read once, at the refusal, it could be 0: a stream's chunk is released once
/// the kernel's socket buffer has taken it, and its next is reserved only as it is made; under a loaded host that
/// gap was long enough to be read.)
func firstRefusal(of request: [UInt8], port: Int, memory: AnswerMemory, beside stalled: [LoopbackConnection]) throws
    -> (answer: (status: Int, headers: String, body: [UInt8]), held: Int)
{
    var answer = (status: 0, headers: "", body: [UInt8]())
    for _ in 0..<100 {
        let connection = try LoopbackConnection(port: port)
        connection.send(request)
        answer = parseResponse(connection.receiveResponse())
        if answer.status == 503 { break }
        usleep(100_000)
    }
    var held = memory.bytes
    for _ in 0..<50 {
        usleep(10_000)
        held = max(held, memory.bytes)
    }
    withExtendedLifetime(stalled) {}
    return (answer, held)
}

/// What the server's answers' memory holds once it has held nothing for half a second, or after 10 s: a stream may
/// reserve its next chunk before it learns that its client has gone.
func memoryGivenBack(_ server: RunningServer) async throws -> Int {
    let memory = server.state.answerMemory
    var given = memory.bytes
    var emptyFor = 0
    for _ in 0..<100 where emptyFor < 5 {
        try await Task.sleep(for: .milliseconds(100))
        given = memory.bytes
        emptyFor = given == 0 ? emptyFor + 1 : 0
    }
    return given
}

/// A cache of 2,000 words of dimension 50 with pos prepared from 120,000 rows: epochs big enough to fill a socket,
/// plans big enough to measure.
func makeLargeCache(_ directory: TemporaryDirectory) throws {
    // Letters only: the book's rules write digits as #.
    func name(_ index: Int) -> String {
        var rest = index, letters = ""
        repeat {
            letters.append(Character(UnicodeScalar(UInt8(97 + rest % 26))))
            rest /= 26
        } while rest > 0
        return "w" + letters
    }
    let words = (0..<2000).map(name)
    let writer = try Word2VecWriter(
        path: directory.file("v.bin"), count: words.count, dimension: 50, layout: .binary(newlineAfterVector: false))
    for (index, word) in words.enumerated() {
        try writer.append(word: word, vector: (0..<50).map { Float(index) + Float($0) / 64 })
    }
    try writer.close()
    _ = try CacheBuilder(BuildRequest(vectorsPath: directory.file("v.bin"), cachePath: directory.file("cache"))).run()
    let tags = ["NN", "VB", "JJ", "DT", "IN"]
    var random = SplitMix64(seed: 3)
    let rows = (0..<120_000).map { _ in words[Int(random.next() % 2000)] + " " + tags[Int(random.next() % 5)] }
    try (rows.joined(separator: "\n") + "\n").write(
        toFile: directory.file("train.txt"), atomically: true, encoding: .utf8)
    try (rows.prefix(10).joined(separator: "\n") + "\n").write(
        toFile: directory.file("test.txt"), atomically: true, encoding: .utf8)
    let cacheWriter = try CacheWriter(path: directory.file("cache"), purpose: "a test")
    _ = try POSDataset.prepare(
        train: TextFile(path: directory.file("train.txt")), test: TextFile(path: directory.file("test.txt")),
        into: cacheWriter,
        options: POSOptions(), oov: OOVSource(random: OOVVectors(dimension: 50, seed: 1, range: 0.25)))
    try cacheWriter.close()
}

/// The second hostile pass: requests that crashed the server, took its memory, held it forever or were answered
/// as server errors.
@Suite(.serialized) struct TrustTests {
    @Test func numbersThatOverflowedThePlanAre400sNamingTheirBoundAndNothingIsCut() async throws {
        try await withServer { server in
            let port = server.port
            // A stream that must survive the hostile requests beside it.
            let reader = try LoopbackConnection(port: port)
            reader.send(LoopbackConnection.request("GET", "/v1/datasets/pos/train/epoch?batch_size=1&format=raw"))
            let hostile: [(String, String)] = [
                (
                    "world_size=4611686018427387904&parts=4",
                    "world_size=4611686018427387904 is outside 1 to 1: this epoch of train has 1 batch"
                ),
                (
                    "start=9223372036854775807&part=1&parts=2",
                    "start=9223372036854775807 is past the end of this rank's share of 1 batch"
                ),
                (
                    "batch_size=1&start=4611686018427387904&world_size=4",
                    "start=4611686018427387904 is past the end of this rank's share of 1 batch"
                ),
                ("parts=9223372036854775807", "parts=9223372036854775807 is outside 1 to 1024"),
                ("batch_size=9223372036854775807", "batch_size=9223372036854775807 is outside 1 to 4096"),
                ("epoch=-9223372036854775808", "epoch=-9223372036854775808 is negative"),
                ("batch_size=1&start=8", "start=8 is past the end of this rank's share of 7 batches; expected 0 to 7"),
                (
                    "batch_size=1&start=-1",
                    "start=-1 is negative; batches count from 0 in this rank's share of 7 batches; expected 0 to 7"
                ),
                (
                    "rank=99999999999999999999",
                    "rank=99999999999999999999 is not a whole number from -9223372036854775808 to 9223372036854775807"
                ),
                ("seed=-1", "seed=-1 is not a whole number from 0 to 18446744073709551615"),
                // A name the routes do not read: it was ignored, and the epoch served at the default batch size.
                (
                    "batchsize=64",
                    "unknown parameter \"batchsize\"; expected batch_size, seed, epoch, shuffle, rank, world_size, "
                        + "start, part, parts, format, compact"
                ),
                // compact=true without format=raw: it was ignored, and whole float32 windows sent in an .npz.
                ("compact=true", "compact=true needs format=raw"),
                ("compact=1&format=npz", "compact=true needs format=raw"),
                ("shuffle=yes", "shuffle=yes; expected true or false (or 1 or 0)"),
            ]
            for (query, message) in hostile {
                for route in ["epoch", "plan", "batches/0"] {
                    let answer = try await server.request("/v1/datasets/pos/train/\(route)?\(query)")
                    #expect(answer.status == 400, "\(route)?\(query)")
                    #expect(
                        RunningServer.error(answer.data)?.contains(message) == true,
                        "\(route)?\(query): \(RunningServer.error(answer.data) ?? "")")
                }
            }
            // Not numbers: the type's range was named as if it were the bound (batch_size is 1 to 4096).
            for (query, message) in [
                ("batch_size=", "batch_size= has no value; expected batch_size=VALUE"),
                ("batch_size=abc", "batch_size=abc is not a whole number"),
                ("epoch=1.5", "epoch=1.5 is not a whole number"),
                ("rank=-", "rank=- is not a whole number"),
            ] {
                let answer = try await server.request("/v1/datasets/pos/train/plan?\(query)")
                #expect(answer.status == 400 && RunningServer.error(answer.data) == message, "\(query)")
            }
            // At the very end of its share a resumed reader gets the end of the stream, not an error.
            let atEnd = try await server.request("/v1/datasets/pos/train/epoch?batch_size=1&start=7")
            #expect(atEnd.status == 200 && Array(atEnd.data) == [UInt8](repeating: 0, count: 8))
            let whole = parseResponse(reader.receiveResponse())
            #expect(whole.status == 200 && whole.body.suffix(8) == [0, 0, 0, 0, 0, 0, 0, 0], "the open stream was cut")
            #expect(try await server.request("/healthz").status == 200)
        }
    }

    @Test func queriesThatAreNotNameValuePairsAre400s() async throws {
        try await withServer { server in
            let port = server.port
            // Each of these made Hummingbird's form decoder throw an error of its own, which was answered as a 500.
            let queries = [
                "batch_size=1&batch_size=2", "%zz=1", "batch_size=%zz", "a[0][1]=1", "a[=1", "a[1]=1&a[0]=2",
                "batch_size[]=1", "seed[a]=1",
            ]
            let answers = try await blocking {
                let connection = try LoopbackConnection(port: port)
                return queries.flatMap { query in
                    ["epoch", "plan", "batches/0"].map { route in
                        connection.send(LoopbackConnection.request("GET", "/v1/datasets/pos/train/\(route)?\(query)"))
                        return ("\(route)?\(query)", parseResponse(connection.receiveResponse()))
                    }
                }
            }
            #expect(answers.count == queries.count * 3)
            for (request, answer) in answers {
                let message = RunningServer.error(Data(answer.body)) ?? ""
                #expect(answer.status == 400, "\(request): \(answer.status) \(message)")
                #expect(
                    message.hasPrefix("the query cannot be read (")
                        && message.hasSuffix("expected name=value pairs, each name at most once"),
                    "\(request): \(message)")
            }
            let duplicate = answers.first { $0.0 == "plan?batch_size=1&batch_size=2" }
            #expect(duplicate.map { RunningServer.error(Data($0.1.body)) ?? "" }?.contains("batch_size") == true)
            #expect(try await server.request("/healthz").status == 200)
        }
    }

    /// Parameters that were passed over, so that the route answered its default: any query of a route that reads
    /// none, a name without `=` where a query is read, and a body sent with a `Content-Encoding`.
    @Test func whatARequestAsksForIsReadOrRefusedNeverPassedOver() async throws {
        try await withServer { server in
            let port = server.port
            let noQuery = "this route takes no query parameters"
            let pound = Array(#"{"words": ["pound"]}"#.utf8)
            let cases: [(request: [UInt8], status: Int, message: String)] = [
                // A route that reads no query answered as if it had none: `.npy`, not the JSON asked for.
                (LoopbackConnection.request("GET", "/v1/vectors/pound?format=json"), 400, #""format"; \#(noQuery)"#),
                (LoopbackConnection.request("GET", "/v1/info?x=1"), 400, #""x"; \#(noQuery)"#),
                (LoopbackConnection.request("GET", "/v1/datasets?verbose"), 400, #""verbose"; \#(noQuery)"#),
                (LoopbackConnection.request("GET", "/v1/datasets/pos?split=train"), 400, #""split"; \#(noQuery)"#),
                (LoopbackConnection.request("GET", "/v1/datasets/pos/vocab?x=1"), 400, #""x"; \#(noQuery)"#),
                (
                    LoopbackConnection.request("GET", "/v1/datasets/pos/embeddings?dtype=float16"), 400,
                    #""dtype"; \#(noQuery)"#
                ),
                (
                    LoopbackConnection.request("POST", "/v1/vectors?missing=zero", body: pound), 400,
                    #""missing"; \#(noQuery)"#
                ),
                (
                    LoopbackConnection.request(
                        "POST", "/v1/similar?top=1", body: Array(#"{"positive": ["pound"]}"#.utf8)),
                    400, #""top"; \#(noQuery)"#
                ),
                // `?` alone, empty pieces, and the monitors' routes are still answered.
                (LoopbackConnection.request("GET", "/v1/vectors/pound?"), 200, ""),
                (LoopbackConnection.request("GET", "/v1/info?&&"), 200, ""),
                (LoopbackConnection.request("GET", "/healthz?probe=1"), 200, ""),
                (LoopbackConnection.request("GET", "/metrics?x=1"), 200, ""),
                // A name without `=` was passed over by the form decoder: the epoch came at the default batch size.
                (
                    LoopbackConnection.request("GET", "/v1/datasets/pos/train/plan?batch_size"), 400,
                    "batch_size has no value; expected batch_size=VALUE"
                ),
                (
                    LoopbackConnection.request("GET", "/v1/datasets/pos/train/epoch?batch_size=2&world_size"), 400,
                    "world_size has no value; expected world_size=VALUE"
                ),
                (
                    LoopbackConnection.request("GET", "/v1/datasets/pos/train/batches/0?shufle"), 400,
                    #"unknown parameter "shufle"; expected batch_size, seed"#
                ),
                (LoopbackConnection.request("GET", "/v1/datasets/pos/train/plan?batch_size=2&&"), 200, ""),
                // A dataset name, split or batch index percent-encoded was taken as it was sent: a 404 for `p%6Fs`.
                (LoopbackConnection.request("GET", "/v1/datasets/p%6Fs"), 200, ""),
                (LoopbackConnection.request("GET", "/v1/datasets/p%6Fs/tr%61in/plan?batch_size=2"), 200, ""),
                (LoopbackConnection.request("GET", "/v1/datasets/pos/train/batches/%30?batch_size=2"), 200, ""),
                (
                    LoopbackConnection.request("GET", "/v1/datasets/p%zz/vocab"), 400,
                    #"the dataset name "p%zz" is not percent-encoded: each % is followed by two hex digits"#
                ),
                (
                    LoopbackConnection.request("GET", "/v1/datasets/pos/train%/plan"), 400,
                    #"the split "train%" is not percent-encoded"#
                ),
                (LoopbackConnection.request("GET", "/v1/datasets/p%0Aos"), 404, #"no dataset "p\nos"; datasets are"#),
                (
                    LoopbackConnection.request("GET", "/v1/datasets/pos/tr%0Ain/plan"), 404,
                    #"dataset pos has no split "tr\nin"; it has"#
                ),
                // A path no route takes was "Not Found", which read as a word the cache lacks (`AC/DC` unencoded).
                (
                    LoopbackConnection.request("GET", "/v1/vectors/AC/DC"), 404,
                    "no route for /v1/vectors/AC/DC: a word with / in it is asked for with the / percent-encoded, "
                        + "/v1/vectors/AC%2FDC"
                ),
                (LoopbackConnection.request("GET", "/v1/nowhere?x=1"), 404, "no route for /v1/nowhere; the routes are"),
                // A body with an encoding was read as JSON: answered as if plain, or a 400 about its shape.
                (
                    LoopbackConnection.request("POST", "/v1/vectors", body: pound, headers: ["Content-Encoding: br"]),
                    415, "Content-Encoding: br; the server reads JSON bodies as they are"
                ),
                (
                    LoopbackConnection.request(
                        "POST", "/v1/vectors", body: [0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 0x03],
                        headers: ["Content-Encoding: gzip"]),
                    415, "Content-Encoding: gzip"
                ),
                (
                    LoopbackConnection.request(
                        "POST", "/v1/similar", body: Array(#"{"positive": ["pound"]}"#.utf8),
                        headers: ["Content-Encoding: gzip"]),
                    415, "Content-Encoding: gzip"
                ),
                (
                    LoopbackConnection.request(
                        "POST", "/v1/vectors", body: pound, headers: ["Content-Encoding: identity"]),
                    200, ""
                ),
                // A key given twice was read with its first value (Python's json reads the last).
                (
                    LoopbackConnection.request(
                        "POST", "/v1/vectors", body: Array(#"{"words": ["pound"], "words": ["zz-none"]}"#.utf8)),
                    400, #"the key "words" is given twice; expected each key once"#
                ),
                (
                    LoopbackConnection.request(
                        "POST", "/v1/vectors",
                        body: Array(#"{"words": ["zz-none"], "missing": "zero", "missing": "error"}"#.utf8)),
                    400, #"the key "missing" is given twice"#
                ),
                (
                    LoopbackConnection.request(
                        "POST", "/v1/vectors", body: Array(#"{"w\u006frds": ["pound"], "words": ["pound"]}"#.utf8)),
                    400, #"the key "words" is given twice"#
                ),
                (
                    LoopbackConnection.request(
                        "POST", "/v1/similar",
                        body: Array(
                            #"{"queries": [{"positive": ["pound"]}, {"positive": ["pound"], "top": 1, "top": 2}]}"#
                                .utf8)),
                    400, #"the key "top" is given twice in queries[1]; expected each key once"#
                ),
                // Named before the shape its first value gives the body.
                (
                    LoopbackConnection.request(
                        "POST", "/v1/similar", body: Array(#"{"positive": "pound", "positive": ["pound"]}"#.utf8)),
                    400, #"the key "positive" is given twice"#
                ),
                // A body that is not JSON, or not of the route's shape, got "expected a JSON body …" and no more.
                (
                    LoopbackConnection.request("POST", "/v1/vectors", body: Array(#"{"words": ["caf\ud800"]}"#.utf8)),
                    400,
                    #"the body is not JSON: at byte 15 (line 1, column 16): \uD800 is half of a surrogate pair "#
                        + #"without its other half; expected a character (this route reads a JSON body {"words": "#
                ),
                (
                    LoopbackConnection.request(
                        "POST", "/v1/vectors", body: Array("{\"words\": [\"pound\"]\n \"missing\": \"zero\"}".utf8)),
                    400, #"the body is not JSON: at byte 21 (line 2, column 2): found a quote; expected "," or "}""#
                ),
                (
                    LoopbackConnection.request("POST", "/v1/vectors", body: Array(#"{"words": [1]}"#.utf8)), 400,
                    #"words[0]: expected a string (this route reads a JSON body {"words": "#
                ),
                (
                    LoopbackConnection.request("POST", "/v1/vectors", body: Array("{}".utf8)), 400,
                    #"the body has no key "words" (this route reads"#
                ),
                (
                    LoopbackConnection.request(
                        "POST", "/v1/similar",
                        body: Array(#"{"queries": [{"positive": ["pound"], "negative": [null]}]}"#.utf8)),
                    400, "queries[0].negative[0]: expected a string, found null (this route reads a JSON body"
                ),
                // A number that is not a whole one was named by no key ("the body is JSON, but a number in it is not
                // one its key takes"), and a string none of an enum's by the Swift type ("Cannot initialize
                // MissingWords from invalid String value ZERO").
                (
                    LoopbackConnection.request(
                        "POST", "/v1/similar", body: Array(#"{"positive": ["pound"], "top": 1.5}"#.utf8)),
                    400, "top: expected a whole number, found 1.5 (this route reads a JSON body"
                ),
                (
                    LoopbackConnection.request(
                        "POST", "/v1/similar",
                        body: Array(#"{"queries": [{"positive": ["pound"]}], "restrict_vocab": 1e30}"#.utf8)),
                    400,
                    "restrict_vocab: expected a whole number from \(Int.min) to \(Int.max), found 1e+30 (this route"
                ),
                (
                    LoopbackConnection.request(
                        "POST", "/v1/similar",
                        body: Array(#"{"queries": [{"positive": ["pound"], "top": "3"}]}"#.utf8)),
                    400, "queries[0].top: expected a whole number (this route"
                ),
                (
                    LoopbackConnection.request(
                        "POST", "/v1/vectors", body: Array(#"{"words": ["pound"], "missing": "ZERO"}"#.utf8)),
                    400, #"missing: expected "error", "zero" or "oov", found "ZERO" (this route reads a JSON body"#
                ),
                (
                    LoopbackConnection.request(
                        "POST", "/v1/vectors",
                        body: Array(#"{"words": ["pound"], "missing": "oov", "oov": "fastText"}"#.utf8)),
                    400, #"oov: expected "random" or "subword", found "fastText" (this route"#
                ),
                // An `Accept` that refuses what the route answers got the answer all the same.
                (
                    LoopbackConnection.request("GET", "/v1/info", headers: ["Accept: application/x-npy"]), 406,
                    "Accept: application/x-npy asks for none of the types this route answers: application/json"
                ),
                (
                    LoopbackConnection.request(
                        "GET", "/v1/datasets/pos/embeddings", headers: ["Accept: application/json"]),
                    406, "answers: application/x-npy"
                ),
                (
                    LoopbackConnection.request(
                        "GET", "/v1/datasets/pos/train/batches/0?batch_size=2", headers: ["Accept: application/json"]),
                    406, "answers: application/x-npz"
                ),
                (
                    LoopbackConnection.request(
                        "GET", "/v1/datasets/pos/train/epoch?batch_size=2",
                        headers: ["Accept: application/json, application/x-npz"]),
                    406, "answers: application/x-w2vcache-epoch"
                ),
                (
                    LoopbackConnection.request(
                        "GET", "/v1/datasets/pos/train/batches/0?batch_size=2&format=raw",
                        headers: ["Accept: application/x-w2vcache-raw"]),
                    200, ""
                ),
                // Refused before its body is read, which is read past all the same: the next request is answered.
                (
                    LoopbackConnection.request(
                        "POST", "/v1/vectors", body: Array(#"{"words": ["pound"]}"#.utf8),
                        headers: ["Accept: application/json"]),
                    406, "answers: application/x-npy, application/octet-stream"
                ),
                (LoopbackConnection.request("GET", "/v1/info", headers: ["Accept: application/*;q=0.1"]), 200, ""),
                (LoopbackConnection.request("GET", "/healthz", headers: ["Accept: application/json"]), 200, ""),
                // The route's error comes first.
                (
                    LoopbackConnection.request("GET", "/v1/datasets/parser", headers: ["Accept: text/html"]), 404,
                    "parser"
                ),
                // A word twice, or a word that is also a key, is no key twice.
                (
                    LoopbackConnection.request(
                        "POST", "/v1/vectors",
                        body: Array(#"{"words": ["pound", "pound", "words"], "missing": "zero"}"#.utf8)),
                    200, ""
                ),
            ]
            let answers = try await blocking {
                let connection = try LoopbackConnection(port: port)
                return cases.map { item in
                    connection.send(item.request)
                    return parseResponse(connection.receiveResponse())
                }
            }
            for (item, answer) in zip(cases, answers) {
                let request = String(decoding: item.request.prefix { $0 != 0x0D }, as: UTF8.self)
                let message = RunningServer.error(Data(answer.body)) ?? ""
                #expect(answer.status == item.status, "\(request): \(answer.status) \(message)")
                #expect(item.message.isEmpty || message.contains(item.message), "\(request): \(message)")
            }
            // The answers refused after they were made (an epoch's first chunk among them) hold no memory.
            let metrics = String(decoding: try await server.request("/metrics").data, as: UTF8.self)
            #expect(metrics.contains("\nw2vcache_answer_bytes 0\n"))
        }
    }

    /// A cache of `caf\xE9` (not UTF-8), `café` and `50%`, vectors `[0, 1]`, `[1, 1]` and `[2, 1]`.
    static func makeCacheOfWordsNotAllUTF8(_ directory: TemporaryDirectory) throws {
        let words: [[UInt8]] = [Array("caf".utf8) + [0xE9], Array("café".utf8), Array("50%".utf8)]
        var file = Array("\(words.count) 2\n".utf8)
        for (index, word) in words.enumerated() {
            file += word + [UInt8(ascii: " ")]
            for value in [Float(index), 1] { withUnsafeBytes(of: value.bitPattern.littleEndian) { file += $0 } }
        }
        try Data(file).write(to: URL(fileURLWithPath: directory.file("v.bin")))
        _ = try CacheBuilder(BuildRequest(vectorsPath: directory.file("v.bin"), cachePath: directory.file("cache")))
            .run()
    }

    /// `POST /v1/similar` refused a word that is not UTF-8 (a lone `\udce9`, as for `POST /v1/vectors`), and answered
    /// such a word with U+FFFD in its place: `caf\uFFFD`, a word the cache does not hold.
    @Test func similarTakesAndAnswersWordsThatAreNotUTF8() async throws {
        try await withServer(makeCache: Self.makeCacheOfWordsNotAllUTF8) { server in
            // Cosines of [0, 1], [1, 1] and [2, 1] as float32: 1/√2, 3/√10, 1/√5; and [1, 1] against the unit
            // mean of [2, 1]/√5 - [0, 1], 0.2298.
            let cases: [(body: String, status: Int, answer: String)] = [
                (
                    #"{"positive": ["caf\u00e9"], "top": 1}"#, 200,
                    #"{"similar":[{"score":0.9486832618713379,"word":"50%"}]}"#
                ),
                (
                    #"{"positive": ["50%"], "negative": ["caf\udce9"], "top": 1}"#, 200,
                    #"{"similar":[{"score":0.22975288331508636,"word":"café"}]}"#
                ),
                (
                    #"{"queries": [{"positive": ["caf\udce9"], "top": 1}, {"positive": ["50%"], "top": 2}]}"#, 200,
                    #"{"results":[{"similar":[{"score":0.7071067690849304,"word":"café"}]},"#
                        + #"{"similar":[{"score":0.9486832618713379,"word":"café"},"#
                        + #"{"score":0.4472135901451111,"word":"caf\udce9"}]}]}"#
                ),
                (#"{"positive": ["caf\udce8"]}"#, 404, #""caf\xE8""#),
                (#"{"positive": ["caf\ud800"]}"#, 400, #"\uD800 is half of a surrogate pair"#),
                (#"{"positive": ["caf\udce9"], "top": 1.5}"#, 400, "top: expected a whole number, found 1.5"),
            ]
            for item in cases {
                let answer = try await server.request("/v1/similar", method: "POST", body: item.body)
                let (data, status) = (answer.data, answer.status)
                let text = status == 200 ? String(decoding: data, as: UTF8.self) : RunningServer.error(data) ?? ""
                #expect(status == item.status, "\(item.body): \(text)")
                #expect(status == 200 ? text == item.answer : text.contains(item.answer), "\(item.body): \(text)")
            }
        }
    }

    /// A word kept as it was written, not UTF-8 (`build --invalid-utf8 keep`, the default), could not be asked for:
    /// `caf%E9` was looked up as the text `caf%E9`. By the lane and by the router.
    @Test(arguments: [true, false])
    func aWordThatIsNotUTF8IsAskedForByItsBytes(lane: Bool) async throws {
        var settings = ServerSettings()
        settings.answersVectorsOnEventLoop = lane
        try await withServer(settings: settings, makeCache: Self.makeCacheOfWordsNotAllUTF8) { server in
            let cases: [(path: String, accept: String?, status: Int, answer: String)] = [
                ("/v1/vectors/caf%E9", nil, 200, "[0.0, 1.0]"), ("/v1/vectors/caf%C3%A9", nil, 200, "[1.0, 1.0]"),
                ("/v1/vectors/caf%c3%a9", "application/octet-stream", 200, "[1.0, 1.0]"),
                ("/v1/vectors/50%25", nil, 200, "[2.0, 1.0]"),
                // In JSON, the word as Python's surrogateescape writes it (it was a 406, "not UTF-8, which JSON
                // cannot carry").
                (
                    "/v1/vectors/caf%E9", "application/json", 200,
                    #"{"kind":"word","oov":false,"vector":[0,1],"word":"caf\udce9"}"#
                ),
                ("/v1/vectors/caf%E8", nil, 404, #""caf\xE8" is not in the cache"#),
                ("/v1/vectors/50%", nil, 400, #"the word "50%" is not percent-encoded: each % is followed by two hex"#),
                ("/v1/vectors/%zz", nil, 400, #"the word "%zz" is not percent-encoded"#),
                ("/v1/vectors/a%2", nil, 400, #"the word "a%2" is not percent-encoded"#),
            ]
            let port = server.port
            let answers = try await blocking {
                let connection = try LoopbackConnection(port: port)
                return cases.map { item in
                    connection.send(
                        LoopbackConnection.request(
                            "GET", item.path, headers: item.accept.map { ["Accept: \($0)"] } ?? []))
                    return parseResponse(connection.receiveResponse())
                }
            }
            // In a POST, as Python's surrogateescape writes such a byte: a lone \udce9 (it was a 400, "\uDCE9 is half
            // of a surrogate pair", so that the client refused to send it). By the router too (a word it lacks).
            let posts: [(body: String, status: Int, answer: String)] = [
                (#"{"words": ["caf\udce9", "caf\u00e9", "caf\udcc3\udca9"]}"#, 200, "[0.0, 1.0, 1.0, 1.0, 1.0, 1.0]"),
                (#"{"words": ["caf\udce9", "zz"], "missing": "zero"}"#, 200, "[0.0, 1.0, 0.0, 0.0]"),
                (#"{"words": ["caf\udce8", "caf\udce9"]}"#, 404, #"not in the cache: "caf\xE8""#),
                (#"{"words": ["caf\udc7f"]}"#, 400, #"\uDC7F is half of a surrogate pair"#),
                (#"{"words": ["caf\ud800"]}"#, 400, #"\uD800 is half of a surrogate pair"#),
                // Bodies the lane leaves to the router's decoder, which refused every lone surrogate: a word in raw
                // UTF-8, a key the route does not read, a bad "missing", a key that holds one.
                ("{\"words\": [\"café\", \"caf\\udce9\"]}", 200, "[1.0, 1.0, 0.0, 1.0]"),
                (#"{"words": ["caf\udce9"], "topp": 1}"#, 400, #"unknown parameter "topp""#),
                (
                    #"{"words": ["caf\udce9"], "missing": "z\udce9"}"#, 400,
                    #"missing: expected "error", "zero" or "oov", found "z\xE9""#
                ),
                (#"{"words": ["caf\udce9"], "\udce9": 1}"#, 400, #"\uDCE9 is half of a surrogate pair"#),
            ]
            let posted = try await blocking {
                let connection = try LoopbackConnection(port: port)
                return posts.map { item in
                    connection.send(
                        LoopbackConnection.request(
                            "POST", "/v1/vectors", body: Array(item.body.utf8),
                            headers: ["Accept: application/octet-stream"]))
                    return parseResponse(connection.receiveResponse())
                }
            }
            for (item, answer) in zip(posts, posted) {
                #expect(answer.status == item.status, "\(item.body)")
                let text =
                    answer.status == 200 ? "\(bareFloats(answer.body))" : RunningServer.error(Data(answer.body)) ?? ""
                #expect(item.status == 200 ? text == item.answer : text.contains(item.answer), "\(item.body): \(text)")
            }
            for (item, answer) in zip(cases, answers) {
                #expect(answer.status == item.status, "\(item.path)")
                if item.status == 200 {
                    guard answer.status == 200 else { continue }
                    let payload =
                        switch item.accept {
                        case nil: "\(npyFloats(Data(answer.body)).values)"
                        case "application/json": String(decoding: answer.body, as: UTF8.self)
                        default: "\(bareFloats(answer.body))"
                        }
                    #expect(payload == item.answer, "\(item.path)")
                } else {
                    let message = RunningServer.error(Data(answer.body)) ?? ""
                    #expect(message.contains(item.answer), "\(item.path): \(message)")
                }
            }
        }
    }

    @Test func aSearchIndexThatCannotBeMappedIsA503AndEverythingElseGoesOn() async throws {
        try await withServer(makeCache: { directory in
            try RunningServer.makeSmallCache(directory, searchIndex: true)
            // A header announcing more rows than this machine can hold (its checksums intact): as many as the rows'
            // 32-bit numbers allow, all but the cache's words duplicates.
            let database = try Database(path: directory.file("cache"))
            let key = [UInt8]([0]) + Array("search".utf8) + [0] + Array("h".utf8)
            var header =
                try JSONSerialization.jsonObject(with: Data(try #require(try database.get(key)))) as! [String: Any]
            let words = try #require(header["rows"] as? Int) - (try #require(header["duplicates"] as? Int))
            header["rows"] = Int(UInt32.max)
            header["duplicates"] = Int(UInt32.max) - words
            try database.put(key, Array(try JSONSerialization.data(withJSONObject: header)))
            try database.close()
        }) { server in
            for _ in 0..<2 {
                let answer = try await server.request(
                    "/v1/similar", method: "POST", body: #"{"positive": ["pound"], "top": 2}"#)
                #expect(answer.status == 503, "\(String(decoding: answer.data, as: UTF8.self))")
                #expect(RunningServer.error(answer.data)?.contains("bytes of memory hold") == true)
            }
            #expect(try await server.request("/v1/vectors/pound").status == 200)
            #expect(try await server.request("/healthz").status == 200)
        }
    }

    @Test func aSmallPostCannotAskForGigabytes() async throws {
        try await withServer { server in
            // 100 queries asking 10,000 answers each: 3.6 KB that took 300 MB.
            let query = #"{"positive": ["the"], "top": 10000}"#
            let body = "{\"queries\": [" + Array(repeating: query, count: 100).joined(separator: ",") + "]}"
            let before = residentBytes()
            let answer = try await server.request("/v1/similar", method: "POST", body: body)
            #expect(answer.status == 413)
            #expect(RunningServer.error(answer.data)?.contains("server.max_similar_results") == true)
            #expect(residentBytes() - before < 50 << 20)
            // One answer per word at most, and every word once.
            let fine =
                "{\"queries\": ["
                + Array(repeating: #"{"positive": ["the"], "top": 6}"#, count: 100).joined(separator: ",") + "]}"
            #expect(try await server.request("/v1/similar", method: "POST", body: fine).status == 200)
        }
    }

    @Test func thePlanCacheHoldsItsBoundInResidentMemory() async throws {
        var settings = ServerSettings()
        settings.planCacheBytes = 32 << 20
        try await withServer(settings: settings, makeCache: makeLargeCache) { server in
            let port = server.port
            // Warm up: the dataset loaded, one plan made.
            #expect(try await server.request("/v1/datasets/pos/train/batches/0?batch_size=1&seed=0").status == 200)
            let before = residentBytes()
            // 300 distinct seeds of batch size 1 (an old plan cost 40 bytes an example: 1.4 GB here).
            try await blocking {
                let connection = try LoopbackConnection(port: port)
                for seed in 1...300 {
                    connection.send(
                        LoopbackConnection.request("GET", "/v1/datasets/pos/train/batches/0?batch_size=1&seed=\(seed)"))
                    #expect(parseResponse(connection.receiveResponse()).status == 200)
                }
            }
            let usage = server.state.plans.usage
            #expect(usage.bytes <= 32 << 20 && usage.plans >= 20)
            // The process's memory: suites running beside this one add theirs (140 MB once), so the bound is wide of
            // 32 MB, and far below the 1.4 GB that plans unbounded in memory took.
            let grown = residentBytes() - before
            #expect(grown < 256 << 20, "resident memory grew by \(grown >> 20) MB for a 32 MB plan cache")
        }
    }

    /// The datasets a server loads are bounded all together: what does not fit beside what is loaded is a 503
    /// naming the bound, before a byte of it is read, and holds nothing after; the rest is served as before, warming
    /// up says what it could not load, and `/metrics` shows what is held.
    @Test func theDatasetsLoadedAreBoundedAllTogether() async throws {
        var settings = ServerSettings()
        // The pos embedding matrix of this cache (~2,000 x 50 floats, 0.4 MB) fits; its examples (the matrix again
        // and 120,010 rows of ids and tags, 1.4 MB) do not.
        settings.maxDatasetBytes = 1 << 20
        try await withServer(settings: settings, makeCache: makeLargeCache) { server in
            let memory = server.state.datasetMemory
            let manifest = try #require(try DatasetStore.manifest(.pos, in: server.cache))
            #expect(manifest.loadedBytes > 1 << 20)
            let batch = try await server.request("/v1/datasets/pos/train/batches/0?batch_size=2")
            #expect(batch.status == 503)
            let message = RunningServer.error(batch.data) ?? ""
            #expect(
                message.contains("loading the examples of dataset pos needs")
                    && message.contains("server.max_datasets_mb"))
            #expect(memory.bytes == 0 && server.state.loadedDatasets == ([], []))
            let embeddings = try await server.request("/v1/datasets/pos/embeddings")
            #expect(embeddings.status == 200)
            #expect(memory.bytes == embeddings.data.count)
            let vocabularies = try await server.request("/v1/datasets/pos/vocab")
            #expect(vocabularies.status == 200)
            #expect(memory.bytes == embeddings.data.count + vocabularies.data.count)
            let description = try await server.request("/v1/datasets/pos")
            #expect(description.status == 200)
            let answers = embeddings.data.count + vocabularies.data.count + description.data.count
            #expect(memory.bytes == answers)
            let failures = await server.state.warmUp()
            #expect(failures.count == 1 && "\(failures.first!)".contains("the examples of dataset pos"))
            #expect(memory.bytes == answers)
            let metrics = String(decoding: try await server.request("/metrics").data, as: UTF8.self)
            #expect(metrics.contains("\nw2vcache_dataset_bytes \(memory.bytes)\n"))
            #expect(metrics.contains("\nw2vcache_dataset_bytes_limit \(1 << 20)\n"))
            #expect(try await server.request("/v1/datasets/pos/train/batches/0?batch_size=2").status == 503)
        }
        // With room for them all, each part is held once, counted as it was loaded.
        try await withServer(makeCache: makeLargeCache) { server in
            #expect(await server.state.warmUp().isEmpty)
            let manifest = try #require(try DatasetStore.manifest(.pos, in: server.cache))
            let embeddings = try await server.request("/v1/datasets/pos/embeddings")
            let vocabularies = try await server.request("/v1/datasets/pos/vocab")
            #expect(try await server.request("/v1/datasets/pos/train/batches/0?batch_size=2").status == 200)
            #expect(
                server.state.datasetMemory.bytes
                    == manifest.loadedBytes + embeddings.data.count + vocabularies.data.count)
        }
    }

    /// Clients that ask for epochs and do not read them hold the server's memory only up to its answer limit: past
    /// it a batch is a 503 naming the limit; once they are gone everything is given back; readers' streams that do
    /// not fit the limit together take turns and finish, and the heap is trimmed after them.
    @Test func answersNotTakenByTheirClientsAreBoundedAllTogether() async throws {
        var settings = ServerSettings()
        // A batch of 4,096 windows of this cache is 2.5 MB: two fit, not three.
        settings.maxAnswerBytes = 6 << 20
        try await withServer(settings: settings, makeCache: makeLargeCache) { server in
            let port = server.port
            let memory = server.state.answerMemory
            let (refused, held) = try await blocking {
                // Clients that ask for an epoch (70 MB) each and never read it.
                let stalled = try (0..<3).map { seed in
                    let connection = try LoopbackConnection(port: port, timeout: 10, receiveBuffer: 64 << 10)
                    connection.send(
                        LoopbackConnection.request(
                            "GET", "/v1/datasets/pos/train/epoch?batch_size=4096&seed=\(seed)"))
                    return connection
                }
                // Once their sockets are full, a batch does not fit.
                return try firstRefusal(
                    of: LoopbackConnection.request("GET", "/v1/datasets/pos/train/batches/3?batch_size=4096"),
                    port: port, memory: memory, beside: stalled)
            }
            #expect(refused.status == 503)
            #expect(refused.headers.lowercased().contains("retry-after: 1"))
            let message = RunningServer.error(Data(refused.body)) ?? ""
            #expect(message.contains("server.max_answer_mb") && message.contains("6.0 MB"), "\(message)")
            #expect(held > 0 && held <= 6 << 20, "\(held) bytes held")
            // The stalled clients are gone: their memory is given back, and a batch fits again.
            let given = try await memoryGivenBack(server)
            #expect(given == 0, "\(given) bytes still counted")
            var again = try await server.request("/v1/datasets/pos/train/batches/3?batch_size=4096")
            for _ in 0..<3 where again.status == 503 {  // after its `Retry-After: 1`, as a client would
                try await Task.sleep(for: .seconds(1))
                again = try await server.request("/v1/datasets/pos/train/batches/3?batch_size=4096")
            }
            #expect(again.status == 200, "\(again.status): \(RunningServer.error(again.data) ?? "")")
            // Two streams want two chunks each (10 MB): they wait for each other's and both finish (a first chunk
            // that does not fit is a 503, retried as the client does).
            func epoch(_ query: String) async throws -> RunningServer.Answer {
                var answer = try await server.request("/v1/datasets/pos/train/epoch?batch_size=4096&" + query)
                for _ in 0..<50 where answer.status == 503 {
                    try await Task.sleep(for: .milliseconds(100))
                    answer = try await server.request("/v1/datasets/pos/train/epoch?batch_size=4096&" + query)
                }
                return answer
            }
            async let first = epoch("seed=1")
            async let second = epoch("seed=2&format=raw")
            for (index, stream) in try await [first, second].enumerated() {
                #expect(stream.status == 200 && stream.data.count > 60 << 20, "reader \(index): \(stream.status)")
                #expect(stream.data.suffix(8) == Data(count: 8), "reader \(index)'s stream ends with its end frame")
            }
            // 140 MB went through: once the answers hold nothing, the heap's free pages go back.
            for _ in 0..<100 where memory.trims == 0 { try await Task.sleep(for: .milliseconds(100)) }
            let metrics = String(decoding: try await server.request("/metrics").data, as: UTF8.self)
            #expect(metrics.contains("w2vcache_answer_bytes_limit \(6 << 20)"))
            #expect(memory.trims >= 1 && !metrics.contains("w2vcache_heap_trims_total 0"))
        }
    }

    @Test func silentSlowAndStoppedClientsAreCutByTheirTimeouts() async throws {
        var settings = ServerSettings()
        settings.headerTimeout = .seconds(1)
        settings.bodyTimeout = .seconds(1)
        settings.idleTimeout = .seconds(1)
        settings.writeTimeout = .seconds(1)
        try await withServer(settings: settings, makeCache: makeLargeCache) { server in
            let port = server.port
            try await blocking {
                func closedWithin(_ seconds: Double, _ connection: LoopbackConnection) -> Bool {
                    let started = Date()
                    _ = connection.receive()
                    return Date().timeIntervalSince(started) < seconds
                }
                // Headers that never end.
                let silent = try LoopbackConnection(port: port, timeout: 10)
                silent.send(Array("GET /healthz HTTP/1.1\r\nHost: x\r\n".utf8))
                #expect(closedWithin(5, silent), "a head that never ends is cut")
                // A body that stops after 10 of 1,000 bytes.
                let slow = try LoopbackConnection(port: port, timeout: 10)
                slow.send(
                    Array("POST /v1/vectors HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"words\": ".utf8))
                #expect(closedWithin(5, slow), "a body that stops is cut")
                // A body of 100,000 bytes sent a byte every 0.2 s, each pause well within the timeout: cut when the
                // whole body has taken it (it went to the router: the lane reads bodies up to 64 KB).
                let dribbling = try LoopbackConnection(port: port, timeout: 10)
                dribbling.send(
                    Array("POST /v1/vectors HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{\"words\": ".utf8))
                let sender = Thread {
                    while dribbling.send([0x20]) { usleep(200_000) }
                }
                sender.start()
                #expect(closedWithin(5, dribbling), "a body sent a byte at a time is cut")
                // A keep-alive connection left idle after its answer.
                let idle = try LoopbackConnection(port: port, timeout: 10)
                idle.send(LoopbackConnection.request("GET", "/healthz"))
                #expect(parseResponse(idle.receiveResponse()).status == 200)
                #expect(closedWithin(5, idle), "an idle connection is cut")
                // A reader that stops reading a 70 MB epoch: the server gives up writing, and the stream ends short.
                let stopped = try LoopbackConnection(port: port, timeout: 10)
                stopped.send(LoopbackConnection.request("GET", "/v1/datasets/pos/train/epoch?batch_size=4096"))
                usleep(3_000_000)
                let received = stopped.receive()
                let head = parseResponse(received)
                let length =
                    head.headers.lowercased().split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
                #expect(
                    head.status == 200 && length > 60 << 20 && head.body.count < length,
                    "\(head.body.count) of \(length) bytes")
            }
            #expect(try await server.request("/healthz").status == 200)
        }
    }

    @Test func clientErrorsInTheHTTPLayerAre400sAndAClientThatLeftIsNotCounted() async throws {
        let log = CollectedLog()
        try await withServer(logger: log.logger) { server in
            let port = server.port
            try await blocking {
                for size in ["FFFFFFFFFFFFFFFFFFFF", "-5", "zz"] {
                    let connection = try LoopbackConnection(port: port)
                    connection.send(
                        Array(
                            ("POST /v1/vectors HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                                + "chunked\r\n\r\n\(size)\r\nabc\r\n0\r\n\r\n").utf8))
                    let answer = parseResponse(connection.receive())
                    #expect(answer.status == 400, "chunk size \(size): \(answer.headers)")
                    #expect(!String(decoding: answer.body, as: UTF8.self).contains("internal error"))
                }
                // A client that hangs up in the middle of its body.
                let leaving = try LoopbackConnection(port: port)
                leaving.send(
                    Array("POST /v1/vectors HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"words\": [".utf8))
            }
            try await Task.sleep(for: .milliseconds(500))
            let metrics = String(decoding: try await server.request("/metrics").data, as: UTF8.self)
            #expect(!metrics.contains("status=\"500\""), "\(metrics)")
            #expect(!log.lines.withLock { $0 }.contains { $0.hasPrefix("warning") && $0.contains("500") })
        }
    }

    @Test func nonFiniteVectorsTravelAsJSONStrings() async throws {
        try await withServer(makeCache: { directory in
            let writer = try Word2VecWriter(
                path: directory.file("v.bin"), count: 3, dimension: 3, layout: .binary(newlineAfterVector: false))
            try writer.append(word: "fine", vector: [1, 2, 3])
            try writer.append(word: "bad", vector: [.nan, .infinity, -.infinity])
            try writer.append(word: "odd", vector: [0, -0.0, Float.leastNormalMagnitude / 4])  // subnormal
            try writer.close()
            var request = BuildRequest(vectorsPath: directory.file("v.bin"), cachePath: directory.file("cache"))
            request.settings.nonFinite = .keep
            _ = try CacheBuilder(request).run()
        }) { server in
            let answer = try await server.request("/v1/vectors/bad", accept: "application/json")
            #expect(answer.status == 200, "\(String(decoding: answer.data, as: UTF8.self))")
            let object = try #require(try JSONSerialization.jsonObject(with: answer.data) as? [String: Any])
            #expect(object["vector"] as? [String] == ["NaN", "Infinity", "-Infinity"])
            #expect(try await server.request("/v1/vectors/odd", accept: "application/json").status == 200)
        }
    }

    @Test func headIsGetWithoutABodyAndAWrongMethodIs405WithAllow() async throws {
        try await withServer { server in
            let port = server.port
            try await blocking {
                // No body follows a HEAD answer: read what comes within a second.
                let connection = try LoopbackConnection(port: port, timeout: 1)
                connection.send(LoopbackConnection.request("HEAD", "/v1/vectors/pound"))
                let head = parseResponse(connection.receive(limit: 4096))
                #expect(head.status == 200 && head.body.isEmpty)
                #expect(
                    head.headers.lowercased().contains("content-length: 144")
                        && head.headers.contains("application/x-npy"))
                for (method, path, allow) in [
                    ("POST", "/v1/info", "GET, HEAD"), ("DELETE", "/v1/vectors", "POST"),
                    ("PUT", "/v1/vectors/pound", "GET, HEAD"),
                    ("GET", "/v1/similar", "POST"), ("POST", "/v1/datasets/pos/train/epoch", "GET, HEAD"),
                    ("PATCH", "/healthz", "GET, HEAD"),
                ] {
                    let other = try LoopbackConnection(port: port)
                    other.send(LoopbackConnection.request(method, path))
                    let answer = parseResponse(other.receiveResponse())
                    #expect(answer.status == 405, "\(method) \(path)")
                    #expect(
                        answer.headers.contains("Allow: \(allow)")
                            || answer.headers.lowercased().contains("allow: \(allow.lowercased())"),
                        "\(method) \(path): \(answer.headers)")
                }
            }
        }
    }

    @Test func expect100ContinueIsAnsweredBeforeTheBody() async throws {
        try await withServer { server in
            let port = server.port
            try await blocking {
                let body = Array(#"{"words": ["pound", "the"]}"#.utf8)
                let connection = try LoopbackConnection(port: port, timeout: 2)
                connection.send(
                    Array(
                        ("POST /v1/vectors HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: "
                            + "\(body.count)\r\n\r\n").utf8))
                let interim = connection.receive(limit: 25)
                #expect(
                    String(decoding: interim, as: UTF8.self).hasPrefix("HTTP/1.1 100 Continue\r\n"),
                    "\(String(decoding: interim, as: UTF8.self))")
                connection.send(body)
                let answer = parseResponse(connection.receiveResponse())
                #expect(answer.status == 200 && answer.body.count == 128 + 2 * 16)
                // Over the limit: the 413 comes at once, and no 100 invites the body.
                let large = try LoopbackConnection(port: port, timeout: 5)
                large.send(
                    Array(
                        ("POST /v1/vectors HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: "
                            + "99999999\r\n\r\n").utf8))
                let refused = parseResponse(large.receiveResponse())
                #expect(refused.status == 413 && refused.headers.lowercased().contains("connection: close"))
            }
        }
    }

    @Test func aBearerTokenGuardsEveryRouteButHealthAndNeverReachesTheLog() async throws {
        let directory = TemporaryDirectory()
        let token = "s3cret-Token_0123456789abcdef"
        try (token + "\n").write(toFile: directory.file("token"), atomically: true, encoding: .utf8)
        var settings = ServerSettings()
        settings.tokenFile = directory.file("token")
        let log = CollectedLog()
        try await withServer(settings: settings, logger: log.logger) { server in
            let port = server.port
            try await blocking {
                func ask(_ path: String, _ authorization: String?) -> (status: Int, headers: String) {
                    guard let connection = try? LoopbackConnection(port: port) else { return (0, "") }
                    connection.send(
                        LoopbackConnection.request(
                            "GET", path, headers: authorization.map { ["Authorization: \($0)"] } ?? []))
                    let answer = parseResponse(connection.receiveResponse())
                    return (answer.status, answer.headers)
                }
                #expect(ask("/healthz", nil).status == 200)
                for path in ["/v1/info", "/v1/vectors/pound", "/metrics", "/v1/datasets/pos/train/epoch"] {
                    let missing = ask(path, nil)
                    #expect(missing.status == 401 && missing.headers.contains("Bearer realm=\"w2vcache\""), "\(path)")
                    #expect(ask(path, "Bearer wrong-token-0123456789abcdef").status == 401)
                    #expect(ask(path, "Bearer " + token + "x").status == 401)
                    #expect(ask(path, "Basic " + token).status == 401)
                    #expect(ask(path, "Bearer " + token).status == 200, "\(path)")
                    #expect(ask(path, "bearer " + token).status == 200, "\(path)")
                }
            }
            let metrics = String(decoding: try await server.request("/healthz").data, as: UTF8.self)
            #expect(!metrics.contains(token))
        }
        #expect(log.lines.withLock { $0 }.contains { $0.contains("401") })
        #expect(!log.lines.withLock { $0 }.contains { $0.contains(token) })
    }

    @Test func tokenFilesThatCannotBeUsedAreRefusedNamingTheFile() throws {
        let directory = TemporaryDirectory()
        for (name, content, problem) in [
            ("short", "abc\n", "16 to 4096"),
            ("spaces", "a token with spaces in it\n", "characters a bearer token cannot have"),
            ("empty", "", "0 characters"),
            // A second token was passed over: trainers sending it got 401s.
            ("two", "old-token-0123456789\r\nnew-token-0123456789\n", "more than one line; expected one token"),
        ] {
            try content.write(toFile: directory.file(name), atomically: true, encoding: .utf8)
            let error = #expect(throws: TokenFileError.self) { try BearerToken(file: directory.file(name)) }
            #expect(
                error?.description.contains(directory.file(name)) == true
                    && error?.description.contains(problem) == true, "\(name)")
        }
        #expect(throws: TokenFileError.self) { try BearerToken(file: directory.path) }
        #expect(throws: TokenFileError.self) { try BearerToken(file: directory.file("absent")) }
        #expect((try? BearerToken(file: "/dev/zero")) == nil)
        // Spaces around the token and blank lines after it are not part of it.
        let token = "token-0123456789abcdef"
        try " \(token)\t\r\n\n \n".write(toFile: directory.file("padded"), atomically: true, encoding: .utf8)
        #expect(try BearerToken(file: directory.file("padded")).authorizes("Bearer " + token))
    }

    /// 600 requests drawn at random over every route but the vectors' (dataset names, splits, indices and queries
    /// of every hostile kind, similarity bodies of every wrong shape, other methods, unknown paths): none is a 5xx,
    /// every failure is a JSON error message without control characters or the server's own files, every answer is
    /// framed by its `Content-Length` and carries the fingerprint, the same requests pipelined get the same answers in
    /// order, and the server answers the same afterwards.
    @Test func randomRequestsOverEveryRouteGetAClearAnswer() async throws {
        var draw = RandomRouterRequests(seed: 20_261_203)
        let requests = (0..<600).map { _ in draw.next() }
        try await withServer { server in
            let port = server.port
            let batch = "/v1/datasets/pos/train/batches/0?batch_size=2&seed=5"
            let before = try await server.request(batch)
            let fingerprint = try DatasetStore.fingerprint(of: server.cache)
            var statuses: [Int: Int] = [:]
            var answers: [(status: Int, body: [UInt8], closes: Bool)] = []
            for (method, bytes) in requests {
                let raw = try await blocking {
                    let connection = try LoopbackConnection(port: port)
                    connection.send(bytes)
                    return connection.receive()
                }
                let answer = parseResponse(raw)
                let head = answer.headers.lowercased()
                let what =
                    "\(Printable.escape(bytes: bytes, limit: 300)) was answered \(Printable.escape(bytes: raw, limit: 300))"
                statuses[answer.status, default: 0] += 1
                #expect((200..<500).contains(answer.status), "\(what)")
                #expect(head.contains("x-w2vcache-fingerprint: \(fingerprint)"), "\(what)")
                let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }
                #expect(length != nil && (method == "HEAD" || length == answer.body.count), "\(what)")
                if answer.status >= 400 && method != "HEAD" {
                    let message = RunningServer.error(Data(answer.body)) ?? ""
                    #expect(!message.isEmpty, "\(what)")
                    #expect(!message.unicodeScalars.contains(where: Printable.needsEscape), "\(what)")
                    #expect(!message.contains(server.directory.path), "\(what)")
                }
                if answer.status == 405 { #expect(head.contains("\r\nallow: "), "\(what)") }
                answers.append((answer.status, answer.body, head.contains("\r\nconnection: close")))
            }
            // The same requests pipelined, eight on a connection, get the same answers in order (but HEAD, whose
            // answer a reader cannot frame by its length, /metrics, whose counts move, and those the server closes).
            let pipelined = requests.indices.filter {
                requests[$0].method != "HEAD" && !answers[$0].closes
                    && !String(decoding: requests[$0].bytes.prefix(200), as: UTF8.self).contains("/metrics")
            }
            for start in stride(from: 0, to: pipelined.count, by: 8) {
                let group = Array(pipelined[start..<min(start + 8, pipelined.count)])
                let close = Array("Connection: close\r\n".utf8)
                let bytes = group.enumerated().flatMap { position, index in
                    position == group.count - 1
                        ? requests[index].bytes : Self.removing(close, from: requests[index].bytes)
                }
                let got = try await blocking {
                    let connection = try LoopbackConnection(port: port)
                    connection.send(bytes)
                    return group.map { _ in parseResponse(connection.receiveResponse()) }
                }
                for (index, answer) in zip(group, got) {
                    #expect(
                        answer.status == answers[index].status && answer.body == answers[index].body,
                        "pipelined \(Printable.escape(bytes: requests[index].bytes, limit: 300)) was answered \(answer.status)"
                    )
                }
            }
            #expect(pipelined.count >= 300, "\(pipelined.count) requests pipelined")
            // The draw must reach each kind of answer, the batches' among them, for the test to mean much.
            #expect(
                Set(statuses.keys).isSuperset(of: [200, 400, 404, 405]),
                "statuses \(statuses.sorted { $0.key < $1.key })")
            #expect(statuses[200, default: 0] >= 60 && statuses[400, default: 0] >= 100, "statuses \(statuses)")
            let after = try await server.request(batch)
            #expect(after.status == 200 && after.data == before.data)
            #expect(try await server.request("/healthz").status == 200)
        }
    }

    /// `bytes` without the first run of `part`.
    static func removing(_ part: [UInt8], from bytes: [UInt8]) -> [UInt8] {
        guard
            let start = (0...(bytes.count - part.count)).first(where: {
                bytes[$0..<($0 + part.count)].elementsEqual(part)
            })
        else { return bytes }
        return Array(bytes[..<start] + bytes[(start + part.count)...])
    }
}
