/// A request's JSON object or query, read only when the server knows every key in it: a key it does not read (a typo
/// such as `"topp"` or `batchsize`, or a parameter of another route) is a 400 naming it, never the default silently,
/// as in the configuration file.
protocol KnownKeys: Decodable {
    /// The keys the type reads: declared, so that they can be listed.
    associatedtype CodingKeys: CodingKey & CaseIterable
}

/// A ``KnownKeys`` value, decoded only from an object whose every key it reads.
struct Checked<Value: KnownKeys>: Decodable {
    var value: Value

    /// - throws: ``APIError`` 400 naming the first unknown key, where it is, and the keys expected there.
    init(from decoder: any Decoder) throws {
        let expected = Value.CodingKeys.allCases.map(\.stringValue)
        let keys = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
        // The first in order, so that the answer does not depend on how the object was hashed.
        if let unknown = keys.filter({ !expected.contains($0) }).min() {
            // Where the object is: `queries[2]`, or nothing for the request's own.
            let path = decoder.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            let place = path.isEmpty ? "" : " in \(path.dropFirst())"
            throw APIError.unknownParameter(unknown, place: place, expected: expected)
        }
        value = try Value(from: decoder)
    }

    /// Any key of an object.
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

extension Checked: Sendable where Value: Sendable {}
