import Foundation
import Testing
import VectorCache

@testable import Server

@Suite struct RequestHeadTests {
    private func read(_ text: String) -> RequestHead.Reading { RequestHead.read(Array(text.utf8)) }

    @Test func aHeadGivesItsLengthTargetAndTheHeadersTheLaneReads() throws {
        let text =
            "GET /v1/vectors/pound?x=1 HTTP/1.1\r\nHost: a\r\nACCEPT:\t application/json \r\n"
            + "authorization: Bearer t\r\n\r\nnext"
        guard case .framed(let head) = read(text) else {
            Issue.record("not framed")
            return
        }
        #expect(head.length == text.utf8.count - 4 && head.bodyLength == 0)
        #expect(String(decoding: head.method, as: UTF8.self) == "GET")
        #expect(String(decoding: head.target, as: UTF8.self) == "/v1/vectors/pound?x=1")
        #expect(head.accept.map { String(decoding: $0, as: UTF8.self) } == "application/json")
        #expect(head.authorization.map { String(decoding: $0, as: UTF8.self) } == "Bearer t")
        #expect(!head.repeatsAHeader)
    }

    @Test func aBodyIsFramedByItsContentLength() {
        guard case .framed(let head) = read("POST /v1/vectors HTTP/1.1\r\ncontent-LENGTH: 0042\r\n\r\n") else {
            Issue.record("not framed")
            return
        }
        #expect(head.bodyLength == 42 && !head.encodesItsBody)
        for (encoding, encoded) in [("identity", false), ("IDENTITY", false), ("gzip", true), ("br", true)] {
            let text = "POST /v1/vectors HTTP/1.1\r\nContent-Encoding: \(encoding)\r\nContent-Length: 2\r\n\r\n{}"
            guard case .framed(let head) = read(text) else {
                Issue.record("Content-Encoding: \(encoding) is still framed")
                continue
            }
            #expect(head.encodesItsBody == encoded, "Content-Encoding: \(encoding)")
        }
        if case .framed(let twice) = read("GET /a HTTP/1.1\r\nAccept: x\r\nAccept: y\r\n\r\n") {
            #expect(twice.repeatsAHeader)
        } else {
            Issue.record("a repeated Accept is still framed")
        }
    }

    /// Every part of a head short of its last byte is incomplete, never a head.
    @Test func everyPrefixOfAHeadIsIncomplete() {
        let bytes = Array("GET /v1/vectors/pound HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n".utf8)
        for end in 0..<bytes.count {
            #expect(RequestHead.read(Array(bytes[..<end])) == .incomplete, "\(end) bytes")
        }
        #expect(RequestHead.read(bytes) != .incomplete)
    }

    /// What the lane leaves to the HTTP decoder: anything whose end it cannot be sure of.
    @Test func headsWithAnyDoubtAreUnframed() {
        let heads = [
            "GET /a HTTP/1.0\r\n\r\n",
            // Found by FuzzRequestHead: a request line without a target trapped.
            "POStors HTTP/1.1\r\nHost:1x\r\n\r\n",
            "GET HTTP/1.1\r\n\r\n",
            "GET  HTTP/1.1\r\n\r\n",
            "get /a HTTP/1.1\r\n\r\n",
            "GET  /a HTTP/1.1\r\n\r\n",
            "GET /a HTTP/1.1\nHost: a\n\n",
            "GET /a HTTP/1.1\r\nHost: a\rb\r\n\r\n",
            "GET /a\u{7F} HTTP/1.1\r\n\r\n",
            "GET /caf\u{E9} HTTP/1.1\r\n\r\n",
            "GET /a HTTP/1.1\r\nX: caf\u{E9}\r\n\r\n",
            "GET /a HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
            "GET /a HTTP/1.1\r\nBad Name: a\r\n\r\n",
            "GET /a HTTP/1.1\r\n: a\r\n\r\n",
            "GET /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
            "GET /a HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
            "GET /a HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n",
            "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST /a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
            "GET /a HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            "GET /a HTTP/1.1\r\nConnection: close\r\n\r\n",
            "GET /a HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\n\r\n",
            "GET /a HTTP/1.1\r\nX: " + String(repeating: "a", count: RequestHead.maximumLength) + "\r\n\r\n",
            "GET /a HTTP/1.1\r\nX: " + String(repeating: "a", count: RequestHead.maximumLength),
        ]
        for head in heads {
            #expect(read(head) == .unframed, "\(head.prefix(60).debugDescription)")
        }
        #expect(read("GET /a HTTP/1.1\r\nConnection: Keep-Alive\r\n\r\n") != .unframed)
    }
}

@Suite struct WordsBodyTests {
    private struct Decoded: Decodable, Equatable {
        var words: [String]
        var missing: String?
        var oov: String?
    }

    /// What the lane reads, as the router's decoder would have it (`missing` given as the default when left out).
    private func read(_ text: String) -> Decoded? {
        WordsBody.read(Array(text.utf8)).map { body in
            Decoded(
                words: body.words.map { String(decoding: $0, as: UTF8.self) }, missing: body.missing.rawValue,
                oov: body.oov?.rawValue)
        }
    }

    /// What the lane reads is what the router's JSON decoder reads.
    @Test func bodiesTheLaneReadsDecodeAsTheRoutersJSONDecoderDecodesThem() throws {
        let bodies = [
            #"{"words": ["pound"]}"#,
            #" {"missing":"error", "words" : [ "New_York" , "a\/b","tab\there" ] } "#,
            #"{"words": ["caf\u00e9", "\uD83D\uDE00", "\u0041\"\\", "\b\f\n\r"], "missing": "error"}"#,
            #"{"words": ["a"], "missing": "zero"}"#,
            #"{"oov": "random", "words": ["a", "b"], "missing": "oov"}"#,
            #"{"words": ["a"], "missing": "oov", "oov": "subword"}"#,
        ]
        for body in bodies {
            var decoded = try JSONDecoder().decode(Decoded.self, from: Data(body.utf8))
            decoded.missing = decoded.missing ?? "error"
            #expect(read(body) == decoded, "\(body)")
        }
        #expect(read(#"{"words": ["caf\u00e9", "\ud83d\ude00"]}"#)?.words == ["café", "😀"])
    }

    @Test func anythingElseIsLeftToTheRouter() {
        let bodies = [
            "", "{}", #"{"words": []}"#, #"{"words": "pound"}"#, #"{"words": [1]}"#, #"{"oov": "random"}"#,
            #"{"words": ["a"], "missing": "zeros"}"#, #"{"words": ["a"], "missing": "Zero"}"#,
            #"{"words": ["a"], "missing": null}"#, #"{"words": ["a"], "oov": "fasttext"}"#,
            #"{"words": ["a"], "oov": "random", "oov": "random"}"#, #"{"words": ["a"], "words": ["b"]}"#,
            #"{"missing": "error", "missing": "error", "words": ["a"]}"#, #"{"words": ["a"]} x"#, #"{"words": ["a"]"#,
            #"{"words": ["a",]}"#, #"{"words": ["\ud83d"]}"#, #"{"words": ["\ude00"]}"#, #"{"words": ["\ud83dx"]}"#,
            #"{"words": ["\x"]}"#, #"{"words": ["\u00g0"]}"#, "{\"words\": [\"caf\u{E9}\"]}",
            "{\"words\": [\"a\u{1}\"]}",
            #"{"Words": ["a"]}"#, #"["a"]"#,
            // "oov" names the vector of "missing": "oov"; under any other, the router's 400 says so.
            #"{"words": ["a"], "oov": "random"}"#, #"{"words": ["a"], "missing": "zero", "oov": "random"}"#,
        ]
        for body in bodies {
            #expect(read(body) == nil, "\(body)")
        }
    }
}
