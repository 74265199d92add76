import CacheBuild
import Foundation
import Server
import TestSupport
import Testing
import Word2Vec

@Suite(.serialized) struct SimilarityRouteTests {
    /// The cosine similarities of the test cache's word vectors ([i, 1, 2, 3] for the i-th word), in float64.
    static let words = ["Confidence", "in", "the", "pound", "New_York", "café", "a/b"]
    static func cosine(_ a: Int, _ b: Int) -> Double {
        let u = [Double(a), 1, 2, 3], v = [Double(b), 1, 2, 3]
        func norm(_ x: [Double]) -> Double { x.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        return zip(u, v).reduce(0) { $0 + $1.0 * $1.1 } / (norm(u) * norm(v))
    }

    static func similar(_ data: Data) throws -> [(word: String, score: Double)] {
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let list = try #require(object["similar"] as? [[String: Any]])
        return list.map { ($0["word"] as! String, $0["score"] as! Double) }
    }

    @Test func oneQueryOrABatchGetTheNearestWordsOfTheFile() async throws {
        try await withServer { server in
            let one = try await server.request(
                "/v1/similar", method: "POST", body: #"{"positive": ["pound"], "top": 2}"#)
            #expect(one.status == 200)
            let answer = try Self.similar(one.data)
            #expect(answer.map(\.word) == ["New_York", "the"])
            for (word, score) in answer {
                #expect(abs(score - Self.cosine(3, Self.words.firstIndex(of: word)!)) < 1e-6)
            }
            // Every word of the file but the query, never the out-of-vocabulary words `prepare pos` added ("widely").
            let allAnswer = try await server.request(
                "/v1/similar", method: "POST", body: #"{"positive": ["the"], "top": 7}"#)
            #expect(allAnswer.status == 200, "\(String(decoding: allAnswer.data, as: UTF8.self))")
            let all = try Self.similar(allAnswer.data)
            #expect(Set(all.map(\.word)) == Set(Self.words).subtracting(["the"]))
            let batch = try await server.request(
                "/v1/similar", method: "POST",
                body:
                    #"{"queries": [{"positive": ["pound"], "top": 2}, {"positive": ["in", "café"], "negative": ["a/b"], "top": 3}]}"#
            )
            let results = try #require(
                (try JSONSerialization.jsonObject(with: batch.data) as? [String: Any])?["results"] as? [[String: Any]])
            #expect(results.count == 2)
            #expect(
                try Self.similar(try JSONSerialization.data(withJSONObject: results[0])).map(\.word) == [
                    "New_York", "the",
                ])
            #expect(try Self.similar(try JSONSerialization.data(withJSONObject: results[1])).count == 3)
            let restricted = try Self.similar(
                try await server.request(
                    "/v1/similar", method: "POST", body: #"{"positive": ["Confidence"], "top": 5, "restrict_vocab": 3}"#
                ).data)
            #expect(restricted.map(\.word) == ["in", "the"])
            let metrics = String(decoding: try await server.request("/metrics").data, as: UTF8.self)
            #expect(metrics.contains("w2vcache_similar_queries_total 5"))
        }
    }

    @Test func badQueriesGetJSONErrorsThatSayWhy() async throws {
        try await withServer { server in
            let cases: [(String, Int, String)] = [
                (#"{"positive": ["zebra", "pound"]}"#, 404, "not in the vectors file: \"zebra\""),
                (#"{"positive": ["widely"]}"#, 404, "out-of-vocabulary"),
                (#"{"positive": ["pound"], "negative": ["pound"]}"#, 400, "cancel out"),
                (#"{"positive": []}"#, 400, "at least one"),
                (#"{"positive": ["pound"], "top": 0}"#, 400, "top=0"),
                (#"{"positive": ["pound"], "top": 8}"#, 400, "top=8 is more than the 7 words of the vectors file"),
                (#"{"positive": ["pound"], "top": 99999999999}"#, 413, "server.max_similar_results"),
                (#"{"positive": ["pound"], "queries": []}"#, 400, "not both"),
                (#"{"positive": ["pound"], "restrict_vocab": 0}"#, 400, "restrict_vocab=0"),
                (#"{"positive": "pound"}"#, 400, "positive: expected a list (this route reads a JSON body"),
                // A key the route does not read is refused, not ignored: `topp` gave the default top of 10.
                (
                    #"{"positive": ["pound"], "topp": 3}"#, 400,
                    #"unknown parameter "topp"; expected positive, negative, top, queries, restrict_vocab"#
                ),
                // Of several, the first in order, whatever order they come in.
                (#"{"zeta": 1, "positive": ["pound"], "alpha": 2}"#, 400, #"unknown parameter "alpha"; expected"#),
                (
                    #"{"queries": [{"positive": ["pound"]}, {"positive": ["pound"], "restrict_vocab": 3}]}"#, 400,
                    #"unknown parameter "restrict_vocab" in queries[1]; expected positive, negative, top"#
                ),
                (
                    "[" + String(repeating: #""in","#, count: 10_001) + "]", 400,
                    "the body: expected an object (this route reads a JSON body"
                ),
            ]
            for (body, status, message) in cases {
                let answer = try await server.request("/v1/similar", method: "POST", body: body)
                #expect(answer.status == status, "\(body)")
                #expect(
                    RunningServer.error(answer.data)?.contains(message) == true,
                    "\(body): \(RunningServer.error(answer.data) ?? "")")
            }
            let many = "{\"positive\": [" + Array(repeating: "\"in\"", count: 10_001).joined(separator: ",") + "]}"
            let tooMany = try await server.request("/v1/similar", method: "POST", body: many)
            #expect(tooMany.status == 413)
        }
    }

    /// A request's queries times the words each searches are bounded: what bounds its time.
    @Test func theRowsARequestSearchesAreBounded() async throws {
        var settings = ServerSettings()
        settings.maxSimilarRows = 20
        try await withServer(settings: settings) { server in
            let query = #"{"positive": ["pound"], "top": 1}"#
            let three = "{\"queries\": [\(query), \(query), \(query)]"
            // Three queries over the 7 words: 21 rows.
            let over = try await server.request("/v1/similar", method: "POST", body: three + "}")
            #expect(over.status == 413)
            let message = RunningServer.error(over.data) ?? ""
            #expect(message.contains("3 queries over 7 words each are 21 rows") && message.contains("max_similar_rows"))
            let restricted = try await server.request(
                "/v1/similar", method: "POST", body: three + ", \"restrict_vocab\": 5}")
            #expect(restricted.status == 200)
            let two = "{\"queries\": [\(query), \(query)]}"
            #expect(try await server.request("/v1/similar", method: "POST", body: two).status == 200)
        }
        // Rows of 600 values count twice: their search takes longer. They counted once, whatever their length.
        try await withServer(settings: settings, makeCache: Self.makeWideCache) { server in
            let one = try await server.request("/v1/similar", method: "POST", body: #"{"positive": ["w0"], "top": 1}"#)
            #expect(one.status == 200)
            let query = #"{"positive": ["w0"], "top": 1}"#
            let over = try await server.request(
                "/v1/similar", method: "POST", body: "{\"queries\": [\(query), \(query)]}")
            #expect(over.status == 413)
            #expect(
                RunningServer.error(over.data)
                    == "2 queries over 6 words each are 12 rows of 600 values, as many as 24 rows of 300, to search, "
                    + "over the server's limit of 20 (server.max_similar_rows); send fewer queries per request or a "
                    + "smaller restrict_vocab")
        }
    }

    /// Six words of 600 values.
    static func makeWideCache(_ directory: TemporaryDirectory) throws {
        let writer = try Word2VecWriter(
            path: directory.file("v.bin"), count: 6, dimension: 600, layout: .binary(newlineAfterVector: false))
        for index in 0..<6 {
            try writer.append(word: "w\(index)", vector: (0..<600).map { Float(($0 * 7 + index * 13) % 11) - 5 })
        }
        try writer.close()
        _ = try CacheBuilder(BuildRequest(vectorsPath: directory.file("v.bin"), cachePath: directory.file("cache")))
            .run()
    }

    @Test func aCacheWithoutTheIndexAnswers404NamingTheRebuild() async throws {
        try await withServer(searchIndex: false) { server in
            let answer = try await server.request("/v1/similar", method: "POST", body: #"{"positive": ["pound"]}"#)
            #expect(answer.status == 404)
            #expect(RunningServer.error(answer.data)?.contains("w2vcache build") == true)
            // Vectors are still served.
            #expect(try await server.request("/v1/vectors/pound").status == 200)
        }
    }
}
