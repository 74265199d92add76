import Foundation
import Support
import Testing

/// Strings as Python compares them: by code points, canonical equivalents apart, in dictionaries and sets too.
@Suite struct CodePointsTests {
    @Test func equalityAndHashingFollowTheCodePoints() {
        let composed = CodePoints("caf\u{E9}"), decomposed = CodePoints("cafe\u{301}")
        #expect(composed.string == decomposed.string)  // Swift's String: canonically equivalent
        #expect(composed != decomposed && Set([composed, decomposed]).count == 2)
        // Equal code points hash alike however the strings were made: a native string, a bridged one, a substring,
        // a small one and a large one.
        let long = String(repeating: "wörd ", count: 40)
        let pairs: [(String, String)] = [
            ("the", String("xthe".dropFirst())), (long, String(long.reversed().reversed())),
            (long, NSString(string: long) as String), ("", String()), ("a\u{0}b", "a\u{0}b"),
        ]
        for (a, b) in pairs {
            #expect(CodePoints(a) == CodePoints(b) && CodePoints(a).hashValue == CodePoints(b).hashValue)
        }
        // Prefixes and the empty string stay apart (the hash ends each string with a byte UTF-8 never has).
        let distinct = ["", "a", "ab", "b", "ba", "a\u{0}", long, long + "x"].map { CodePoints($0) }
        #expect(Set(distinct).count == distinct.count)
        var counts: [CodePoints: Int] = [:]
        for word in ["the", "caf\u{E9}", "cafe\u{301}", "the", String("xthe".dropFirst())] {
            counts[CodePoints(word), default: 0] += 1
        }
        #expect(counts == [CodePoints("the"): 3, composed: 1, decomposed: 1])
    }
}
