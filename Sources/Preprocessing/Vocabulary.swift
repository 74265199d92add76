import Support

/// Strings numbered in a fixed order: ids are positions. Tokens are told apart by their code points, as Python's
/// dictionaries tell them apart (``CodePoints``).
public struct Vocabulary: Sendable, Equatable {
    public private(set) var tokens: [String] = []
    private var ids: [CodePoints: Int32] = [:]

    public init() {}

    /// A vocabulary of `tokens` in this order (duplicates keep their first id).
    public init(_ tokens: some Sequence<String>) {
        for token in tokens { add(token) }
    }

    public var count: Int { tokens.count }

    /// The id of `token`, adding it at the end if new.
    @discardableResult
    public mutating func add(_ token: String) -> Int32 {
        if let id = ids[CodePoints(token)] { return id }
        let id = Int32(tokens.count)
        tokens.append(token)
        ids[CodePoints(token)] = id
        return id
    }

    public func id(_ token: String) -> Int32? { ids[CodePoints(token)] }

    public subscript(id: Int32) -> String { tokens[Int(id)] }

    /// Specials first, then `counts`' tokens by descending count, ties by the token's code points, at most
    /// `maxSize` in all (specials included) and only tokens counted at least `minCount` times.
    public static func byFrequency(
        _ counts: [CodePoints: Int], specials: [String], maxSize: Int? = nil, minCount: Int = 1
    ) -> Vocabulary {
        var vocabulary = Vocabulary(specials)
        let ranked = counts.filter { $0.value >= minCount && vocabulary.ids[$0.key] == nil }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        for (token, _) in ranked {
            if let maxSize, vocabulary.count >= maxSize { break }
            vocabulary.add(token.string)
        }
        return vocabulary
    }
}
