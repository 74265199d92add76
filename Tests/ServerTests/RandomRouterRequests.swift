import Support
import TestSupport

/// Requests for every route but the vectors' (`RandomLaneRequests` draws those), drawn from a seeded generator: the
/// dataset routes with hostile names, splits, indices and queries, `POST /v1/similar` with bodies of every wrong
/// shape, other methods and unknown paths (see `TrustTests.randomRequestsOverEveryRouteGetAClearAnswer`).
struct RandomRouterRequests {
    var random: SplitMix64

    init(seed: UInt64) {
        random = SplitMix64(seed: seed)
    }

    /// Numbers as a query or a path carries them: small and valid, at the edges of the integer types, past them,
    /// and text that only looks like a number.
    static let numbers = [
        "0", "1", "2", "3", "4", "-1", "2147483648", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "18446744073709551615", "18446744073709551616", "99999999999999999999999",
        "1e3", "NaN", "0x10", "007", "%201", "1%20", "", "%00", "%1B%5B31m", "%0A", "%E2%80%AE", "%FF",
    ]
    static let names = [
        "pos", "pos", "pos", "parser", "sentiment", "translation", "POS", "bogus", "%00", "..", "%2E%2E",
    ]
    static let splits = ["train", "train", "test", "valid", "TRAIN", "x", "%FF", "%0D%0A"]
    static let queryNames = [
        "batch_size", "seed", "epoch", "shuffle", "rank", "world_size", "start", "part", "parts", "format",
        "compact", "x", "a[b]", "batch_size[]", "%zz", "",
    ]
    static let words = ["pound", "in", "the", "Confidence", "unknown", "", "😀", "\\u0000", "\\u001b[31m", "\\ud83d"]

    mutating func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }

    mutating func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }

    /// The next request's bytes, asking the server to close the connection after its answer.
    mutating func next() -> (method: String, bytes: [UInt8]) {
        let headers = ["Connection: close"] + (chance(20) ? [pick(["Accept: application/json", "Accept: */*"])] : [])
        if chance(20) {
            let method = pick(["POST", "POST", "POST", "GET", "PUT"])
            return (
                method,
                LoopbackConnection.request(method, "/v1/similar", body: Array(similarBody().utf8), headers: headers)
            )
        }
        let method = pick(["GET", "GET", "GET", "GET", "GET", "GET", "HEAD", "POST", "DELETE", "OPTIONS", "PATCH"])
        let body: [UInt8] = method == "POST" && chance(50) ? Array("{\"words\": [\"pound\"]}".utf8) : []
        return (method, LoopbackConnection.request(method, path(), body: body, headers: headers))
    }

    /// A path of the datasets API (most of the time), or another route, an unknown one, or one at the wrong depth.
    mutating func path() -> String {
        let name = pick(Self.names)
        let split = pick(Self.splits)
        let datasets = [
            "/v1/datasets", "/v1/datasets/\(name)", "/v1/datasets/\(name)/vocab", "/v1/datasets/\(name)/embeddings",
            "/v1/datasets/\(name)/\(split)/plan", "/v1/datasets/\(name)/\(split)/epoch",
            "/v1/datasets/\(name)/\(split)/batches/\(pick(Self.numbers))",
            "/v1/datasets/\(name)/\(split)/batches/\(pick(Self.numbers))",
            "/v1/datasets/\(name)/\(split)/batches/\(pick(Self.numbers))",
        ]
        let others = [
            "/v1/info", "/healthz", "/metrics", "/v1", "/", "/v1/datasets/\(name)/\(split)", "/v2/info",
            "/v1/datasets/\(name)/\(split)/batches", "/v1/datasets/\(name)/\(split)/batches/0/1", "/v1/similar",
        ]
        let path = chance(85) ? pick(datasets) : pick(others)
        // Mostly on the routes that read a query; now and then on one that reads none, which refuses it.
        let readsAQuery = ["/plan", "/epoch", "/batches/"].contains { path.contains($0) }
        return path + (readsAQuery || chance(15) ? query() : "")
    }

    /// A query of a few of the batch routes' names and others, with hostile values, a name now and then twice.
    mutating func query() -> String {
        guard chance(80) else { return "" }
        var pairs: [String] = []
        for _ in 0..<(1 + Int(random.next() % 4)) {
            let name = pick(Self.queryNames)
            let value =
                switch name {
                case "shuffle", "compact": pick(["true", "false", "1", "0", "yes", "", "%00"])
                case "format": pick(["npz", "raw", "RAW", "npy", "", "%0A"])
                default: chance(50) ? pick(["1", "2", "3", "0"]) : pick(Self.numbers)
                }
            pairs.append(chance(5) ? name : name + "=" + value)
            if chance(3) { pairs.append(pairs.last!) }
        }
        return "?" + pairs.joined(separator: "&")
    }

    /// A `POST /v1/similar` body: one query or a batch of them, with numbers past their bounds, words the cache
    /// lacks, wrong types, other keys, and now and then cut short.
    mutating func similarBody() -> String {
        func list(_ draw: inout RandomRouterRequests) -> String {
            "["
                + (0..<Int(draw.random.next() % 3)).map { _ in "\"" + draw.pick(Self.words) + "\"" }.joined(
                    separator: ", ") + "]"
        }
        var members: [String] = []
        if chance(80) {
            members.append("\"positive\": " + (chance(90) ? list(&self) : pick(["\"pound\"", "null", "[1]"])))
        }
        if chance(40) { members.append("\"negative\": " + list(&self)) }
        if chance(40) {
            members.append("\"top\": " + pick(["1", "3", "0", "-1", "1e3", "9223372036854775808", "\"3\""]))
        }
        if chance(20) {
            members.append("\"restrict_vocab\": " + pick(["2", "0", "-5", "100000000000", "18446744073709551616"]))
        }
        if chance(15) {
            let count = pick([0, 1, 3])
            members.append(
                "\"queries\": ["
                    + (0..<count).map { _ in "{\"positive\": " + list(&self) + "}" }.joined(separator: ", ")
                    + "]")
        }
        if chance(10) { members.append("\"x\": {\"y\": [1, 2]}") }
        let body = "{" + members.joined(separator: ", ") + "}"
        return chance(5) ? String(body.dropLast(2)) : chance(3) ? pick(["", "null", "[]", "\"a\"", "{{"]) : body
    }
}
