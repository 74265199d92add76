import Foundation
import TestSupport
import Testing

@testable import Server

@Suite struct VectorFastPathTests {
    /// What one raw request is answered with: status, headers by lowercased name (without `date`), body.
    private func exchange(_ port: Int, _ request: [UInt8]) async throws -> (Int, [String: String], [UInt8]) {
        try await blocking {
            let connection = try LoopbackConnection(port: port)
            connection.send(request)
            let answer = parseResponse(connection.receiveResponse())
            var headers: [String: String] = [:]
            for line in answer.headers.split(separator: "\r\n").dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = line[..<colon].lowercased()
                if name != "date" {
                    headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
            }
            return (answer.status, headers, answer.body)
        }
    }

    /// Every request the event loop may answer gets exactly what the router gives it: status, headers, body.
    @Test func theEventLoopAnswersAsTheRouterDoes() async throws {
        let requests: [[UInt8]] = [
            LoopbackConnection.request("GET", "/v1/vectors/pound"),
            LoopbackConnection.request("GET", "/v1/vectors/caf%C3%A9?unused=1"),
            LoopbackConnection.request("GET", "/v1/vectors/a%2Fb", headers: ["Accept: application/octet-stream"]),
            LoopbackConnection.request("GET", "/v1/vectors/pound", headers: ["Accept: application/json"]),
            LoopbackConnection.request("GET", "/v1/vectors/unknown"),
            LoopbackConnection.request("GET", "/v1/vectors/pound", headers: ["Connection: close"]),
        ]
        var answers: [Bool: [(Int, [String: String], [UInt8])]] = [:]
        for onEventLoop in [true, false] {
            var settings = ServerSettings()
            settings.answersVectorsOnEventLoop = onEventLoop
            answers[onEventLoop] = try await withServer(settings: settings) { server in
                var got: [(Int, [String: String], [UInt8])] = []
                for request in requests { got.append(try await exchange(server.port, request)) }
                return got
            }
        }
        for (index, (fast, routed)) in zip(answers[true]!, answers[false]!).enumerated() {
            #expect(fast.0 == routed.0, "request \(index)")
            #expect(fast.1 == routed.1, "request \(index)")
            #expect(fast.2 == routed.2, "request \(index)")
        }
        #expect(answers[true]![0].0 == 200 && answers[true]![4].0 == 404 && answers[true]![5].0 == 200)
        #expect(answers[true]![2].1["x-w2vcache-shape"] == "4" && answers[true]![2].2.count == 16)
    }

    /// A vector asked for behind a request the router is still answering comes after it, on one connection.
    @Test func pipelinedAnswersKeepTheirRequestsOrder() async throws {
        try await withServer { server in
            let port = server.port
            try await blocking {
                let connection = try LoopbackConnection(port: port)
                connection.send(
                    LoopbackConnection.request("GET", "/v1/info")
                        + LoopbackConnection.request("GET", "/v1/vectors/pound")
                        + LoopbackConnection.request("GET", "/v1/vectors/in"))
                let info = parseResponse(connection.receiveResponse())
                let pound = parseResponse(connection.receiveResponse())
                let inWord = parseResponse(connection.receiveResponse())
                #expect(info.status == 200 && info.headers.contains("application/json"))
                #expect(pound.status == 200 && pound.headers.contains("application/x-npy"))
                #expect(inWord.status == 200 && inWord.body != pound.body)
            }
        }
    }

    /// With a token, only a request that carries it is answered on the event loop; the others get the router's 401.
    @Test func aTokenIsRequiredOnTheEventLoopToo() async throws {
        let directory = TemporaryDirectory()
        let token = "0123456789abcdef0123456789abcdef"
        try token.write(toFile: directory.file("token"), atomically: true, encoding: .utf8)
        var settings = ServerSettings()
        settings.tokenFile = directory.file("token")
        try await withServer(settings: settings) { server in
            let without = try await exchange(server.port, LoopbackConnection.request("GET", "/v1/vectors/pound"))
            let wrong = try await exchange(
                server.port,
                LoopbackConnection.request("GET", "/v1/vectors/pound", headers: ["Authorization: Bearer wrong"]))
            let right = try await exchange(
                server.port,
                LoopbackConnection.request("GET", "/v1/vectors/pound", headers: ["Authorization: Bearer \(token)"]))
            #expect(without.0 == 401 && wrong.0 == 401 && right.0 == 200)
            let metrics = try await server.request("/metrics")
            #expect(metrics.status == 401)
        }
    }

    /// What the event loop answers is counted in the metrics like what the router answers.
    @Test func answersOnTheEventLoopAreCounted() async throws {
        try await withServer { server in
            for _ in 0..<3 {
                _ = try await exchange(server.port, LoopbackConnection.request("GET", "/v1/vectors/pound"))
            }
            let metrics = String(decoding: try await server.request("/metrics").data, as: UTF8.self)
            #expect(metrics.contains("w2vcache_requests_total{route=\"/v1/vectors/{word}\",status=\"200\"} 3"))
            #expect(metrics.contains("w2vcache_vectors_served_total 3"))
        }
    }
}
