import Foundation
import Testing

@testable import Server
@testable import Similarity

/// Words that are not UTF-8 in JSON bodies and answers, as Python's surrogateescape writes them.
@Suite struct EscapedWordsTests {
    private struct Body: Decodable {
        var words: [Word]
        var missing: String?
    }

    /// `json` as a route reads it: Foundation's decoder, then with the escaped words taken out.
    private func words(_ json: String) throws -> [[UInt8]]? {
        let bytes = Array(json.utf8)
        guard bytes.withUnsafeBytes({ JSONSyntax.firstFault(in: $0, surrogateEscapes: true) }) == nil else {
            return nil
        }
        guard let taken = EscapedWords.takeOut(of: bytes) else {
            return try JSONDecoder().decode(Body.self, from: Data(bytes)).words.map(\.bytes)
        }
        let decoder = JSONDecoder()
        decoder.userInfo[EscapedWords.userInfoKey] = taken.escaped
        return try decoder.decode(Body.self, from: Data(taken.json)).words.map(\.bytes)
    }

    @Test func stringValuesThatHoldEscapedBytesAreTakenOut() throws {
        let latin: [UInt8] = Array("caf".utf8) + [0xE9]
        #expect(
            try words(#"{"words": ["caf\udce9", "café", "caf\u00e9"]}"#) == [
                latin, Array("café".utf8), Array("café".utf8),
            ])
        // Two escaped bytes that are UTF-8 together are those bytes; a surrogate pair is its character.
        #expect(try words(#"{"words": ["caf\udcc3\udca9", "\ud83d\ude00"]}"#) == [Array("café".utf8), Array("😀".utf8)])
        // A string that starts with U+0000 beside one that is taken out is taken out too, so that it is not taken
        // for the first one's stand-in; without any, it is read by the decoder as it is.
        #expect(try words(#"{"words": ["\u00000", "caf\udce9", "\u0000"]}"#) == [[0, 0x30], latin, [0]])
        #expect(try words(#"{"words": ["\u00000"]}"#) == [[0, 0x30]])
        // Any string JSON allows is walked past: a raw DEL in a key (the fuzz target found it ended the walk).
        #expect(try words("{\"w\u{7F}\": 1, \"words\": [\"caf\\udce9\", \"\u{7F}\"]}") == [latin, [0x7F]])
        // Keys are left as they are: a key that holds one is a fault.
        #expect(try words(#"{"words": ["a"], "\udce9": 1}"#) == nil)
        #expect(EscapedWords.takeOut(of: Array(#"{"words": ["a", "b\"c"], "missing": "zero"}"#.utf8)) == nil)
        // A string to take out that JSON does not allow: raw bytes that are not UTF-8, a raw control character.
        #expect(EscapedWords.takeOut(of: Array(#"["\udce9"#.utf8) + [0xFF, 0x22, 0x5D]) == nil)
        #expect(EscapedWords.takeOut(of: Array(#"["\udce9"#.utf8) + [0x09, 0x22, 0x5D]) == nil)
        // Whitespace, escapes and raw UTF-8 around the words stay as they were.
        let taken = try #require(EscapedWords.takeOut(of: Array("{ \"words\" :\n[ \"\\\"\", \"é\\udce9\" ] }".utf8)))
        #expect(String(decoding: taken.json, as: UTF8.self) == "{ \"words\" :\n[ \"\\\"\", \"\\u00000\" ] }")
        #expect(taken.escaped.words == [Array("é".utf8) + [0xE9]])
    }

    @Test func syntaxTakesEscapedBytesInValuesOnly() {
        func fault(_ json: String) -> String? {
            Array(json.utf8).withUnsafeBytes { JSONSyntax.firstFault(in: $0, surrogateEscapes: true) }?.description
        }
        #expect(fault(#"{"words": ["caf\udce9", "\udc80\udcff"]}"#) == nil)
        #expect(fault(#"{"caf\udce9": 1}"#)?.contains(#"\uDCE9 is half of a surrogate pair"#) == true)
        #expect(fault(#"["\udc7f"]"#)?.contains(#"\uDC7F is half"#) == true)
        #expect(fault(#"["\ud800"]"#)?.contains(#"\uD800 is half"#) == true)
        #expect(fault(#"["caf\udce9" 1]"#)?.contains(#"at byte 13"#) == true)
    }

    /// An answer's word as the server's encoder writes text, and each byte that is not UTF-8 as `\udcNN`, which
    /// `json.loads(…).encode("utf-8", "surrogateescape")` reads back to the same bytes.
    @Test func wordsAreWrittenAsTheEncoderWritesTextWithTheirBytesEscaped() throws {
        let encoder = ServerRequestContext.jsonEncoder()
        func written(_ word: [UInt8]) -> [UInt8] {
            var json: [UInt8] = []
            EscapedWords.append(word, to: &json)
            return json
        }
        for word in ["the", "", "a\"quote", "back\\slash", "slash/word", "tab\tnew\nline\u{1}\u{7F}", "日本語", "😀"] {
            #expect(written(Array(word.utf8)) == Array(try encoder.encode(word)))
        }
        let controls =
            String(String.UnicodeScalarView((0...0x1F).compactMap(Unicode.Scalar.init))) + "\u{7F}\u{85}\u{2028}"
        #expect(written(Array(controls.utf8)) == Array(try encoder.encode(controls)))
        let escaped = written(Array("a/".utf8) + [0xE9, 0xFF] + Array("\"é".utf8))
        #expect(String(decoding: escaped, as: UTF8.self) == #""a\/\udce9\udcff\"é""#)
    }

    /// What `POST /v1/similar` answered before it wrote the bytes itself: these structs through the server's encoder.
    private struct Scored: Encodable {
        let word: String
        let score: Double
    }
    private struct Answer: Encodable { let similar: [Scored] }
    private struct Batch: Encodable { let results: [Answer] }

    @Test func similarAnswersAreWrittenAsTheEncoderWroteThem() throws {
        let words = ["the", "New_York", "naïve", "a\"b", "x/y", "😀", "tab\t"]
        var state: UInt64 = 7
        let answers: [[Neighbor]] = (0..<5).map { query in
            (0..<query).map { index in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let score = [Float(1), 0, -0.0, 0.5, Float(bitPattern: UInt32(truncatingIfNeeded: state >> 33))][
                    index % 5]
                return Neighbor(row: index, word: Array(words[(query + index) % words.count].utf8), score: score)
            }
        }
        let encoder = ServerRequestContext.jsonEncoder()
        let expected = answers.map { Answer(similar: $0.map { Scored(word: $0.text, score: Double($0.score)) }) }
        #expect(SimilarJSON.bytes(answers, isBatch: true) == Array(try encoder.encode(Batch(results: expected))))
        for (answer, expected) in zip(answers, expected) {
            #expect(SimilarJSON.bytes([answer], isBatch: false) == Array(try encoder.encode(expected)))
        }
    }
}
