import Foundation
import Testing

@testable import Server

@Suite struct JSONSyntaxTests {
    private func fault(_ bytes: [UInt8]) -> JSONSyntax.Fault? {
        bytes.withUnsafeBytes { JSONSyntax.firstFault(in: $0) }
    }

    private func fault(_ text: String) -> JSONSyntax.Fault? { fault(Array(text.utf8)) }

    @Test func theFirstFaultIsNamedWithItsPlaceAndWhatWasExpected() {
        let cases: [(text: String, offset: Int, line: Int, column: Int, problem: String)] = [
            ("", 0, 1, 1, "the text ends; expected a value"),
            ("not json", 0, 1, 1, #"found "not"; expected a value"#),
            (#"{"words": ["a"] "missing": "zero"}"#, 16, 1, 17, #"found a quote; expected "," or "}""#),
            ("{\"a\": 1,\n  \"b\" 2}", 15, 2, 7, #"found "2"; expected ":" after a key"#),
            (#"{"a": tru}"#, 6, 1, 7, #"found "tru"; expected a value"#),
            (#"[1, 2"#, 5, 1, 6, #"the text ends; expected "," or "]""#),
            (#"{"a": [1,,2]}"#, 9, 1, 10, #"found ","; expected a value or "]""#),
            (#"{,}"#, 1, 1, 2, #"found ","; expected a key in quotes or "}""#),
            (#"{"a": 1} {}"#, 9, 1, 10, #"found "{" after the value; expected the end of the text"#),
            (
                #"["caf\udce9"]"#, 5, 1, 6,
                #"\uDCE9 is half of a surrogate pair without its other half; expected a character"#
            ),
            (
                #"["\ud83d"]"#, 2, 1, 3,
                #"\uD83D is half of a surrogate pair without its other half; expected a character"#
            ),
            (#"["\ud83d\u0041"]"#, 2, 1, 3, #"\uD83D is half of a surrogate pair"#),
            (#"["\x"]"#, 2, 1, 3, #"\x is no escape; expected one of"#),
            (#"["\u12g4"]"#, 2, 1, 3, #"expected four hexadecimal digits after \u"#),
            ("[\"a\tb\"]", 3, 1, 4, #"byte 0x09 in a string; expected it escaped, as \u0009"#),
            (#"["abc"#, 5, 1, 6, "the text ends in a string; expected its closing quote"),
            (#"[01]"#, 1, 1, 2, "a number starts with 0 and another digit; expected no leading zero"),
            (#"[-]"#, 2, 1, 3, #"expected a digit after "-""#),
            (#"[1.]"#, 3, 1, 4, "expected a digit after the decimal point"),
            (#"[1e+]"#, 4, 1, 5, "expected a digit in the exponent"),
            (#"[+1]"#, 1, 1, 2, #"found "+"; expected a value or "]""#),
            (#"{'a': 1}"#, 1, 1, 2, #"found "'"; expected a key in quotes or "}""#),
        ]
        for item in cases {
            let found = fault(item.text)
            #expect(
                found?.offset == item.offset && found?.line == item.line && found?.column == item.column
                    && found?.problem.hasPrefix(item.problem) == true,
                "\(item.text): \(found.map(\.description) ?? "no fault")")
        }
        // UTF-16 and UTF-32, which Foundation reads too (found by the fuzzer: `0`, then 0x00 0x03, is JSON to it).
        for bytes: [UInt8] in [
            [0x30, 0x00, 0x03], [0xFF, 0xFE, 0x31, 0x00], [0x00, 0x00, 0x00, 0x31], [0x5B, 0x00],
        ] {
            #expect(fault(bytes) == JSONSyntax.Fault(offset: 0, line: 1, column: 1, problem: JSONSyntax.otherEncoding))
        }
        // Bytes that are not UTF-8, in a string.
        #expect(fault([0x5B, 0x22, 0x63, 0xE9, 0x22, 0x5D])?.problem == "byte 0xE9 is not UTF-8; expected UTF-8 text")
        #expect(
            fault(Array(#"{"a": "#.utf8) + Array(repeating: UInt8(ascii: "["), count: 600))?.problem
                == "values nest more than 512 deep; expected at most 512")
    }

    @Test func whatTheDecoderReadsHasNoFault() {
        for text in [
            "1", "-0", "-1.5e-3", "1E+2", "true", "null", #""""#, "[]", "{}", " [ 1 , { \"a\" : [ ] } ]\n",
            #"{"words": ["caf\u00e9", "\ud83d\ude00", "a\/b", "\"\\\b\f\n\r\t"]}"#, "[\"café 😀\"]",
            // What Foundation's decoder takes beyond RFC 8259: a byte order mark, and a comma before a bracket.
            "\u{FEFF}[1]", "[1, 2,]", #"{"a": 1,}"#,
        ] {
            #expect(fault(text) == nil, "\(text): \(fault(text)?.description ?? "")")
            #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)) != nil)
        }
    }

    /// Random texts, JSON mutated by a byte here and there: the locator finds a fault exactly where Foundation's
    /// parser refuses the text, and any bytes are read without a trap.
    @Test func randomTextsAgreeWithFoundation() {
        var state: UInt64 = 20_261_206
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        let pieces = [
            "{", "}", "[", "]", ",", ":", " ", "\"a\"", "\"b\\n\"", "1", "-2.5e3", "0", "true", "null", "\"\\u00e9\"",
            "\"é\"", "\\", "\"", "x", "\"\\ud83d\\ude00\"", "\"\\udce9\"", "\n",
        ]
        var valid = 0
        for _ in 0..<5_000 {
            var text = Array((0..<(1 + next(12))).map { _ in pieces[next(pieces.count)] }.joined().utf8)
            if next(4) == 0, !text.isEmpty { text[next(text.count)] = next(4) == 0 ? 0 : UInt8(next(256)) }
            let foundation = (try? JSONSerialization.jsonObject(with: Data(text), options: .fragmentsAllowed)) != nil
            if foundation { valid += 1 }
            #expect(
                (fault(text) == nil) == foundation || fault(text)?.problem == JSONSyntax.otherEncoding,
                "\(String(decoding: text, as: UTF8.self)) \(text)")
        }
        #expect(valid > 100, "the draw gave \(valid) texts that are JSON")
    }
}
