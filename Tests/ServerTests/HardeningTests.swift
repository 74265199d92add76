import CacheBuild
import Datasets
import Foundation
import FoundationNetworking
import Hummingbird
import Logging
import Preprocessing
import Support
import TestSupport
import Testing
import VectorCache
import WireFormat
import Word2Vec

@testable import Server

#if canImport(FoundationNetworking)
#endif

/// Log lines collected in memory.
final class CollectedLog: Sendable {
    let lines = Locked<[String]>([])

    struct Handler: LogHandler {
        let log: CollectedLog
        var logLevel: Logger.Level = .debug
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { log.lines.withLock { $0.append("\(event.level) \(event.message)") } }
    }

    /// A logger as the server makes one (escaping), writing here.
    var logger: Logger {
        var logger = Logger(label: "test") { _ in EscapingLogHandler(Handler(log: self)) }
        logger.logLevel = .debug
        return logger
    }
}

@Suite(.serialized) struct ServerHardeningTests {
    /// The JSON error message and status of a raw HTTP response.
    func parse(_ response: [UInt8]) -> (status: Int, headers: String, body: String) {
        let text = String(decoding: response, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return (0, text, "") }
        let head = String(text[..<split.lowerBound])
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (status, head, String(text[split.upperBound...]))
    }

    @Test func aBodyOverTheLimitIsAnsweredToAClientThatSendsItAllFirst() async throws {
        var settings = ServerSettings()
        settings.maxBodyBytes = 1 << 20
        // The body deadline and the drain time out of the way: this test is about the size limit. Under
        // ThreadSanitizer beside the whole suite it failed twice: once after more than 60 s (the 60 s body deadline),
        // once with the 100 MB send cut short (the 30 s for which a body over the limit is drained).
        settings.bodyTimeout = .seconds(600)
        settings.drainTime = .seconds(600)
        try await withServer(settings: settings) { server in
            let port = server.port
            // Like urllib: the whole body (10 MB, then 100 MB) goes out before the answer is read. This blocked before.
            for size in [10 << 20, 100 << 20] {
                let answer = try await blocking {
                    let connection = try LoopbackConnection(port: port, timeout: 20)
                    let sent = connection.send(
                        LoopbackConnection.request("POST", "/v1/vectors", body: [UInt8](repeating: 0x20, count: size)))
                    return (sent, connection.receiveResponse(), connection.peerCloses())
                }
                let (sent, closed) = (answer.0, answer.2)
                #expect(sent, "the server read the whole body")
                let response = parse(answer.1)
                #expect(response.status == 413)
                #expect(response.headers.lowercased().contains("connection: close"))
                #expect(response.body.contains("\"error\"") && response.body.contains("server.max_body_kb"))
                // It closes as it said, not after the idle timeout (75 s; the connection waits 20).
                #expect(closed, "the server closed the connection after its 413")
            }
            // Announced over the limit with `Expect: 100-continue`: the 413 at once, no body sent, then the close.
            let announced = try await blocking {
                let connection = try LoopbackConnection(port: port, timeout: 20)
                connection.send(
                    Array(
                        ("POST /v1/vectors HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                            + "Content-Length: 99999999999\r\n\r\n").utf8))
                return (connection.receiveResponse(), connection.peerCloses())
            }
            let (status, closed) = (parse(announced.0).status, announced.1)
            #expect(status == 413)
            #expect(closed, "the server closed the connection after its 413")
            // The server goes on serving.
            #expect(try await server.request("/healthz").status == 200)
        }
    }

    /// A body the route answers without reading (a `GET` with a body, a 405) is read on and discarded for at most
    /// the drain time, behind an answer that says `Connection: close`, and then the connection closes: an endless
    /// body was read for ever (2.3 GB a second on one core). A whole small body keeps the connection alive.
    @Test func aBodyNoRouteReadsIsDrainedForABoundedTime() async throws {
        var settings = ServerSettings()
        settings.drainTime = .seconds(1)
        try await withServer(settings: settings) { server in
            let port = server.port
            // Sent whole before the answer is read (urllib's way): the answer, then the close.
            let whole = try await blocking {
                let connection = try LoopbackConnection(port: port, timeout: 20)
                let sent = connection.send(
                    LoopbackConnection.request("GET", "/v1/info", body: [UInt8](repeating: 0x20, count: 20 << 20)))
                return (sent, connection.receiveResponse(), connection.peerCloses())
            }
            let (sent, wholeClosed) = (whole.0, whole.2)
            #expect(sent)
            #expect(parse(whole.1).status == 200)
            #expect(parse(whole.1).headers.lowercased().contains("connection: close"))
            #expect(wholeClosed, "the server closed the connection once the body ended")
            // A body announced as 100 GB and sent for as long as the server takes it: the 405, then the close
            // within the drain time (the connection gives up after 20 s).
            let endless = try await blocking {
                let connection = try LoopbackConnection(port: port, timeout: 20)
                connection.send(
                    Array("POST /v1/info HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000000000\r\n\r\n".utf8))
                let sender = Thread {
                    let chunk = [UInt8](repeating: 0x20, count: 1 << 16)
                    while connection.send(chunk) {}
                }
                sender.start()
                return (connection.receiveResponse(), connection.peerCloses())
            }
            let (endlessStatus, endlessClosed) = (parse(endless.0).status, endless.1)
            #expect(endlessStatus == 405)
            #expect(endlessClosed, "the server stopped reading the endless body and closed the connection")
            // A small body that came whole with its head keeps the connection, as does an answer to a request
            // pipelined ahead of one whose body is still on its way; that one is answered before its body ends, so
            // its answer says close, and the connection closes when the body has come.
            let pipelined = try await blocking {
                let connection = try LoopbackConnection(port: port, timeout: 20)
                connection.send(LoopbackConnection.request("POST", "/v1/info", body: Array("{}".utf8)))
                let first = connection.receiveResponse()
                connection.send(
                    LoopbackConnection.request("GET", "/healthz")
                        + Array("POST /v1/info HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n12345".utf8))
                let second = connection.receiveResponse()
                let third = connection.receiveResponse()
                connection.send(Array("67890".utf8))
                return ([first, second, third], connection.peerCloses())
            }
            let answers = pipelined.0.map(parse)
            let closesAtLast = pipelined.1
            #expect(answers.map(\.status) == [405, 200, 405])
            #expect(answers.map { $0.headers.lowercased().contains("connection: close") } == [false, false, true])
            #expect(closesAtLast)
            #expect(try await server.request("/healthz").status == 200)
        }
    }

    /// Connections that send nothing, or dribble a request's head, cannot keep others out: a connection that comes
    /// to a full server is let in, and the quietest connection is closed for it; one reading a body is never
    /// closed. With every connection busy, the newcomer is served beside them and the next to fall quiet closes.
    /// Before, the newcomer waited to be accepted until a silent connection's header timeout (60 s), and 512
    /// silent connections opened again and again kept every trainer out. (The busy requests are ones the lane
    /// answers, when it serves, and holds while their bodies come.)
    @Test(arguments: [true, false])
    func aFullServerClosesItsQuietestConnectionForANewOne(lane: Bool) async throws {
        var settings = ServerSettings()
        settings.maxConnections = 3
        settings.answersVectorsOnEventLoop = lane
        settings.slowClientTime = .seconds(60)  // the busy connections' bodies are not slow here
        settings.newConnectionGrace = .milliseconds(50)  // each connection comes 0.1 s after the one before
        try await withServer(settings: settings) { server in
            let port = server.port
            let healthz = LoopbackConnection.request("GET", "/healthz")
            // A request whose body is still coming keeps its connection busy until the rest is sent.
            let body = Array(#"{"words": ["in"]}"#.utf8)
            let bodyStarted = LoopbackConnection.request("POST", "/v1/vectors", body: body).dropLast(body.count - 8)
            let bodyRest = Array(body.suffix(body.count - 8))
            @Sendable func connect(sending bytes: [UInt8]) throws -> LoopbackConnection {
                let connection = try LoopbackConnection(port: port, timeout: 5)
                connection.send(bytes)
                Thread.sleep(forTimeInterval: 0.1)  // accepted, and quiet or busy, before the next comes
                return connection
            }
            @Sendable func answered(_ connection: LoopbackConnection) -> Int {
                parse(connection.receiveResponse()).status
            }
            // Full: one silent, one dribbling a head, one busy. Each newcomer is let in and answered; the quietest
            // connection is closed for it: the silent one, the dribbling one, then the first newcomer (quiet since
            // its answer), then the second.
            let closedInTurn = try await blocking {
                let silent = try connect(sending: [])
                let dribbling = try connect(sending: Array("GET /healthz HTTP/1.1\r\nHo".utf8))
                let busy = try connect(sending: Array(bodyStarted))
                let newcomers = try (0..<2).map { _ in try connect(sending: healthz) }
                let statuses = newcomers.map(answered)
                let closed = [silent.peerCloses(), dribbling.peerCloses()]
                let busyToo = try connect(sending: Array(bodyStarted))
                let busyThird = try connect(sending: Array(bodyStarted))
                return (statuses, closed + newcomers.map { $0.peerCloses() }, [busy, busyToo, busyThird])
            }
            #expect(closedInTurn.0 == [200, 200], "newcomers to a full server are answered")
            #expect(closedInTurn.1 == [true, true, true, true], "the quiet connections were closed for newcomers")
            // Every connection busy: a newcomer is served beside them and closes once answered, for the next.
            let besideBusy = try await blocking {
                let fourth = try connect(sending: healthz)
                let fourthStatus = answered(fourth)
                let fourthClosed = fourth.peerCloses()
                let fifth = try connect(sending: healthz)
                return (fourthStatus, fourthClosed, answered(fifth))
            }
            #expect(besideBusy.0 == 200, "served beside three busy connections")
            #expect(besideBusy.1, "and closed once quiet, for a connection waiting to be let in")
            #expect(besideBusy.2 == 200)
            // The busy connections were never closed: each finishes its request.
            let busy = closedInTurn.2
            let finished = try await blocking {
                busy.map { connection in
                    connection.send(bodyRest)
                    return answered(connection)
                }
            }
            #expect(finished == [200, 200, 200])
            #expect(try await Self.connectionsClosedForRoom(server) >= 5)
        }
    }

    /// A connection that has just come has a moment to send its request before it may be closed for room: in a
    /// flood of new connections, each had the one before closed for it, a trainer's among them before its request
    /// came (CI's first run of the flood found nine).
    @Test func aNewConnectionIsNotClosedForRoomBeforeItCouldSendItsRequest() async throws {
        var settings = ServerSettings()
        settings.maxConnections = 2
        settings.slowClientTime = .seconds(60)
        try await withServer(settings: settings) { server in
            let port = server.port
            let body = Array(#"{"words": ["in"]}"#.utf8)
            let statuses = try await blocking {
                let busy = try LoopbackConnection(port: port, timeout: 5)
                busy.send(Array(LoopbackConnection.request("POST", "/v1/vectors", body: body).dropLast(4)))
                Thread.sleep(forTimeInterval: 0.1)
                let late = try LoopbackConnection(port: port, timeout: 5)
                Thread.sleep(forTimeInterval: 0.1)
                let newcomer = try LoopbackConnection(port: port, timeout: 5)
                newcomer.send(LoopbackConnection.request("GET", "/healthz"))
                let newcomerStatus = self.parse(newcomer.receiveResponse()).status
                late.send(LoopbackConnection.request("GET", "/healthz"))
                return [newcomerStatus, self.parse(late.receiveResponse()).status]
            }
            #expect(statuses == [200, 200], "the connection that came 0.1 s before was not closed for the newcomer")
        }
    }

    /// A flood of new connections past the limit: one read of the listening socket accepts several, each has one
    /// closed for it once their grace has passed, and the server goes on until none is over the limit (it stopped
    /// after the first close, with the rest waiting to be accepted until their header timeout).
    @Test func aFloodOfNewConnectionsIsLetInOnceTheirGraceHasPassed() async throws {
        var settings = ServerSettings()
        settings.maxConnections = 2
        settings.newConnectionGrace = .milliseconds(200)
        try await withServer(settings: settings) { server in
            let port = server.port
            let (status, seconds, flood) = try await blocking {
                let flood = try (0..<12).map { _ in try LoopbackConnection(port: port, timeout: 5) }
                let started = Date()
                let trainer = try LoopbackConnection(port: port, timeout: 5)
                trainer.send(LoopbackConnection.request("GET", "/healthz"))
                return (self.parse(trainer.receiveResponse()).status, Date().timeIntervalSince(started), flood)
            }
            #expect(status == 200 && seconds < 3, "answered after \(seconds) s: \(status)")
            #expect(flood.count == 12)
            #expect(try await Self.connectionsClosedForRoom(server) >= 11)
        }
    }

    /// A body still coming `slowClientTime` after its head makes its connection closable for room: 513 connections
    /// that send their bodies a byte at a time would otherwise keep all but one newcomer out. When no connection is
    /// closable, the first to become so is closed once it is; the others are left to finish.
    @Test(arguments: [true, false])
    func aFullServerClosesAConnectionWhoseBodyIsSlowForANewOne(lane: Bool) async throws {
        var settings = ServerSettings()
        settings.maxConnections = 2
        settings.answersVectorsOnEventLoop = lane
        settings.slowClientTime = .seconds(1)
        try await withServer(settings: settings) { server in
            let port = server.port
            let body = Array(#"{"words": ["in"]}"#.utf8)
            let bodyStarted = Array(
                LoopbackConnection.request("POST", "/v1/vectors", body: body).dropLast(body.count - 8))
            let result = try await blocking {
                // Two connections and the one more let in beside them, each with a body still coming.
                let bodies = try (0..<3).map { _ in
                    let connection = try LoopbackConnection(port: port, timeout: 5)
                    connection.send(bodyStarted)
                    Thread.sleep(forTimeInterval: 0.2)
                    return connection
                }
                // The next waits to be accepted until the first body has been coming 1 s; that connection is then
                // closed for it.
                let started = Date()
                let waiting = try LoopbackConnection(port: port, timeout: 5)
                waiting.send(LoopbackConnection.request("GET", "/healthz"))
                let waitingStatus = self.parse(waiting.receiveResponse()).status
                let waited = Date().timeIntervalSince(started)
                let slowestClosed = bodies[0].peerCloses()
                let others = bodies.dropFirst().map { connection in
                    connection.send(Array(body.dropFirst(8)))
                    return self.parse(connection.receiveResponse()).status
                }
                return (waitingStatus, waited, slowestClosed, others)
            }
            #expect(result.0 == 200, "a newcomer is let in once a body is slow")
            #expect(result.1 > 0.2 && result.1 < 4, "it waited \(result.1) s, for the first body to be slow")
            #expect(result.2, "the connection whose body came slowest was closed for it")
            #expect(result.3 == [200, 200], "the other bodies, still within their time, were not cut")
        }
    }

    /// A client may close its side once its requests are sent (HTTP/1.1 allows it; `printf ... | nc -N` does): every
    /// answer still comes whole before the server closes, whether the lane or the router gives it, however far the
    /// client has fallen behind in reading. NIO makes the server's close of its side a full close then, which dropped
    /// what the socket had not taken: a slow reader of 20,000 pipelined vectors got 9,579 to 13,558 of them, and of
    /// three embeddings often only the first.
    @Test(arguments: [true, false])
    func aClientThatClosesItsSideAfterItsRequestsGetsEveryAnswer(lane: Bool) async throws {
        var settings = ServerSettings()
        settings.answersVectorsOnEventLoop = lane
        try await withServer(settings: settings, makeCache: Self.makeLargeVectorCache) { server in
            let port = server.port
            // One vector a request (the lane's, when it serves) and 300 a request (the router's), the last asking to
            // close; a client that waits a second, then reads 4 KB at a time.
            let single = LoopbackConnection.request("GET", "/v1/vectors/pound")
            let body = Self.threeHundredPounds
            let many = LoopbackConnection.request("POST", "/v1/vectors", body: body)
            let last = LoopbackConnection.request("POST", "/v1/vectors", body: body, headers: ["Connection: close"])
            for requests in [
                [[UInt8]](repeating: single, count: 8_000), [[UInt8]](repeating: many, count: 24) + [last],
            ] {
                let all = try await blocking {
                    let connection = try LoopbackConnection(port: port, timeout: 10)
                    let sender = Thread {
                        connection.send(requests.flatMap { $0 })
                        connection.closeSending()
                    }
                    sender.start()
                    usleep(1_000_000)
                    var all: [UInt8] = []
                    while case let part = connection.receive(limit: 4096), !part.isEmpty {
                        all += part
                        usleep(100)
                    }
                    return all
                }
                let statuses = Self.statuses(all)
                #expect(
                    statuses.count == requests.count && statuses.allSatisfy { $0 == 200 },
                    "\(statuses.count) of \(requests.count) answers")
            }
        }
    }

    /// A client that asks and never reads what it asked for (a slow read, as `slowhttptest -X` makes) cannot keep
    /// its slot on a full server: once it has taken none of its answers for `slowClientTime`, its connection is
    /// closed for a newcomer, while a connection whose body has just begun is left to finish. Before,
    /// an answer being written was never closable, and 513 such readers kept everyone else out.
    @Test(arguments: [true, false])
    func aFullServerClosesAConnectionThatTakesNoneOfItsAnswersForANewOne(lane: Bool) async throws {
        var settings = ServerSettings()
        settings.maxConnections = 2
        settings.answersVectorsOnEventLoop = lane
        settings.slowClientTime = .seconds(1)
        try await withServer(settings: settings, makeCache: Self.makeLargeVectorCache) { server in
            let port = server.port
            let body = Array(#"{"words": ["pound"]}"#.utf8)
            let result = try await blocking {
                // 36 MB of answers (300 vectors of 1,000 values, 30 times), none of them read.
                let reader = try LoopbackConnection(port: port, timeout: 5, receiveBuffer: 64 << 10)
                let many = LoopbackConnection.request("POST", "/v1/vectors", body: Self.threeHundredPounds)
                let sender = Thread { reader.send([[UInt8]](repeating: many, count: 30).flatMap { $0 }) }
                sender.start()
                Thread.sleep(forTimeInterval: 1.5)  // the reader's answers have waited over a second
                let busy = try LoopbackConnection(port: port, timeout: 5)
                busy.send(Array(LoopbackConnection.request("POST", "/v1/vectors", body: body).dropLast(4)))
                // Answered once the reader is closed for it: well before the reader's write timeout (60 s), but
                // perhaps seconds from now where other tests' servers keep the shared event loops busy.
                let newcomer = try LoopbackConnection(port: port, timeout: 20)
                newcomer.send(LoopbackConnection.request("GET", "/healthz"))
                let newcomerStatus = self.parse(newcomer.receiveResponse()).status
                let readerClosed = reader.peerCloses()
                busy.send(Array(body.suffix(4)))
                return (newcomerStatus, readerClosed, self.parse(busy.receiveResponse()).status)
            }
            #expect(result.0 == 200)
            #expect(result.1, "the connection that took none of its answers was closed for the newcomer")
            #expect(result.2 == 200, "the body still coming in its time was not cut")
            #expect(try await Self.connectionsClosedForRoom(server) >= 1)
        }
    }

    /// A cache of one word, `pound`, whose vector has 1,000 values: a few hundred of its answers outgrow what the
    /// kernel holds for a connection.
    static func makeLargeVectorCache(_ directory: TemporaryDirectory) throws {
        try makeCache(directory, pound: 1000)
    }

    /// A cache of one word, `pound`, whose vector has `dimension` values.
    static func makeCache(_ directory: TemporaryDirectory, pound dimension: Int) throws {
        let writer = try Word2VecWriter(
            path: directory.file("v.bin"), count: 1, dimension: dimension, layout: .binary(newlineAfterVector: false))
        try writer.append(word: "pound", vector: (0..<dimension).map(Float.init))
        try writer.close()
        _ = try CacheBuilder(BuildRequest(vectorsPath: directory.file("v.bin"), cachePath: directory.file("cache")))
            .run()
    }

    /// A `POST /v1/vectors` body asking for `pound` 300 times: more than the lane answers, so the router's.
    static let threeHundredPounds = Array(
        "{\"words\": [\((0..<300).map { _ in "\"pound\"" }.joined(separator: ","))]}".utf8)

    /// `w2vcache_connections_closed_for_room_total` of the server's `/metrics`.
    static func connectionsClosedForRoom(_ server: RunningServer) async throws -> Int {
        let metrics = String(decoding: try await server.request("/metrics").data, as: UTF8.self)
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("w2vcache_connections_closed_for_room_total ") }
        return line.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
    }

    /// The statuses of the whole answers (each with a `Content-Length`) one after another in `bytes`.
    static func statuses(_ bytes: [UInt8]) -> [Int] {
        var statuses: [Int] = []
        var start = 0
        let end = Array("\r\n\r\n".utf8)
        while let headEnd = bytes[start...].firstRange(of: end)?.upperBound {
            let head = String(decoding: bytes[start..<headEnd], as: UTF8.self).lowercased()
            guard let status = Int(head.dropFirst("http/1.1 ".count).prefix(3)),
                let field = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                let length = Int(field.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)),
                headEnd + length <= bytes.count
            else { break }
            statuses.append(status)
            start = headEnd + length
        }
        return statuses
    }

    /// A batch index is digits: `+0` and `-0` were batch 0 (as Swift's `Int` reads them), and the messages named no
    /// bound a client could use ("is not a number from 0", "is outside 0..<N for this batch size and share").
    @Test func aBadBatchIndexIsABadRequest() async throws {
        try await withServer { server in
            let plan = try await server.request("/v1/datasets/pos/train/plan?batch_size=1")
            let summary = try JSONSerialization.jsonObject(with: plan.data) as? [String: Any]
            let count = try #require(summary?["rank_batches"] as? Int)
            #expect(count > 1)
            let share = "this rank's share has \(count) batches (expected 0 to \(count - 1))"
            for index in ["abc", "-1", "+0", "-0", "0x1", "%200", "1.0"] {
                let bad = try await server.request("/v1/datasets/pos/train/batches/\(index)?batch_size=1")
                let text = index.removingPercentEncoding ?? index
                #expect(bad.status == 400, "\(index)")
                #expect(
                    RunningServer.error(bad.data) == "batch index \"\(text)\" is not a whole number; \(share)",
                    "\(index)")
            }
            let past = try await server.request("/v1/datasets/pos/train/batches/\(count)?batch_size=1")
            #expect(past.status == 404 && RunningServer.error(past.data) == "batch \(count) is past the end: \(share)")
            let huge = try await server.request("/v1/datasets/pos/train/batches/99999999999999999999?batch_size=1")
            #expect(
                huge.status == 404 && RunningServer.error(huge.data)?.hasPrefix("batch 99999999999999999999 is") == true
            )
            for index in [count - 1, 0] {
                #expect(try await server.request("/v1/datasets/pos/train/batches/\(index)?batch_size=1").status == 200)
            }
        }
    }

    /// An answer larger than `server.max_answer_mb` is a 413 naming the bound, on an idle server too, from the lane
    /// and the router alike. It was made when nothing else was held: 300 vectors of 1,048,576 values (1.2 GB) past
    /// the default's 1 GB, and 2,000 of them (8 GB) trapped in NIO's `ByteBuffer`, which holds less than 4 GiB.
    @Test func anAnswerLargerThanTheLimitIsRefusedOnAnIdleServer() async throws {
        func pounds(_ count: Int) -> String {
            "{\"words\": [\((0..<count).map { _ in "\"pound\"" }.joined(separator: ","))]}"
        }
        var settings = ServerSettings()
        settings.maxAnswerBytes = 512 << 10
        try await withServer(settings: settings, makeCache: { try Self.makeCache($0, pound: 1000) }) { server in
            // 100 vectors of 4,000 bytes fit; 200 (the lane's) and 300 (the router's) do not.
            #expect(try await server.request("/v1/vectors", method: "POST", body: pounds(100)).status == 200)
            for (count, megabytes) in [(200, "0.8"), (300, "1.1")] {
                let refused = try await server.request("/v1/vectors", method: "POST", body: pounds(count))
                #expect(refused.status == 413, "\(count)")
                #expect(
                    RunningServer.error(refused.data)
                        == "this answer would be \(megabytes) MB, more than the 0.5 MB that answers may hold "
                        + "(server.max_answer_mb); ask for less at a time", "\(count)")
            }
            #expect(server.state.answerMemory.bytes == 0)
        }
        // Past what one buffer holds, whatever the limit: refused before a byte is gathered.
        settings.maxAnswerBytes = 1 << 40
        try await withServer(settings: settings, makeCache: { try Self.makeCache($0, pound: 1 << 20) }) { server in
            let refused = try await server.request("/v1/vectors", method: "POST", body: pounds(1100))
            #expect(refused.status == 413)
            #expect(
                RunningServer.error(refused.data)
                    == "this answer would be 4400.0 MB, more than one answer can be (4096.0 MB); ask for less at a time"
            )
            #expect(try await server.request("/v1/vectors", method: "POST", body: pounds(2)).status == 200)
        }
    }

    /// A batch, or an epoch's batch, larger than `server.max_answer_mb` is a 413 before anything is sent (it was
    /// made when nothing else was held); an epoch of batches that fit streams in chunks the limit holds two of.
    @Test func aBatchLargerThanTheLimitIsRefusedAndAnEpochStreamsWithinIt() async throws {
        let path = "/v1/datasets/pos/train"
        let (one, all, epoch) = try await withServer { server in
            (
                try await server.request("\(path)/batches/0?batch_size=1").data,
                try await server.request("\(path)/batches/0?batch_size=9").data,
                try await server.request("\(path)/epoch?batch_size=1").data
            )
        }
        #expect(one.count < all.count && all.count < epoch.count)
        var settings = ServerSettings()
        settings.maxAnswerBytes = (one.count + all.count) / 2
        try await withServer(settings: settings) { server in
            #expect(try await server.request("\(path)/batches/0?batch_size=1").data == one)
            let megabytes = String(format: "%.1f", Double(all.count) / Double(1 << 20))
            for route in ["batches/0", "epoch"] {
                let refused = try await server.request("\(path)/\(route)?batch_size=9")
                #expect(refused.status == 413, "\(route)")
                #expect(
                    RunningServer.error(refused.data)?.hasPrefix("this answer would be \(megabytes) MB, more than the ")
                        == true, "\(route)")
            }
            // Nine batches of one, more than the limit all together, come whole, in chunks.
            #expect(try await server.request("\(path)/epoch?batch_size=1").data == epoch)
            #expect(server.state.answerMemory.bytes == 0)
            // An embedding matrix past what one answer can be (it trapped as it loaded) is refused before it is read.
            var manifest = try #require(try DatasetStore.manifest(.pos, in: server.cache))
            manifest.arrays["embeddings"]?.shape = [300_000, 4_000]
            let refused = await #expect(throws: APIError.self) { _ = try await server.state.embeddings(manifest) }
            #expect(refused?.status == .contentTooLarge)
            #expect(
                refused?.message == "the embedding matrix of dataset pos (300000 x 4000 float32) is 4577.6 MB, more "
                    + "than one answer can be (4096.0 MB)")
        }
    }

    @Test func controlCharactersInRequestsNeverReachTheLogRaw() async throws {
        let log = CollectedLog()
        try await withServer(logger: log.logger) { server in
            let forged = try await server.request("/v1/vectors/x%0AFORGED%20line%1B%5B2J")
            #expect(forged.status == 404)
            let lines = log.lines.withLock { $0 }
            #expect(!lines.isEmpty)
            #expect(lines.allSatisfy { !$0.contains("\n") && !$0.contains("\u{1B}") })
            #expect(lines.contains { $0.contains("x\\nFORGED line\\u{1B}[2J") })
        }
    }

    /// A bucket of ten seconds' worth of lines, refilled at the rate; what it holds back is counted and told with
    /// the next line written.
    @Test func theFailureLogWritesAtItsRateAndSaysWhatItHeldBack() {
        let start = ContinuousClock.now
        let log = FailureLog(perSecond: 2, subject: "failed requests", now: start)
        let burst = (0..<25).map { _ in log.admit(at: start) }
        #expect(burst.prefix(20).allSatisfy { $0 == .write(heldBack: 0, seconds: 0) })
        #expect(burst.suffix(5).allSatisfy { $0 == .holdBack })
        #expect(log.admit(at: start + .milliseconds(400)) == .holdBack)
        #expect(log.admit(at: start + .milliseconds(500)) == .write(heldBack: 6, seconds: 0.5))
        #expect(log.admit(at: start + .milliseconds(600)) == .holdBack)
        // A quiet minute fills the bucket to its burst again, not beyond.
        let later = start + .seconds(60)
        #expect((0..<20).allSatisfy { _ in log.admit(at: later) != .holdBack })
        #expect(log.admit(at: later) == .holdBack)
        #expect(log.heldBackTotal == 8)
        let none = FailureLog(perSecond: 0, subject: "failed requests", now: start)
        #expect(none.admit(at: start) == .holdBack && none.admit(at: start + .seconds(3600)) == .holdBack)
    }

    /// Lines held back are told when the server asks, once, even if no line is written after them.
    @Test func theFailureLogTellsWhatItHeldBackWhenAsked() {
        let start = ContinuousClock.now
        let log = FailureLog(perSecond: 1, subject: "failed requests", now: start)
        let collected = CollectedLog()
        for index in 0..<13 { log.log("failure \(index)", level: .warning, to: collected.logger) }
        log.logHeldBack(level: .warning, to: collected.logger, at: start + .seconds(2))
        log.logHeldBack(level: .warning, to: collected.logger, at: start + .seconds(3))
        let lines = collected.lines.withLock { $0 }
        #expect(lines.count == 11 && lines.prefix(10).allSatisfy { $0.hasPrefix("warning failure ") })
        #expect(
            lines.last?.hasPrefix("warning 3 lines about failed requests were not logged in the last") == true
                && lines.last?.hasSuffix("(server.log_failures_per_s: 1)") == true)
        #expect(log.heldBackTotal == 3)
        // One held back: "1 lines … were" before.
        let one = FailureLog(perSecond: 1, subject: "failed requests", now: start)
        let oneLog = CollectedLog()
        for index in 0..<11 { one.log("failure \(index)", level: .warning, to: oneLog.logger) }
        one.logHeldBack(level: .warning, to: oneLog.logger, at: start + .seconds(2))
        #expect(
            oneLog.lines.withLock { $0 }.last?.hasPrefix(
                "warning 1 line about failed requests was not logged in the last") == true)
    }

    /// A client sending bad requests as fast as it can gets each answered and counted, but fills the log only at
    /// `server.log_failures_per_s`: 400 MB an hour at full speed before.
    @Test func aFloodOfBadRequestsIsLoggedAtABoundedRate() async throws {
        let log = CollectedLog()
        var settings = ServerSettings()
        settings.logFailuresPerSecond = 1
        try await withServer(settings: settings, logger: log.logger) { server in
            let started = ContinuousClock.now
            for index in 0..<40 {
                #expect(try await server.request("/nowhere/\(index)").status == 404)
            }
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            let lines = log.lines.withLock { $0 }.filter { $0.hasPrefix("warning ") }
            let failures = lines.filter { $0.contains("/nowhere/") }
            // Ten seconds' worth at once, and one a second after that.
            #expect(failures.count >= 10 && Double(failures.count) <= 10 + seconds + 1)
            #expect(failures.first?.contains("GET /nowhere/0: 404") == true)
            let metrics = String(decoding: try await server.request("/metrics").data, as: UTF8.self)
            #expect(metrics.contains("w2vcache_requests_total{route=\"NotFound\",status=\"404\"} 40"))
            #expect(metrics.contains("\nw2vcache_log_lines_held_back_total \(40 - failures.count)\n"))
            // Once the bucket has a line again, the line says how many it held back.
            try await Task.sleep(for: .milliseconds(1100))
            #expect(try await server.request("/nowhere/last").status == 404)
            let after = log.lines.withLock { $0 }.filter { $0.hasPrefix("warning ") }.dropFirst(lines.count)
            #expect(after.count == 2)
            #expect(
                after.first?.contains(
                    "\(Plural.count(40 - failures.count, "line")) about failed requests "
                        + "\(40 - failures.count == 1 ? "was" : "were") not logged in the last") == true
                    && after.first?.contains("(server.log_failures_per_s: 1)") == true)
            #expect(after.last?.contains("GET /nowhere/last: 404") == true)
        }
    }

    @Test func metricsCountAStreamedEpochOnceItsBodyIsWritten() async throws {
        try await withServer { server in
            let epoch = try await server.request("/v1/datasets/pos/train/epoch?batch_size=2")
            #expect(epoch.status == 200)
            let metrics = String(decoding: try await server.request("/metrics").data, as: UTF8.self)
            #expect(
                metrics.contains(
                    "w2vcache_requests_total{route=\"/v1/datasets/{name}/{split}/epoch\",status=\"200\"} 1"))
            let sent = metrics.split(separator: "\n").first { $0.hasPrefix("w2vcache_response_bytes_total ") }
            #expect((sent.flatMap { Int($0.split(separator: " ")[1]) } ?? 0) >= epoch.data.count)
        }
    }
}

/// A damaged cache behind the server: 500 with a JSON error, never a 200 with a wrong vector.
@Suite(.serialized) struct DamagedCacheServerTests {
    @Test func damageIsA500WithAJSONError() async throws {
        let directory = TemporaryDirectory()
        let vector = [Float](repeating: 1234.5, count: 8)
        var vectors: [(String, [Float])] = (0..<300).map { ("w\($0)", (0..<8).map { Float($0) }) }
        vectors.append(("damaged", vector))
        let writer = try Word2VecWriter(
            path: directory.file("v.bin"), count: vectors.count, dimension: 8,
            layout: .binary(newlineAfterVector: false))
        for (word, values) in vectors { try writer.append(word: word, vector: values) }
        try writer.close()
        _ = try CacheBuilder(BuildRequest(vectorsPath: directory.file("v.bin"), cachePath: directory.file("cache")))
            .run()
        #expect(try flipBit(inTablesOf: directory.file("cache"), holding: vector.withUnsafeBytes { Array($0) }, at: 13))
        var settings = ServerSettings()
        settings.port = 0
        let state = try ServerState(
            cache: try VectorCache(path: directory.file("cache")), settings: settings,
            oov: OOVSource(random: OOVVectors(dimension: 8, seed: 1, range: 0.25)))
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let application = buildApplication(state: state, logger: logger) { continuation.yield($0) }
        let task = Task { try await application.run() }
        var port = 0
        for await bound in stream {
            port = bound
            break
        }
        func request(_ path: String, body: String? = nil) async throws -> (Int, [String: Any]?) {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            if let body {
                request.httpMethod = "POST"
                request.httpBody = Data(body.utf8)
            }
            let (data, response) = try await URLSession.shared.data(for: request)
            return (
                (response as! HTTPURLResponse).statusCode,
                try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            )
        }
        let single = try await request("/v1/vectors/damaged")
        #expect(single.0 == 500 && (single.1?["error"] as? String)?.contains("damaged") == true)
        #expect((single.1?["error"] as? String)?.contains("w2vcache verify") == true)
        let many = try await request("/v1/vectors", body: #"{"words": ["w1", "damaged"]}"#)
        #expect(many.0 == 500 && (many.1?["error"] as? String)?.contains("damaged") == true)
        task.cancel()
        _ = await task.result
    }

    /// A table file cut short under the running server (copied over with `cp`, rewritten by `rsync --inplace`):
    /// LevelDB mapped its tables, and the next read past the cut ended the server with SIGBUS, every client's
    /// request with it. Now the read that meets the cut, and every read of the cache after it, is a 500 saying
    /// so, and the server goes on.
    @Test func aTableCutShortWhileServedIsA500AndTheServerLives() async throws {
        try await withServer(makeCache: { directory in
            let writer = try Word2VecWriter(
                path: directory.file("v.bin"), count: 2000, dimension: 16, layout: .binary(newlineAfterVector: false))
            for index in 0..<2000 { try writer.append(word: "w\(index)", vector: [Float](repeating: 1, count: 16)) }
            try writer.close()
            _ = try CacheBuilder(BuildRequest(vectorsPath: directory.file("v.bin"), cachePath: directory.file("cache")))
                .run()
        }) { server in
            #expect(try await server.request("/v1/vectors/w0").status == 200, "the tables are open before the cut")
            let cache = server.directory.file("cache")
            var cut = 0
            for name in try FileManager.default.contentsOfDirectory(atPath: cache) where name.hasSuffix(".ldb") {
                let attributes = try FileManager.default.attributesOfItem(atPath: cache + "/" + name)
                if (attributes[.size] as? Int ?? 0) > 8192, truncate(cache + "/" + name, 8192) == 0 { cut += 1 }
            }
            #expect(cut > 0)
            var errors = 0
            for index in stride(from: 1999, to: 0, by: -100) {
                let answer = try await server.request("/v1/vectors/w\(index)")
                if answer.status == 200 { continue }  // a word before the cut
                #expect(answer.status == 500)
                let message = RunningServer.error(answer.data) ?? ""
                #expect(
                    message.contains("is damaged") && message.contains("a table file of \(cache) could not be read"))
                errors += 1
            }
            #expect(errors > 0, "the words past the cut are errors")
            let many = try await server.request("/v1/vectors", method: "POST", body: #"{"words": ["w1998", "w1999"]}"#)
            #expect(many.status == 500 && RunningServer.error(many.data)?.contains("could not be read") == true)
            #expect(try await server.request("/healthz").status == 200)
        }
    }
}

/// Rank shares, resumption, plans and fingerprints over HTTP.
@Suite(.serialized) struct DistributedServerTests {
    /// The frames of a streamed epoch.
    func frames(_ data: Data) -> [[UInt8]] {
        let bytes = Array(data)
        var frames: [[UInt8]] = []
        var offset = 0
        while offset + 8 <= bytes.count {
            let size = bytes[offset..<(offset + 8)].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            offset += 8
            if size == 0 { break }
            frames.append(Array(bytes[offset..<(offset + size)]))
            offset += size
        }
        return frames
    }

    @Test func ranksReadDisjointEqualSharesAndResume() async throws {
        try await withServer { server in
            let dataset = try POSDataset(cache: server.cache)
            let plan = try dataset.epoch(split: "train", batchSize: 2, seed: 4, epoch: 1, shuffle: true)
            #expect(plan.batchCount == 4)  // 7 windows
            let summary =
                try JSONSerialization.jsonObject(
                    with: try await server.request("/v1/datasets/pos/train/plan?batch_size=2&world_size=3").data)
                as? [String: Int]
            #expect(
                summary == [
                    "examples": 7, "batches": 4, "batch_size": 2, "world_size": 3, "rank_batches": 1, "left_out": 1,
                ])
            var seen: [[UInt8]] = []
            for rank in 0..<2 {
                let response = try await server.request(
                    "/v1/datasets/pos/train/epoch?batch_size=2&seed=4&epoch=1&rank=\(rank)&world_size=2")
                let streamed = frames(response.data)
                let expected = try plan.positions(EpochShare(rank: rank, worldSize: 2)).map {
                    BatchEncoding.npz(try dataset.batch(split: "train", indices: plan.batch($0)))
                }
                #expect(streamed == expected && streamed.count == 2)
                let examples = plan.positions(EpochShare(rank: rank, worldSize: 2)).map { plan.batch($0).count }
                #expect(response.examples == "\(examples.reduce(0, +))")
                let single = try await server.request(
                    "/v1/datasets/pos/train/batches/1?batch_size=2&seed=4&epoch=1&rank=\(rank)&world_size=2")
                #expect(Array(single.data) == expected[1] && single.examples == "\(examples[1])")
                seen += streamed
            }
            #expect(Set(seen).count == 4)
            let resumed = try await server.request(
                "/v1/datasets/pos/train/epoch?batch_size=2&seed=4&epoch=1&rank=1&world_size=2&start=1")
            #expect(
                frames(resumed.data) == [BatchEncoding.npz(try dataset.batch(split: "train", indices: plan.batch(3)))])
            #expect(resumed.examples == "\(plan.batch(3).count)")
            for bad in ["rank=2&world_size=2", "world_size=0", "start=-1", "part=1&parts=1", "rank=x"] {
                #expect(try await server.request("/v1/datasets/pos/train/epoch?\(bad)").status == 400, "\(bad)")
            }
            // A bound that another number sets names it as the query does.
            for (bad, message) in [
                ("batch_size=2&rank=2&world_size=2", "rank=2 is outside 0 to 1 (world_size=2)"),
                ("part=3&parts=2", "part=3 is outside 0 to 1 (parts=2)"),
            ] {
                let refused = try await server.request("/v1/datasets/pos/train/epoch?\(bad)")
                #expect(RunningServer.error(refused.data) == message, "\(bad)")
            }
            #expect(
                try await server.request("/v1/datasets/pos/train/batches/1?batch_size=2&rank=0&world_size=3").status
                    == 404)
        }
    }

    @Test func everyAnswerCarriesTheFingerprint() async throws {
        try await withServer { server in
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(server.port)/v1/vectors/the")!)
            request.httpMethod = "GET"
            let (_, response) = try await URLSession.shared.data(for: request)
            let header = (response as! HTTPURLResponse).value(forHTTPHeaderField: "X-W2VCache-Fingerprint")
            #expect(header == (try DatasetStore.fingerprint(of: server.cache)))
            let info =
                try JSONSerialization.jsonObject(with: try await server.request("/v1/info").data) as? [String: Any]
            #expect(info?["fingerprint"] as? String == header)
        }
    }
}
