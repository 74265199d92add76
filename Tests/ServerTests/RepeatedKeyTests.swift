import Foundation
import Testing

@testable import Server

@Suite struct RepeatedKeyTests {
    private func first(_ json: String) -> RepeatedKey? {
        Array(json.utf8).withUnsafeBytes { RepeatedKey.first(in: $0) }
    }

    @Test func theFirstKeyGivenTwiceIsNamedWithWhereItsObjectIs() {
        #expect(first(#"{"a": 1, "b": 2, "a": 3}"#) == RepeatedKey(key: "a", path: []))
        #expect(first(#"{"a": {"x": 1, "y": {"z": [1, {"k": 0, "k": 1}]}}, "b": 2}"#)?.place == " in a.y.z[1]")
        #expect(first(#"[{"a": 1}, {"a": 1}, {"b": [], "c": {}, "b": 0}]"#) == RepeatedKey(key: "b", path: [.index(2)]))
        // The first in the text: `b`'s second appearance comes before `a`'s.
        #expect(first(#"{"a": 1, "b": 1, "b": 2, "a": 2}"#)?.key == "b")
        // Escapes are decoded before keys are compared: `\u0061` and `\"` are `a` and `"`.
        #expect(first(#"{"\u0061": 1, "a": 2}"#)?.key == "a")
        #expect(first(#"{"q\"": 1, "q\u0022": 2}"#)?.key == "q\"")
        #expect(first(#"{"\ud83d\ude00": 1, "😀": 2}"#)?.key == "😀")
    }

    @Test func valuesAndKeysOfOtherObjectsAreNoKeyGivenTwice() {
        #expect(first(#"{"words": ["words", "words"], "missing": "words"}"#) == nil)
        #expect(first(#"{"a": {"a": {"a": 1}}, "b": [{"a": 1}, {"a": 2}]}"#) == nil)
        // Brackets, commas and quotes inside strings are text.
        #expect(first(#"{"a": "}, \"a\": [", "b": "{\"b\": 1, \"b\": 2}"}"#) == nil)
        #expect(first(#"{"a\\": 1, "a": 2}"#) == nil)
        #expect(first(#"["a", "a", {"a": 1}]"#) == nil)
        #expect(first("") == nil)
    }

    @Test func bytesThatAreNotJSONAreReadToTheirEnd() {
        for text in [#"{"a"#, #"{"a\"#, "}}]]", #"{"a": 1, "a"#, #"{"a\u00": 1, "a\u00": 2"#, "\u{0}\u{FF}"] {
            _ = first(text)
        }
        // A key whose escape cannot be decoded is compared as written.
        #expect(first(#"{"\x": 1, "\x": 2}"#)?.key == #"\x"#)
    }

    /// Random objects, keys drawn from a few (so that some repeat) and written with escapes or without: the scanner
    /// names what a walk of the values in the text's order finds first.
    @Test func randomTextsAgreeWithAWalkOfTheirValues() {
        var generator = Generator(seed: 20_261_206)
        var repeated = 0
        for _ in 0..<2_000 {
            let value = generator.value(depth: 0)
            let expected = value.firstRepeatedKey(path: [])
            if expected != nil { repeated += 1 }
            let text = generator.text(of: value)
            #expect(first(text) == expected, "\(text)")
        }
        #expect(repeated > 200 && repeated < 1_800, "the draw gave \(repeated) texts with a key twice")
    }

    private indirect enum Value {
        case object([(String, Value)])
        case array([Value])
        case scalar(String)

        func firstRepeatedKey(path: [RepeatedKey.Step]) -> RepeatedKey? {
            switch self {
            case .object(let members):
                var seen: Set<String> = []
                for (key, value) in members {
                    guard seen.insert(key).inserted else { return RepeatedKey(key: key, path: path) }
                    if let found = value.firstRepeatedKey(path: path + [.key(key)]) { return found }
                }
            case .array(let elements):
                for (index, element) in elements.enumerated() {
                    if let found = element.firstRepeatedKey(path: path + [.index(index)]) { return found }
                }
            case .scalar:
                break
            }
            return nil
        }
    }

    private struct Generator {
        var state: UInt64

        init(seed: UInt64) { state = seed }

        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }

        /// Keys and string values, with the characters that a scanner could mistake for structure.
        private static let strings = ["a", "b", "words", "é", "q\"", "{", "}, \"a\": [", "\\", "😀", "a,b"]

        mutating func value(depth: Int) -> Value {
            switch depth > 3 ? 2 : next(3) {
            case 0:
                return .object(
                    (0..<next(5)).map { _ in (Self.strings[next(Self.strings.count)], value(depth: depth + 1)) })
            case 1:
                return .array((0..<next(4)).map { _ in value(depth: depth + 1) })
            default:
                return .scalar(["1", "-2.5e3", "true", "null"][next(4)])
            }
        }

        mutating func text(of value: Value) -> String {
            let space = [" ", "", "\n\t"][next(3)]
            switch value {
            case .object(let members):
                return "{" + members.map { space + string($0.0) + space + ":" + text(of: $0.1) }.joined(separator: ",")
                    + "}"
            case .array(let elements):
                return "[" + elements.map { space + text(of: $0) }.joined(separator: ",") + "]"
            case .scalar(let text):
                // A string value now and then, which is no key.
                return next(3) == 0 ? string(Self.strings[next(Self.strings.count)]) : text
            }
        }

        /// `text` as a JSON string: each character as it is (escaped where JSON needs it) or as `\uXXXX`.
        private mutating func string(_ text: String) -> String {
            var result = "\""
            for unit in text.utf16 {
                let scalar = Unicode.Scalar(unit).map(Character.init)
                if next(3) == 0 || scalar == nil {
                    result += String(format: "\\u%04x", unit)
                } else if scalar == "\"" || scalar == "\\" {
                    result += "\\" + String(scalar!)
                } else {
                    result += String(scalar!)
                }
            }
            return result + "\""
        }
    }
}
