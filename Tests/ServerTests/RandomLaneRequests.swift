import Support
import TestSupport

/// Requests for `GET /v1/vectors/{word}` and `POST /v1/vectors`, drawn from a seeded generator (see
/// `VectorLaneTests.randomRequestsGetTheSameAnswerFromTheLaneAsFromTheRouter`).
struct RandomLaneRequests {
    var random: SplitMix64

    init(seed: UInt64) {
        random = SplitMix64(seed: seed)
    }

    /// The small test cache's words (drawn more often), words it lacks, and near misses.
    static let words =
        Array(repeating: ["pound", "in", "café", "a/b", "New_York", "Confidence", "the"], count: 3).flatMap { $0 } + [
            "unknown", "", "POUND", "in ", "cafe\u{301}", "😀", "a b", "%", "+",
        ]
    static let accepts = [
        "application/octet-stream", "application/json", "application/x-npy", "*/*", "application/*",
        "APPLICATION/OCTET-STREAM", "application/octet-stream;q=0", "application/octet-stream; q=0.5, application/json",
        "text/plain", "application/json, application/octet-stream", "", "application/octet-stream , text/plain",
        "application/x-npy;q=0.9, application/octet-stream;q=0.8", "*; q=.2", "text/html;q=0, */*;q=0.1",
        #"application/json;charset="a,b", application/octet-stream;q=0.001"#, "application/octet-stream;q=1.5",
    ]

    mutating func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }

    mutating func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }

    /// The next request's bytes: a `GET` of one word or a `POST` of a few, with or without `Accept` and other headers.
    mutating func next() -> [UInt8] {
        var headers: [String] = []
        if chance(60) {
            for _ in 0..<(chance(15) ? 2 : 1) {
                headers.append("\(pick(["Accept", "accept", "ACCEPT"])): \(pick(Self.accepts))")
            }
        }
        if chance(20) {
            headers.append(
                pick([
                    "Content-Type: application/json", "Content-Type: text/plain", "X-Thing: y",
                    "Content-Encoding: identity", "Content-Encoding: gzip",
                ]))
        }
        if chance(50) {
            let path = pick(["/v1/vectors/", "/v1/vectors/", "/v1/vectors/", "/v1/vectors//", "/V1/vectors/"])
            // A query (but `?` alone) is the router's to refuse.
            let query = pick(["", "", "", "", "", "", "", "?", "?a=1", "?missing=zero", "?x=%zz"])
            return LoopbackConnection.request("GET", path + pathWord() + query, headers: headers)
        }
        return LoopbackConnection.request("POST", "/v1/vectors", body: Array(body().utf8), headers: headers)
    }

    /// A word percent-encoded as clients do it (upper- or lowercase hex, some unreserved bytes encoded too), and now
    /// and then what they should not send.
    mutating func pathWord() -> String {
        var encoded = ""
        for byte in pick(Self.words).utf8 {
            let unreserved =
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || Array("-._~".utf8).contains(byte)
            if unreserved && !chance(15) {
                encoded.append(Character(Unicode.Scalar(byte)))
            } else {
                encoded += "%" + hex(byte, uppercase: chance(70))
            }
        }
        return encoded + (chance(25) ? pick(["%", "%zz", "%00", "%FF", "+", "%2F", "/x"]) : "")
    }

    /// A `POST /v1/vectors` body: the words, a `missing` policy, other keys, in any order and spacing, now and then of
    /// the wrong type or cut short.
    mutating func body() -> String {
        var members: [String] = []
        let words = (0..<Int(random.next() % 5)).map { _ in jsonString(pick(Self.words)) }
        members.append(
            "\"words\"" + space() + ":" + space()
                + (chance(90)
                    ? "[" + words.joined(separator: "," + space()) + "]"
                    : pick(["\"pound\"", "null", "[1]", "[[\"in\"]]"])))
        if chance(30) {
            members.append(
                "\"missing\":" + space() + pick(["\"error\"", "\"zero\"", "\"oov\"", "\"bogus\"", "null", "1"]))
        }
        if chance(10) { members.append("\"oov\": " + pick(["\"random\"", "\"subword\""])) }
        if chance(10) { members.append("\"x\": 1") }
        if chance(50) { members.reverse() }
        let body = space() + "{" + space() + members.joined(separator: "," + space()) + space() + "}" + space()
        return chance(5) ? String(body.dropLast(2)) : body
    }

    /// `word` as a JSON string, each character as it is or escaped (`\/`, `\uXXXX`, a surrogate pair), or a lone
    /// surrogate now and then.
    mutating func jsonString(_ word: String) -> String {
        var json = "\""
        for scalar in word.unicodeScalars {
            if scalar == "/" && chance(50) {
                json += "\\/"
            } else if chance(25) {
                for unit in String(scalar).utf16 {
                    json +=
                        "\\u" + hex(UInt8(unit >> 8), uppercase: chance(50))
                        + hex(UInt8(unit & 0xFF), uppercase: chance(50))
                }
            } else {
                json.unicodeScalars.append(scalar)
            }
        }
        if chance(3) { json += "\\ud83d" }
        return json + "\""
    }

    mutating func space() -> String { pick(["", "", " ", "\n", "\t "]) }

    func hex(_ byte: UInt8, uppercase: Bool) -> String {
        let digits = Array((uppercase ? "0123456789ABCDEF" : "0123456789abcdef").utf8)
        return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
    }
}
